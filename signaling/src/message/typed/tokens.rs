//! Comma-separated token lists: Allow (methods), Supported (`k`), Require, Unsupported
//! (option tags). Each list element is one typed value, so `typed_all` collects them all.

use super::{display_typed, invalid, TypedHeader};
use crate::message::{lex, HeaderName, Method, ParseError, SipStr};

fn token(value: &SipStr, header: &'static str) -> Result<SipStr, ParseError> {
    let t = lex::trim_ws(value);
    if !lex::is_token_str(t) {
        return Err(invalid(header, "not a token"));
    }
    Ok(value.slice_ref(t))
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// One `Allow` element: a method the sender accepts.
pub struct Allow(pub Method);

impl TypedHeader for Allow {
    const NAME: HeaderName = HeaderName::Allow;
    const LIST: bool = true;
    fn parse_sip(value: &SipStr) -> Result<Self, ParseError> {
        let t = token(value, "Allow")?;
        Ok(Allow(match Method::from_token(&t) {
            Method::Other(_) => Method::Other(t),
            m => m,
        }))
    }
    fn print(&self, out: &mut String) {
        out.push_str(self.0.as_str());
    }
}

macro_rules! option_tag_header {
    ($(#[$doc:meta])* $t:ident, $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $t(pub SipStr);

        impl TypedHeader for $t {
            const NAME: HeaderName = HeaderName::$name;
            const LIST: bool = true;
            fn parse_sip(value: &SipStr) -> Result<Self, ParseError> {
                token(value, $label).map($t)
            }
            fn print(&self, out: &mut String) {
                out.push_str(&self.0);
            }
        }
    };
}

option_tag_header!(
    /// One Supported (`k`) option tag, e.g. `100rel`, `timer`, `replaces`.
    Supported, Supported, "Supported"
);
option_tag_header!(
    /// One Require option tag.
    Require, Require, "Require"
);
option_tag_header!(
    /// One Unsupported option tag.
    Unsupported, Unsupported, "Unsupported"
);

display_typed!(Allow, Supported, Require, Unsupported);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Headers;

    #[test]
    fn lists() {
        let mut h = Headers::new();
        h.push(HeaderName::Allow, "INVITE, ACK ,CANCEL,FOO");
        h.push(HeaderName::Supported, "100rel, timer");
        h.push(HeaderName::Supported, "replaces");
        let allow: Vec<Allow> = h.typed_all().unwrap();
        assert_eq!(allow.len(), 4);
        assert_eq!(allow[3], Allow(Method::Other("FOO".into())));
        let sup: Vec<Supported> = h.typed_all().unwrap();
        assert_eq!(
            sup.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
            ["100rel", "timer", "replaces"]
        );
        assert!(Require::parse("a b").is_err());
        assert!(h.typed_all::<Unsupported>().unwrap().is_empty());
    }
}
