//! baresip's `ctrl_tcp` protocol: netstring-framed JSON (`LEN:{...},`) both ways. Commands
//! are `{"command","params","token"}`; baresip answers `{"response":true,"ok","data","token"}`
//! and pushes `{"event":true,"type","class","param","peeruri",...}` to every client.
//!
//! One connection per peer, read by a thread that files responses by token and queues events.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One event baresip pushed, e.g. `CALL_ESTABLISHED`. Missing fields are empty strings.
#[derive(Debug, Clone, PartialEq)]
pub struct BaresipEvent {
    /// `type`: `REGISTER_OK`, `CALL_INCOMING`, `CALL_RINGING`, `CALL_ESTABLISHED`,
    /// `CALL_CLOSED`, `CALL_REMOTE_SDP`, `CALL_LOCAL_SDP`, `CALL_RTPESTAB`, `CALL_RTCP`, ...
    pub kind: String,
    /// `class`: `call`, `register`, `other`, ...
    pub class: String,
    /// `param`: the peer URI, the close reason ("Connection reset by peer"), "offer"/"answer".
    pub param: String,
    /// `peeruri`: the other party.
    pub peer_uri: String,
    /// `direction`: `incoming` or `outgoing` (call events).
    pub direction: String,
    /// `accountaor`: this side's address of record.
    pub account_aor: String,
    /// `id`: the call's id (call events).
    pub id: String,
    /// The whole JSON object.
    pub raw: Value,
}

impl BaresipEvent {
    fn from_json(v: Value) -> BaresipEvent {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        BaresipEvent {
            kind: s("type"),
            class: s("class"),
            param: s("param"),
            peer_uri: s("peeruri"),
            direction: s("direction"),
            account_aor: s("accountaor"),
            id: s("id"),
            raw: v,
        }
    }
}

#[derive(Default)]
struct State {
    /// Not yet returned by a wait.
    pending: VecDeque<BaresipEvent>,
    /// Everything received, in order.
    history: Vec<BaresipEvent>,
    responses: HashMap<String, Value>,
    /// Why the connection ended, once it has.
    closed: Option<String>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until `found` takes what it wants out of the state, or `timeout` passes. The
    /// reader thread signals every change, so this sleeps on the condition variable.
    fn wait_for<T>(
        &self,
        timeout: Duration,
        mut found: impl FnMut(&mut State) -> Option<T>,
    ) -> Option<T> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if let Some(t) = found(&mut state) {
                return Some(t);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            state = self
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }
}

/// A connected ctrl_tcp client.
pub(crate) struct Ctrl {
    stream: TcpStream,
    shared: Arc<Shared>,
    tokens: AtomicU64,
    reader: Option<JoinHandle<()>>,
}

impl Ctrl {
    pub(crate) fn connect(addr: SocketAddr) -> std::io::Result<Ctrl> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
        let read = stream.try_clone()?;
        let shared = Arc::new(Shared::default());
        let for_reader = Arc::clone(&shared);
        let reader = thread::Builder::new()
            .name(format!("baresip-ctrl-{}", addr.port()))
            .spawn(move || read_loop(read, &for_reader))?;
        Ok(Ctrl {
            stream,
            shared,
            tokens: AtomicU64::new(1),
            reader: Some(reader),
        })
    }

    /// Sends a command and waits for its response; `Ok(data)` or `Err(why)`.
    pub(crate) fn command(
        &self,
        command: &str,
        params: &str,
        timeout: Duration,
    ) -> Result<String, String> {
        let token = format!("t{}", self.tokens.fetch_add(1, Ordering::Relaxed));
        let body =
            serde_json::json!({"command": command, "params": params, "token": token}).to_string();
        (&self.stream)
            .write_all(&encode(body.as_bytes()))
            .map_err(|e| format!("send to ctrl_tcp: {e}"))?;
        let answer = self.shared.wait_for(timeout, |state| {
            if let Some(resp) = state.responses.remove(&token) {
                let data = resp
                    .get("data")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                return Some(if resp.get("ok").and_then(Value::as_bool) == Some(true) {
                    Ok(data)
                } else {
                    Err(format!("baresip refused it: {data}"))
                });
            }
            let closed = state.closed.as_ref();
            closed.map(|why| Err(format!("ctrl_tcp connection closed: {why}")))
        });
        answer.unwrap_or_else(|| Err(format!("no response within {timeout:?}")))
    }

    /// Removes and returns the first queued event that `matches`, waiting up to `timeout`.
    pub(crate) fn wait_event(
        &self,
        matches: impl Fn(&BaresipEvent) -> bool,
        timeout: Duration,
    ) -> Option<BaresipEvent> {
        self.shared
            .wait_for(timeout, |state| {
                match state.pending.iter().position(&matches) {
                    Some(i) => Some(state.pending.remove(i)),
                    None => state.closed.is_some().then_some(None),
                }
            })
            .flatten()
    }

    /// Every event received so far, in order (including those already waited for).
    pub(crate) fn history(&self) -> Vec<BaresipEvent> {
        self.shared.lock().history.clone()
    }
}

