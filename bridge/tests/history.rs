//! `GET /api/v1/history`: pages from the agent's records, checked queries, the usual guard.

mod common;

use axum::body::Body;
use bridge::history::{CallHistory, HistoryError};
use bridge::{Hub, RegistrationState};
use common::*;
use std::sync::{Arc, Mutex};
use wire::{Direction, HistoryEntry, HistoryPage, LogState, Remote};

/// Hands out one fixed call and remembers what it was asked.
#[derive(Default)]
struct FakeHistory {
    asked: Mutex<Vec<(usize, Option<String>)>>,
}

impl CallHistory for FakeHistory {
    fn page(&self, limit: usize, before: Option<&str>) -> Result<HistoryPage, HistoryError> {
        self.asked
            .lock()
            .expect("not poisoned")
            .push((limit, before.map(str::to_owned)));
        if before == Some("r9c9") {
            return Err(HistoryError::UnknownCursor(
                "no call \"r9c9\" in the history".into(),
            ));
        }
        Ok(HistoryPage {
            calls: vec![HistoryEntry {
                id: "r2c1".into(),
                direction: Direction::Inbound,
                remote: Remote {
                    number: "+4930123456".into(),
                    display_name: None,
                    uri: "sip:+4930123456@pbx.test".into(),
                },
                started_at: "2025-01-31T09:15:02Z".into(),
                answered_at: Some("2025-01-31T09:15:04Z".into()),
                ended_at: Some("2025-01-31T09:16:04Z".into()),
                duration_s: 60,
                end_reason: None,
                log_state: LogState::Pending,
                task_id: None,
                log_error: None,
                disposition: None,
                notes: None,
                crm_record: None,
                quality: None,
            }],
            next_before: None,
        })
    }

    fn outbox(&self) -> Result<Vec<HistoryEntry>, HistoryError> {
        Err(HistoryError::Unavailable("not in this test".into()))
    }

    fn mark_delivered(&self, _: &[String]) -> Result<(), HistoryError> {
        Err(HistoryError::Unavailable("not in this test".into()))
    }

    fn logged(&self, _: &str, _: Result<String, String>) -> Result<(), HistoryError> {
        Err(HistoryError::Unavailable("not in this test".into()))
    }

    fn requeue(&self, _: &str) -> Result<(), HistoryError> {
        Err(HistoryError::Unavailable("not in this test".into()))
    }

    fn set_crm(&self, _: &str, _: wire::CrmRecord) -> Result<(), HistoryError> {
        Err(HistoryError::Unavailable("not in this test".into()))
    }

    fn set_wrapup(
        &self,
        _: &str,
        _: Option<String>,
        _: Option<String>,
    ) -> Result<(), HistoryError> {
        Err(HistoryError::Unavailable("not in this test".into()))
    }
}

fn app(history: Arc<FakeHistory>) -> axum::Router {
    let hub = Hub::new(status(RegistrationState::Registered, None));
    bridge::router_with_history(hub, fake_agent(), security(), None, history)
}

async fn get(router: &axum::Router, path: &str) -> Answer {
    send(router, req("GET", path).body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn pages_come_from_the_agent_with_defaults() {
    let history = Arc::new(FakeHistory::default());
    let router = app(history.clone());
    let a = get(&router, "/api/v1/history").await;
    assert_eq!(a.status, 200, "{}", a.json);
    let call = &a.json["calls"][0];
    assert_eq!(
        (
            &call["id"],
            &call["direction"],
            &call["duration_s"],
            &call["log_state"]
        ),
        (
            &"r2c1".into(),
            &"inbound".into(),
            &60.into(),
            &"pending".into()
        )
    );
    assert_eq!(call["remote"]["number"], "+4930123456");
    assert!(a.json["next_before"].is_null());
    let a = get(&router, "/api/v1/history?limit=5&before=r2c7").await;
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(
        *history.asked.lock().expect("not poisoned"),
        [(20, None), (5, Some("r2c7".into()))]
    );
}

#[tokio::test]
async fn bad_queries_are_refused_in_our_shape() {
    let router = app(Arc::new(FakeHistory::default()));
    for path in [
        "/api/v1/history?limit=0",
        "/api/v1/history?limit=201",
        "/api/v1/history?limit=x",
        "/api/v1/history?before=",
        "/api/v1/history?before=a%07b",
        "/api/v1/history?sort=asc",
        "/api/v1/history?before=r9c9",
    ] {
        assert_error(&get(&router, path).await, 400, "bad_request");
    }
    let a = post_json(&router, "/api/v1/history", "{}").await;
    assert_error(&a, 405, "method_not_allowed");
}

#[tokio::test]
async fn the_history_is_guarded_like_the_rest() {
    let router = app(Arc::new(FakeHistory::default()));
    let a = send(
        &router,
        axum::http::Request::builder()
            .method("GET")
            .uri("/api/v1/history")
            .header("host", HOST)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_error(&a, 401, "unauthorized");
}
