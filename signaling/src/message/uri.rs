//! sip:, sips: and tel: URIs (RFC 3261 §19.1, RFC 3966), IPv6 references (RFC 5118).

use super::{lex, Params, ParseError, ParseErrorKind, SipStr};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A host: a domain name, an IPv4 address or an IPv6 reference (printed in brackets).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A domain name.
    Domain(SipStr),
    /// An IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 address (written in brackets).
    V6(Ipv6Addr),
}

/// A sip: or sips: URI. `user` and `password` hold the unescaped text; the printer escapes
/// what must be escaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    /// `sips:` rather than `sip:`.
    pub secure: bool,
    /// The user part, unescaped.
    pub user: Option<SipStr>,
    /// The password part (deprecated, RFC 3261 §19.1.1), unescaped.
    pub password: Option<SipStr>,
    /// The host.
    pub host: Host,
    /// The port, when given.
    pub port: Option<u16>,
    /// URI parameters (`transport`, `lr`...).
    pub params: Params,
    /// `?name=value&...` URI headers, kept as written.
    pub headers: Option<SipStr>,
}

/// A tel: URI (RFC 3966). `number` is as written, visual separators included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelUri {
    /// The number (global `+...` or local).
    pub number: SipStr,
    /// Parameters (`phone-context`...).
    pub params: Params,
}

/// Any URI a SIP message can carry. `Other` keeps an absolute URI of another scheme
/// (e.g. `mailto:`, `http:`) verbatim: legal in Contact and elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uri {
    /// A `sip:` or `sips:` URI.
    Sip(SipUri),
    /// A `tel:` URI.
    Tel(TelUri),
    /// Any other scheme, kept as written.
    Other(SipStr),
}

fn uri_err(detail: &str) -> ParseError {
    ParseError::new(ParseErrorKind::Uri, detail)
}

impl Host {
    /// Parses a host: `[IPv6]`, a dotted IPv4 address or a domain name. `src` is the buffer
    /// `s` lies in (a domain shares it).
    #[inline]
    pub(crate) fn parse_in(src: &SipStr, s: &str) -> Result<Host, ParseError> {
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or_else(|| uri_err("unclosed IPv6 reference"))?;
            return parse_v6(inner)
                .map(Host::V6)
                .ok_or_else(|| uri_err("bad IPv6 address"));
        }
        // One pass decides between a dotted IPv4 address and a domain name.
        let (mut digits_and_dots, mut domain_chars) = (true, true);
        for c in s.bytes() {
            digits_and_dots &= c.is_ascii_digit() || c == b'.';
            domain_chars &= c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_');
        }
        if s.is_empty() {
            return Err(uri_err("empty host"));
        }
        if digits_and_dots {
            return s
                .parse()
                .map(Host::V4)
                .map_err(|_| uri_err("bad IPv4 address"));
        }
        if !domain_chars || s.starts_with(['.', '-']) {
            return Err(uri_err("bad host name"));
        }
        Ok(Host::Domain(src.slice_ref(s)))
    }

    /// Parses a host from text (see `parse_in`).
    pub fn parse(s: &str) -> Result<Host, ParseError> {
        let src = SipStr::from(s);
        Host::parse_in(&src, &src)
    }

    /// The address, for IP hosts.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Domain(_) => None,
            Host::V4(a) => Some(IpAddr::V4(*a)),
            Host::V6(a) => Some(IpAddr::V6(*a)),
        }
    }

    /// Host equality per RFC 3261 §19.1.4: domain names compare case-insensitively.
    pub fn eq_rfc(&self, other: &Host) -> bool {
        match (self, other) {
            (Host::Domain(a), Host::Domain(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => a == b,
        }
    }
}

/// An IPv6 address as written inside brackets, with the RFC 5118 §4.9 leniency: the buggy
/// RFC 3261 ABNF let `2001:db8:::192.0.2.1` through, and a robust parser accepts it.
#[inline]
fn parse_v6(s: &str) -> Option<Ipv6Addr> {
    if let Ok(a) = s.parse() {
        return Some(a);
    }
    if s.contains(":::") && s.contains('.') {
        return s.replacen(":::", "::", 1).parse().ok();
    }
    None
}

impl From<IpAddr> for Host {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => Host::V4(a),
            IpAddr::V6(a) => Host::V6(a),
        }
    }
}

impl From<Ipv4Addr> for Host {
    fn from(ip: Ipv4Addr) -> Self {
        Host::V4(ip)
    }
}

