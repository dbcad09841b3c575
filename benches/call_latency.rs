//! Call latency through the running agent, on loopback:
//!
//! - `dial_to_invite`: from writing `POST /api/v1/calls {"to":"1002"}` on a kept-alive bridge
//!   connection to the INVITE arriving at a UDP socket the bench owns, which plays the PBX
//!   (`[sip] server` points at it). The bench then answers 486, absorbs the agent's ACK and
//!   waits for the call's `ended` event, so no call is left over.
//! - `invite_to_incoming`: from sending an INVITE (from the same PBX socket) to the agent's
//!   SIP address to the `incoming` event arriving on the event WebSocket. The bench then
//!   CANCELs the call, ACKs the 487 and waits for the `ended` event.
//!
//! Each path is also measured against a floor: a trivial tokio server inside the bench with
//! the agent's task shape and no SIP, JSON or call logic (HTTP task -> channel -> driver task
//! -> UDP send; UDP receive -> driver -> broadcast -> WebSocket task writes a fixed frame).
//! The floor is what loopback, the tokio wake-ups and the bench's own client cost.
//!
//! `cargo bench --bench call_latency -- --warm-up-time 1 --measurement-time 2`
//!
//! Before the criterion groups, the bench collects raw samples in interleaved batches
//! (agent, floor, agent, floor, ...) and prints p50/p90/p99/max, since the goal is a p99.
//! Environment: `CALL_LATENCY_SAMPLES` (per path and side, default 2000),
//! `CALL_LATENCY_LOG` (the agent's `[log] level`, default `info` as shipped),
//! `CALL_LATENCY_AGENT` (path of the `softphone` binary to run instead of this build's).
//!
//! The agent is started by the end-to-end tests' harness (`tests/common`) from
//! `CARGO_BIN_EXE_softphone` with a generated config and killed when the bench ends, also on
//! a panic (a drop guard).

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Agent, AgentOptions, TEST_TOKEN};
use criterion::{criterion_group, criterion_main, Criterion};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

const USER: &str = "1001";
/// How long any single step may take before the bench gives up (with the agent's log).
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Raw samples are taken in batches of this many per side, alternating agent and floor.
const BATCH: usize = 100;
const WARM_UP: usize = 200;

// ---------------------------------------------------------------------------------------
// SIP text helpers (the bench writes and reads SIP by hand: only what the two paths need)
// ---------------------------------------------------------------------------------------

fn head(msg: &str) -> &str {
    msg.split("\r\n\r\n").next().unwrap_or(msg)
}

fn start_line(msg: &str) -> &str {
    msg.lines().next().unwrap_or("")
}

fn headers<'a>(msg: &'a str, names: &[&str]) -> Vec<&'a str> {
    head(msg)
        .split("\r\n")
        .skip(1)
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            let name = name.trim();
            names
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name))
                .then_some(value.trim())
        })
        .collect()
}

fn header<'a>(msg: &'a str, names: &[&str]) -> &'a str {
    headers(msg, names)
        .first()
        .copied()
        .unwrap_or_else(|| panic!("no {names:?} header in\n{msg}"))
}

fn is_request(msg: &str, method: &str) -> bool {
    start_line(msg)
        .strip_prefix(method)
        .is_some_and(|rest| rest.starts_with(' '))
}

