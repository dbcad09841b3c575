//! Replaces (RFC 3891): `call-id;to-tag=...;from-tag=...[;early-only]`.

use super::call_id::is_valid as is_call_id;
use super::{display_typed, invalid, TypedHeader};
use crate::message::{lex, HeaderName, Params, ParseError, SipStr};

#[derive(Debug, Clone, PartialEq, Eq)]
/// `Replaces` (RFC 3891): the dialog a new INVITE replaces.
pub struct Replaces {
    /// The replaced dialog's Call-ID.
    pub call_id: SipStr,
    /// Its `to-tag`.
    pub to_tag: SipStr,
    /// Its `from-tag`.
    pub from_tag: SipStr,
    /// `early-only`: replace only a dialog that is not yet confirmed.
    pub early_only: bool,
    /// Any other parameters, kept.
    pub params: Params,
}

impl Replaces {
    /// A Replaces naming a dialog.
    pub fn new(
        call_id: impl Into<SipStr>,
        to_tag: impl Into<SipStr>,
        from_tag: impl Into<SipStr>,
    ) -> Replaces {
        Replaces {
            call_id: call_id.into(),
            to_tag: to_tag.into(),
            from_tag: from_tag.into(),
            early_only: false,
            params: Params::new(),
        }
    }

    /// Parses the value carried, %-escaped, in a Refer-To URI's `?Replaces=` header
    /// (RFC 3891 §6.1): unescapes it first.
    pub fn from_uri_header(escaped: &str) -> Result<Replaces, ParseError> {
        let text = lex::unescape(escaped).ok_or_else(|| invalid("Replaces", "bad escape"))?;
        Replaces::parse(&text)
    }
}

impl TypedHeader for Replaces {
    const NAME: HeaderName = HeaderName::Replaces;
    const LIST: bool = false;
    fn parse_sip(value: &SipStr) -> Result<Self, ParseError> {
        let s = lex::trim_ws(value);
        let end = s.find([';', ' ', '\t']).unwrap_or(s.len());
        let (id, rest) = s.split_at(end);
        if !is_call_id(id) {
            return Err(invalid("Replaces", "bad call-id"));
        }
        let mut params =
            Params::parse_header(value, rest).map_err(|_| invalid("Replaces", "bad parameters"))?;
        let tag = |p: &Params, n: &str| p.value(n).map(|v| value.slice_ref(v));
        let to_tag = tag(&params, "to-tag").ok_or_else(|| invalid("Replaces", "no to-tag"))?;
        let from_tag =
            tag(&params, "from-tag").ok_or_else(|| invalid("Replaces", "no from-tag"))?;
        let early_only = params.contains("early-only");
        for known in ["to-tag", "from-tag", "early-only"] {
            params.remove(known);
        }
        Ok(Replaces {
            call_id: value.slice_ref(id),
            to_tag,
            from_tag,
            early_only,
            params,
        })
    }
    fn print(&self, out: &mut String) {
        out.push_str(&self.call_id);
        out.push_str(";to-tag=");
        out.push_str(&self.to_tag);
        out.push_str(";from-tag=");
        out.push_str(&self.from_tag);
        if self.early_only {
            out.push_str(";early-only");
        }
        self.params.print_header(out);
    }
}

display_typed!(Replaces);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces() {
        let r =
            Replaces::parse("98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff;early-only")
                .unwrap();
        assert_eq!(r.call_id, "98732@sip.example.com");
        assert_eq!(r.to_tag, "ff87ff");
        assert_eq!(r.from_tag, "r33th4x0r");
        assert!(r.early_only);
        assert_eq!(
            r.to_string(),
            "98732@sip.example.com;to-tag=ff87ff;from-tag=r33th4x0r;early-only"
        );
        assert!(Replaces::parse("abc;to-tag=1").is_err());
        let e = Replaces::from_uri_header(
            "12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994",
        )
        .unwrap();
        assert_eq!(e.call_id, "12345@192.168.118.3");
        assert_eq!(e.from_tag, "5FFE-3994");
    }
}