impl From<Ipv6Addr> for Host {
    fn from(ip: Ipv6Addr) -> Self {
        Host::V6(ip)
    }
}

/// IPv6 addresses print in brackets (RFC 5118), as a host must appear in a URI or Via.
impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::V4(a) => write!(f, "{a}"),
            Host::V6(a) => write!(f, "[{a}]"),
        }
    }
}

impl Host {
    pub(crate) fn print(&self, out: &mut String) {
        use std::fmt::Write;
        // Writing to a String cannot fail.
        let _ = write!(out, "{self}");
    }
}

/// Splits `host[:port]` (the host may be an `[IPv6]` reference). Returns the host text and
/// the port text after the colon, if any.
#[inline]
pub(crate) fn split_host_port(s: &str) -> Result<(&str, Option<&str>), ParseError> {
    if s.starts_with('[') {
        let end = lex::find_byte(s, b']').ok_or_else(|| uri_err("unclosed IPv6 reference"))?;
        let (host, rest) = s.split_at(end + 1);
        return match rest {
            "" => Ok((host, None)),
            _ => match rest.strip_prefix(':') {
                Some(p) => Ok((host, Some(p))),
                None => Err(uri_err("junk after IPv6 reference")),
            },
        };
    }
    Ok(match lex::split_byte(s, b':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    })
}

#[inline]
pub(crate) fn parse_port(p: &str) -> Result<u16, ParseError> {
    lex::parse_digits(p).ok_or_else(|| uri_err("bad port"))
}

impl SipUri {
    /// `sip:host` with nothing else.
    pub fn new(host: Host) -> SipUri {
        SipUri {
            secure: false,
            user: None,
            password: None,
            host,
            port: None,
            params: Params::new(),
            headers: None,
        }
    }

    /// The same with a user part.
    pub fn with_user(mut self, user: impl Into<SipStr>) -> SipUri {
        self.user = Some(user.into());
        self
    }

    /// The same with a port.
    pub fn with_port(mut self, port: u16) -> SipUri {
        self.port = Some(port);
        self
    }

    /// Adds (or replaces) a URI parameter; `value` is written as given (escape it first).
    pub fn with_param(mut self, name: &str, value: Option<&str>) -> SipUri {
        self.params.set(name, value);
        self
    }

    /// `Some(Some(v))` for `;name=v`, `Some(None)` for a bare `;name`, `None` when absent.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params.get(name)
    }

    /// The `transport` parameter, lower-cased comparison left to the caller.
    pub fn transport(&self) -> Option<&str> {
        self.params.value("transport")
    }

    /// The value of a URI header (`?name=value&...`, name compared case-insensitively),
    /// still %-escaped as written.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .as_deref()?
            .split('&')
            .find_map(|h| match lex::split_byte(h, b'=') {
                Some((n, v)) if n.eq_ignore_ascii_case(name) => Some(v),
                None if h.eq_ignore_ascii_case(name) => Some(""),
                _ => None,
            })
    }

    /// Whether the URI carries `;lr` (a loose router, RFC 3261 §16.12).
    pub fn lr(&self) -> bool {
        self.params.contains("lr")
    }

    /// The plain form of the part after `sip:` / `sips:`, in one pass:
    /// `[user@]host[:port]*(;name[=value])` with no password, escapes, IPv6 or URI headers.
    /// `None` when `s` is anything else (the general parser then decides); when `Some`, the
    /// result is the one the general parser gives.
    #[inline]
    pub(crate) fn parse_plain(src: &SipStr, s: &str, secure: bool) -> Option<SipUri> {
        use super::scan::{ipv4_at, parse_ipv4, run, uri_params, HOST, USER};
        let b = s.as_bytes();
        // A user run ending at `@` is the userinfo (USER excludes `@`, so it is the first
        // `@`); one ending elsewhere means no `@` in a plain URI, since the host, port and
        // parameter characters exclude it and the whole text must be consumed.
        let user_end = run(b, 0, USER);
        let (user, host_start) = if b.get(user_end) == Some(&b'@') {
            if user_end == 0 {
                return None;
            }
            (Some(src.slice_ref(s.get(..user_end)?)), user_end + 1)
        } else {
            (None, 0)
        };
        let (host, host_end) = match ipv4_at(b, host_start) {
            Some((octets, end)) => (Host::V4(Ipv4Addr::from(octets)), end),
            None => {
                let host_end = run(b, host_start, HOST);
                let h = b.get(host_start..host_end)?;
                let host = match h.first()? {
                    b'.' | b'-' => return None,
                    b'0'..=b'9' if h.iter().all(|&c| c.is_ascii_digit() || c == b'.') => {
                        Host::V4(Ipv4Addr::from(parse_ipv4(h)?))
                    }
                    _ => Host::Domain(src.slice_ref(s.get(host_start..host_end)?)),
                };
                (host, host_end)
            }
        };
        let mut i = host_end;
        let mut port = None;
        if b.get(i) == Some(&b':') {
            // One to five digits, at most 65535, read in the same pass.
            let (mut end, mut value) = (i + 1, 0u32);
            while let Some(d) = b.get(end).map(|c| c.wrapping_sub(b'0')).filter(|d| *d <= 9) {
                value = value * 10 + u32::from(d);
                end += 1;
                if end - i > 6 {
                    return None;
                }
            }
            if end == i + 1 {
                return None;
            }
            port = Some(u16::try_from(value).ok()?);
            i = end;
        }
        // UPARAM holds neither `;` nor `=`, so the checked text is what `plain_uri` needs.
        let params_start = i;
        i = uri_params(b, i)?;
        if i != b.len() {
            return None;
        }
        let params = if i == params_start {
            Params::new()
        } else {
            Params::plain_uri(src.slice_ref(s.get(params_start..)?))
        };
        Some(SipUri {
            secure,
            user,
            password: None,
            host,
            port,
            params,
            headers: None,
        })
    }

    /// Parses the part after `sip:` / `sips:`: the plain form in one pass, anything else
    /// with the general parser.
    #[inline]
    fn parse_rest(src: &SipStr, s: &str, secure: bool) -> Result<SipUri, ParseError> {
        match SipUri::parse_plain(src, s, secure) {
            Some(uri) => Ok(uri),
            None => SipUri::parse_general(src, s, secure),
        }
    }

    /// Parses the part after `sip:` / `sips:`, every form.
    pub(crate) fn parse_general(src: &SipStr, s: &str, secure: bool) -> Result<SipUri, ParseError> {
        // No whitespace check of its own: every part below accepts only its own characters,
        // none of which is whitespace or a control character.
        // `user` may contain `;`, `?` and `/` but never an unescaped `@`; neither may the
        // rest of the URI, so the first `@` ends the userinfo.
        let (userinfo, hostpart) = match lex::find_byte(s, b'@') {
            Some(at) => (Some(&s[..at]), &s[at + 1..]),
            None => (None, s),
        };
        let (mut user, mut password) = (None, None);
        if let Some(ui) = userinfo {
            let (u, p) = match lex::split_byte(ui, b':') {
                Some((u, p)) => (u, Some(p)),
                None => (ui, None),
            };
            if u.is_empty() || !lex::is_escaped_text(u, lex::is_user_char) {
                return Err(uri_err("bad user part"));
            }
            user = Some(unescaped(src, u)?);
            if let Some(p) = p {
                if !lex::is_escaped_text(p, lex::is_password_char) {
                    return Err(uri_err("bad password"));
                }
                password = Some(unescaped(src, p)?);
            }
        }
        let (before_headers, headers) = match lex::split_byte(hostpart, b'?') {
            Some((a, h)) => (a, Some(h)),
            None => (hostpart, None),
        };
        let (hostport, params) = match lex::find_byte(before_headers, b';') {
            Some(i) => before_headers.split_at(i),
            None => (before_headers, ""),
        };
        let (host, port) = split_host_port(hostport)?;
        let host = Host::parse_in(src, host)?;
        let port = port.map(parse_port).transpose()?;
        let params = Params::parse_uri(src, params).map_err(|_| uri_err("bad URI parameter"))?;
        let headers = match headers {
            None => None,
            Some(h) if !h.is_empty() && lex::is_escaped_text(h, lex::is_uri_header_char) => {
                Some(src.slice_ref(h))
            }
            Some(_) => return Err(uri_err("bad URI headers")),
        };
        Ok(SipUri {
            secure,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }

    /// Equality per RFC 3261 §19.1.4: case-sensitive user and password, case-insensitive
    /// host, ports compared as written (no default), `user`/`ttl`/`method`/`maddr`/
    /// `transport` must match when either side has them, other parameters only when both
    /// have them, and URI headers must all match.
    pub fn eq_rfc(&self, other: &SipUri) -> bool {
        const MUST_MATCH: [&str; 5] = ["user", "ttl", "method", "maddr", "transport"];
        if self.secure != other.secure
            || self.user != other.user
            || self.password != other.password
            || !self.host.eq_rfc(&other.host)
            || self.port != other.port
        {
            return false;
        }
        fn val<'a>(p: &'a Params, n: &str) -> Option<Option<std::borrow::Cow<'a, str>>> {
            p.get(n).map(|v| v.and_then(lex::unescape))
        }
        for (name, _) in self.params.iter().chain(other.params.iter()) {
            let (a, b) = (val(&self.params, name), val(&other.params, name));
            let must = MUST_MATCH.iter().any(|m| m.eq_ignore_ascii_case(name));
            match (a, b) {
                (Some(a), Some(b)) => {
                    let same = match (a, b) {
                        (Some(a), Some(b)) => a.eq_ignore_ascii_case(&b),
                        (a, b) => a.is_none() && b.is_none(),
                    };
                    if !same {
                        return false;
                    }
                }
                (None, None) => {}
                _ if must => return false,
                _ => {}
            }
        }
        let headers = |h: &Option<SipStr>| {
            let mut v: Vec<String> = h
                .as_deref()
                .unwrap_or("")
                .split('&')
                .filter(|s| !s.is_empty())
                .map(|s| match s.split_once('=') {
                    Some((n, v)) => format!(
                        "{}={}",
                        n.to_ascii_lowercase(),
                        lex::unescape(v).unwrap_or_default()
                    ),
                    None => s.to_ascii_lowercase(),
                })
                .collect();
            v.sort();
            v
        };
        headers(&self.headers) == headers(&other.headers)
    }

    pub(crate) fn print(&self, out: &mut String) {
        out.push_str(if self.secure { "sips:" } else { "sip:" });
        if let Some(user) = &self.user {
            lex::escape_into(out, user, lex::is_user_char);
            if let Some(pw) = &self.password {
                out.push(':');
                lex::escape_into(out, pw, lex::is_password_char);
            }
            out.push('@');
        }
        self.host.print(out);
        if let Some(port) = self.port {
            out.push(':');
            out.push_str(&port.to_string());
        }
        self.params.print_uri(out);
        if let Some(h) = &self.headers {
            out.push('?');
            lex::escape_raw_into(out, h, lex::is_uri_header_char);
        }
    }
}

