//! Session-Expires (`x`, RFC 4028): `1800;refresher=uac`.

use super::{display_typed, invalid, TypedHeader};
use crate::message::{lex, HeaderName, Params, ParseError, SipStr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// Which side refreshes the session (RFC 4028).
pub enum Refresher {
    /// The caller (`uac`).
    Uac,
    /// The callee (`uas`).
    Uas,
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// `Session-Expires` (RFC 4028): the session interval and its refresher.
pub struct SessionExpires {
    /// The session interval, in seconds.
    pub delta_seconds: u32,
    /// Who refreshes, when named.
    pub refresher: Option<Refresher>,
    /// Other parameters, kept.
    pub params: Params,
}

impl SessionExpires {
    /// A Session-Expires of `delta_seconds`.
    pub fn new(delta_seconds: u32, refresher: Option<Refresher>) -> SessionExpires {
        SessionExpires {
            delta_seconds,
            refresher,
            params: Params::new(),
        }
    }
}

impl TypedHeader for SessionExpires {
    const NAME: HeaderName = HeaderName::SessionExpires;
    const LIST: bool = false;
    fn parse_sip(value: &SipStr) -> Result<Self, ParseError> {
        let s = lex::trim_ws(value);
        let (digits, rest) = lex::take_while(s, |b| b.is_ascii_digit());
        let delta_seconds =
            lex::parse_digits(digits).ok_or_else(|| invalid("Session-Expires", "not a number"))?;
        let mut params = Params::parse_header(value, rest)
            .map_err(|_| invalid("Session-Expires", "bad parameters"))?;
        let refresher = match params.value("refresher") {
            None => None,
            Some(r) if r.eq_ignore_ascii_case("uac") => Some(Refresher::Uac),
            Some(r) if r.eq_ignore_ascii_case("uas") => Some(Refresher::Uas),
            Some(_) => {
                return Err(invalid(
                    "Session-Expires",
                    "refresher is neither uac nor uas",
                ))
            }
        };
        params.remove("refresher");
        Ok(SessionExpires {
            delta_seconds,
            refresher,
            params,
        })
    }
    fn print(&self, out: &mut String) {
        out.push_str(&self.delta_seconds.to_string());
        match self.refresher {
            Some(Refresher::Uac) => out.push_str(";refresher=uac"),
            Some(Refresher::Uas) => out.push_str(";refresher=uas"),
            None => {}
        }
        self.params.print_header(out);
    }
}

display_typed!(SessionExpires);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_expires() {
        let s = SessionExpires::parse("1800 ; refresher = UAS;x=1").unwrap();
        assert_eq!(s.delta_seconds, 1800);
        assert_eq!(s.refresher, Some(Refresher::Uas));
        assert_eq!(s.to_string(), "1800;refresher=uas;x=1");
        assert_eq!(
            SessionExpires::parse("90").unwrap(),
            SessionExpires::new(90, None)
        );
        assert!(SessionExpires::parse("90;refresher=proxy").is_err());
        assert!(SessionExpires::parse("abc").is_err());
    }
}
