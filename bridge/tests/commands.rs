//! The command endpoints against a fake agent: validation, reply mapping, agent gone.

mod common;

use axum::body::Body;
use bridge::{CommandRequest, Hub, RegistrationState};
use common::*;
use tokio::sync::mpsc;

#[tokio::test]
async fn dial_creates_a_call() {
    let (_hub, router) = app();
    let a = post_json(&router, "/api/v1/calls", r#"{"to": "+4930123456"}"#).await;
    assert_eq!(a.status, 201, "{}", a.json);
    assert_eq!(a.json, serde_json::json!({"id": "c2"}));
    assert_eq!(a.headers["location"], "/api/v1/calls/c2");
}

#[tokio::test]
async fn agent_refusals_map_to_http() {
    let (_hub, router) = app();
    let a = post_json(&router, "/api/v1/calls/nope/hangup", "").await;
    assert_error(&a, 404, "unknown_call");
    let a = post_json(&router, "/api/v1/calls/c1/answer", "").await;
    assert_error(&a, 409, "invalid_state");
    assert_eq!(a.json["error"]["message"], "call c1 is not ringing");
    let a = post_json(&router, "/api/v1/calls", r#"{"to": "999"}"#).await;
    assert_error(&a, 422, "undialable_number");
}

#[tokio::test]
async fn actions_without_a_body_are_accepted() {
    let (_hub, router) = app();
    for action in ["reject", "hangup", "hold", "resume", "mute", "unmute"] {
        let a = send(
            &router,
            req("POST", &format!("/api/v1/calls/c1/{action}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(a.status, 200, "{action}: {}", a.json);
        assert_eq!(a.json, serde_json::json!({"ok": true}));
    }
    let a = post_json(&router, "/api/v1/calls/c1/dtmf", r#"{"digits": "12#a"}"#).await;
    assert_eq!(a.status, 200, "{}", a.json);
    let a = post_json(&router, "/api/v1/calls/c1/transfer", r#"{"to": "1002"}"#).await;
    assert_eq!(a.status, 200, "{}", a.json);
    let a = post_json(
        &router,
        "/api/v1/calls/c1/transfer",
        r#"{"replaces": "c9"}"#,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.json);
}

#[tokio::test]
async fn malformed_bodies_get_400_in_our_shape() {
    let (_hub, router) = app();
    let a = post_json(&router, "/api/v1/calls", "{not json").await;
    assert_error(&a, 400, "malformed_json");
    let a = post_json(&router, "/api/v1/calls", "{}").await;
    assert_error(&a, 400, "malformed_json");
    assert!(a.json["error"]["message"].as_str().unwrap().contains("to"));
    let a = post_json(&router, "/api/v1/calls", r#"{"to": "1", "extra": 1}"#).await;
    assert_error(&a, 400, "malformed_json");
    let a = post_json(&router, "/api/v1/calls", r#"{"to": 5}"#).await;
    assert_error(&a, 400, "malformed_json");
    // No content type.
    let a = send(
        &router,
        req("POST", "/api/v1/calls")
            .body(json_body(r#"{"to": "1"}"#))
            .unwrap(),
    )
    .await;
    assert_error(&a, 400, "malformed_json");
    assert!(a.json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("application/json"));
    let a = post_json(&router, "/api/v1/calls", r#"{"to": "  "}"#).await;
    assert_error(&a, 400, "bad_request");
    let big = format!(r#"{{"to": "{}"}}"#, "1".repeat(20_000));
    let a = post_json(&router, "/api/v1/calls", &big).await;
    assert_error(&a, 413, "payload_too_large");
}

#[tokio::test]
async fn bad_digits_get_400() {
    let (_hub, router) = app();
    for body in [
        r#"{"digits": ""}"#,
        r#"{"digits": "12x"}"#,
        r#"{"digits": "1 2"}"#,
        r#"{"digits": "123456789012345678901234567890123"}"#,
    ] {
        let a = post_json(&router, "/api/v1/calls/c1/dtmf", body).await;
        assert_error(&a, 400, "bad_request");
    }
    let a = post_json(&router, "/api/v1/calls/c1/dtmf", r#"{}"#).await;
    assert_error(&a, 400, "malformed_json");
}

#[tokio::test]
async fn transfer_needs_exactly_one_target() {
    let (_hub, router) = app();
    for body in [
        r#"{}"#,
        r#"{"to": "1002", "replaces": "c9"}"#,
        r#"{"replaces": "c1"}"#,
    ] {
        let a = post_json(&router, "/api/v1/calls/c1/transfer", body).await;
        assert_error(&a, 400, "bad_request");
    }
}

#[tokio::test]
async fn commands_reach_the_agent_as_typed_commands() {
    let hub = Hub::new(status(RegistrationState::Registered, None));
    let (tx, mut rx) = mpsc::channel::<CommandRequest>(4);
    let router = bridge::router(hub, tx, security());
    let seen = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(req) = rx.recv().await {
            seen.push(req.command.clone());
            req.respond(Ok(bridge::CommandReply::Accepted));
            if seen.len() == 2 {
                break;
            }
        }
        seen
    });
    post_json(&router, "/api/v1/calls/c7/dtmf", r#"{"digits": "1a#"}"#).await;
    post_json(
        &router,
        "/api/v1/calls/c7/transfer",
        r#"{"replaces": "c8"}"#,
    )
    .await;
    assert_eq!(
        seen.await.unwrap(),
        vec![
            bridge::Command::Dtmf {
                id: "c7".into(),
                digits: "1A#".into()
            },
            bridge::Command::AttendedTransfer {
                id: "c7".into(),
                replaces: "c8".into()
            },
        ]
    );
}

#[tokio::test]
async fn a_gone_or_silent_agent_gives_503() {
    let hub = Hub::new(status(RegistrationState::Registered, None));
    // Channel closed.
    let (tx, rx) = mpsc::channel::<CommandRequest>(1);
    drop(rx);
    let router = bridge::router(hub.clone(), tx, security());
    let a = post_json(&router, "/api/v1/calls/c1/hangup", "").await;
    assert_error(&a, 503, "unavailable");

    // The agent drops the reply sender.
    let (tx, mut rx) = mpsc::channel::<CommandRequest>(1);
    tokio::spawn(async move {
        while let Some(req) = rx.recv().await {
            drop(req);
        }
    });
    let router = bridge::router(hub, tx, security());
    let a = post_json(&router, "/api/v1/calls", r#"{"to": "1"}"#).await;
    assert_error(&a, 503, "unavailable");
}

#[tokio::test]
async fn agent_status_takes_only_a_state_the_agent_can_choose() {
    let hub = Hub::new(status(RegistrationState::Registered, None));
    let (tx, mut rx) = mpsc::channel::<CommandRequest>(4);
    let router = bridge::router(hub, tx, security());
    let seen = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(req) = rx.recv().await {
            seen.push(req.command.clone());
            req.respond(Ok(bridge::CommandReply::Accepted));
        }
        seen
    });
    for state in ["available", "away", "dnd"] {
        let body = format!(r#"{{"state": "{state}"}}"#);
        let a = post_json(&router, "/api/v1/agent/status", &body).await;
        assert_eq!(a.status, 200, "{state}: {}", a.json);
        assert_eq!(a.json, serde_json::json!({"ok": true}));
    }
    for body in [
        r#"{"state": "on_call"}"#,
        r#"{"state": "after_call_work"}"#,
        r#"{"state": "DND"}"#,
        r#"{"state": ""}"#,
        r#"{"state": 3}"#,
        r#"{}"#,
        r#"{"state": "away", "until": "later"}"#,
    ] {
        let a = post_json(&router, "/api/v1/agent/status", body).await;
        assert_eq!(a.status, 400, "{body}: {}", a.json);
        assert!(a.json["error"]["message"].is_string(), "{body}: {}", a.json);
    }
    let a = post_json(&router, "/api/v1/agent/status", r#"{"state": "on_call"}"#).await;
    assert_error(&a, 400, "bad_request");
    assert!(
        a.json["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("\"available\", \"away\" or \"dnd\"")),
        "{}",
        a.json
    );
    drop(router);
    use bridge::ChosenState::*;
    let states: Vec<_> = seen
        .await
        .unwrap()
        .into_iter()
        .map(|c| match c {
            bridge::Command::SetAgentStatus { state } => state,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        states,
        [Available, Away, Dnd],
        "only valid choices reach the agent"
    );
}