#[inline]
fn unescaped(src: &SipStr, s: &str) -> Result<SipStr, ParseError> {
    match lex::unescape(s) {
        Some(std::borrow::Cow::Borrowed(b)) => Ok(src.slice_ref(b)),
        Some(std::borrow::Cow::Owned(o)) => Ok(SipStr::from(o)),
        None => Err(uri_err("escaped text is not UTF-8")),
    }
}

impl TelUri {
    /// A tel URI of `number`.
    pub fn new(number: impl Into<SipStr>) -> TelUri {
        TelUri {
            number: number.into(),
            params: Params::new(),
        }
    }

    fn parse_rest(src: &SipStr, s: &str) -> Result<TelUri, ParseError> {
        let (number, params) = match lex::find_byte(s, b';') {
            Some(i) => s.split_at(i),
            None => (s, ""),
        };
        let global = number.strip_prefix('+');
        let digits = global.unwrap_or(number);
        let ok = !digits.is_empty()
            && digits.bytes().all(|b| {
                b.is_ascii_hexdigit() || matches!(b, b'*' | b'#' | b'-' | b'.' | b'(' | b')')
            })
            && (global.is_none() || digits.bytes().all(|b| !matches!(b, b'*' | b'#')));
        if !ok {
            return Err(uri_err("bad telephone number"));
        }
        let params = Params::parse_uri(src, params).map_err(|_| uri_err("bad tel parameter"))?;
        Ok(TelUri {
            number: src.slice_ref(number),
            params,
        })
    }