fn status(msg: &str) -> Option<u16> {
    start_line(msg)
        .strip_prefix("SIP/2.0 ")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn cseq_method(msg: &str) -> &str {
    header(msg, &["CSeq"])
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
}

/// A response to `req` (Vias, From, To with a tag, Call-ID and CSeq copied).
fn response(req: &str, code: u16, reason: &str, to_tag: &str, extra: &str) -> String {
    let mut r = format!("SIP/2.0 {code} {reason}\r\n");
    for via in headers(req, &["Via", "v"]) {
        r.push_str(&format!("Via: {via}\r\n"));
    }
    let to = header(req, &["To", "t"]);
    let to = if to.contains(";tag=") {
        to.to_owned()
    } else {
        format!("{to};tag={to_tag}")
    };
    r.push_str(&format!(
        "From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\n{extra}Content-Length: 0\r\n\r\n",
        header(req, &["From", "f"]),
        header(req, &["Call-ID", "i"]),
        header(req, &["CSeq"]),
    ));
    r
}

const OFFER: &str = "v=0\r\n\
o=- 3912345678 3912345678 IN IP4 127.0.0.1\r\n\
s=bench\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 40000 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

/// One inbound call as the PBX would send it: the INVITE and the lines the CANCEL and the
/// ACK repeat.
struct InboundCall {
    ruri: String,
    via: String,
    from: String,
    to: String,
    call_id: String,
}

impl InboundCall {
    fn new(n: u64, pbx: SocketAddr, agent: SocketAddr) -> Self {
        InboundCall {
            ruri: format!("sip:{USER}@{agent}"),
            via: format!("SIP/2.0/UDP {pbx};branch=z9hG4bKbench{n:08x};rport"),
            from: format!("\"Ada Lovelace\" <sip:+4930123456@127.0.0.1>;tag=bf{n:08x}"),
            to: format!("<sip:{USER}@127.0.0.1>"),
            call_id: format!("bench-{n:08x}-5f3c2b1a9e8d@127.0.0.1"),
        }
    }

    fn invite(&self, pbx: SocketAddr) -> String {
        format!(
            "INVITE {} SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\n\
Contact: <sip:+4930123456@{pbx}>\r\nCall-ID: {}\r\nCSeq: 1 INVITE\r\n\
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\nContent-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{OFFER}",
            self.ruri,
            self.via,
            self.from,
            self.to,
            self.call_id,
            OFFER.len()
        )
    }

    fn cancel(&self) -> String {
        format!(
            "CANCEL {} SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\n\
Call-ID: {}\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n",
            self.ruri, self.via, self.from, self.to, self.call_id
        )
    }

    /// The ACK for a non-2xx final response (same branch, the response's To tag).
    fn ack(&self, final_response: &str) -> String {
        format!(
            "ACK {} SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\n\
Call-ID: {}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
            self.ruri,
            self.via,
            self.from,
            header(final_response, &["To", "t"]),
            self.call_id
        )
    }
}

// ---------------------------------------------------------------------------------------
// The bench's sockets: the PBX (UDP), a kept-alive HTTP connection, the event WebSocket
// ---------------------------------------------------------------------------------------

/// The UDP socket playing the PBX. Answers REGISTER with 200 whenever one arrives.
struct Pbx {
    sock: UdpSocket,
    buf: Vec<u8>,
    registers: u64,
    /// Datagrams that arrived while waiting for something else (not REGISTER).
    ignored: u64,
}

impl Pbx {
    fn bind() -> Pbx {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind the PBX socket");
        sock.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        Pbx {
            sock,
            buf: vec![0; 65536],
            registers: 0,
            ignored: 0,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.sock.local_addr().expect("local address")
    }

    fn send(&self, text: &str, to: SocketAddr) {
        self.sock.send_to(text.as_bytes(), to).expect("send SIP");
    }

    /// The next datagram (REGISTERs answered and skipped), with when it was read; None
    /// after `timeout`.
    fn recv_within(&mut self, timeout: Duration) -> Option<(String, SocketAddr, Instant)> {
        self.sock.set_read_timeout(Some(timeout)).expect("timeout");
        loop {
            let (n, from) = match self.sock.recv_from(&mut self.buf) {
                Ok(r) => r,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return None
                }
                Err(e) => panic!("PBX socket: {e}"),
            };
            let at = Instant::now();
            let msg = String::from_utf8_lossy(&self.buf[..n]).into_owned();
            if is_request(&msg, "REGISTER") {
                let contact = header(&msg, &["Contact", "m"]);
                let ok = response(
                    &msg,
                    200,
                    "OK",
                    "pbxreg",
                    &format!("Contact: {contact};expires=600\r\nExpires: 600\r\n"),
                );
                self.send(&ok, from);
                self.registers += 1;
                continue;
            }
            return Some((msg, from, at));
        }
    }

    /// Reads until `pred` matches; other datagrams are counted and dropped.
    fn recv_until(
        &mut self,
        what: &str,
        pred: impl Fn(&str) -> bool,
    ) -> (String, SocketAddr, Instant) {
        let deadline = Instant::now() + IO_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv_within(left.max(Duration::from_millis(1))) {
                Some((msg, from, at)) if pred(&msg) => return (msg, from, at),
                Some(_) => self.ignored += 1,
                None => panic!("PBX: no {what} within {IO_TIMEOUT:?}"),
            }
        }
    }
}

