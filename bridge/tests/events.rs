//! The event WebSocket on a real loopback server: snapshot, live order, resuming with
//! `?since=`, falling back to a snapshot, lagging, security on the upgrade, shutdown.

mod common;

use bridge::{CallState, EventBody, Hub, RegistrationState};
use common::*;
use std::sync::Arc;

/// The event socket opened by the Salesforce page, `query` like `?since=3&instance=...`.
async fn as_page(server: &Server, query: &str) -> Ws {
    connect(server.addr, query, Client::Page(SF_ORIGIN))
        .await
        .unwrap()
}

fn publish_call(hub: &Hub, id: &str, state: CallState) -> u64 {
    let mut s = hub.status();
    let view = call(id, state);
    s.calls.retain(|c| c.id != id);
    s.calls.push(view.clone());
    hub.publish(s, EventBody::Call { call: view })
}

fn new_hub() -> Arc<Hub> {
    Hub::new(status(RegistrationState::Registered, None))
}

#[tokio::test]
async fn snapshot_on_connect_then_live_events_in_order() {
    let hub = new_hub();
    publish_call(&hub, "c1", CallState::Dialing);
    publish_call(&hub, "c1", CallState::Ringing);
    let server = serve(hub.clone(), security()).await;
    let mut ws = as_page(&server, "").await;

    let snap = next_event(&mut ws).await;
    assert_eq!(snap["event"], "snapshot");
    assert_eq!(snap["seq"], 2);
    assert_eq!(snap["instance"], hub.instance());
    assert_eq!(snap["status"]["registration"]["state"], "registered");
    assert_eq!(snap["status"]["calls"][0]["state"], "ringing");

    publish_call(&hub, "c1", CallState::Connected);
    hub.publish(
        hub.status(),
        EventBody::Dtmf {
            call_id: "c1".into(),
            digits: "5".into(),
        },
    );
    hub.publish(
        hub.status(),
        EventBody::Transfer {
            call_id: "c1".into(),
            state: bridge::TransferState::Trying,
            sip_status: Some(202),
            message: "transfer accepted".into(),
        },
    );
    let e = next_event(&mut ws).await;
    assert_eq!(
        (e["event"].as_str(), e["seq"].as_u64()),
        (Some("call"), Some(3))
    );
    assert_eq!(e["call"]["state"], "connected");
    let e = next_event(&mut ws).await;
    assert_eq!(
        e,
        serde_json::json!({"event": "dtmf", "seq": 4, "call_id": "c1", "digits": "5"})
    );
    let e = next_event(&mut ws).await;
    assert_eq!(
        e,
        serde_json::json!({"event": "transfer", "seq": 5, "call_id": "c1", "state": "trying", "sip_status": 202, "message": "transfer accepted"})
    );
    quiet(&mut ws).await;
}

#[tokio::test]
async fn reconnecting_with_since_gets_exactly_the_missed_events() {
    let hub = new_hub();
    let server = serve(hub.clone(), security()).await;
    let mut ws = as_page(&server, "").await;
    let snap = next_event(&mut ws).await;
    assert_eq!(snap["seq"], 0);
    let instance = snap["instance"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        publish_call(&hub, "c1", CallState::Ringing);
    }
    let mut last = 0;
    for want in 1..=3 {
        let e = next_event(&mut ws).await;
        assert_eq!(e["seq"], want);
        last = want;
    }
    drop(ws);

    publish_call(&hub, "c1", CallState::Connected);
    publish_call(&hub, "c1", CallState::Held);
    publish_call(&hub, "c1", CallState::Connected);

    let mut ws = as_page(&server, &format!("?since={last}&instance={instance}")).await;
    for (want, state) in [(4, "connected"), (5, "held"), (6, "connected")] {
        let e = next_event(&mut ws).await;
        assert_eq!(e["event"], "call");
        assert_eq!(e["seq"], want);
        assert_eq!(e["call"]["state"], state);
    }
    publish_call(&hub, "c1", CallState::Ended);
    let e = next_event(&mut ws).await;
    assert_eq!(e["seq"], 7);
    quiet(&mut ws).await;

    // Up to date: nothing is replayed, live follows.
    let mut ws = as_page(&server, &format!("?since=7&instance={instance}")).await;
    quiet(&mut ws).await;
    publish_call(&hub, "c2", CallState::Dialing);
    assert_eq!(next_event(&mut ws).await["seq"], 8);
}

