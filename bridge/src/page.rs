//! The softphone page (`bridge/web/`), embedded in the binary and served at `/softphone/`.
//!
//! The files hold no secret, and an iframe navigation carries neither an `Origin` nor a
//! token, so the security guard lets `GET`/`HEAD` of exactly these paths through after the
//! Host check ([`is_public`]). What protects them is their `Content-Security-Policy`:
//! `frame-ancestors` limits who may frame the page to the allowed origins, and
//! `script-src` / `connect-src` keep a crafted query string (`sfdcIframeOrigin`, `bridge`)
//! from loading foreign scripts or talking to another server.

use crate::security::{is_loopback_host, OriginPolicy};
use crate::AppState;
use axum::extract::State;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

const INDEX_HTML: &str = include_str!("../web/index.html");
const SOFTPHONE_JS: &str = include_str!("../web/softphone.js");
const SOFTPHONE_CSS: &str = include_str!("../web/softphone.css");

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every path this module serves (the guard's list of public paths).
const PATHS: &[&str] = &[
    "/softphone",
    "/softphone/",
    "/softphone/softphone.js",
    "/softphone/softphone.css",
];

/// Whether a request is for one of the page's files: these need no Origin and no token.
pub(crate) fn is_public(method: &Method, path: &str) -> bool {
    (method == Method::GET || method == Method::HEAD) && PATHS.contains(&path)
}

/// The page's routes; `allowed` feeds the CSP (who may frame it, where Open CTI loads from).
pub(crate) fn routes(allowed: &OriginPolicy) -> Router<AppState> {
    let sources = Arc::new(allowed.csp_sources().join(" "));
    Router::new()
        .route("/softphone", get(redirect))
        .route("/softphone/", get(file))
        .route("/softphone/softphone.js", get(file))
        .route("/softphone/softphone.css", get(file))
        .with_state(sources)
}

/// `/softphone` → `/softphone/`, keeping the query (Salesforce appends `mode` and
/// `sfdcIframeOrigin`), so the page's relative links resolve under `/softphone/`.
async fn redirect(uri: Uri) -> Response {
    let target = match uri.query() {
        Some(q) => format!("/softphone/?{q}"),
        None => "/softphone/".to_owned(),
    };
    let mut response = StatusCode::TEMPORARY_REDIRECT.into_response();
    if let Ok(v) = HeaderValue::from_str(&target) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

async fn file(State(sources): State<Arc<String>>, uri: Uri, headers: HeaderMap) -> Response {
    let (body, content_type) = match uri.path() {
        "/softphone/softphone.js" => (SOFTPHONE_JS, JS),
        "/softphone/softphone.css" => (SOFTPHONE_CSS, CSS),
        _ => (INDEX_HTML, HTML),
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| is_loopback_host(h));
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Revalidate each time: a new agent version must not run an old cached page.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&csp(&sources, host)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    response
}

/// The page's policy. `sources` are the allowed origins as CSP host-sources; `host` the
/// (loopback) Host the request came to, for the event WebSocket (`ws:` is not covered by
/// `'self'` in every browser).
fn csp(sources: &str, host: Option<&str>) -> String {
    let ws = host.map(|h| format!(" ws://{h}")).unwrap_or_default();
    let list = |base: &str| {
        if sources.is_empty() {
            base.to_owned()
        } else {
            format!("{base} {sources}")
        }
    };
    format!(
        "default-src 'self'; script-src {}; style-src 'self'; img-src 'self' data:; connect-src 'self'{ws}; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors {}",
        list("'self'"),
        list("'self'"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_origins_and_the_socket() {
        let p = csp(
            "https://*.lightning.force.com http://localhost:5173",
            Some("127.0.0.1:18088"),
        );
        assert!(p.contains(
            "frame-ancestors 'self' https://*.lightning.force.com http://localhost:5173"
        ));
        assert!(p.contains("script-src 'self' https://*.lightning.force.com"));
        assert!(p.contains("connect-src 'self' ws://127.0.0.1:18088;"));
        let p = csp("", None);
        assert!(p.ends_with("frame-ancestors 'self'"), "{p}");
        assert!(p.contains("connect-src 'self';"), "{p}");
    }

    #[test]
    fn only_the_page_files_are_public() {
        assert!(is_public(&Method::GET, "/softphone/"));
        assert!(is_public(&Method::HEAD, "/softphone/softphone.js"));
        assert!(!is_public(&Method::POST, "/softphone/"));
        assert!(!is_public(&Method::GET, "/softphone/../api/v1/status"));
        assert!(!is_public(&Method::GET, "/api/v1/status"));
    }
}