    /// The number without visual separators (`-`, `.`, `(`, `)`).
    pub fn digits(&self) -> String {
        self.number
            .chars()
            .filter(|c| !matches!(c, '-' | '.' | '(' | ')'))
            .collect()
    }

    /// Equality per RFC 3966 §4: numbers without visual separators, parameters as a set.
    pub fn eq_rfc(&self, other: &TelUri) -> bool {
        if !self.digits().eq_ignore_ascii_case(&other.digits())
            || self.params.len() != other.params.len()
        {
            return false;
        }
        self.params
            .iter()
            .all(|(k, v)| match (v, other.params.get(k)) {
                (None, Some(None)) => true,
                (Some(a), Some(Some(b))) => a.eq_ignore_ascii_case(b),
                _ => false,
            })
    }

    pub(crate) fn print(&self, out: &mut String) {
        out.push_str("tel:");
        out.push_str(&self.number);
        self.params.print_uri(out);
    }
}

impl Uri {
    /// Parses any URI (copies `s` once; use [`Uri::parse_sip_str`] to share a buffer).
    pub fn parse(s: &str) -> Result<Uri, ParseError> {
        let src = SipStr::from(s);
        Uri::parse_in(&src, &src)
    }

    /// Parses a URI whose text is already in a `SipStr`, sharing its buffer.
    pub fn parse_sip_str(src: &SipStr) -> Result<Uri, ParseError> {
        Uri::parse_in(src, src)
    }