#[tokio::test]
async fn since_too_old_in_the_future_or_from_another_run_gets_a_snapshot() {
    let hub = Hub::with_history(status(RegistrationState::Registered, None), 2);
    for _ in 0..5 {
        publish_call(&hub, "c1", CallState::Ringing);
    }
    let server = serve(hub.clone(), security()).await;
    let instance = hub.instance().to_owned();
    for query in [
        format!("?since=1&instance={instance}"),
        format!("?since=2&instance={instance}"),
        format!("?since=99&instance={instance}"),
        "?since=4&instance=another-run".to_string(),
    ] {
        let mut ws = as_page(&server, &query).await;
        let e = next_event(&mut ws).await;
        assert_eq!(e["event"], "snapshot", "{query}");
        assert_eq!(e["seq"], 5, "{query}");
        quiet(&mut ws).await;
    }
    // Still inside the history (events 4 and 5 kept): replay.
    let mut ws = as_page(&server, &format!("?since=3&instance={instance}")).await;
    assert_eq!(next_event(&mut ws).await["seq"], 4);
    assert_eq!(next_event(&mut ws).await["seq"], 5);
}

#[tokio::test(flavor = "current_thread")]
async fn a_lagging_client_catches_up_without_gaps_or_duplicates() {
    let hub = new_hub();
    let server = serve(hub.clone(), security()).await;
    let mut ws = as_page(&server, "").await;
    assert_eq!(next_event(&mut ws).await["event"], "snapshot");
    // On one thread the session cannot run while this burst overflows its live channel.
    for _ in 0..600 {
        publish_call(&hub, "c1", CallState::Ringing);
    }
    for want in 1..=600 {
        let e = next_event(&mut ws).await;
        assert_eq!(e["seq"], want);
        assert_eq!(e["event"], "call");
    }
    quiet(&mut ws).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_client_lagging_past_the_history_gets_a_fresh_snapshot() {
    let hub = Hub::with_history(status(RegistrationState::Registered, None), 10);
    let server = serve(hub.clone(), security()).await;
    let mut ws = as_page(&server, "").await;
    assert_eq!(next_event(&mut ws).await["event"], "snapshot");
    for _ in 0..600 {
        publish_call(&hub, "c1", CallState::Ringing);
    }
    let e = next_event(&mut ws).await;
    assert_eq!(e["event"], "snapshot");
    assert_eq!(e["seq"], 600);
    publish_call(&hub, "c1", CallState::Connected);
    assert_eq!(next_event(&mut ws).await["seq"], 601);
}

#[tokio::test]
async fn the_upgrade_is_guarded() {
    let hub = new_hub();
    let server = serve(hub, security()).await;
    assert_eq!(
        connect(server.addr, "", Client::Page("https://evil.example"))
            .await
            .err(),
        Some("403".to_string())
    );
    // Local tools: no Origin, the token.
    let mut ws = connect(server.addr, "", Client::Token).await.unwrap();
    assert_eq!(next_event(&mut ws).await["event"], "snapshot");
    // No Origin, no token.
    assert_eq!(
        connect(server.addr, "", Client::Anonymous).await.err(),
        Some("401".to_string())
    );
}

#[tokio::test]
async fn shutdown_closes_event_sockets_with_going_away() {
    let hub = new_hub();
    let mut server = serve(hub, security()).await;
    let mut ws = as_page(&server, "").await;
    assert_eq!(next_event(&mut ws).await["event"], "snapshot");
    server.stop();
    assert_eq!(
        close_frame(&mut ws).await,
        (1001, "agent shutting down".to_string())
    );
    drop(ws);
    assert!(server.stopped().await.is_ok());
}
