//! CSeq (RFC 3261 §20.16).

use super::{display_typed, invalid, TypedHeader};
use crate::message::{lex, HeaderName, Method, ParseError, SipStr};

/// `CSeq: 4711 INVITE`. The number is below 2**31 (RFC 3261 §8.1.1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// The sequence number.
    pub seq: u32,
    /// The method it counts (the request's own).
    pub method: Method,
}

/// The largest CSeq number RFC 3261 §8.1.1.5 allows.
pub const MAX_CSEQ: u32 = (1 << 31) - 1;

impl CSeq {
    /// A CSeq of `seq` for `method`.
    pub fn new(seq: u32, method: Method) -> CSeq {
        CSeq { seq, method }
    }
}

/// Parses `number LWS token` where the number is below `limit` (shared with RAck).
#[inline]
pub(crate) fn parse_number<'a>(
    s: &'a str,
    header: &'static str,
) -> Result<(u32, &'a str), ParseError> {
    let (digits, rest) = lex::take_while(s, |b| b.is_ascii_digit());
    let n: u32 = lex::parse_digits(digits).ok_or_else(|| invalid(header, "bad number"))?;
    Ok((n, rest))
}

/// Parses a method token at the start of `s` (after LWS), requiring nothing after it.
#[inline]
pub(crate) fn parse_method(
    src: &SipStr,
    s: &str,
    header: &'static str,
) -> Result<Method, ParseError> {
    if !s.starts_with([' ', '\t']) {
        return Err(invalid(header, "no LWS before the method"));
    }
    let m = lex::trim_ws(s);
    if !lex::is_token_str(m) {
        return Err(invalid(header, "bad method"));
    }
    Ok(match Method::from_token(m) {
        Method::Other(_) => Method::Other(src.slice_ref(m)),
        known => known,
    })
}

impl TypedHeader for CSeq {
    const NAME: HeaderName = HeaderName::CSeq;
    const LIST: bool = false;
    fn parse_sip(value: &SipStr) -> Result<Self, ParseError> {
        let (seq, rest) = parse_number(lex::trim_ws(value), "CSeq")?;
        if seq > MAX_CSEQ {
            return Err(invalid("CSeq", "number not below 2**31"));
        }
        let method = parse_method(value, rest, "CSeq")?;
        Ok(CSeq { seq, method })
    }
    fn print(&self, out: &mut String) {
        out.push_str(&self.seq.to_string());
        out.push(' ');
        out.push_str(self.method.as_str());
    }
}

display_typed!(CSeq);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let c = CSeq::parse("  4711   INVITE ").unwrap();
        assert_eq!(c, CSeq::new(4711, Method::Invite));
        assert_eq!(c.to_string(), "4711 INVITE");
        let c = CSeq::parse("1 NEWMETHOD").unwrap();
        assert_eq!(c.method, Method::Other("NEWMETHOD".into()));
        assert_eq!(CSeq::parse("2147483647 ACK").unwrap().seq, MAX_CSEQ);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "2147483648 INVITE",
            "36893488147419103232 INVITE",
            "INVITE",
            "1",
            "1INVITE",
            "-1 INVITE",
            "1 IN VITE",
            "",
        ] {
            assert!(CSeq::parse(bad).is_err(), "{bad}");
        }
    }
}