/// HTTP/1.1 over one kept-alive connection, as a browser's `fetch` would use it.
struct Http {
    stream: TcpStream,
    host: String,
    buf: Vec<u8>,
}

impl Http {
    fn connect(addr: SocketAddr) -> Http {
        let stream = TcpStream::connect(addr).expect("connect to the bridge");
        stream.set_nodelay(true).expect("nodelay");
        stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        Http {
            stream,
            host: addr.to_string(),
            buf: Vec::with_capacity(4096),
        }
    }

    fn send(&mut self, method: &str, path: &str, body: &str) {
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TEST_TOKEN}\r\n\
Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        );
        self.stream
            .write_all(req.as_bytes())
            .expect("write the request");
    }

    /// The status and body of the next response.
    fn response(&mut self) -> (u16, String) {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some((head, start, len)) = complete_message(&self.buf) {
                let body = String::from_utf8_lossy(&self.buf[start..start + len]).into_owned();
                self.buf.drain(..start + len);
                let code = head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                return (code, body);
            }
            let n = self.stream.read(&mut chunk).expect("read the response");
            assert!(n > 0, "the server closed the HTTP connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// The first HTTP message in `buf` once all of it has arrived: its head (start line and
/// headers), where its body starts and the body's length (`Content-Length`, 0 without).
fn complete_message(buf: &[u8]) -> Option<(String, usize, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let len: usize = head
        .split("\r\n")
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    (buf.len() >= end + 4 + len).then_some((head, end + 4, len))
}

/// The event WebSocket, read synchronously.
struct Events {
    ws: tungstenite::WebSocket<TcpStream>,
}

impl Events {
    fn connect(addr: SocketAddr) -> Events {
        Events {
            ws: common::event_socket(addr, "", IO_TIMEOUT),
        }
    }

    /// The next text message and when it was read.
    fn next_text(&mut self) -> (String, Instant) {
        loop {
            match self.ws.read() {
                Ok(tungstenite::Message::Text(text)) => {
                    return (text.as_str().to_owned(), Instant::now())
                }
                Ok(_) => continue,
                Err(e) => panic!("event WebSocket: {e} (nothing within {IO_TIMEOUT:?}?)"),
            }
        }
    }

    fn next(&mut self) -> (serde_json::Value, Instant) {
        let (text, at) = self.next_text();
        let event = serde_json::from_str(&text).expect("events are JSON");
        (event, at)
    }

    /// Reads events until one matches.
    fn until(&mut self, pred: impl Fn(&serde_json::Value) -> bool) -> (serde_json::Value, Instant) {
        loop {
            let (event, at) = self.next();
            if pred(&event) {
                return (event, at);
            }
        }
    }
}

fn ended(event: &serde_json::Value, id: &str) -> bool {
    event["event"] == "call" && event["call"]["id"] == id && event["call"]["state"] == "ended"
}

// ---------------------------------------------------------------------------------------
// The agent
// ---------------------------------------------------------------------------------------

/// What a latency target offers: the two measured paths (each leaves the target clean).
trait Target {
    fn dial_to_invite(&mut self) -> Duration;
    fn invite_to_incoming(&mut self) -> Duration;
}

struct AgentTarget {
    /// When the transactions each call leaves behind expire (estimate, see `lingering`).
    linger_32s: VecDeque<Instant>,
    linger_5s: VecDeque<Instant>,
    pbx: Pbx,
    http: Http,
    events: Events,
    bridge: SocketAddr,
    sip: SocketAddr,
    calls: u64,
    // Last: dropped after the sockets, so the agent sees them close first.
    process: Agent,
}

impl AgentTarget {
    fn start(level: &str) -> AgentTarget {
        let mut pbx = Pbx::bind();
        let mut opts = AgentOptions::new(pbx.addr(), USER, "bench");
        opts.log_level = level.to_owned();
        opts.sip_trace = false;
        // `CALL_LATENCY_AGENT` runs another build (e.g. a saved "before" binary).
        opts.program = std::env::var_os("CALL_LATENCY_AGENT").map(Into::into);
        // Thousands of calls: keep the log's start and a bounded tail.
        opts.log_limit = Some(1 << 20);
        let process = Agent::start(opts);
        let bridge = process.bridge;
        eprintln!("agent pid {} (for `perf record -g -p`)", process.pid());
        let sip = process.sip_addr();
        // Let registration settle: answer the REGISTER, then wait for `registered`.
        let mut http = Http::connect(bridge);
        let mut status = serde_json::Value::Null;
        let registered = testbed::wait_until(
            "the agent's registration",
            Duration::from_secs(10),
            Duration::ZERO,
            || {
                pbx.recv_within(Duration::from_millis(50));
                http.send("GET", "/api/v1/status", "");
                let (code, body) = http.response();
                assert_eq!(code, 200, "status: {body}");
                status = serde_json::from_str(&body).expect("JSON status");
                Ok((status["registration"]["state"] == "registered").then_some(()))
            },
        );
        registered
            .unwrap_or_else(|e: testbed::TimedOut| panic!("{e}: {status}\n{}", process.log()));
        let mut events = Events::connect(bridge);
        let (snapshot, _) = events.next();
        assert_eq!(snapshot["event"], "snapshot", "first event: {snapshot}");
        AgentTarget {
            linger_32s: VecDeque::new(),
            linger_5s: VecDeque::new(),
            pbx,
            http,
            events,
            bridge,
            sip,
            calls: 0,
            process,
        }
    }
}

impl AgentTarget {
    /// Opens a fresh event WebSocket. The bridge closes a socket that has not answered its
    /// pings for 40 s, and the bench leaves the agent's socket unread while it measures the
    /// floor (criterion may spend half a minute there).
    fn reconnect_events(&mut self) {
        self.events = Events::connect(self.bridge);
        let (snapshot, _) = self.events.next();
        assert_eq!(snapshot["event"], "snapshot", "first event: {snapshot}");
    }

    /// An estimate of the completed transactions the agent still holds: RFC 3261 keeps an
    /// INVITE client transaction 32 s after its final response (Timer D), a non-INVITE
    /// server transaction (the CANCEL) 32 s (Timer J) and an INVITE server transaction 5 s
    /// after the ACK (Timer I), all on UDP with default timers.
    fn lingering(&mut self) -> usize {
        let now = Instant::now();
        for q in [&mut self.linger_32s, &mut self.linger_5s] {
            while q.front().is_some_and(|t| *t <= now) {
                q.pop_front();
            }
        }
        self.linger_32s.len() + self.linger_5s.len()
    }
}

impl Target for AgentTarget {
    fn dial_to_invite(&mut self) -> Duration {
        let t0 = Instant::now();
        self.http.send("POST", "/api/v1/calls", r#"{"to":"1002"}"#);
        let (invite, from, t1) = self.pbx.recv_until("INVITE", |m| is_request(m, "INVITE"));
        // Clean up: 486, absorb the ACK, wait for the call to end on the event stream.
        self.pbx
            .send(&response(&invite, 486, "Busy Here", "pbxbusy", ""), from);
        let (code, body) = self.http.response();
        assert_eq!(code, 201, "dial: {body}\n{}", self.process.log());
        let reply: serde_json::Value = serde_json::from_str(&body).expect("JSON reply");
        let id = reply["id"].as_str().expect("call id").to_owned();
        self.pbx.recv_until("ACK", |m| is_request(m, "ACK"));
        self.events.until(|e| ended(e, &id));
        self.linger_32s
            .push_back(Instant::now() + Duration::from_secs(32));
        t1 - t0
    }

    fn invite_to_incoming(&mut self) -> Duration {
        self.calls += 1;
        let pbx = self.pbx.addr();
        let call = InboundCall::new(self.calls, pbx, self.sip);
        let invite = call.invite(pbx);
        let t0 = Instant::now();
        self.pbx.send(&invite, self.sip);
        let (event, t1) = self.events.until(|e| e["event"] == "incoming");
        let id = event["call"]["id"].as_str().expect("call id").to_owned();
        // Clean up: CANCEL; 200 for it and 487 for the INVITE (ACKed); the ended event.
        self.pbx.send(&call.cancel(), self.sip);
        let (mut cancel_ok, mut terminated) = (false, false);
        while !(cancel_ok && terminated) {
            let (msg, _, _) = self
                .pbx
                .recv_until("CANCEL answers", |m| status(m).is_some());
            match (status(&msg), cseq_method(&msg)) {
                (Some(200), "CANCEL") => cancel_ok = true,
                (Some(487), "INVITE") => {
                    self.pbx.send(&call.ack(&msg), self.sip);
                    terminated = true;
                }
                (Some(code), "INVITE") if code < 200 => {}
                _ => panic!("unexpected answer while cancelling:\n{msg}"),
            }
        }
        self.events.until(|e| ended(e, &id));
        self.linger_32s
            .push_back(Instant::now() + Duration::from_secs(32));
        self.linger_5s
            .push_back(Instant::now() + Duration::from_secs(5));
        t1 - t0
    }
}

// ---------------------------------------------------------------------------------------
// The floor: the agent's task shape, nothing else
// ---------------------------------------------------------------------------------------

/// A fixed INVITE-sized datagram and a fixed incoming-event-sized text.
const FLOOR_INVITE: [u8; 900] = [b'x'; 900];
const FLOOR_EVENT: &str = r#"{"event":"incoming","seq":43,"call":{"id":"c7","direction":"inbound","state":"ringing","remote":{"number":"+4930123456","display_name":"Ada Lovelace","uri":"sip:+4930123456@127.0.0.1"},"started_at":"2025-01-31T09:15:02Z","answered_at":null,"ended_at":null,"muted":false,"on_hold_by_remote":false,"end_reason":null}}"#;

struct FloorTarget {
    pbx: Pbx,
    http: Http,
    events: Events,
    sip: SocketAddr,
    _rt: tokio::runtime::Runtime,
}

impl FloorTarget {
    fn start() -> FloorTarget {
        let pbx = Pbx::bind();
        let pbx_addr = pbx.addr();
        // Like the agent: a multi-threaded runtime with two workers.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let (http_addr, sip) = rt.block_on(floor_server(pbx_addr));
        let http = Http::connect(http_addr);
        let events = Events::connect(http_addr);
        FloorTarget {
            pbx,
            http,
            events,
            sip,
            _rt: rt,
        }
    }
}

impl Target for FloorTarget {
    fn dial_to_invite(&mut self) -> Duration {
        let t0 = Instant::now();
        self.http.send("POST", "/api/v1/calls", r#"{"to":"1002"}"#);
        let (_, _, t1) = self.pbx.recv_until("datagram", |_| true);
        let (code, _) = self.http.response();
        assert_eq!(code, 201);
        t1 - t0
    }

    fn invite_to_incoming(&mut self) -> Duration {
        let invite = InboundCall::new(0, self.pbx.addr(), self.sip).invite(self.pbx.addr());
        let t0 = Instant::now();
        self.pbx.send(&invite, self.sip);
        let (_, t1) = self.events.next_text();
        t1 - t0
    }
}

/// Starts the floor's tasks; returns its HTTP and UDP addresses.
async fn floor_server(pbx: SocketAddr) -> (SocketAddr, SocketAddr) {
    use tokio::sync::{broadcast, mpsc, oneshot};
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("floor UDP");
    let sip = udp.local_addr().expect("floor UDP address");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("floor TCP");
    let http_addr = listener.local_addr().expect("floor TCP address");
    let (cmd_tx, mut cmd_rx) = mpsc::channel::<oneshot::Sender<&'static str>>(64);
    let (ev_tx, _) = broadcast::channel::<Arc<str>>(256);
    let ev = ev_tx.clone();
    // The driver: a datagram becomes an event; a command is answered, then sends a datagram.
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        loop {
            tokio::select! {
                r = udp.recv_from(&mut buf) => {
                    if r.is_err() { return; }
                    let _ = ev.send(Arc::from(FLOOR_EVENT));
                }
                Some(reply) = cmd_rx.recv() => {
                    let _ = reply.send(r#"{"id":"c1"}"#);
                    let _ = udp.send_to(&FLOOR_INVITE, pbx).await;
                }
            }
        }
    });
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(floor_connection(stream, cmd_tx.clone(), ev_tx.clone()));
        }
    });
    (http_addr, sip)
}

