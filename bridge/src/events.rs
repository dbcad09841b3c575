//! `GET /api/v1/events`: the WebSocket that streams events, resumable with
//! `?since=<seq>&instance=<instance>`.

use crate::error::ApiError;
use crate::hub::{Hub, Start};
use crate::protocol::Event;
use crate::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{timeout, Instant};

/// How often the server pings; a client silent for two of these is dropped.
pub const PING_INTERVAL: Duration = Duration::from_secs(20);
/// How long one send may take before the client is considered stuck.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Close codes (RFC 6455 §7.4.1).
const GOING_AWAY: u16 = 1001;
const POLICY: u16 = 1008;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventsQuery {
    since: Option<u64>,
    instance: Option<String>,
    /// `1`: this socket is a page's tab, which may lead (see [`crate::tabs`]). Local tools
    /// leave it out: they watch, and never hold up screen pops or call logs.
    tab: Option<String>,
}

pub(crate) async fn events(
    State(state): State<AppState>,
    query: Result<Query<EventsQuery>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade.map_err(|r| {
        ApiError::new(
            r.status(),
            "websocket_required",
            format!("{}: open this URL as a WebSocket", r.body_text()),
        )
    })?;
    let Query(query) = query.map_err(|r| {
        ApiError::bad_request(format!(
            "{}; expected ?since=<seq>&instance=<instance>",
            r.body_text()
        ))
    })?;
    let as_tab = match query.tab.as_deref() {
        None => false,
        Some("1") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "tab: 1 when the client is a page's tab, else leave it out",
            ))
        }
    };
    let hub = state.hub.clone();
    // A `since` from another agent run means nothing here: start from a snapshot.
    let since = match &query.instance {
        Some(i) if i != hub.instance() => None,
        _ => query.since,
    };
    Ok(upgrade
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| session(socket, hub, since, as_tab)))
}

/// Why a session ended, for the close frame.
enum End {
    /// The client went away or broke the protocol: just drop.
    Gone,
    Close(u16, &'static str),
}

async fn session(mut socket: WebSocket, hub: Arc<Hub>, since: Option<u64>, as_tab: bool) {
    let end = run(&mut socket, &hub, since, as_tab).await;
    if let End::Close(code, reason) = end {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
    }
}

/// This connection's tab in [`crate::tabs::Tabs`], left when the session ends however it
/// ends.
struct TabSeat<'a> {
    hub: &'a Hub,
    id: u64,
}

impl Drop for TabSeat<'_> {
    fn drop(&mut self) {
        self.hub.tabs().leave(self.id);
    }
}

async fn run(socket: &mut WebSocket, hub: &Hub, since: Option<u64>, as_tab: bool) -> End {
    let mut closing = hub.closing();
    if *closing.borrow_and_update() {
        return End::Close(GOING_AWAY, "agent shutting down");
    }
    let (start, mut live) = hub.attach(since);
    let mut last = since.unwrap_or(0);
    if send_start(socket, start, &mut last).await.is_err() {
        return End::Gone;
    }
    let mut tab_changes = hub.tabs().subscribe();
    let seat = as_tab.then(|| TabSeat {
        hub,
        id: hub.tabs().join(),
    });
    let mut told = seat.as_ref().map(|s| hub.tabs().view(s.id));
    if let (Some(seat), Some(told)) = (&seat, told) {
        if send_tab(socket, seat.id, told.leader, last).await.is_err() {
            return End::Gone;
        }
    }
    let mut ping = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            _ = closing.changed() => return End::Close(GOING_AWAY, "agent shutting down"),
            received = live.recv() => match received {
                Ok(event) if event.seq > last => {
                    last = event.seq;
                    if send(socket, &event).await.is_err() {
                        return End::Gone;
                    }
                }
                // Volatile events (audio levels) repeat the last seq: send them as they come.
                Ok(event) if event.seq == last && event.body.is_volatile() => {
                    if send(socket, &event).await.is_err() {
                        return End::Gone;
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    // Fell behind the live channel: resume from history, else snapshot.
                    let (start, fresh) = hub.attach(Some(last));
                    live = fresh;
                    if send_start(socket, start, &mut last).await.is_err() {
                        return End::Gone;
                    }
                }
                Err(RecvError::Closed) => return End::Close(GOING_AWAY, "agent shutting down"),
            },
            _ = tab_changes.changed(), if seat.is_some() => {
                if let (Some(seat), Some(before)) = (&seat, told) {
                    let now = hub.tabs().view(seat.id);
                    if now.leader != before.leader && send_tab(socket, seat.id, now.leader, last).await.is_err() {
                        return End::Gone;
                    }
                    if now.leader && now.outbox != before.outbox && send_plain(socket, &serde_json::json!({"event": "outbox", "seq": last})).await.is_err() {
                        return End::Gone;
                    }
                    told = Some(now);
                }
            }
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return End::Gone,
                // Pings are answered by the library. The one message a page sends is that
                // its tab is in front; anything else is ignored: commands go over HTTP.
                Some(Ok(message)) => {
                    heard = Instant::now();
                    if let (Message::Text(text), Some(seat)) = (message, &seat) {
                        if is_active_message(&text) {
                            hub.tabs().active(seat.id);
                        }
                    }
                }
            },
            _ = ping.tick() => {
                if heard.elapsed() > 2 * PING_INTERVAL {
                    return End::Close(POLICY, "no pong");
                }
                let sent = timeout(SEND_TIMEOUT, socket.send(Message::Ping(Default::default()))).await;
                if !matches!(sent, Ok(Ok(()))) {
                    return End::Gone;
                }
            }
        }
    }
}

async fn send_start(socket: &mut WebSocket, start: Start, last: &mut u64) -> Result<(), ()> {
    match start {
        Start::Replay(events) => {
            for event in events {
                *last = event.seq;
                send(socket, &event).await?;
            }
        }
        Start::Snapshot(event) => {
            *last = event.seq;
            send(socket, &event).await?;
        }
    }
    Ok(())
}

/// `{"op": "active"}`: the page's tab is in front.
fn is_active_message(text: &str) -> bool {
    #[derive(Deserialize)]
    struct PageMessage<'a> {
        op: &'a str,
    }
    serde_json::from_str::<PageMessage<'_>>(text).is_ok_and(|m| m.op == "active")
}

/// This connection's tab and whether it leads (sent to it alone; not resumable).
async fn send_tab(socket: &mut WebSocket, id: u64, leader: bool, seq: u64) -> Result<(), ()> {
    let tab = crate::tabs::tab_name(id);
    send_plain(
        socket,
        &serde_json::json!({"event": "tab", "seq": seq, "tab": tab, "leader": leader}),
    )
    .await
}

async fn send(socket: &mut WebSocket, event: &Event) -> Result<(), ()> {
    send_plain(socket, event).await
}

async fn send_plain(socket: &mut WebSocket, event: &impl serde::Serialize) -> Result<(), ()> {
    let text = serde_json::to_string(event).map_err(|_| ())?;
    match timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}
