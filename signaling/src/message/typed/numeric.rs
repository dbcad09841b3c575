//! Headers whose value is one number: Max-Forwards, Expires, Min-Expires, Content-Length,
//! RSeq (RFC 3262), Min-SE (RFC 4028, params allowed and ignored).

use super::{display_typed, invalid, TypedHeader};
use crate::message::{lex, HeaderName, Params, ParseError, SipStr};

macro_rules! numeric_header {
    ($(#[$doc:meta])* $t:ident, $name:ident, $label:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $t(pub u32);

        impl TypedHeader for $t {
            const NAME: HeaderName = HeaderName::$name;
            const LIST: bool = false;
            fn parse_sip(value: &SipStr) -> Result<Self, ParseError> {
                parse_bounded(lex::trim_ws(value), $max, $label).map($t)
            }
            fn print(&self, out: &mut String) {
                out.push_str(&self.0.to_string());
            }
        }

        display_typed!($t);
    };
}

fn parse_bounded(s: &str, max: u32, header: &'static str) -> Result<u32, ParseError> {
    let n: u32 = lex::parse_digits(s).ok_or_else(|| invalid(header, "not a number"))?;
    if n > max {
        return Err(invalid(header, "value too large"));
    }
    Ok(n)
}

numeric_header!(
    /// Max-Forwards: 0-255 (RFC 3261 §20.22; larger values are rejected).
    MaxForwards, MaxForwards, "Max-Forwards", 255
);
numeric_header!(
    /// Expires: delta-seconds up to 2**32-1.
    Expires, Expires, "Expires", u32::MAX
);
numeric_header!(
    /// Min-Expires (RFC 3261 §20.23).
    MinExpires, MinExpires, "Min-Expires", u32::MAX
);
numeric_header!(
    /// Content-Length (`l`).
    ContentLength, ContentLength, "Content-Length", u32::MAX
);
numeric_header!(
    /// RSeq (RFC 3262 §7.1): 1 to 2**32-1.
    RSeq, RSeq, "RSeq", u32::MAX
);

/// Min-SE (RFC 4028 §5): `delta-seconds *(;generic-param)`; the parameters carry nothing we
/// use, so they are checked for syntax and dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MinSe(pub u32);

impl TypedHeader for MinSe {
    const NAME: HeaderName = HeaderName::MinSe;
    const LIST: bool = false;
    fn parse_sip(value: &SipStr) -> Result<Self, ParseError> {
        let s = lex::trim_ws(value);
        let (digits, rest) = lex::take_while(s, |b| b.is_ascii_digit());
        let n = parse_bounded(digits, u32::MAX, "Min-SE")?;
        Params::parse_header(value, rest).map_err(|_| invalid("Min-SE", "bad parameters"))?;
        Ok(MinSe(n))
    }
    fn print(&self, out: &mut String) {
        out.push_str(&self.0.to_string());
    }
}

display_typed!(MinSe);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(MaxForwards::parse(" 70 ").unwrap(), MaxForwards(70));
        assert!(MaxForwards::parse("256").is_err());
        assert!(MaxForwards::parse("-1").is_err());
        assert_eq!(Expires::parse("4294967295").unwrap(), Expires(u32::MAX));
        assert!(Expires::parse("10000000000000000000").is_err());
        assert!(ContentLength::parse("-999").is_err());
        assert!(ContentLength::parse("1 2").is_err());
        assert_eq!(RSeq::parse("988789").unwrap().to_string(), "988789");
        assert_eq!(MinExpires::parse("60").unwrap(), MinExpires(60));
    }

    #[test]
    fn min_se_ignores_params() {
        assert_eq!(MinSe::parse("90;lr;foo=bar").unwrap(), MinSe(90));
        assert_eq!(MinSe::parse("90 ; foo = bar").unwrap(), MinSe(90));
        assert!(MinSe::parse("90 x").is_err());
        assert_eq!(MinSe(90).to_string(), "90");
    }
}