    /// Parses `s`, a slice of `src`.
    #[inline]
    pub(crate) fn parse_in(src: &SipStr, s: &str) -> Result<Uri, ParseError> {
        // The usual spelling first; any other goes through the scheme check below.
        if let Some(rest) = s.strip_prefix("sip:") {
            return SipUri::parse_rest(src, rest, false).map(Uri::Sip);
        }
        let (scheme, rest) = lex::split_byte(s, b':').ok_or_else(|| uri_err("no scheme"))?;
        let b = scheme.as_bytes();
        let scheme_ok = b.first().is_some_and(u8::is_ascii_alphabetic)
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return Err(uri_err("bad scheme"));
        }
        if scheme.eq_ignore_ascii_case("sip") {
            SipUri::parse_rest(src, rest, false).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("sips") {
            SipUri::parse_rest(src, rest, true).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("tel") {
            TelUri::parse_rest(src, rest).map(Uri::Tel)
        } else {
            let bad = rest.is_empty()
                || rest.bytes().any(|c| {
                    c.is_ascii_whitespace()
                        || c.is_ascii_control()
                        || matches!(c, b'<' | b'>' | b'"')
                });
            if bad {
                return Err(uri_err("bad absolute URI"));
            }
            Ok(Uri::Other(src.slice_ref(s)))
        }
    }

    /// The SIP URI, if it is one.
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }

    /// The SIP URI, if it is one, to change.
    pub fn as_sip_mut(&mut self) -> Option<&mut SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }

    /// The scheme, lower-case for the schemes we know, as written otherwise.
    pub fn scheme(&self) -> &str {
        match self {
            Uri::Sip(u) if u.secure => "sips",
            Uri::Sip(_) => "sip",
            Uri::Tel(_) => "tel",
            Uri::Other(s) => s.split_once(':').map_or("", |(s, _)| s),
        }
    }

    /// URI equality per RFC 3261 §19.1.4 (sip/sips), RFC 3966 §4 (tel), or case-insensitive
    /// scheme plus exact text (others).
    pub fn eq_rfc(&self, other: &Uri) -> bool {
        match (self, other) {
            (Uri::Sip(a), Uri::Sip(b)) => a.eq_rfc(b),
            (Uri::Tel(a), Uri::Tel(b)) => a.eq_rfc(b),
            (Uri::Other(a), Uri::Other(b)) => match (a.split_once(':'), b.split_once(':')) {
                (Some((sa, ra)), Some((sb, rb))) => sa.eq_ignore_ascii_case(sb) && ra == rb,
                _ => a == b,
            },
            _ => false,
        }
    }

    /// Appends the printed URI.
    pub fn print(&self, out: &mut String) {
        match self {
            Uri::Sip(u) => u.print(out),
            Uri::Tel(u) => u.print(out),
            Uri::Other(s) => out.push_str(s),
        }
    }
}

impl From<SipUri> for Uri {
    fn from(u: SipUri) -> Self {
        Uri::Sip(u)
    }
}

impl From<TelUri> for Uri {
    fn from(u: TelUri) -> Self {
        Uri::Tel(u)
    }
}

impl std::str::FromStr for Uri {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uri::parse(s)
    }
}

