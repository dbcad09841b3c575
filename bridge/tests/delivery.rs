//! Tabs, leadership and call log delivery: one tab leads, pops each call once and saves each
//! log once; a leaving leader's work goes to the next.

mod common;

use bridge::history::{CallHistory, HistoryError};
use bridge::{CallState, Direction, Hub, RegistrationState};
use common::*;
use futures_util::SinkExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio_tungstenite::tungstenite::Message;
use wire::{CrmRecord, HistoryEntry, HistoryPage, LogState, Remote};

/// Call records in memory, with the store's outbox rules.
#[derive(Default)]
struct Records(Mutex<HashMap<String, HistoryEntry>>);

impl Records {
    fn ended(&self, id: &str) {
        let entry = HistoryEntry {
            id: id.into(),
            direction: Direction::Inbound,
            remote: Remote {
                number: "+15550102000".into(),
                display_name: None,
                uri: "sip:+15550102000@pbx.test".into(),
            },
            started_at: "2026-12-06T18:00:00Z".into(),
            answered_at: None,
            ended_at: Some("2026-12-06T18:00:09Z".into()),
            duration_s: 0,
            end_reason: None,
            log_state: LogState::Pending,
            task_id: None,
            log_error: None,
            disposition: None,
            notes: None,
            crm_record: None,
            quality: None,
        };
        self.0.lock().unwrap().insert(id.into(), entry);
    }

    fn get(&self, id: &str) -> HistoryEntry {
        self.0.lock().unwrap()[id].clone()
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut HistoryEntry)) -> Result<(), HistoryError> {
        let mut all = self.0.lock().unwrap();
        let e = all
            .get_mut(id)
            .ok_or_else(|| HistoryError::UnknownCall(id.into()))?;
        f(e);
        Ok(())
    }
}

impl CallHistory for Records {
    fn page(&self, _: usize, _: Option<&str>) -> Result<HistoryPage, HistoryError> {
        Err(HistoryError::Unavailable("not in this test".into()))
    }

