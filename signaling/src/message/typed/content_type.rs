//! Content-Type (`c`): `type/subtype;params`.

use super::{display_typed, invalid, TypedHeader};
use crate::message::{lex, HeaderName, Params, ParseError, SipStr};

#[derive(Debug, Clone, PartialEq, Eq)]
/// `Content-Type`: the body's media type.
pub struct ContentType {
    /// Lower-cased `type/subtype`, e.g. `application/sdp`.
    pub media_type: SipStr,
    /// Parameters (`charset`, `boundary`...).
    pub params: Params,
}

impl ContentType {
    /// A media type without parameters (lower-cased).
    pub fn new(media_type: &str) -> ContentType {
        ContentType {
            media_type: SipStr::from(media_type.to_ascii_lowercase()),
            params: Params::new(),
        }
    }
    /// `application/sdp`.
    pub fn sdp() -> ContentType {
        ContentType {
            media_type: SipStr::from_static("application/sdp"),
            params: Params::new(),
        }
    }
    /// Whether this is `type/subtype` (compared case-insensitively).
    pub fn is(&self, media_type: &str) -> bool {
        self.media_type.eq_ignore_ascii_case(media_type)
    }
    /// The unquoted `boundary` of a multipart body.
    pub fn boundary(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.params.unquoted("boundary")
    }
}

impl TypedHeader for ContentType {
    const NAME: HeaderName = HeaderName::ContentType;
    const LIST: bool = false;
    fn parse_sip(value: &SipStr) -> Result<Self, ParseError> {
        let bad = || invalid("Content-Type", "not type/subtype");
        let s = lex::trim_ws(value);
        let (ty, rest) = lex::take_while(s, lex::is_token);
        let rest = lex::trim_ws_start(rest).strip_prefix('/').ok_or_else(bad)?;
        let (sub, rest) = lex::take_while(lex::trim_ws_start(rest), lex::is_token);
        if ty.is_empty() || sub.is_empty() {
            return Err(bad());
        }
        let params = Params::parse_header(value, rest)
            .map_err(|_| invalid("Content-Type", "bad parameters"))?;
        let n = ty.len() + 1 + sub.len();
        let contiguous =
            s.as_bytes().get(ty.len()) == Some(&b'/') && s.get(ty.len() + 1..n) == Some(sub);
        let media_type = match s.get(..n) {
            Some(whole) if contiguous && !whole.bytes().any(|b| b.is_ascii_uppercase()) => {
                value.slice_ref(whole)
            }
            _ => SipStr::from(format!("{ty}/{sub}").to_ascii_lowercase()),
        };
        Ok(ContentType { media_type, params })
    }
    fn print(&self, out: &mut String) {
        out.push_str(&self.media_type);
        self.params.print_header(out);
    }
}

display_typed!(ContentType);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type() {
        let c = ContentType::parse("Application/SDP").unwrap();
        assert_eq!(c.media_type, "application/sdp");
        assert!(c.is("application/SDP"));
        let c = ContentType::parse(r#"multipart/mixed;boundary="unique-boundary-1""#).unwrap();
        assert_eq!(c.boundary().unwrap(), "unique-boundary-1");
        assert_eq!(
            c.to_string(),
            r#"multipart/mixed;boundary="unique-boundary-1""#
        );
        let c = ContentType::parse("message / sipfrag ; version=2.0").unwrap();
        assert_eq!(c.media_type, "message/sipfrag");
        assert_eq!(c.params.value("version"), Some("2.0"));
        assert!(ContentType::parse("text").is_err());
        assert!(ContentType::parse("text/").is_err());
    }
}
