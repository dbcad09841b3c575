//! The bridge's HTTP API as a local process (or a page the browser lets through) can call
//! it: the JSON bodies of the command endpoints, call ids in paths, and the events
//! WebSocket's `?since=&instance=` query, the call log routes (pop, outbox claim,
//! acknowledgements, matched record, wrap-up) and the history, through the whole router
//! (security guard, routing, extractors, handlers) with a stand-in agent answering commands,
//! stand-in audio devices and stand-in call records.
//!
//! Input: byte 0 picks the method (bits 0-1), a WebSocket handshake (bit 2), an Origin
//! header instead of the token (bit 3) and a JSON content type (bit 4); then the path and
//! query up to the first newline (prefixed with `/api/v1/` when it is not absolute); the
//! rest is the body.
//!
//! Properties: nothing panics; no request gets a 500 (every bad input has its own answer).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc;
use tower::ServiceExt;
// All the crate paths this target uses, in one place.
use axum::body::Body;
use axum::http::{Request, StatusCode};
use bridge::history::{CallHistory, HistoryError};
use bridge::{
    CallState, CallView, Command, CommandReply, CommandRequest, DeviceControl, DeviceControlError,
    DeviceList, Direction, Hub, OriginPolicy, RegistrationState, RegistrationStatus, Remote,
    Security, Status,
};
use wire::{CrmRecord, HistoryEntry, HistoryPage};

const TOKEN: &str = "fuzz-token-0123456789";
const METHODS: [&str; 4] = ["GET", "POST", "OPTIONS", "PUT"];

struct Bridge {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
}

fn bridge() -> &'static Bridge {
    static BRIDGE: OnceLock<Bridge> = OnceLock::new();
    BRIDGE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime builds");
        let router = runtime.block_on(async {
            let hub = Hub::new(status());
            let security = Security::new(OriginPolicy::salesforce_default(), TOKEN);
            let devices: Arc<dyn DeviceControl> = Arc::new(StandInDevices);
            let records: Arc<dyn CallHistory> = Arc::new(StandInRecords);
            bridge::router_with_history(hub, stand_in_agent(), security, Some(devices), records)
        });
        Bridge { runtime, router }
    })
}

fn status() -> Status {
    Status {
        version: "fuzz".into(),
        registration: RegistrationStatus {
            state: RegistrationState::Registered,
            aor: "sip:1001@pbx.test".into(),
            server: "pbx.test:5060".into(),
            transport: "udp".into(),
            certificate: None,
            expires: None,
            error: None,
            retry_in: None,
        },
        // A ringing inbound call, for the pop route.
        calls: vec![CallView::new(
            "c1".into(),
            Direction::Inbound,
            CallState::Ringing,
            Remote {
                number: "+4930123456".into(),
                display_name: None,
                uri: "sip:+4930123456@pbx.test".into(),
            },
            "2026-12-06T18:00:00Z".into(),
        )],
        audio: None,
        records: None,
        agent: Default::default(),
        diagnostics: None,
    }
}

/// Answers every command at once: dialling creates `c2`, anything else is accepted.
fn stand_in_agent() -> mpsc::Sender<CommandRequest> {
    let (tx, mut rx) = mpsc::channel::<CommandRequest>(8);
    tokio::spawn(async move {
        while let Some(request) = rx.recv().await {
            let reply = match request.command {
                Command::Dial { .. } => CommandReply::Created { id: "c2".into() },
                _ => CommandReply::Accepted,
            };
            request.respond(Ok(reply));
        }
    });
    tx
}

/// Knows call `c1` (anything else is unknown) and keeps nothing.
struct StandInRecords;

impl StandInRecords {
    fn known(id: &str) -> Result<(), HistoryError> {
        if id == "c1" {
            Ok(())
        } else {
            Err(HistoryError::UnknownCall(id.to_owned()))
        }
    }
}

impl CallHistory for StandInRecords {
    fn page(&self, _: usize, before: Option<&str>) -> Result<HistoryPage, HistoryError> {
        if let Some(b) = before {
            Self::known(b).map_err(|_| HistoryError::UnknownCursor(format!("before: {b}")))?;
        }
        Ok(HistoryPage {
            calls: Vec::new(),
            next_before: None,
        })
    }
    fn outbox(&self) -> Result<Vec<HistoryEntry>, HistoryError> {
        Ok(Vec::new())
    }
    fn mark_delivered(&self, ids: &[String]) -> Result<(), HistoryError> {
        ids.iter().try_for_each(|id| Self::known(id))
    }
    fn logged(&self, id: &str, _: Result<String, String>) -> Result<(), HistoryError> {
        Self::known(id)
    }
    fn requeue(&self, id: &str) -> Result<(), HistoryError> {
        Self::known(id)
    }
    fn set_crm(&self, id: &str, _: CrmRecord) -> Result<(), HistoryError> {
        Self::known(id)
    }
    fn set_wrapup(
        &self,
        id: &str,
        _: Option<String>,
        _: Option<String>,
    ) -> Result<(), HistoryError> {
        Self::known(id)
    }
}

/// Lists no devices and switches to whatever it is given.
struct StandInDevices;

impl DeviceControl for StandInDevices {
    fn list(&self) -> Result<DeviceList, DeviceControlError> {
        Ok(DeviceList::default())
    }
    fn select(
        &self,
        input: Option<&str>,
        output: Option<&str>,
        ring: Option<&str>,
    ) -> Result<DeviceList, DeviceControlError> {
        Ok(DeviceList {
            input: input.map(str::to_owned),
            output: output.map(str::to_owned),
            ring: ring.map(str::to_owned),
            ..DeviceList::default()
        })
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (target, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let Ok(target) = std::str::from_utf8(target) else {
        return;
    };
    let uri = if target.starts_with('/') {
        target.to_owned()
    } else {
        format!("/api/v1/{target}")
    };

    let mut builder = Request::builder()
        .method(METHODS[(flags & 3) as usize])
        .uri(uri)
        .header("host", "127.0.0.1:18088");
    builder = if flags & 8 == 0 {
        builder.header("authorization", format!("Bearer {TOKEN}"))
    } else {
        builder.header("origin", "https://acme.lightning.force.com")
    };
    if flags & 16 != 0 {
        builder = builder.header("content-type", "application/json");
    }
    if flags & 4 != 0 {
        builder = builder
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
    }
    // A path the HTTP layer itself would refuse never reaches the bridge.
    let Ok(mut request) = builder.body(Body::from(body.to_vec())) else {
        return;
    };
    if flags & 4 != 0 {
        // What the HTTP server puts there for an upgradable connection; here the upgrade
        // never completes, so only the handshake and the query are exercised.
        let on_upgrade = hyper::upgrade::on(&mut request);
        request.extensions_mut().insert(on_upgrade);
    }

    let bridge = bridge();
    let status = bridge.runtime.block_on(async {
        let response = bridge
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router's error type is Infallible");
        let status = response.status();
        let _ = http_body_util::BodyExt::collect(response.into_body()).await;
        status
    });
    assert_ne!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "a request got a 500"
    );
});