impl Drop for Ctrl {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

fn read_loop(mut stream: TcpStream, shared: &Shared) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let why = loop {
        match stream.read(&mut chunk) {
            Ok(0) => break "end of stream".to_string(),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => break e.to_string(),
        }
        loop {
            match decode(&mut buf) {
                Decoded::Incomplete => break,
                Decoded::Invalid => {
                    let mut state = shared.lock();
                    state.closed = Some("invalid netstring from baresip".to_string());
                    shared.changed.notify_all();
                    return;
                }
                Decoded::Message(body) => {
                    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
                        continue;
                    };
                    let mut state = shared.lock();
                    if v.get("event").and_then(Value::as_bool) == Some(true) {
                        let ev = BaresipEvent::from_json(v);
                        state.history.push(ev.clone());
                        state.pending.push_back(ev);
                    } else if let Some(token) = v.get("token").and_then(Value::as_str) {
                        state.responses.insert(token.to_string(), v.clone());
                    }
                    shared.changed.notify_all();
                }
            }
        }
    };
    shared.lock().closed = Some(why);
    shared.changed.notify_all();
}

/// `LEN:BODY,`
fn encode(body: &[u8]) -> Vec<u8> {
    let mut out = format!("{}:", body.len()).into_bytes();
    out.extend_from_slice(body);
    out.push(b',');
    out
}

#[derive(Debug, PartialEq)]
enum Decoded {
    Incomplete,
    Invalid,
    Message(Vec<u8>),
}

/// Takes one netstring off the front of `buf`.
fn decode(buf: &mut Vec<u8>) -> Decoded {
    let Some(colon) = buf.iter().position(|b| *b == b':') else {
        return if buf.len() > 10 || !buf.iter().all(u8::is_ascii_digit) {
            Decoded::Invalid
        } else {
            Decoded::Incomplete
        };
    };
    let Some(len) = std::str::from_utf8(&buf[..colon])
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<usize>().ok())
    else {
        return Decoded::Invalid;
    };
    let end = colon + 1 + len;
    match buf.get(end) {
        None => Decoded::Incomplete,
        Some(b',') => {
            let body = buf[colon + 1..end].to_vec();
            buf.drain(..=end);
            Decoded::Message(body)
        }
        Some(_) => Decoded::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netstrings_round_trip_and_split() {
        let mut buf = encode(b"{\"a\":1}");
        buf.extend_from_slice(&encode(b"xy"));
        buf.extend_from_slice(b"12:part");
        assert_eq!(decode(&mut buf), Decoded::Message(b"{\"a\":1}".to_vec()));
        assert_eq!(decode(&mut buf), Decoded::Message(b"xy".to_vec()));
        assert_eq!(decode(&mut buf), Decoded::Incomplete);
        buf.extend_from_slice(b"ial body,");
        assert_eq!(decode(&mut buf), Decoded::Message(b"partial body".to_vec()));
        assert!(buf.is_empty());
        assert_eq!(decode(&mut b"x:".to_vec()), Decoded::Invalid);
        assert_eq!(decode(&mut b"2:ab;".to_vec()), Decoded::Invalid);
    }

    #[test]
    fn events_keep_their_fields() {
        let v: Value = serde_json::from_str(
            r#"{"event":true,"type":"CALL_CLOSED","class":"call","accountaor":"sip:1001@127.0.0.1:5070",
                "direction":"outgoing","peeruri":"sip:1002@127.0.0.1:5070","id":"c9f4","param":"Connection reset by user"}"#,
        )
        .unwrap();
        let e = BaresipEvent::from_json(v);
        assert_eq!(e.kind, "CALL_CLOSED");
        assert_eq!(e.param, "Connection reset by user");
        assert_eq!(e.peer_uri, "sip:1002@127.0.0.1:5070");
        assert_eq!(e.id, "c9f4");
    }
}
