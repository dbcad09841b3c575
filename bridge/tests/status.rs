//! The status endpoint and the error shape, driven through the router.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bridge::{RegistrationState, RegistrationStatus, Status};
use http_body_util::BodyExt;
use tokio::sync::watch;
use tower::ServiceExt;

fn status(state: RegistrationState, error: Option<&str>) -> Status {
    Status {
        version: "test",
        registration: RegistrationStatus {
            state,
            aor: "sip:1001@pbx.test".into(),
            server: "pbx.test:5060".into(),
            transport: "udp".into(),
            expires: None,
            error: error.map(str::to_owned),
            retry_in: None,
        },
    }
}

async fn get_json(router: axum::Router, path: &str) -> (StatusCode, serde_json::Value) {
    let resp = router
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let code = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (code, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn status_follows_the_published_state() {
    let (tx, rx) = watch::channel(status(RegistrationState::Registering, None));
    let (code, json) = get_json(bridge::router(rx.clone()), "/api/v1/status").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(json["registration"]["state"], "registering");
    assert!(json["registration"].get("error").is_none());

    tx.send(status(
        RegistrationState::Failed,
        Some("wrong password for 1001 at pbx.test:5060"),
    ))
    .unwrap();
    let (_, json) = get_json(bridge::router(rx), "/api/v1/status").await;
    assert_eq!(json["registration"]["state"], "failed");
    assert_eq!(
        json["registration"]["error"],
        "wrong password for 1001 at pbx.test:5060"
    );
}

#[tokio::test]
async fn unknown_paths_get_a_json_error() {
    let (_tx, rx) = watch::channel(status(RegistrationState::Registered, None));
    let (code, json) = get_json(bridge::router(rx), "/api/v1/nope").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(json["error"]["code"], "not_found");
    assert!(json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("/api/v1/nope"));
}
