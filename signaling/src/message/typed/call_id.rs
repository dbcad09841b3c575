//! Call-ID (`i`, RFC 3261 §20.8): `word [ "@" word ]`.

use super::{display_typed, invalid, TypedHeader};
use crate::message::{lex, HeaderName, ParseError, SipStr};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
/// `Call-ID`: the dialog's (or registration's) identifier.
pub struct CallId(pub SipStr);

impl CallId {
    /// A Call-ID of `id`.
    pub fn new(id: impl Into<SipStr>) -> CallId {
        CallId(id.into())
    }
    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `s` is a valid Call-ID (`word [ "@" word ]`).
#[inline]
pub(crate) fn is_valid(s: &str) -> bool {
    let (a, b) = match lex::split_byte(s, b'@') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let word = |w: &str| !w.is_empty() && w.bytes().all(lex::is_word);
    word(a) && b.is_none_or(word)
}

impl TypedHeader for CallId {
    const NAME: HeaderName = HeaderName::CallId;
    const LIST: bool = false;
    fn parse_sip(value: &SipStr) -> Result<Self, ParseError> {
        let id = lex::trim_ws(value);
        if !is_valid(id) {
            return Err(invalid("Call-ID", "not word[@word]"));
        }
        Ok(CallId(value.slice_ref(id)))
    }
    fn print(&self, out: &mut String) {
        out.push_str(&self.0);
    }
}

display_typed!(CallId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid() {
        assert_eq!(
            CallId::parse(" a84b4c76e66710@pc33.atlanta.com ")
                .unwrap()
                .as_str(),
            "a84b4c76e66710@pc33.atlanta.com"
        );
        assert!(CallId::parse("wsinv.ndaksdj@192.0.2.1").is_ok());
        assert!(CallId::parse("<a>[b]{c}").is_ok());
        for bad in ["", "a b", "a@", "@b", "a@b@c", "a;b"] {
            assert!(CallId::parse(bad).is_err(), "{bad}");
        }
    }
}