/// One floor connection: HTTP requests answered 201 through the driver, or a WebSocket that
/// writes each broadcast text as one frame.
async fn floor_connection(
    mut stream: tokio::net::TcpStream,
    commands: tokio::sync::mpsc::Sender<tokio::sync::oneshot::Sender<&'static str>>,
    events: tokio::sync::broadcast::Sender<Arc<str>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        // One request: head, then Content-Length bytes.
        let (head, start, len) = loop {
            if let Some(message) = complete_message(&buf) {
                break message;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        buf.drain(..start + len);
        if head.starts_with("GET /api/v1/events") {
            let key = head
                .split("\r\n")
                .find_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    n.trim()
                        .eq_ignore_ascii_case("sec-websocket-key")
                        .then(|| v.trim().to_owned())
                })
                .unwrap_or_default();
            let mut live = events.subscribe();
            let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
            let upgrade = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            );
            if stream.write_all(upgrade.as_bytes()).await.is_err() {
                return;
            }
            while let Ok(text) = live.recv().await {
                let mut frame = Vec::with_capacity(text.len() + 4);
                frame.push(0x81); // FIN, text
                if text.len() < 126 {
                    frame.push(text.len() as u8);
                } else {
                    frame.push(126);
                    frame.extend_from_slice(&(text.len() as u16).to_be_bytes());
                }
                frame.extend_from_slice(text.as_bytes());
                if stream.write_all(&frame).await.is_err() {
                    return;
                }
            }
            return;
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        if commands.send(tx).await.is_err() {
            return;
        }
        let Ok(body) = rx.await else { return };
        let answer = format!(
            "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Raw samples and the report
// ---------------------------------------------------------------------------------------

struct Summary {
    p50: Duration,
    p90: Duration,
    p99: Duration,
    max: Duration,
    mean: Duration,
}

fn summarize(samples: &[Duration]) -> Summary {
    let mut s = samples.to_vec();
    s.sort();
    // Nearest rank.
    let at = |p: f64| s[((p * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1];
    Summary {
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: *s.last().expect("samples"),
        mean: s.iter().sum::<Duration>() / s.len() as u32,
    }
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn report(path: &str, agent_n: &[(Duration, usize)], floor: &[Duration]) {
    let agent: Vec<Duration> = agent_n.iter().map(|(d, _)| *d).collect();
    let agent = &agent[..];
    let (a, f) = (summarize(agent), summarize(floor));
    let ratio = |x: Duration, y: Duration| x.as_secs_f64() / y.as_secs_f64();
    eprintln!(
        "{path}: {} samples each, interleaved batches of {BATCH}\n\
  agent: p50 {} p90 {} p99 {} max {} (mean {})\n\
  floor: p50 {} p90 {} p99 {} max {} (mean {})\n\
  agent/floor: p50 {:.1}x, p99 {:.1}x; agent p99 {} the 1 ms goal",
        agent.len(),
        us(a.p50),
        us(a.p90),
        us(a.p99),
        us(a.max),
        us(a.mean),
        us(f.p50),
        us(f.p90),
        us(f.p99),
        us(f.max),
        us(f.mean),
        ratio(a.p50, f.p50),
        ratio(a.p99, f.p99),
        if a.p99 < Duration::from_millis(1) {
            "meets"
        } else {
            "misses"
        },
    );
    // The agent keeps completed transactions for up to 32 s (Timer D/J), so back-to-back
    // calls build up state: the same samples by how many the agent held (estimated).
    for (lo, hi) in [
        (0, 250),
        (250, 1000),
        (1000, 2500),
        (2500, 5000),
        (5000, usize::MAX),
    ] {
        let bucket: Vec<Duration> = agent_n
            .iter()
            .filter(|(_, n)| (lo..hi).contains(n))
            .map(|(d, _)| *d)
            .collect();
        if bucket.is_empty() {
            continue;
        }
        let b = summarize(&bucket);
        eprintln!(
            "  agent holding {lo}..{} completed transactions: {} samples, p50 {} p90 {} p99 {} max {}",
            if hi == usize::MAX { "".to_owned() } else { hi.to_string() },
            bucket.len(),
            us(b.p50),
            us(b.p90),
            us(b.p99),
            us(b.max)
        );
    }
}

fn raw_samples(agent: &mut AgentTarget, floor: &mut FloorTarget) {
    let n: usize = std::env::var("CALL_LATENCY_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let warm_up: usize = std::env::var("CALL_LATENCY_WARMUP")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(WARM_UP);
    for _ in 0..warm_up {
        agent.dial_to_invite();
        floor.dial_to_invite();
        agent.invite_to_incoming();
        floor.invite_to_incoming();
    }
    let (mut dial, mut incoming) = (Vec::new(), Vec::new());
    let mut s: [Vec<Duration>; 2] = Default::default();
    let started = Instant::now();
    while dial.len() < n {
        let b = BATCH.min(n - dial.len());
        for _ in 0..b {
            let held = agent.lingering();
            dial.push((agent.dial_to_invite(), held));
        }
        s[0].extend((0..b).map(|_| floor.dial_to_invite()));
        for _ in 0..b {
            let held = agent.lingering();
            incoming.push((agent.invite_to_incoming(), held));
        }
        s[1].extend((0..b).map(|_| floor.invite_to_incoming()));
    }
    eprintln!(
        "raw samples taken in {:.1} s (agent log level {:?}; PBX answered {} REGISTERs, ignored {} other datagrams)",
        started.elapsed().as_secs_f64(),
        log_level(),
        agent.pbx.registers,
        agent.pbx.ignored,
    );
    report(
        "dial_to_invite (POST /api/v1/calls -> INVITE at the PBX socket)",
        &dial,
        &s[0],
    );
    report(
        "invite_to_incoming (INVITE sent -> `incoming` on the WebSocket)",
        &incoming,
        &s[1],
    );
}

fn log_level() -> String {
    std::env::var("CALL_LATENCY_LOG").unwrap_or_else(|_| "info".to_owned())
}

fn bench(c: &mut Criterion) {
    let mut agent = AgentTarget::start(&log_level());
    let mut floor = FloorTarget::start();
    raw_samples(&mut agent, &mut floor);

    let mut g = c.benchmark_group("call_latency/dial_to_invite");
    g.bench_function("agent", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| agent.dial_to_invite()).sum())
    });
    g.bench_function("floor", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| floor.dial_to_invite()).sum())
    });
    g.finish();
    let mut g = c.benchmark_group("call_latency/invite_to_incoming");
    agent.reconnect_events();
    g.bench_function("agent", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| agent.invite_to_incoming()).sum())
    });
    g.bench_function("floor", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| floor.invite_to_incoming()).sum())
    });
    g.finish();
    // `agent` drops here: the sockets close, then the process is killed.
}

criterion_group! {
    name = benches;
    // Each iteration also spends time outside the measured span (cleaning up the call), so
    // criterion's time budget is exceeded by that much; keep the sample count modest.
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
