//! `SipStr`: an immutable UTF-8 string that shares the datagram's buffer.

use bytes::Bytes;
use std::fmt;
use std::ops::Deref;

/// Immutable UTF-8 text backed by `Bytes`, so header values slice the received datagram
/// without copying. Invariant: the bytes are valid UTF-8.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SipStr(Bytes);

impl SipStr {
    /// Text from a static string (no allocation).
    pub const fn from_static(s: &'static str) -> Self {
        SipStr(Bytes::from_static(s.as_bytes()))
    }
    /// Wraps bytes that are known to be UTF-8; returns `None` otherwise.
    pub fn from_utf8(b: Bytes) -> Option<Self> {
        std::str::from_utf8(&b).ok()?;
        Some(SipStr(b))
    }
    /// Wraps bytes the caller already validated as UTF-8 (e.g. a slice of a validated buffer
    /// cut at ASCII boundaries).
    ///
    /// # Safety
    /// `b` must be valid UTF-8.
    pub unsafe fn from_utf8_unchecked(b: Bytes) -> Self {
        SipStr(b)
    }
    #[inline]
    /// The text.
    pub fn as_str(&self) -> &str {
        // SAFETY: the invariant of the type: constructors only accept UTF-8.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }
    /// The bytes underneath (shared, not copied).
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The part of `self` that `sub` points at, sharing the buffer (no copy). A `sub` that
    /// does not lie inside `self` is copied instead, so this never fails.
    #[inline]
    pub fn slice_ref(&self, sub: &str) -> SipStr {
        if sub.is_empty() {
            return SipStr::default();
        }
        let base = self.0.as_ptr() as usize;
        let start = sub.as_ptr() as usize;
        match start.checked_sub(base) {
            Some(off) if off + sub.len() <= self.0.len() => {
                // `sub` is a `&str` inside UTF-8 text, so both ends are char boundaries.
                SipStr(self.0.slice(off..off + sub.len()))
            }
            _ => SipStr::from(sub),
        }
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<std::borrow::Cow<'_, str>> for SipStr {
    fn from(s: std::borrow::Cow<'_, str>) -> Self {
        match s {
            std::borrow::Cow::Borrowed(b) => SipStr::from(b),
            std::borrow::Cow::Owned(o) => SipStr::from(o),
        }
    }
}

impl AsRef<str> for SipStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Deref for SipStr {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for SipStr {
    fn from(s: String) -> Self {
        SipStr(Bytes::from(s.into_bytes()))
    }
}

impl From<&str> for SipStr {
    fn from(s: &str) -> Self {
        SipStr(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl fmt::Debug for SipStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SipStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for SipStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}
impl PartialEq<&str> for SipStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_ref_shares_or_copies() {
        let s = SipStr::from("hello world");
        let sub = s.slice_ref(&s.as_str()[6..]);
        assert_eq!(sub, "world");
        assert_eq!(sub.as_bytes().as_ptr(), s.as_bytes()[6..].as_ptr());
        let other = s.slice_ref("elsewhere");
        assert_eq!(other, "elsewhere");
    }
}
