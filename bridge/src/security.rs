//! Who may talk to the bridge: the Host check (DNS rebinding), the Origin allowlist
//! (cross-site requests and WebSocket hijacking), the bearer token (local tools, which send
//! no Origin), and the CORS / Private Network Access answers for allowed origins.

use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The origins allowed when the configuration names none. Each is a Salesforce domain
/// whose pages need the viewer to be logged in to that org; public-site domains
/// (`*.my.salesforce-sites.com`, `*.my.site.com`) are left out on purpose, because any
/// org, including a free Developer Edition, can publish anonymous pages there.
pub const SALESFORCE_DEFAULT_ORIGINS: &[&str] = &[
    "https://*.lightning.force.com",
    "https://*.my.salesforce.com",
    "https://*.vf.force.com",
    "https://*.visual.force.com",
    "https://*.visualforce.com",
];

const ACCEPTED_FORMS: &str = "accepted forms: an exact origin such as \"https://acme.my.salesforce.com\" or \"http://localhost:5173\", or a wildcard such as \"https://*.lightning.force.com\" (\"*.\" then at least two labels); scheme http or https, optional :port, no path";

/// The set of origins whose pages may use the bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPolicy {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    https: bool,
    host: HostPattern,
    /// The effective port (the scheme's default when none is written).
    port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// `*.example.com` stored as `.example.com`: one or more labels before it.
    Subdomains(String),
}

/// A parsed origin (`scheme://host[:port]`).
struct Origin<'a> {
    https: bool,
    host: &'a str,
    port: u16,
}

impl OriginPolicy {
    /// Parses allowlist patterns; the error names the first bad pattern and the accepted
    /// forms. An empty list allows no origin at all (only token-bearing tools).
    pub fn parse(patterns: &[String]) -> Result<OriginPolicy, String> {
        let patterns = patterns
            .iter()
            .map(|p| parse_pattern(p).map_err(|why| format!("{p:?}: {why}; {ACCEPTED_FORMS}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OriginPolicy { patterns })
    }

    /// [`SALESFORCE_DEFAULT_ORIGINS`].
    pub fn salesforce_default() -> OriginPolicy {
        OriginPolicy {
            patterns: SALESFORCE_DEFAULT_ORIGINS
                .iter()
                .filter_map(|p| parse_pattern(p).ok())
                .collect(),
        }
    }

    /// Whether an `Origin` header value is allowed (`null` and garbage never are).
    pub fn allows(&self, origin: &str) -> bool {
        let Some(origin) = parse_origin(origin) else {
            return false;
        };
        self.patterns.iter().any(|p| {
            p.https == origin.https
                && p.port == origin.port
                && match &p.host {
                    HostPattern::Exact(h) => h.eq_ignore_ascii_case(origin.host),
                    HostPattern::Subdomains(suffix) => {
                        origin.host.len() > suffix.len()
                            && origin.host.as_bytes()[..origin.host.len() - suffix.len()]
                                .last()
                                .is_some_and(|&b| b != b'.')
                            && origin.host[origin.host.len() - suffix.len()..]
                                .eq_ignore_ascii_case(suffix)
                    }
                }
        })
    }
}

impl OriginPolicy {
    /// The patterns as CSP host-sources (`https://*.example.com`, `http://localhost:5173`)
    /// for the page's `frame-ancestors` and `script-src`; CSP matches them as we do (a
    /// wildcard needs a label, no port means the default one). IPv6 literals have no CSP
    /// form and are left out.
    pub(crate) fn csp_sources(&self) -> Vec<String> {
        self.patterns
            .iter()
            .filter_map(|p| {
                let host = match &p.host {
                    HostPattern::Exact(h) if h.starts_with('[') => return None,
                    HostPattern::Exact(h) => h.clone(),
                    HostPattern::Subdomains(suffix) => format!("*{suffix}"),
                };
                let scheme = if p.https { "https" } else { "http" };
                Some(if p.port == default_port(p.https) {
                    format!("{scheme}://{host}")
                } else {
                    format!("{scheme}://{host}:{}", p.port)
                })
            })
            .collect()
    }
}

fn default_port(https: bool) -> u16 {
    if https {
        443
    } else {
        80
    }
}

fn split_scheme(s: &str) -> Option<(bool, &str)> {
    if let Some(rest) = s.strip_prefix("https://") {
        Some((true, rest))
    } else {
        s.strip_prefix("http://").map(|rest| (false, rest))
    }
}

/// Splits `host[:port]`, with `[v6]` literals; the port must be 1-65535 if present.
fn split_port(s: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if s.starts_with('[') {
        let end = s.find(']')?;
        let (host, rest) = s.split_at(end + 1);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok().filter(|&p| p != 0)?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn valid_host(host: &str) -> bool {
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<std::net::Ipv6Addr>().is_ok();
    }
    host.len() <= 253 && host.split('.').all(valid_label)
}

fn parse_origin(s: &str) -> Option<Origin<'_>> {
    let (https, rest) = split_scheme(s)?;
    let (host, port) = split_port(rest)?;
    if !valid_host(host) {
        return None;
    }
    Some(Origin {
        https,
        host,
        port: port.unwrap_or(default_port(https)),
    })
}

fn parse_pattern(p: &str) -> Result<Pattern, &'static str> {
    let p = p.trim();
    let p = p.strip_suffix('/').unwrap_or(p);
    let (https, rest) = split_scheme(p).ok_or("the scheme must be http:// or https://")?;
    if rest.contains(['/', '?', '#', '@']) {
        return Err("an origin has no path, query, fragment or user");
    }
    let (host, port) = split_port(rest).ok_or("the port must be a number from 1 to 65535")?;
    let port = port.unwrap_or(default_port(https));
    let host = host.to_ascii_lowercase();
    let host = if let Some(suffix) = host.strip_prefix("*.") {
        if suffix.split('.').count() < 2 || !suffix.split('.').all(valid_label) {
            return Err("a wildcard needs at least two labels after \"*.\"");
        }
        HostPattern::Subdomains(format!(".{suffix}"))
    } else if host.contains('*') {
        return Err(
            "\"*\" is only allowed as the whole first label, as in \"https://*.example.com\"",
        );
    } else if !valid_host(&host) {
        return Err("the host is not a valid domain name or IP address");
    } else {
        HostPattern::Exact(host)
    };
    Ok(Pattern { https, host, port })
}

/// Everything the security layer needs.
#[derive(Clone)]
pub struct Security {
    /// Origins whose pages may use the bridge.
    pub allowed: OriginPolicy,
    /// The bearer token for requests without an `Origin` (local tools). An empty token
    /// never matches.
    pub token: String,
}

impl Security {
    pub fn new(allowed: OriginPolicy, token: impl Into<String>) -> Security {
        Security {
            allowed,
            token: token.into(),
        }
    }
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("allowed", &self.allowed)
            .field("token", &"***")
            .finish()
    }
}

/// Whether a `Host` value names the loopback interface: `localhost`, `127.x.y.z` or
/// `[::1]`, with any port.
pub fn is_loopback_host(host: &str) -> bool {
    if let Ok(addr) = host.parse::<SocketAddr>() {
        return addr.ip().is_loopback();
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return ip.is_loopback();
    }
    match split_port(host) {
        Some((name, _)) => {
            name.eq_ignore_ascii_case("localhost")
                || name
                    .strip_prefix('[')
                    .and_then(|h| h.strip_suffix(']'))
                    .and_then(|h| h.parse::<IpAddr>().ok())
                    .is_some_and(|ip| ip.is_loopback())
        }
        None => false,
    }
}

/// Whether `origin` is the bridge's own (`http://` + the loopback Host the request came
/// to): the page the agent serves at `/softphone/` calling its API.
fn is_own_origin(origin: &str, host: &str) -> bool {
    origin
        .strip_prefix("http://")
        .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
}

/// A browser's same-origin `GET` carries no `Origin`, only `Sec-Fetch-Site: same-origin`
/// (a header pages cannot set): the agent's own page again.
fn same_origin_fetch(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"same-origin"))
}

