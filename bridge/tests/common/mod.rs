//! Helpers shared by the bridge tests: statuses, calls, a router with a fake agent,
//! one-shot requests, and the event WebSocket ([`ws`]).
#![allow(dead_code)]

mod ws;
#[allow(unused_imports)] // not every test binary opens the event socket
pub use ws::*;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bridge::{
    CallState, CallView, Command, CommandError, CommandReply, CommandRequest, Direction, Hub,
    OriginPolicy, RegistrationState, RegistrationStatus, Remote, Security, Status,
};
use http_body_util::BodyExt;
use std::sync::Arc;
use tokio::sync::mpsc;
use tower::ServiceExt;

pub const TOKEN: &str = "test-token-0123456789";
pub const HOST: &str = "127.0.0.1:18088";
pub const SF_ORIGIN: &str = "https://acme.lightning.force.com";

pub fn status(state: RegistrationState, error: Option<&str>) -> Status {
    Status {
        version: "test".into(),
        registration: RegistrationStatus {
            state,
            aor: "sip:1001@pbx.test".into(),
            server: "pbx.test:5060".into(),
            transport: "udp".into(),
            certificate: None,
            expires: None,
            error: error.map(str::to_owned),
            retry_in: None,
        },
        calls: Vec::new(),
        audio: None,
        records: None,
        agent: Default::default(),
        diagnostics: None,
    }
}

pub fn call(id: &str, state: CallState) -> CallView {
    let remote = Remote {
        number: "+4930123456".into(),
        display_name: None,
        uri: "sip:+4930123456@pbx.test".into(),
    };
    let started_at = "2025-01-31T09:15:02Z".into();
    CallView::new(id.into(), Direction::Outbound, state, remote, started_at)
}

pub fn security() -> Security {
    Security::new(OriginPolicy::salesforce_default(), TOKEN)
}

/// A fake agent: knows call `c1` (connected); dialling makes `c2`; everything else on `c1`
/// is accepted except `answer` (wrong state).
pub fn fake_agent() -> mpsc::Sender<CommandRequest> {
    let (tx, mut rx) = mpsc::channel::<CommandRequest>(8);
    tokio::spawn(async move {
        while let Some(req) = rx.recv().await {
            let result = match &req.command {
                Command::Dial { to } if to == "999" => {
                    Err(CommandError::undialable("999 cannot be dialled"))
                }
                Command::Dial { .. } => Ok(CommandReply::Created { id: "c2".into() }),
                Command::Answer { id } if id == "c1" => {
                    Err(CommandError::invalid_state("call c1 is not ringing"))
                }
                other if other.call_id() == Some("c1") => Ok(CommandReply::Accepted),
                other => Err(CommandError::unknown_call(other.call_id().unwrap_or(""))),
            };
            req.respond(result);
        }
    });
    tx
}

pub fn app() -> (Arc<Hub>, axum::Router) {
    let hub = Hub::new(status(RegistrationState::Registered, None));
    let router = bridge::router(hub.clone(), fake_agent(), security());
    (hub, router)
}

/// A request builder with a loopback Host and the token (tests add or remove headers).
pub fn req(method: &str, path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", HOST)
        .header("authorization", format!("Bearer {TOKEN}"))
}

pub fn from_page(method: &str, path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", HOST)
        .header("origin", SF_ORIGIN)
}

pub fn json_body(v: &str) -> Body {
    Body::from(v.to_owned())
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub json: serde_json::Value,
}

pub async fn send(router: &axum::Router, request: Request<Body>) -> Answer {
    let resp = router.clone().oneshot(request).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let json = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
    };
    Answer {
        status,
        headers,
        json,
    }
}

/// `GET path` with exactly `headers` (name, value) and nothing else: no Host, no token
/// unless given.
pub async fn get_with(router: &axum::Router, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(router, request.body(Body::empty()).unwrap()).await
}

/// `Bearer TOKEN`, the value of the `authorization` header that lets a local tool in.
pub fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

pub async fn post_json(router: &axum::Router, path: &str, body: &str) -> Answer {
    send(
        router,
        req("POST", path)
            .header("content-type", "application/json")
            .body(json_body(body))
            .unwrap(),
    )
    .await
}

pub fn assert_error(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status.as_u16(), status, "{}", a.json);
    assert_eq!(a.json["error"]["code"], code, "{}", a.json);
    assert!(
        !a.json["error"]["message"].as_str().unwrap_or("").is_empty(),
        "{}",
        a.json
    );
}
