//! The softphone page served by the bridge: its files, their types and CSP, no token for
//! them but the Host check still, and the page's own origin let in to the API.

mod common;

use axum::body::Body;
use axum::http::Request;
use bridge::{Hub, OriginPolicy, RegistrationState, Security};
use common::*;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// A request as the browser makes it for an iframe navigation: Host only.
fn navigate(path: &str) -> Request<Body> {
    Request::builder()
        .method("GET")
        .uri(path)
        .header("host", HOST)
        .body(Body::empty())
        .unwrap()
}

struct Page {
    status: u16,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn fetch(router: &axum::Router, request: Request<Body>) -> Page {
    let resp = router.clone().oneshot(request).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn header<'a>(p: &'a Page, name: &str) -> &'a str {
    p.headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// The value of one CSP directive, e.g. `frame-ancestors` → `'self' https://...`.
fn directive<'a>(p: &'a Page, name: &str) -> &'a str {
    header(p, "content-security-policy")
        .split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name} in {}", header(p, "content-security-policy")))
        .trim()
}

fn router_allowing(patterns: &[&str]) -> axum::Router {
    let policy =
        OriginPolicy::parse(&patterns.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let hub = Hub::new(status(RegistrationState::Registered, None));
    bridge::router(hub, fake_agent(), Security::new(policy, TOKEN))
}

#[tokio::test]
async fn the_three_files_are_served_with_their_types_and_no_cache() {
    let (_hub, router) = app();
    for (path, content_type, marker) in [
        (
            "/softphone/",
            "text/html; charset=utf-8",
            "data-banner=\"lna\"",
        ),
        (
            "/softphone/softphone.js",
            "text/javascript; charset=utf-8",
            "sfdcIframeOrigin",
        ),
        (
            "/softphone/softphone.css",
            "text/css; charset=utf-8",
            "[data-state",
        ),
    ] {
        let p = fetch(&router, navigate(path)).await;
        assert_eq!(p.status, 200, "{path}: {}", p.body);
        assert_eq!(header(&p, "content-type"), content_type, "{path}");
        assert_eq!(header(&p, "cache-control"), "no-cache", "{path}");
        assert_eq!(header(&p, "x-content-type-options"), "nosniff", "{path}");
        assert!(p.body.contains(marker), "{path} lacks {marker}");
    }
    // The page names its script and style relatively, so the three files can be hosted
    // anywhere together.
    let index = fetch(&router, navigate("/softphone/")).await;
    assert!(
        index.body.contains("src=\"softphone.js\""),
        "{}",
        index.body
    );
    assert!(
        index.body.contains("href=\"softphone.css\""),
        "{}",
        index.body
    );
    // HEAD works too (link checkers, Salesforce's adapter URL probe).
    let head = Request::builder()
        .method("HEAD")
        .uri("/softphone/softphone.js")
        .header("host", HOST)
        .body(Body::empty())
        .unwrap();
    assert_eq!(fetch(&router, head).await.status, 200);
}

#[tokio::test]
async fn softphone_without_slash_redirects_keeping_the_query() {
    let (_hub, router) = app();
    let p = fetch(
        &router,
        navigate(
            "/softphone?mode=Lightning&sfdcIframeOrigin=https%3A%2F%2Facme.lightning.force.com",
        ),
    )
    .await;
    assert!(matches!(p.status, 301 | 302 | 307 | 308), "{}", p.status);
    assert_eq!(
        header(&p, "location"),
        "/softphone/?mode=Lightning&sfdcIframeOrigin=https%3A%2F%2Facme.lightning.force.com"
    );
    let p = fetch(&router, navigate("/softphone")).await;
    assert_eq!(header(&p, "location"), "/softphone/");
}

#[tokio::test]
async fn the_csp_frame_ancestors_follow_the_allowed_origins() {
    // The defaults: the Salesforce domains.
    let (_hub, router) = app();
    let p = fetch(&router, navigate("/softphone/")).await;
    let ancestors = directive(&p, "frame-ancestors");
    for source in bridge::SALESFORCE_DEFAULT_ORIGINS {
        assert!(ancestors.contains(source), "{ancestors}");
    }
    assert!(ancestors.starts_with("'self'"), "{ancestors}");

    // A configured list replaces them; scripts (Open CTI) may come from the same places.
    let router = router_allowing(&["http://localhost:5173", "https://acme.lightning.force.com"]);
    for path in [
        "/softphone/",
        "/softphone/softphone.js",
        "/softphone/softphone.css",
    ] {
        let p = fetch(&router, navigate(path)).await;
        assert_eq!(
            directive(&p, "frame-ancestors"),
            "'self' http://localhost:5173 https://acme.lightning.force.com",
            "{path}"
        );
        assert_eq!(
            directive(&p, "script-src"),
            "'self' http://localhost:5173 https://acme.lightning.force.com"
        );
        assert_eq!(directive(&p, "default-src"), "'self'");
        // The page talks to the bridge it came from, over HTTP and the event socket.
        assert_eq!(directive(&p, "connect-src"), format!("'self' ws://{HOST}"));
        assert!(!header(&p, "content-security-policy").contains("*.my.salesforce.com"));
    }

    // Nothing allowed: only the agent itself may frame its page.
    let router = router_allowing(&[]);
    let p = fetch(&router, navigate("/softphone/")).await;
    assert_eq!(directive(&p, "frame-ancestors"), "'self'");
}

#[tokio::test]
async fn the_page_needs_no_token_but_the_host_check_still_applies() {
    let (_hub, router) = app();
    // No Origin, no token: an iframe navigation.
    assert_eq!(fetch(&router, navigate("/softphone/")).await.status, 200);
    // From a Salesforce page, or from anywhere: the files hold no secret.
    for origin in [SF_ORIGIN, "https://evil.example"] {
        let p = fetch(
            &router,
            Request::builder()
                .uri("/softphone/softphone.js")
                .header("host", HOST)
                .header("origin", origin)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(p.status, 200, "{origin}");
        // ... but no CORS grant comes with them.
        assert!(p.headers.get("access-control-allow-origin").is_none());
    }
    // A hostile name resolving to 127.0.0.1 (DNS rebinding) gets nothing.
    for host in ["evil.example:18088", "localhost.evil.example"] {
        for path in ["/softphone/", "/softphone/softphone.js", "/softphone"] {
            let a = send(
                &router,
                Request::builder()
                    .uri(path)
                    .header("host", host)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            assert_error(&a, 403, "forbidden_host");
        }
    }
    // Only the page's files are public: the API and other paths still want the token.
    for path in [
        "/api/v1/status",
        "/softphone/index.html",
        "/softphone/../api/v1/status",
        "/softphone/nope.js",
    ] {
        let a = send(&router, navigate(path)).await;
        assert_error(&a, 401, "unauthorized");
    }
    let a = send(
        &router,
        Request::builder()
            .method("POST")
            .uri("/softphone/")
            .header("host", HOST)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_error(&a, 401, "unauthorized");
}

fn own(method: &str, path: &str, host: &str, origin: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", host)
        .header("origin", origin)
}

#[tokio::test]
async fn the_agents_own_origin_may_use_the_api_without_a_token() {
    // With an allowlist that does not name the agent: its own page is let in anyway.
    let router = router_allowing(&["https://acme.lightning.force.com"]);
    for host in ["127.0.0.1:18088", "localhost:18088", "127.0.0.2:4000"] {
        let origin = format!("http://{host}");
        let a = send(
            &router,
            own("GET", "/api/v1/status", host, &origin)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(a.status, 200, "{origin}: {}", a.json);
        assert_eq!(a.json["registration"]["state"], "registered");
        let a = send(
            &router,
            own("POST", "/api/v1/calls", host, &origin)
                .header("content-type", "application/json")
                .body(json_body(r#"{"to":"1002"}"#))
                .unwrap(),
        )
        .await;
        assert_eq!(a.status, 201, "{origin}: {}", a.json);
        assert_eq!(a.json["id"], "c2");
    }
    // A same-origin GET from the browser carries no Origin, only Sec-Fetch-Site.
    let a = send(
        &router,
        Request::builder()
            .uri("/api/v1/status")
            .header("host", HOST)
            .header("sec-fetch-site", "same-origin")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.json);
}

#[tokio::test]
async fn origins_that_only_look_like_the_agents_are_refused() {
    let router = router_allowing(&["https://acme.lightning.force.com"]);
    for origin in [
        "http://127.0.0.1:18089",  // another local server
        "https://127.0.0.1:18088", // another scheme
        "http://localhost:18088",  // another host name than the request's
        "http://127.0.0.1",
        "https://evil.example",
        "null",
    ] {
        let a = send(
            &router,
            own("GET", "/api/v1/status", HOST, origin)
                .header("authorization", format!("Bearer {TOKEN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_error(&a, 403, "forbidden_origin");
        assert!(a.headers.get("access-control-allow-origin").is_none());
    }
    // A page of another site: the browser says cross-site, and there is no token.
    for site in ["cross-site", "same-site", "none"] {
        let a = send(
            &router,
            Request::builder()
                .uri("/api/v1/status")
                .header("host", HOST)
                .header("sec-fetch-site", site)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_error(&a, 401, "unauthorized");
    }
}

#[tokio::test]
async fn the_event_socket_accepts_the_agents_own_page() {
    let hub = Hub::new(status(RegistrationState::Registered, None));
    let policy = OriginPolicy::parse(&["https://acme.lightning.force.com".to_string()]).unwrap();
    let server = serve(hub, Security::new(policy, TOKEN)).await;
    let addr = server.addr;

    let own = format!("http://{addr}");
    let mut ws = connect(addr, "", Client::Page(&own))
        .await
        .expect("own origin");
    expect_event(&mut ws, "snapshot").await;

    let other_port = format!("http://127.0.0.1:{}", addr.port() + 1);
    assert_eq!(
        connect(addr, "", Client::Page(&other_port)).await.err(),
        Some("403".to_string()),
        "another port's page"
    );
    let _ = server.stopped().await;
}
