//! RAck (RFC 3262 §7.2): `RAck: 776656 1 INVITE`.

use super::cseq::{parse_method, parse_number};
use super::{display_typed, invalid, TypedHeader};
use crate::message::{lex, HeaderName, Method, ParseError, SipStr};

#[derive(Debug, Clone, PartialEq, Eq)]
/// `RAck` (RFC 3262): which reliable provisional response a PRACK acknowledges.
pub struct RAck {
    /// The response's RSeq.
    pub rseq: u32,
    /// The INVITE's CSeq number.
    pub cseq: u32,
    /// The INVITE's method.
    pub method: Method,
}

impl TypedHeader for RAck {
    const NAME: HeaderName = HeaderName::RAck;
    const LIST: bool = false;
    fn parse_sip(value: &SipStr) -> Result<Self, ParseError> {
        let (rseq, rest) = parse_number(lex::trim_ws(value), "RAck")?;
        if !rest.starts_with([' ', '\t']) {
            return Err(invalid("RAck", "no LWS after the RSeq number"));
        }
        let (cseq, rest) = parse_number(lex::trim_ws_start(rest), "RAck")?;
        let method = parse_method(value, rest, "RAck")?;
        Ok(RAck { rseq, cseq, method })
    }
    fn print(&self, out: &mut String) {
        out.push_str(&format!("{} {} {}", self.rseq, self.cseq, self.method));
    }
}

display_typed!(RAck);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rack() {
        let r = RAck::parse("776656  1 INVITE").unwrap();
        assert_eq!(
            r,
            RAck {
                rseq: 776656,
                cseq: 1,
                method: Method::Invite
            }
        );
        assert_eq!(r.to_string(), "776656 1 INVITE");
        assert!(RAck::parse("776656 INVITE").is_err());
        assert!(RAck::parse("1 2").is_err());
    }
}
