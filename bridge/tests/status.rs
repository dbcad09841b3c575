//! The status endpoint and the error shape, driven through the router.

mod common;

use axum::body::Body;
use bridge::RegistrationState;
use common::*;

#[tokio::test]
async fn status_follows_the_hub() {
    let (hub, router) = app();
    hub.set_status(status(RegistrationState::Registering, None));
    let a = send(
        &router,
        req("GET", "/api/v1/status").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json["registration"]["state"], "registering");
    assert!(a.json["registration"].get("error").is_none());
    assert_eq!(a.json["calls"], serde_json::json!([]));

    let mut s = status(
        RegistrationState::Failed,
        Some("wrong password for 1001 at pbx.test:5060"),
    );
    s.calls.push(call("c1", bridge::CallState::Connected));
    hub.publish(
        s.clone(),
        bridge::EventBody::Registration {
            registration: s.registration.clone(),
        },
    );
    let a = send(
        &router,
        req("GET", "/api/v1/status").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(a.json["registration"]["state"], "failed");
    assert_eq!(
        a.json["registration"]["error"],
        "wrong password for 1001 at pbx.test:5060"
    );
    assert_eq!(a.json["calls"][0]["id"], "c1");
    assert_eq!(a.json["calls"][0]["state"], "connected");
    assert_eq!(
        a.json["calls"][0]["remote"]["display_name"],
        serde_json::Value::Null
    );
    assert_eq!(a.json["calls"][0]["end_reason"], serde_json::Value::Null);
    assert_eq!(a.headers["cache-control"], "no-store");
}

#[tokio::test]
async fn device_counters_are_in_the_status_and_survive_call_events() {
    let (hub, router) = app();
    let get = || async {
        send(
            &router,
            req("GET", "/api/v1/status").body(Body::empty()).unwrap(),
        )
        .await
        .json
    };
    hub.set_status(status(RegistrationState::Registered, None));
    // No device configured: no `audio` member at all.
    assert!(get().await.get("audio").is_none());

    let output = bridge::DeviceFigures {
        device: "speaker".into(),
        rate: 48000,
        callbacks: 500,
        underruns: 2,
        silence_samples: 300,
        skipped_samples: 300,
        corrected_samples: -96,
        buffered_us: 21000,
        ..Default::default()
    };
    let mut s = status(RegistrationState::Registered, None);
    s.audio = Some(bridge::AudioStatus {
        input: None,
        output: Some(output),
    });
    hub.set_status(s.clone());
    s.calls.push(call("c1", bridge::CallState::Connected));
    hub.publish(
        s.clone(),
        bridge::EventBody::Call {
            call: s.calls[0].clone(),
        },
    );
    let json = get().await;
    assert_eq!(json["calls"][0]["id"], "c1");
    let out = &json["audio"]["output"];
    assert_eq!(out["device"], "speaker", "{json}");
    assert_eq!(out["underruns"], 2);
    assert_eq!(out["skipped_samples"], 300);
    assert_eq!(out["corrected_samples"], -96);
    assert_eq!(out["buffered_us"], 21000);
    assert_eq!(json["audio"]["input"], serde_json::Value::Null);

    // The devices closed: the part goes.
    s.audio = None;
    hub.set_status(s);
    assert!(get().await.get("audio").is_none());
}

#[tokio::test]
async fn unknown_paths_get_a_json_error() {
    let (_hub, router) = app();
    let a = send(
        &router,
        req("GET", "/api/v1/nope").body(Body::empty()).unwrap(),
    )
    .await;
    assert_error(&a, 404, "not_found");
    assert!(a.json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("/api/v1/nope"));
    let a = send(
        &router,
        req("POST", "/api/v1/calls/c1/fly")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_error(&a, 404, "not_found");
}

#[tokio::test]
async fn wrong_methods_get_a_json_405_with_allow() {
    let (_hub, router) = app();
    let a = send(
        &router,
        req("DELETE", "/api/v1/status").body(Body::empty()).unwrap(),
    )
    .await;
    assert_error(&a, 405, "method_not_allowed");
    assert!(a.headers["allow"].to_str().unwrap().contains("GET"));
    let a = send(
        &router,
        req("GET", "/api/v1/calls").body(Body::empty()).unwrap(),
    )
    .await;
    assert_error(&a, 405, "method_not_allowed");
    assert!(a.headers["allow"].to_str().unwrap().contains("POST"));
}

#[tokio::test]
async fn events_without_an_upgrade_get_a_json_error() {
    let (_hub, router) = app();
    let a = send(
        &router,
        req("GET", "/api/v1/events").body(Body::empty()).unwrap(),
    )
    .await;
    assert!(a.status.is_client_error());
    assert_eq!(a.json["error"]["code"], "websocket_required", "{}", a.json);
}
