//! Host, Origin, token and CORS / Private Network Access rules, driven through the router.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::*;

fn get(path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method("GET")
        .uri(path)
        .header("host", HOST)
}

#[tokio::test]
async fn a_foreign_origin_is_refused() {
    let (_hub, router) = app();
    for origin in [
        "https://evil.example",
        "http://acme.lightning.force.com",
        "https://evil.my.salesforce-sites.com",
        "null",
    ] {
        // Even with the right token: a browser page from elsewhere must not get in.
        let a = send(
            &router,
            req("GET", "/api/v1/status")
                .header("origin", origin)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_error(&a, 403, "forbidden_origin");
        assert!(a.headers.get("access-control-allow-origin").is_none());
    }
    // Unknown paths and commands are guarded too.
    let a = send(
        &router,
        get("/api/v1/nope")
            .header("origin", "https://evil.example")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_error(&a, 403, "forbidden_origin");
}

#[tokio::test]
async fn an_allowed_wildcard_origin_gets_in_with_cors_headers() {
    let (_hub, router) = app();
    for origin in [
        "https://acme.lightning.force.com",
        "https://acme--uat.sandbox.lightning.force.com",
        "https://acme--c.vf.force.com",
    ] {
        let a = send(
            &router,
            get("/api/v1/status")
                .header("origin", origin)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(a.status, 200, "{origin}: {}", a.json);
        assert_eq!(a.headers["access-control-allow-origin"], origin);
        assert!(a
            .headers
            .get_all("vary")
            .iter()
            .any(|v| v.to_str().unwrap().contains("Origin")));
    }
    // Error answers carry CORS headers too, so the page can read them.
    let a = send(
        &router,
        from_page("POST", "/api/v1/calls")
            .header("content-type", "application/json")
            .body(json_body("{}"))
            .unwrap(),
    )
    .await;
    assert_error(&a, 400, "malformed_json");
    assert_eq!(a.headers["access-control-allow-origin"], SF_ORIGIN);
}

#[tokio::test]
async fn no_origin_needs_the_token() {
    let (_hub, router) = app();
    let a = send(&router, get("/api/v1/status").body(Body::empty()).unwrap()).await;
    assert_error(&a, 401, "unauthorized");
    assert!(a.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));

    let a = send(
        &router,
        get("/api/v1/status")
            .header("authorization", "Bearer wrong")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_error(&a, 401, "unauthorized");
    assert!(!a.json.to_string().contains(TOKEN));

    let a = send(
        &router,
        get("/api/v1/status")
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, 200);
    assert!(a.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_foreign_host_is_refused() {
    let (_hub, router) = app();
    for host in ["evil.example", "evil.example:18088", "192.168.1.5:18088"] {
        let a = send(
            &router,
            Request::get("/api/v1/status")
                .header("host", host)
                .header("authorization", format!("Bearer {TOKEN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_error(&a, 403, "forbidden_host");
    }
    for host in ["localhost:18088", "[::1]:18088", "127.0.0.1"] {
        let a = send(
            &router,
            Request::get("/api/v1/status")
                .header("host", host)
                .header("authorization", format!("Bearer {TOKEN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(a.status, 200, "{host}");
    }
}

fn preflight(origin: &str) -> Request<Body> {
    Request::builder()
        .method("OPTIONS")
        .uri("/api/v1/calls")
        .header("host", HOST)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .header("access-control-request-private-network", "true")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn preflight_with_private_network_access_for_an_allowed_origin() {
    let (_hub, router) = app();
    let a = send(&router, preflight(SF_ORIGIN)).await;
    assert_eq!(a.status, 204);
    assert_eq!(a.headers["access-control-allow-origin"], SF_ORIGIN);
    assert_eq!(a.headers["access-control-allow-private-network"], "true");
    let methods = a.headers["access-control-allow-methods"].to_str().unwrap();
    assert!(methods.contains("POST") && methods.contains("GET"));
    let headers = a.headers["access-control-allow-headers"].to_str().unwrap();
    assert!(headers.contains("Content-Type") && headers.contains("Authorization"));
    assert!(a.headers.contains_key("access-control-max-age"));
}

#[tokio::test]
async fn preflight_from_a_foreign_origin_gets_403_and_no_cors_headers() {
    let (_hub, router) = app();
    let a = send(&router, preflight("https://evil.example")).await;
    assert_error(&a, 403, "forbidden_origin");
    for h in [
        "access-control-allow-origin",
        "access-control-allow-private-network",
        "access-control-allow-methods",
        "access-control-allow-headers",
    ] {
        assert!(a.headers.get(h).is_none(), "{h}");
    }
}

#[tokio::test]
async fn configured_origins_replace_the_defaults() {
    let policy =
        bridge::OriginPolicy::parse(&["https://crm.example.com:8443".to_string()]).unwrap();
    let hub = bridge::Hub::new(status(bridge::RegistrationState::Registered, None));
    let router = bridge::router(hub, fake_agent(), bridge::Security::new(policy, TOKEN));
    let ok = send(
        &router,
        get("/api/v1/status")
            .header("origin", "https://crm.example.com:8443")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(ok.status, 200);
    let no = send(
        &router,
        get("/api/v1/status")
            .header("origin", SF_ORIGIN)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_error(&no, 403, "forbidden_origin");
}