    fn outbox(&self) -> Result<Vec<HistoryEntry>, HistoryError> {
        let mut out: Vec<HistoryEntry> = self
            .0
            .lock()
            .unwrap()
            .values()
            .filter(|e| matches!(e.log_state, LogState::Pending | LogState::Delivered))
            .cloned()
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    fn mark_delivered(&self, ids: &[String]) -> Result<(), HistoryError> {
        for id in ids {
            self.update(id, |e| e.log_state = LogState::Delivered)?;
        }
        Ok(())
    }

    fn logged(&self, id: &str, outcome: Result<String, String>) -> Result<(), HistoryError> {
        self.update(id, |e| match outcome {
            Ok(task) => {
                e.log_state = LogState::Saved;
                e.task_id = Some(task);
            }
            Err(why) => {
                e.log_state = LogState::Failed;
                e.log_error = Some(why);
            }
        })
    }

    fn requeue(&self, id: &str) -> Result<(), HistoryError> {
        self.update(id, |e| e.log_state = LogState::Pending)
    }

    fn set_crm(&self, id: &str, record: CrmRecord) -> Result<(), HistoryError> {
        self.update(id, |e| e.crm_record = Some(record))
    }

    fn set_wrapup(
        &self,
        id: &str,
        disposition: Option<String>,
        notes: Option<String>,
    ) -> Result<(), HistoryError> {
        self.update(id, |e| {
            e.disposition = disposition;
            e.notes = notes;
            e.log_state = LogState::Pending;
        })
    }
}

struct Bridge {
    addr: SocketAddr,
    hub: Arc<Hub>,
    /// The same router the server runs, for requests in process.
    app: axum::Router,
    records: Arc<Records>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn bridge() -> Bridge {
    let hub = Hub::new(status(RegistrationState::Registered, None));
    let records = Arc::new(Records::default());
    let app =
        bridge::router_with_history(hub.clone(), fake_agent(), security(), None, records.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bridge::serve_router(
        listener,
        hub.clone(),
        app.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    Bridge {
        addr,
        hub,
        app,
        records,
        _stop: stop,
    }
}

/// A page's tab: its socket and the tab id the bridge gave it.
struct Tab {
    ws: Ws,
    id: String,
}

async fn open_tab(addr: SocketAddr) -> (Tab, bool) {
    let mut ws = connect(addr, "?tab=1", Client::Token)
        .await
        .expect("connects");
    expect_event(&mut ws, "snapshot").await;
    let tab = expect_event(&mut ws, "tab").await;
    let id = tab["tab"].as_str().expect("a tab id").to_owned();
    (Tab { ws, id }, tab["leader"] == true)
}

async fn request(app: &axum::Router, method: &str, path: &str, body: Value) -> (u16, Value) {
    let answer = send(
        app,
        req(method, path)
            .header("content-type", "application/json")
            .body(json_body(&body.to_string()))
            .unwrap(),
    )
    .await;
    (answer.status.as_u16(), answer.json)
}

async fn post(app: &axum::Router, path: &str, body: Value) -> (u16, Value) {
    request(app, "POST", path, body).await
}

fn ids(answer: &Value) -> Vec<String> {
    answer["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn one_tab_leads_and_the_tab_in_front_takes_over() {
    let b = bridge().await;
    let (mut a, a_leads) = open_tab(b.addr).await;
    let (mut c, c_leads) = open_tab(b.addr).await;
    assert!(a_leads && !c_leads, "the first tab leads");
    // A local tool watching events is not a tab.
    let mut tool = connect(b.addr, "", Client::Token).await.expect("connects");
    expect_event(&mut tool, "snapshot").await;
    quiet(&mut tool).await;

    c.ws.send(Message::Text(r#"{"op":"active"}"#.into()))
        .await
        .unwrap();
    let now = expect_event(&mut c.ws, "tab").await;
    assert_eq!(
        (now["tab"].as_str(), now["leader"].as_bool()),
        (Some(c.id.as_str()), Some(true))
    );
    assert_eq!(expect_event(&mut a.ws, "tab").await["leader"], false);
    // Junk from a page changes nothing.
    a.ws.send(Message::Text("{\"op\":".into())).await.unwrap();
    a.ws.send(Message::Text(r#"{"op":"lead"}"#.into()))
        .await
        .unwrap();
    quiet(&mut a.ws).await;

    drop(c);
    let now = expect_event(&mut a.ws, "tab").await;
    assert_eq!(
        now["leader"], true,
        "the remaining tab leads when the leader goes"
    );
}

#[tokio::test]
async fn the_leader_saves_each_log_once_and_a_departed_leaders_work_moves_on() {
    let b = bridge().await;
    b.records.ended("r1c1");
    b.records.ended("r1c2");
    let (a, _) = open_tab(b.addr).await;
    let (mut c, _) = open_tab(b.addr).await;

    let (code, answer) = post(&b.app, "/api/v1/outbox/claim", json!({"tab": c.id})).await;
    assert_eq!(
        (code, answer["error"]["code"].as_str()),
        (409, Some("not_leader"))
    );

    let (code, answer) = post(&b.app, "/api/v1/outbox/claim", json!({"tab": a.id})).await;
    assert_eq!(
        (code, ids(&answer)),
        (200, vec!["r1c1".to_string(), "r1c2".into()])
    );
    assert_eq!(b.records.get("r1c1").log_state, LogState::Delivered);
    let (_, again) = post(&b.app, "/api/v1/outbox/claim", json!({"tab": a.id})).await;
    assert!(
        ids(&again).is_empty(),
        "what a tab is saving is not offered twice"
    );

    let (code, _) = post(
        &b.app,
        "/api/v1/calls/r1c1/log",
        json!({"tab": a.id, "task_id": "00T000000000001AAA"}),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(
        b.records.get("r1c1").task_id.as_deref(),
        Some("00T000000000001AAA")
    );

    // The leader closes before acknowledging r1c2: the next leader is told and gets it.
    drop(a);
    assert_eq!(expect_event(&mut c.ws, "tab").await["leader"], true);
    expect_event(&mut c.ws, "outbox").await;
    let (_, answer) = post(&b.app, "/api/v1/outbox/claim", json!({"tab": c.id})).await;
    assert_eq!(ids(&answer), vec!["r1c2".to_string()]);
    let (code, _) = post(
        &b.app,
        "/api/v1/calls/r1c2/log",
        json!({"tab": c.id, "error": "FIELD_INTEGRITY_EXCEPTION: WhoId"}),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(b.records.get("r1c2").log_state, LogState::Failed);

    // A wrap-up sends the call back out, and the leader hears of it.
    let (code, _) = post(
        &b.app,
        "/api/v1/calls/r1c1/wrapup",
        json!({"disposition": "Resolved", "notes": "line one\nline two"}),
    )
    .await;
    assert_eq!(code, 200);
    expect_event(&mut c.ws, "outbox").await;
    let (_, answer) = post(&b.app, "/api/v1/outbox/claim", json!({"tab": c.id})).await;
    assert_eq!(ids(&answer), vec!["r1c1".to_string()]);
    assert_eq!(answer["calls"][0]["task_id"], "00T000000000001AAA");
    assert_eq!(answer["calls"][0]["notes"], "line one\nline two");
    drop(b.hub);
}

#[tokio::test]
async fn a_ringing_call_pops_once_and_only_for_the_leader() {
    let b = bridge().await;
    let mut ringing = call("r1c5", CallState::Ringing);
    ringing.direction = Direction::Inbound;
    let mut s = b.hub.status();
    s.calls.push(ringing);
    s.calls.push(call("r1c6", CallState::Ringing));
    b.hub.set_status(s);
    let (a, _) = open_tab(b.addr).await;
    let (c, _) = open_tab(b.addr).await;
    let (code, answer) = post(&b.app, "/api/v1/calls/r1c5/pop", json!({"tab": c.id})).await;
    assert_eq!(
        (code, answer["error"]["code"].as_str()),
        (409, Some("not_leader"))
    );
    let (_, answer) = post(&b.app, "/api/v1/calls/r1c5/pop", json!({"tab": a.id})).await;
    assert_eq!(answer["pop"], true);
    let (_, answer) = post(&b.app, "/api/v1/calls/r1c5/pop", json!({"tab": a.id})).await;
    assert_eq!(answer["pop"], false, "{answer}");
    let (_, answer) = post(&b.app, "/api/v1/calls/r1c6/pop", json!({"tab": a.id})).await;
    assert_eq!(answer["pop"], false, "outbound calls do not pop");
    let (code, _) = post(&b.app, "/api/v1/calls/nope/pop", json!({"tab": a.id})).await;
    assert_eq!(code, 404);
    let (code, answer) = post(&b.app, "/api/v1/calls/r1c5/pop", json!({"tab": "t999"})).await;
    assert_eq!(
        (code, answer["error"]["code"].as_str()),
        (409, Some("unknown_tab"))
    );
}

#[tokio::test]
async fn bad_bodies_get_errors_that_say_what_to_send() {
    let b = bridge().await;
    b.records.ended("r1c1");
    let (a, _) = open_tab(b.addr).await;
    for (path, body, want) in [
        ("/api/v1/calls/r1c1/log", json!({"tab": a.id}), 400),
        (
            "/api/v1/calls/r1c1/log",
            json!({"tab": a.id, "task_id": "x"}),
            400,
        ),
        (
            "/api/v1/calls/r1c1/log",
            json!({"tab": a.id, "task_id": "00T000000000001AAA", "error": "e"}),
            400,
        ),
        (
            "/api/v1/calls/r1c1/log",
            json!({"tab": "me", "task_id": "00T000000000001AAA"}),
            400,
        ),
        (
            "/api/v1/calls/r9c9/log",
            json!({"tab": a.id, "task_id": "00T000000000001AAA"}),
            404,
        ),
        (
            "/api/v1/calls/r1c1/wrapup",
            json!({"disposition": "x".repeat(256)}),
            400,
        ),
        (
            "/api/v1/calls/r1c1/wrapup",
            json!({"disposition": "a\nb"}),
            400,
        ),
        ("/api/v1/calls/r1c1/wrapup", json!({"notes": 5}), 400),
        ("/api/v1/outbox/claim", json!({}), 400),
    ] {
        let (code, answer) = post(&b.app, path, body.clone()).await;
        assert_eq!(code, want, "{path} {body}: {answer}");
        assert!(answer["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    let (code, _) = request(
        &b.app,
        "PUT",
        "/api/v1/calls/r1c1/crm",
        json!({"id": "003000000000001AAA", "name": "Ada Lovelace", "object_type": "Contact"}),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(
        b.records.get("r1c1").crm_record.map(|r| r.name),
        Some("Ada Lovelace".into())
    );
}

#[tokio::test]
async fn a_wrap_up_saved_while_the_task_is_being_saved_is_saved_again_after() {
    let b = bridge().await;
    b.records.ended("r1c1");
    let (mut a, _) = open_tab(b.addr).await;
    let (_, answer) = post(&b.app, "/api/v1/outbox/claim", json!({"tab": a.id})).await;
    assert_eq!(ids(&answer), vec!["r1c1".to_string()]);
    // The agent saves the wrap-up while the leader is still saving the first Task.
    let (code, _) = post(
        &b.app,
        "/api/v1/calls/r1c1/wrapup",
        json!({"disposition": "Escalated"}),
    )
    .await;
    assert_eq!(code, 200);
    expect_event(&mut a.ws, "outbox").await;
    let (_, again) = post(&b.app, "/api/v1/outbox/claim", json!({"tab": a.id})).await;
    assert!(ids(&again).is_empty(), "still being saved");
    let (code, _) = post(
        &b.app,
        "/api/v1/calls/r1c1/log",
        json!({"tab": a.id, "task_id": "00T000000000001AAA"}),
    )
    .await;
    assert_eq!(code, 200);
    // What was saved predates the wrap-up: the call is offered again, with its Task id.
    expect_event(&mut a.ws, "outbox").await;
    let (_, again) = post(&b.app, "/api/v1/outbox/claim", json!({"tab": a.id})).await;
    assert_eq!(ids(&again), vec!["r1c1".to_string()]);
    assert_eq!(again["calls"][0]["disposition"], "Escalated");
    assert_eq!(again["calls"][0]["task_id"], "00T000000000001AAA");
}