/// Constant-time equality (the length is not secret).
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer_ok(headers: &HeaderMap, token: &str) -> bool {
    if token.is_empty() {
        return false;
    }
    headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| {
            let (scheme, cred) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(cred.trim())
        })
        .any(|cred| same_secret(cred.as_bytes(), token.as_bytes()))
}

const ALLOW_METHODS: &str = "GET, POST, OPTIONS";
const ALLOW_HEADERS: &str = "Content-Type, Authorization";
const MAX_AGE: &str = "600";

/// The middleware guarding every route (wired by `router`).
pub(crate) async fn guard(
    State(security): State<Arc<Security>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = check(&security, request, next).await;
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    // The page's files choose their own (`no-cache`); API answers are never stored.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

async fn check(security: &Security, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.as_str().to_owned()));
    match host.as_deref() {
        Some(h) if is_loopback_host(h) => {}
        Some(_) => return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden_host",
            "the Host header must be localhost or a loopback address (DNS rebinding protection)",
        )
        .into_response(),
        None => {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden_host",
                "the request has no Host header",
            )
            .into_response()
        }
    }

    // The softphone page's own files: no secret in them, and an iframe navigation has
    // neither Origin nor token.
    if crate::page::is_public(request.method(), request.uri().path()) {
        return next.run(request).await;
    }

    let own = |s: &str| host.as_deref().is_some_and(|h| is_own_origin(s, h));
    let origin = match request.headers().get(header::ORIGIN) {
        None => None,
        Some(v) => match v.to_str() {
            Ok(s) if security.allowed.allows(s) || own(s) => Some(v.clone()),
            _ => {
                return ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden_origin",
                    format!(
                        "origin {} is not allowed; add it to [bridge] allowed_origins",
                        String::from_utf8_lossy(v.as_bytes())
                    ),
                )
                .into_response()
            }
        },
    };

    let Some(origin) = origin else {
        if bearer_ok(request.headers(), &security.token) || same_origin_fetch(request.headers()) {
            return next.run(request).await;
        }
        let mut response = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "requests without an Origin need \"Authorization: Bearer <token>\" (the token is in the bridge-token file of the agent's data directory, or [bridge] token)",
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"softphone\""),
        );
        return response;
    };

    let is_preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if is_preflight {
        let pna = request
            .headers()
            .get("access-control-request-private-network")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
        let mut response = StatusCode::NO_CONTENT.into_response();
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(MAX_AGE),
        );
        if pna {
            h.insert(
                "access-control-allow-private-network",
                HeaderValue::from_static("true"),
            );
        }
        h.insert(
            header::VARY,
            HeaderValue::from_static(
                "Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network",
            ),
        );
        return response;
    }

    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Location"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(p: &[&str]) -> OriginPolicy {
        OriginPolicy::parse(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn wildcards_need_a_label_and_the_same_scheme_and_port() {
        let p = policy(&["https://*.lightning.force.com"]);
        assert!(p.allows("https://acme.lightning.force.com"));
        assert!(p.allows("https://acme--uat.sandbox.lightning.force.com"));
        assert!(p.allows("https://acme.lightning.force.com:443"));
        assert!(!p.allows("https://lightning.force.com"));
        assert!(!p.allows("http://acme.lightning.force.com"));
        assert!(!p.allows("https://acme.lightning.force.com:8443"));
        assert!(!p.allows("https://acme.lightning.force.com.evil.example"));
        assert!(!p.allows("https://evillightning.force.com"));
        assert!(!p.allows("https://.lightning.force.com"));
        assert!(!p.allows("null"));
        assert!(!p.allows(""));
        assert!(!p.allows("https://acme.lightning.force.com/"));
    }

    #[test]
    fn exact_origins_and_ports() {
        let p = policy(&["https://Acme.my.salesforce.com/", "http://localhost:5173"]);
        assert!(p.allows("https://acme.my.salesforce.com"));
        assert!(!p.allows("https://x.acme.my.salesforce.com"));
        assert!(p.allows("http://localhost:5173"));
        assert!(!p.allows("http://localhost"));
        assert!(!p.allows("http://localhost:5174"));
    }

    #[test]
    fn bad_patterns_are_named() {
        for bad in [
            "*",
            "https://*",
            "https://*.com",
            "ftp://x.example.com",
            "https://a.*.example.com",
            "https://x.example.com/path",
            "https://x.example.com:0",
            "https://x.example.com:99999",
            "x.example.com",
        ] {
            let e = OriginPolicy::parse(&[bad.to_string()]).unwrap_err();
            assert!(e.contains(bad), "{e}");
            assert!(e.contains("accepted forms"), "{e}");
        }
    }

    #[test]
    fn defaults_cover_salesforce_and_not_public_sites() {
        let p = OriginPolicy::salesforce_default();
        assert_eq!(p.patterns.len(), SALESFORCE_DEFAULT_ORIGINS.len());
        assert!(p.allows("https://acme--c.vf.force.com"));
        assert!(p.allows("https://acme--uat--c.sandbox.vf.force.com"));
        assert!(p.allows("https://acme.my.salesforce.com"));
        assert!(!p.allows("https://evil.my.salesforce-sites.com"));
        assert!(!p.allows("https://evil.my.site.com"));
    }

    #[test]
    fn patterns_as_csp_sources() {
        let p = policy(&[
            "https://*.lightning.force.com",
            "http://localhost:5173",
            "https://Acme.my.salesforce.com:443",
            "http://[::1]:80",
        ]);
        assert_eq!(
            p.csp_sources(),
            [
                "https://*.lightning.force.com",
                "http://localhost:5173",
                "https://acme.my.salesforce.com"
            ]
        );
    }

    #[test]
    fn own_origin_is_http_and_the_same_host() {
        assert!(is_own_origin("http://127.0.0.1:18088", "127.0.0.1:18088"));
        assert!(is_own_origin("http://LOCALHOST:18088", "localhost:18088"));
        assert!(!is_own_origin("https://127.0.0.1:18088", "127.0.0.1:18088"));
        assert!(!is_own_origin("http://127.0.0.1:18089", "127.0.0.1:18088"));
        assert!(!is_own_origin("http://localhost:18088", "127.0.0.1:18088"));
        assert!(!is_own_origin("null", "127.0.0.1:18088"));
    }

    #[test]
    fn loopback_hosts() {
        for ok in [
            "localhost",
            "LOCALHOST:8080",
            "127.0.0.1",
            "127.0.0.1:18088",
            "127.1.2.3:1",
            "[::1]",
            "[::1]:18088",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "localhost.evil.example",
            "10.0.0.1:80",
            "0.0.0.0",
            "localhost:",
            "localhost:x",
            "",
            "[::2]:80",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn tokens_compare_exactly() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert!(bearer_ok(&h, "abc"));
        assert!(!bearer_ok(&h, "abcd"));
        assert!(!bearer_ok(&h, ""));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  abc "),
        );
        assert!(bearer_ok(&h, "abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert!(!bearer_ok(&h, "abc"));
    }
}
