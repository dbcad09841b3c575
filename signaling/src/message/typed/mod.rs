//! Typed headers: parsed on demand from a raw value, printed in canonical form.
//! One header (or one family sharing a grammar) per file, with its tests.

use super::{HeaderName, ParseError, ParseErrorKind, SipStr};

mod auth;
mod call_id;
mod content_type;
mod cseq;
mod event;
mod name_addr;
mod numeric;
mod rack;
mod replaces;
mod session_expires;
mod tokens;
mod via;

pub use auth::{
    Authorization, Challenge, Credentials, ProxyAuthenticate, ProxyAuthorization, WwwAuthenticate,
};
#[cfg(test)]
pub(crate) use call_id::is_valid as call_id_is_valid;
pub use call_id::CallId;
pub use content_type::ContentType;
pub use cseq::CSeq;
pub(crate) use cseq::MAX_CSEQ;
pub use event::{Event, SubscriptionState};
pub use name_addr::{
    Contact, From, NameAddr, PAssertedIdentity, RecordRoute, ReferTo, ReferredBy, Route, To,
};
pub use numeric::{ContentLength, Expires, MaxForwards, MinExpires, MinSe, RSeq};
pub use rack::RAck;
pub use replaces::Replaces;
pub use session_expires::{Refresher, SessionExpires};
pub use tokens::{Allow, Require, Supported, Unsupported};
pub use via::{Transport, Via};

/// A header with a typed form.
pub trait TypedHeader: Sized {
    /// The header's name.
    const NAME: HeaderName;
    /// Whether the header is a comma-separated list (`Via`, `Contact`, `Route`, ...): then
    /// `parse` receives one element at a time.
    const LIST: bool;
    /// Parses one value (one list element for list headers), LWS already trimmed. Copies
    /// `value` once; [`TypedHeader::parse_sip`] shares a buffer instead.
    fn parse(value: &str) -> Result<Self, ParseError> {
        Self::parse_sip(&SipStr::from(value))
    }
    /// Parses one value held in a `SipStr`; the strings of the result share its buffer.
    fn parse_sip(value: &SipStr) -> Result<Self, ParseError>;
    /// Prints the canonical form of the value (without the header name).
    fn print(&self, out: &mut String);
    /// The printed value as a new string.
    fn to_value_string(&self) -> String {
        let mut s = String::new();
        self.print(&mut s);
        s
    }
}

/// The error for a header value that does not parse.
pub(crate) fn invalid(name: &'static str, detail: &str) -> ParseError {
    ParseError::new(ParseErrorKind::InvalidHeader(name), detail)
}

/// Implements `Display` by way of `TypedHeader::print`.
macro_rules! display_typed {
    ($($t:ty),* $(,)?) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&crate::message::typed::TypedHeader::to_value_string(self))
            }
        }
    )*};
}
pub(crate) use display_typed;

/// Splits a list header value on commas that are outside quoted strings and `<...>`,
/// trimming LWS around each element and skipping empty elements.
#[inline]
pub fn split_list(value: &str) -> impl Iterator<Item = &str> {
    SplitList { rest: value }
}

struct SplitList<'a> {
    rest: &'a str,
}

impl<'a> Iterator for SplitList<'a> {
    type Item = &'a str;
    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let bytes = self.rest.as_bytes();
            let (mut in_quotes, mut in_angle, mut escaped) = (false, false, false);
            let mut end = bytes.len();
            for (i, &b) in bytes.iter().enumerate() {
                if in_quotes {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_quotes = false;
                    }
                    continue;
                }
                match b {
                    b'"' => in_quotes = true,
                    b'<' => in_angle = true,
                    b'>' => in_angle = false,
                    b',' if !in_angle => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            let item = self.rest[..end].trim_matches(|c| c == ' ' || c == '\t');
            self.rest = if end < bytes.len() {
                &self.rest[end + 1..]
            } else {
                ""
            };
            if !item.is_empty() {
                return Some(item);
            }
        }
    }
}
