//! WWW-Authenticate / Proxy-Authenticate challenges and Authorization /
//! Proxy-Authorization credentials (RFC 3261 §20.44, RFC 7616, RFC 8760).
//!
//! These are not comma lists at the header level (their parameters are comma-separated),
//! so several challenges come as repeated header lines.

use super::{display_typed, invalid, TypedHeader};
use crate::message::{lex, HeaderName, ParseError, SipStr};

/// `Digest realm="pbx",nonce="...",qop="auth",algorithm=SHA-256,stale=true,opaque="..."`.
/// Parameter values are unquoted and unescaped; `algorithm` is kept exactly as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme, e.g. `Digest` (compare case-insensitively).
    pub scheme: SipStr,
    /// `(name, unquoted value, was_quoted)` in order.
    pub params: Vec<(SipStr, SipStr, bool)>,
}

/// `Digest username="1001",realm="pbx",nonce="...",uri="sip:pbx",response="...",...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The scheme (`Digest`).
    pub scheme: SipStr,
    /// `(name, unquoted value, was_quoted)` in order; printing quotes what was quoted.
    pub params: Vec<(SipStr, SipStr, bool)>,
}

/// Digest parameters RFC 7616 §3.4 / RFC 3261 §25.1 write as tokens, never quoted.
const UNQUOTED: [&str; 4] = ["algorithm", "qop", "nc", "stale"];

/// Whether a digest parameter is written as a quoted string. `qop` is quoted in a
/// challenge (a list, `qop="auth,auth-int"`) but a token in credentials.
fn quoted_by_rfc(name: &str, in_challenge: bool) -> bool {
    if in_challenge && name.eq_ignore_ascii_case("qop") {
        return true;
    }
    !UNQUOTED.iter().any(|u| u.eq_ignore_ascii_case(name))
}

fn find<'a>(params: &'a [(SipStr, SipStr, bool)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v, _)| v.as_str())
}

fn set(params: &mut Vec<(SipStr, SipStr, bool)>, name: &str, value: &str, quoted: bool) {
    match params
        .iter_mut()
        .find(|(k, _, _)| k.eq_ignore_ascii_case(name))
    {
        Some(slot) => {
            slot.1 = SipStr::from(value);
            slot.2 = quoted;
        }
        None => params.push((SipStr::from(name), SipStr::from(value), quoted)),
    }
}

/// `(name, unquoted value, was_quoted)`.
type AuthParam = (SipStr, SipStr, bool);

/// Parses `scheme LWS auth-param *(COMMA auth-param)`.
fn parse_auth(
    value: &SipStr,
    header: &'static str,
) -> Result<(SipStr, Vec<AuthParam>), ParseError> {
    let s = lex::trim_ws(value);
    let (scheme, mut rest) = lex::take_while(s, lex::is_token);
    if scheme.is_empty() {
        return Err(invalid(header, "missing scheme"));
    }
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return Err(invalid(header, "no LWS after the scheme"));
    }
    let mut params = Vec::with_capacity(8);
    rest = lex::trim_ws_start(rest);
    while !rest.is_empty() {
        let (name, after) = lex::take_while(rest, lex::is_token);
        if name.is_empty() {
            return Err(invalid(header, "bad parameter name"));
        }
        let after = lex::trim_ws_start(after);
        let after = lex::trim_ws_start(
            after
                .strip_prefix('=')
                .ok_or_else(|| invalid(header, "parameter without '='"))?,
        );
        let (val, quoted, after) = if after.starts_with('"') {
            let len = lex::quoted_len(after)
                .ok_or_else(|| invalid(header, "unterminated quoted string"))?;
            let inner = &after[1..len - 1];
            let val = match lex::unquote(inner) {
                std::borrow::Cow::Borrowed(b) => value.slice_ref(b),
                std::borrow::Cow::Owned(o) => SipStr::from(o),
            };
            (val, true, &after[len..])
        } else {
            // RFC 7616 allows tokens; some servers put a `/` or `:` in unquoted values.
            let (tok, after) = lex::take_while(after, |b| {
                lex::is_token(b) || matches!(b, b'/' | b':' | b'@')
            });
            if tok.is_empty() {
                return Err(invalid(header, "empty parameter value"));
            }
            (value.slice_ref(tok), false, after)
        };
        params.push((value.slice_ref(name), val, quoted));
        rest = lex::trim_ws_start(after);
        if rest.is_empty() {
            break;
        }
        rest = lex::trim_ws_start(
            rest.strip_prefix(',')
                .ok_or_else(|| invalid(header, "expected ','"))?,
        );
        if rest.is_empty() {
            return Err(invalid(header, "trailing ','"));
        }
    }
    Ok((value.slice_ref(scheme), params))
}

