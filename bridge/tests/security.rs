//! Host, Origin, token and CORS / Private Network Access rules, driven through the router.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::*;

/// `GET /api/v1/status` on the loopback Host with `headers`.
async fn status_with(router: &axum::Router, headers: &[(&str, &str)]) -> Answer {
    let mut all = vec![("host", HOST)];
    all.extend_from_slice(headers);
    get_with(router, "/api/v1/status", &all).await
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
        let a = status_with(&router, &[("authorization", &bearer()), ("origin", origin)]).await;
        assert_error(&a, 403, "forbidden_origin");
        assert!(a.headers.get("access-control-allow-origin").is_none());
    }
    // Unknown paths and commands are guarded too.
    let evil = [("host", HOST), ("origin", "https://evil.example")];
    let a = get_with(&router, "/api/v1/nope", &evil).await;
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
        let a = status_with(&router, &[("origin", origin)]).await;
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
    let a = status_with(&router, &[]).await;
    assert_error(&a, 401, "unauthorized");
    assert!(a.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));

    let a = status_with(&router, &[("authorization", "Bearer wrong")]).await;
    assert_error(&a, 401, "unauthorized");
    assert!(!a.json.to_string().contains(TOKEN));

    let a = status_with(&router, &[("authorization", &bearer())]).await;
    assert_eq!(a.status, 200);
    assert!(a.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_foreign_host_is_refused() {
    let (_hub, router) = app();
    let token = bearer();
    let with_host = |host: &'static str| {
        let headers = [("host", host), ("authorization", token.as_str())];
        let router = &router;
        async move { get_with(router, "/api/v1/status", &headers).await }
    };
    for host in ["evil.example", "evil.example:18088", "192.168.1.5:18088"] {
        assert_error(&with_host(host).await, 403, "forbidden_host");
    }
    for host in ["localhost:18088", "[::1]:18088", "127.0.0.1"] {
        assert_eq!(with_host(host).await.status, 200, "{host}");
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
    let ok = status_with(&router, &[("origin", "https://crm.example.com:8443")]).await;
    assert_eq!(ok.status, 200);
    let no = status_with(&router, &[("origin", SF_ORIGIN)]).await;
    assert_error(&no, 403, "forbidden_origin");
}
