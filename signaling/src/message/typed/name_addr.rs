//! name-addr / addr-spec headers: From, To, Contact, Route, Record-Route, Refer-To,
//! Referred-By, P-Asserted-Identity (RFC 3261 §20, RFC 3515, RFC 3892, RFC 3325).

use super::{display_typed, invalid, Replaces, TypedHeader};
use crate::message::{lex, HeaderName, Params, ParseError, SipStr, Uri};

/// `"Display" <uri>;params` or a bare `uri;params` (where the params belong to the header).
/// `display_name` holds the unquoted, unescaped text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// The display name, unquoted.
    pub display_name: Option<SipStr>,
    /// The address.
    pub uri: Uri,
    /// Header parameters (`tag`, `expires`...), outside the `<>`.
    pub params: Params,
}

impl NameAddr {
    /// `<uri>` with no display name and no parameters.
    pub fn new(uri: Uri) -> NameAddr {
        NameAddr {
            display_name: None,
            uri,
            params: Params::new(),
        }
    }

    /// The same with a display name.
    pub fn with_display_name(mut self, name: impl Into<SipStr>) -> NameAddr {
        self.display_name = Some(name.into());
        self
    }

    /// Adds (or replaces) a header parameter, written as given.
    pub fn with_param(mut self, name: &str, value: Option<&str>) -> NameAddr {
        self.params.set(name, value);
        self
    }

    /// The same with a `tag` parameter.
    pub fn with_tag(self, tag: &str) -> NameAddr {
        self.with_param("tag", Some(tag))
    }

    /// The `tag` parameter (the dialog identifier's half).
    pub fn tag(&self) -> Option<&str> {
        self.params.value("tag")
    }

    /// Parses a name-addr or addr-spec with its parameters (copies `s` once).
    pub fn parse(s: &str) -> Result<NameAddr, ParseError> {
        let src = SipStr::from(s);
        NameAddr::parse_in(&src, &src, "name-addr")
    }

    /// Parses `s` (a slice of `src`); `header` names the header in errors.
    #[inline]
    pub(crate) fn parse_in(
        src: &SipStr,
        s: &str,
        header: &'static str,
    ) -> Result<NameAddr, ParseError> {
        let s = lex::trim_ws(s);
        if s.starts_with('"') {
            let len =
                lex::quoted_len(s).ok_or_else(|| invalid(header, "unterminated display name"))?;
            let inner = &s[1..len - 1];
            let display = match lex::unquote(inner) {
                std::borrow::Cow::Borrowed(b) => src.slice_ref(b),
                std::borrow::Cow::Owned(o) => SipStr::from(o),
            };
            let rest = lex::trim_ws_start(&s[len..]);
            if !rest.starts_with('<') {
                return Err(invalid(header, "display name without <uri>"));
            }
            return Self::parse_angle(src, rest, Some(display), header);
        }
        // An unquoted display name is `*(token LWS)`; anything else before `<` is an error,
        // and no `<` at all means an addr-spec.
        let (before, _) = lex::take_while(s, |b| lex::is_token(b) || lex::is_ws(b));
        if s[before.len()..].starts_with('<') {
            let name = lex::trim_ws(before);
            let display = (!name.is_empty()).then(|| src.slice_ref(name));
            return Self::parse_angle(src, &s[before.len()..], display, header);
        }
        if s.contains('<') {
            return Err(invalid(header, "bad display name"));
        }
        // addr-spec: the URI ends at the first `;` or LWS; what follows are header params.
        let end = s
            .bytes()
            .position(|b| b == b';' || lex::is_ws(b))
            .unwrap_or(s.len());
        let (uri, rest) = s.split_at(end);
        if uri.contains(['?', ',']) {
            return Err(invalid(
                header,
                "a URI with '?' or ',' must be enclosed in <>",
            ));
        }
        let uri = Uri::parse_in(src, uri).map_err(|e| invalid(header, &e.detail))?;
        let params =
            Params::parse_header(src, rest).map_err(|_| invalid(header, "bad parameters"))?;
        Ok(NameAddr {
            display_name: None,
            uri,
            params,
        })
    }