fn print_auth(scheme: &str, params: &[(SipStr, SipStr, bool)], out: &mut String) {
    out.push_str(scheme);
    for (i, (k, v, quoted)) in params.iter().enumerate() {
        out.push_str(if i == 0 { " " } else { ", " });
        out.push_str(k);
        out.push('=');
        if *quoted {
            lex::quote_into(out, v);
        } else {
            out.push_str(v);
        }
    }
}

impl Challenge {
    /// An empty challenge of `scheme` (e.g. `Digest`).
    pub fn new(scheme: &str) -> Challenge {
        Challenge {
            scheme: SipStr::from(scheme),
            params: Vec::new(),
        }
    }

    /// Sets a parameter, quoting it as RFC 7616 writes it in a challenge.
    pub fn with(mut self, name: &str, value: &str) -> Challenge {
        self.set(name, value);
        self
    }

    /// Sets a parameter (quoted).
    pub fn set(&mut self, name: &str, value: &str) {
        set(&mut self.params, name, value, quoted_by_rfc(name, true));
    }

    /// The unquoted value of a parameter, name compared case-insensitively.
    pub fn param(&self, name: &str) -> Option<&str> {
        find(&self.params, name)
    }

    /// Whether the scheme is `Digest`.
    pub fn is_digest(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("Digest")
    }
    /// The `realm` parameter.
    pub fn realm(&self) -> Option<&str> {
        self.param("realm")
    }
    /// The `nonce` parameter.
    pub fn nonce(&self) -> Option<&str> {
        self.param("nonce")
    }
    /// The `opaque` parameter.
    pub fn opaque(&self) -> Option<&str> {
        self.param("opaque")
    }
    /// The algorithm exactly as sent (`MD5` when absent, RFC 7616 §3.3).
    pub fn algorithm(&self) -> &str {
        self.param("algorithm").unwrap_or("MD5")
    }
    /// The offered qop values (`qop="auth,auth-int"`).
    pub fn qop_options(&self) -> impl Iterator<Item = &str> {
        self.param("qop")
            .unwrap_or("")
            .split(',')
            .map(lex::trim_ws)
            .filter(|s| !s.is_empty())
    }
    /// `stale=true` (case-insensitive).
    pub fn stale(&self) -> bool {
        self.param("stale")
            .is_some_and(|s| s.eq_ignore_ascii_case("true"))
    }

    pub(crate) fn parse_in(value: &SipStr, header: &'static str) -> Result<Challenge, ParseError> {
        parse_auth(value, header).map(|(scheme, params)| Challenge { scheme, params })
    }

    /// Appends the challenge as a header value.
    pub fn print(&self, out: &mut String) {
        print_auth(&self.scheme, &self.params, out)
    }
}

impl Credentials {
    /// Empty credentials of `scheme` (e.g. `Digest`).
    pub fn new(scheme: &str) -> Credentials {
        Credentials {
            scheme: SipStr::from(scheme),
            params: Vec::new(),
        }
    }

    /// Sets a parameter, quoted as RFC 7616 §3.4 says: `algorithm`, `qop`, `nc` (and
    /// `stale`) as tokens, everything else (`username realm nonce uri response cnonce
    /// opaque` ...) as quoted strings.
    pub fn with(mut self, name: &str, value: &str) -> Credentials {
        self.set(name, value);
        self
    }

    /// Sets a parameter, quoted as [`Credentials::with`] says.
    pub fn set(&mut self, name: &str, value: &str) {
        set(&mut self.params, name, value, quoted_by_rfc(name, false));
    }

    /// The unquoted value of a parameter, name compared case-insensitively.
    pub fn param(&self, name: &str) -> Option<&str> {
        find(&self.params, name)
    }

    /// The `username` parameter.
    pub fn username(&self) -> Option<&str> {
        self.param("username")
    }
    /// The `realm` parameter.
    pub fn realm(&self) -> Option<&str> {
        self.param("realm")
    }
    /// The `nonce` parameter.
    pub fn nonce(&self) -> Option<&str> {
        self.param("nonce")
    }
    /// The `response` parameter.
    pub fn response(&self) -> Option<&str> {
        self.param("response")
    }