macro_rules! display_via_print {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut s = String::new();
                self.print(&mut s);
                f.write_str(&s)
            }
        }
    )*};
}
display_via_print!(Uri, SipUri, TelUri);

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(s: &str) -> SipUri {
        match Uri::parse(s) {
            Ok(Uri::Sip(u)) => u,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn full_sip_uri() {
        let u = sip("sips:alice:se%40cret@Example.COM:5061;transport=tcp;lr?subject=hi&x=y");
        assert!(u.secure);
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("se@cret"));
        assert_eq!(u.host, Host::Domain("Example.COM".into()));
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.transport(), Some("tcp"));
        assert!(u.lr());
        assert_eq!(u.headers.as_deref(), Some("subject=hi&x=y"));
        assert_eq!(
            u.to_string(),
            "sips:alice:se%40cret@Example.COM:5061;transport=tcp;lr?subject=hi&x=y"
        );
    }

    #[test]
    fn escapes_in_user() {
        let u = sip("sip:sips%3Auser%40example.com@example.net");
        assert_eq!(u.user.as_deref(), Some("sips:user@example.com"));
        assert_eq!(u.to_string(), "sip:sips%3Auser%40example.com@example.net");
        let u = sip("sip:null-%00-null@example.com");
        assert_eq!(u.user.as_deref(), Some("null-\0-null"));
        assert_eq!(u.to_string(), "sip:null-%00-null@example.com");
        let u = sip("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user.as_deref(), Some("user;par=u@example.net"));
        assert!(u.params.is_empty());
        assert!(Uri::parse("sip:%zz@example.com").is_err());
    }

    #[test]
    fn weird_but_valid_user() {
        let s = "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com";
        let u = sip(s);
        assert_eq!(
            u.user.as_deref(),
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        assert_eq!(u.to_string(), s);
    }

    #[test]
    fn ipv6_hosts() {
        let u = sip("sip:[2001:db8::10]:5070");
        assert_eq!(u.host, Host::V6("2001:db8::10".parse().unwrap()));
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.to_string(), "sip:[2001:db8::10]:5070");
        let u = sip("sip:user@[::ffff:192.0.2.1]");
        assert_eq!(u.host.ip(), Some("::ffff:192.0.2.1".parse().unwrap()));
        let u = sip("sip:[2001:db8:::192.0.2.1]");
        assert!(matches!(u.host, Host::V6(_)));
        assert!(Uri::parse("sip:2001:db8::10").is_err());
        assert!(Uri::parse("sip:[2001:db8::10").is_err());
        assert!(Uri::parse("sip:[2001:db8::10]x").is_err());
    }

    #[test]
    fn tel_and_other() {
        match Uri::parse("tel:+1-555-123-4567;ext=12").unwrap() {
            Uri::Tel(t) => {
                assert_eq!(t.number, "+1-555-123-4567");
                assert_eq!(t.params.value("ext"), Some("12"));
                assert_eq!(t.digits(), "+15551234567");
                assert_eq!(t.to_string(), "tel:+1-555-123-4567;ext=12");
            }
            other => panic!("{other:?}"),
        }
        let u = Uri::parse("mailto:joe@example.com").unwrap();
        assert_eq!(u, Uri::Other("mailto:joe@example.com".into()));
        assert_eq!(u.scheme(), "mailto");
        assert!(Uri::parse("<sip:a@b>").is_err());
        assert!(Uri::parse("sip:a b@c").is_err());
        assert!(Uri::parse("sip:@c").is_err());
        assert!(Uri::parse("sip:c:99999").is_err());
        assert!(Uri::parse("tel:").is_err());
    }

    #[test]
    fn rfc_equality() {
        let eq = |a: &str, b: &str| Uri::parse(a).unwrap().eq_rfc(&Uri::parse(b).unwrap());
        assert!(eq(
            "sip:%61lice@atlanta.com;transport=TCP",
            "sip:alice@AtLanTa.CoM;Transport=tcp"
        ));
        assert!(eq(
            "sip:carol@chicago.com",
            "sip:carol@chicago.com;newparam=5"
        ));
        assert!(eq(
            "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
            "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"
        ));
        assert!(!eq(
            "SIP:ALICE@AtLanTa.CoM;Transport=udp",
            "sip:alice@AtLanTa.CoM;Transport=UDP"
        ));
        assert!(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
        assert!(!eq(
            "sip:bob@biloxi.com",
            "sip:bob@biloxi.com;transport=udp"
        ));
        assert!(!eq(
            "sip:carol@chicago.com;security=on",
            "sip:carol@chicago.com;security=off"
        ));
        assert!(eq("tel:+1-555-1234", "tel:+1.555.1234"));
    }

    #[test]
    fn builder() {
        let u = SipUri::new(Host::V6("::1".parse().unwrap()))
            .with_user("a b")
            .with_port(5060);
        assert_eq!(u.to_string(), "sip:a%20b@[::1]:5060");
    }
}