    /// `<uri>;params` (s starts with `<`).
    #[inline]
    fn parse_angle(
        src: &SipStr,
        s: &str,
        display_name: Option<SipStr>,
        header: &'static str,
    ) -> Result<NameAddr, ParseError> {
        let close = lex::find_byte(s, b'>').ok_or_else(|| invalid(header, "missing '>'"))?;
        let uri = Uri::parse_in(src, &s[1..close]).map_err(|e| invalid(header, &e.detail))?;
        let params = Params::parse_header(src, &s[close + 1..])
            .map_err(|_| invalid(header, "bad parameters"))?;
        Ok(NameAddr {
            display_name,
            uri,
            params,
        })
    }

    /// Prints the name-addr form: `"Display" <uri>;params` (always with angle brackets, so
    /// URI parameters never read as header parameters).
    pub fn print(&self, out: &mut String) {
        if let Some(name) = &self.display_name {
            if lex::is_token_str(name) {
                out.push_str(name);
            } else {
                lex::quote_into(out, name);
            }
            out.push(' ');
        }
        out.push('<');
        self.uri.print(out);
        out.push('>');
        self.params.print_header(out);
    }
}

/// Implements a newtype over `NameAddr` as a typed header.
macro_rules! name_addr_header {
    ($(#[$doc:meta])* $t:ident, $name:ident, $label:literal, $list:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $t(pub NameAddr);

        impl TypedHeader for $t {
            const NAME: HeaderName = HeaderName::$name;
            const LIST: bool = $list;
            fn parse_sip(value: &SipStr) -> Result<Self, ParseError> {
                NameAddr::parse_in(value, value, $label).map($t)
            }
            fn print(&self, out: &mut String) {
                self.0.print(out)
            }
        }

        impl std::ops::Deref for $t {
            type Target = NameAddr;
            fn deref(&self) -> &NameAddr {
                &self.0
            }
        }

        impl std::convert::From<NameAddr> for $t {
            fn from(n: NameAddr) -> Self {
                $t(n)
            }
        }

        display_typed!($t);
    };
}

name_addr_header!(
    /// From (`f`); `tag` identifies the dialog's local/remote side.
    From, From, "From", false
);
name_addr_header!(
    /// To (`t`).
    To, To, "To", false
);
name_addr_header!(
    /// One Route element.
    Route, Route, "Route", true
);
name_addr_header!(
    /// One Record-Route element.
    RecordRoute, RecordRoute, "Record-Route", true
);
name_addr_header!(
    /// Refer-To (`r`, RFC 3515); the URI may carry `?Replaces=...`.
    ReferTo, ReferTo, "Refer-To", false
);
name_addr_header!(
    /// Referred-By (`b`, RFC 3892).
    ReferredBy, ReferredBy, "Referred-By", false
);
name_addr_header!(
    /// One P-Asserted-Identity element (RFC 3325).
    PAssertedIdentity, PAssertedIdentity, "P-Asserted-Identity", true
);

/// One Contact element (`m`); `Contact: *` is `Contact::Wildcard`.
// Contacts are parsed one at a time and short-lived; boxing the address would cost an
// allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    /// `*` (remove every binding, in a REGISTER with Expires 0).
    Wildcard,
    /// One contact address.
    Addr(NameAddr),
}

impl Contact {
    /// The address, unless it is the wildcard.
    pub fn addr(&self) -> Option<&NameAddr> {
        match self {
            Contact::Wildcard => None,
            Contact::Addr(a) => Some(a),
        }
    }

    /// The `expires` parameter; `None` when absent or not a number.
    pub fn expires(&self) -> Option<u32> {
        self.addr()?.params.value("expires")?.parse().ok()
    }

    /// The `q` parameter (0.0-1.0); `None` when absent or malformed.
    pub fn q(&self) -> Option<f32> {
        let q: f32 = self.addr()?.params.value("q")?.parse().ok()?;
        (0.0..=1.0).contains(&q).then_some(q)
    }
}

impl TypedHeader for Contact {
    const NAME: HeaderName = HeaderName::Contact;
    const LIST: bool = true;
    fn parse_sip(value: &SipStr) -> Result<Self, ParseError> {
        if lex::trim_ws(value) == "*" {
            return Ok(Contact::Wildcard);
        }
        NameAddr::parse_in(value, value, "Contact").map(Contact::Addr)
    }
    fn print(&self, out: &mut String) {
        match self {
            Contact::Wildcard => out.push('*'),
            Contact::Addr(a) => a.print(out),
        }
    }
}

display_typed!(Contact);

impl std::fmt::Display for NameAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::new();
        self.print(&mut s);
        f.write_str(&s)
    }
}