    pub(crate) fn parse_in(
        value: &SipStr,
        header: &'static str,
    ) -> Result<Credentials, ParseError> {
        parse_auth(value, header).map(|(scheme, params)| Credentials { scheme, params })
    }

    /// Appends the credentials as a header value.
    pub fn print(&self, out: &mut String) {
        print_auth(&self.scheme, &self.params, out)
    }
}

macro_rules! auth_header {
    ($(#[$doc:meta])* $t:ident($inner:ident), $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $t(pub $inner);

        impl TypedHeader for $t {
            const NAME: HeaderName = HeaderName::$name;
            const LIST: bool = false;
            fn parse_sip(value: &SipStr) -> Result<Self, ParseError> {
                $inner::parse_in(value, $label).map($t)
            }
            fn print(&self, out: &mut String) {
                self.0.print(out)
            }
        }

        impl std::ops::Deref for $t {
            type Target = $inner;
            fn deref(&self) -> &$inner {
                &self.0
            }
        }
    };
}

auth_header!(
    /// A WWW-Authenticate challenge (401).
    WwwAuthenticate(Challenge), WwwAuthenticate, "WWW-Authenticate"
);
auth_header!(
    /// A Proxy-Authenticate challenge (407).
    ProxyAuthenticate(Challenge), ProxyAuthenticate, "Proxy-Authenticate"
);
auth_header!(
    /// Authorization credentials (answering a 401).
    Authorization(Credentials), Authorization, "Authorization"
);
auth_header!(
    /// Proxy-Authorization credentials (answering a 407).
    ProxyAuthorization(Credentials), ProxyAuthorization, "Proxy-Authorization"
);

display_typed!(
    WwwAuthenticate,
    ProxyAuthenticate,
    Authorization,
    ProxyAuthorization
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_sha256_round_trips() {
        let raw = r#"Digest realm="asterisk", nonce="1a2b\"3c", qop="auth,auth-int", algorithm=SHA-256, stale=TRUE, opaque="xyz""#;
        let c = WwwAuthenticate::parse(raw).unwrap();
        assert!(c.is_digest());
        assert_eq!(c.realm(), Some("asterisk"));
        assert_eq!(c.nonce(), Some("1a2b\"3c"));
        assert_eq!(c.algorithm(), "SHA-256");
        assert_eq!(c.qop_options().collect::<Vec<_>>(), ["auth", "auth-int"]);
        assert!(c.stale());
        assert_eq!(c.to_string(), raw);
        assert_eq!(WwwAuthenticate::parse(&c.to_string()).unwrap(), c);
    }

    #[test]
    fn compact_spacing_and_defaults() {
        let c = ProxyAuthenticate::parse(r#"Digest realm="sip.example.com",nonce="abc""#).unwrap();
        assert_eq!(c.algorithm(), "MD5");
        assert!(!c.stale());
        assert_eq!(c.qop_options().count(), 0);
    }

    #[test]
    fn credentials_builder_quotes_per_rfc7616() {
        let cr = Credentials::new("Digest")
            .with("username", "1001")
            .with("realm", "pbx")
            .with("nonce", "n")
            .with("uri", "sip:pbx.example.com")
            .with("response", "abcd")
            .with("algorithm", "SHA-256")
            .with("cnonce", "c")
            .with("opaque", "o")
            .with("qop", "auth")
            .with("nc", "00000001");
        let printed = Authorization(cr.clone()).to_string();
        assert_eq!(
            printed,
            r#"Digest username="1001", realm="pbx", nonce="n", uri="sip:pbx.example.com", response="abcd", algorithm=SHA-256, cnonce="c", opaque="o", qop=auth, nc=00000001"#
        );
        let back = Authorization::parse(&printed).unwrap();
        assert_eq!(back.0, cr);
        assert_eq!(back.username(), Some("1001"));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "Digest realm",
            r#"Digest realm="open"#,
            "Digest a=1,",
            "Digest a=1 b=2",
            "Digest =x",
        ] {
            assert!(Authorization::parse(bad).is_err(), "{bad}");
        }
        assert!(Authorization::parse("Digest").is_ok());
    }
}