impl ReferTo {
    /// The Replaces carried, escaped, in the Refer-To URI (`?Replaces=...`, RFC 3891 §6.1)
    /// for an attended transfer; `None` when there is none.
    pub fn replaces(&self) -> Option<Result<Replaces, ParseError>> {
        self.0
            .uri
            .as_sip()?
            .header("Replaces")
            .map(Replaces::from_uri_header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Host, ParseErrorKind};

    fn na(s: &str) -> NameAddr {
        NameAddr::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn quoted_display_name_with_escapes() {
        let n = na(r#""J Rosenberg \\\"" <sip:jdrosen@example.com>;tag=98asjd8"#);
        assert_eq!(n.display_name.as_deref(), Some(r#"J Rosenberg \""#));
        assert_eq!(n.tag(), Some("98asjd8"));
        assert_eq!(
            n.to_string(),
            r#""J Rosenberg \\\"" <sip:jdrosen@example.com>;tag=98asjd8"#
        );
    }

    #[test]
    fn unquoted_display_name_and_no_lws_before_angle() {
        let n = na("caller<sip:caller@example.com>;tag=323");
        assert_eq!(n.display_name.as_deref(), Some("caller"));
        assert_eq!(n.tag(), Some("323"));
        let n = na("Bob  Smith <sip:bob@x>");
        assert_eq!(n.display_name.as_deref(), Some("Bob  Smith"));
        assert_eq!(n.to_string(), "\"Bob  Smith\" <sip:bob@x>");
    }

    #[test]
    fn addr_spec_params_belong_to_header() {
        let n = na("sip:alice@atlanta.com;tag=88sja8x ;x=1");
        assert_eq!(n.tag(), Some("88sja8x"));
        assert_eq!(n.params.value("x"), Some("1"));
        assert!(n.uri.as_sip().is_some_and(|u| u.params.is_empty()));
        assert_eq!(n.to_string(), "<sip:alice@atlanta.com>;tag=88sja8x;x=1");
        let n = na("<sip:alice@atlanta.com;transport=tcp>;tag=1");
        assert_eq!(n.uri.as_sip().unwrap().transport(), Some("tcp"));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            r#""Watson, Thomas" < sip:t.watson@example.org >"#,
            "Bell, Alexander <sip:a.g.bell@example.com>",
            r#""Mr J. User <sip:j.user@example.com>"#,
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "<sip:a@b",
            "<sip:a@b>;;",
            "",
        ] {
            let e = NameAddr::parse(bad).unwrap_err();
            assert_eq!(e.kind, ParseErrorKind::InvalidHeader("name-addr"), "{bad}");
        }
    }

    #[test]
    fn contacts() {
        assert_eq!(Contact::parse(" * ").unwrap(), Contact::Wildcard);
        let c =
            Contact::parse("<sip:a@[2001:db8::1]:5060;transport=tcp>;expires=3600;q=0.7").unwrap();
        assert_eq!(c.expires(), Some(3600));
        assert_eq!(c.q(), Some(0.7));
        let host = &c.addr().unwrap().uri.as_sip().unwrap().host;
        assert_eq!(host, &Host::V6("2001:db8::1".parse().unwrap()));
        assert_eq!(
            c.to_string(),
            "<sip:a@[2001:db8::1]:5060;transport=tcp>;expires=3600;q=0.7"
        );
        let c = Contact::parse("<mailto:joe@example.com>").unwrap();
        assert_eq!(c.addr().unwrap().uri.scheme(), "mailto");
    }

    #[test]
    fn refer_to_with_replaces() {
        let r = ReferTo::parse(
            "<sip:3001@example.com?Replaces=12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994>",
        )
        .unwrap();
        let rep = r.replaces().unwrap().unwrap();
        assert_eq!(rep.call_id, "12345@192.168.118.3");
        assert_eq!(rep.to_tag, "12345");
        assert!(ReferTo::parse("<sip:3001@example.com>")
            .unwrap()
            .replaces()
            .is_none());
    }

    #[test]
    fn builders_round_trip() {
        let uri = Uri::parse("sip:1001@pbx.example.com").unwrap();
        let from = From(
            NameAddr::new(uri)
                .with_display_name("Agent \"1\"")
                .with_tag("abc"),
        );
        let printed = from.to_string();
        assert_eq!(
            printed,
            r#""Agent \"1\"" <sip:1001@pbx.example.com>;tag=abc"#
        );
        assert_eq!(From::parse(&printed).unwrap(), from);
    }
}
