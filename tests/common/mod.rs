//! Shared harness for end-to-end tests of the `softphone` binary: start the agent with a
//! generated config, read its bridge status, drive calls through the bridge (HTTP commands,
//! WebSocket events), stop it with a signal.
#![allow(dead_code)] // each test file uses a different part of the harness

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the generated config says.
pub struct AgentOptions {
    pub server: SocketAddr,
    pub transport: &'static str,
    pub user: &'static str,
    pub password: &'static str,
    pub expires: u32,
    /// Extra lines appended to `[sip]`.
    pub extra_sip: String,
    /// Extra lines appended to `[bridge]` (e.g. `allowed_origins`).
    pub extra_bridge: String,
    /// Extra TOML sections appended at the end (`[calls]`, `[audio]`, `[dial_plan]`).
    pub extra: String,
    /// `SOFTPHONE_DATA_DIR`; default: `data` in the agent's own temp dir.
    pub data_dir: Option<PathBuf>,
    /// `[log] level`: debug for the SIP and call layers, so a failing test's log says why.
    pub log_level: String,
    /// `[log] sip_trace`: every SIP message in the log.
    pub sip_trace: bool,
    /// The `softphone` binary to run: this build's unless set (a bench compares builds).
    pub program: Option<PathBuf>,
    /// Keep at most about this many bytes of the agent's log (its start and its latest
    /// lines), for runs long enough to log gigabytes; `None` keeps everything.
    pub log_limit: Option<usize>,
    /// `[bridge] listen`; default `127.0.0.1:0` (a port of its own).
    pub bridge_listen: SocketAddr,
    /// `[sip] listen`; default `127.0.0.1:0`.
    pub sip_listen: String,
    /// Run inside this network namespace (`testbed::netns::Netns::name`); the bridge is
    /// then reached from a thread in it (`Netns::run`).
    pub netns: Option<String>,
}

/// How often the harness looks at the agent while it waits.
const POLL: Duration = Duration::from_millis(20);
/// How long the agent may take to start (a loaded machine builds and runs much at once).
const LONG_WAIT: Duration = Duration::from_secs(20);
/// How long the agent may take to exit after SIGTERM.
const STOP_WAIT: Duration = Duration::from_secs(15);

/// The bridge token every test agent is configured with.
pub const TEST_TOKEN: &str = "test-token-0123456789abcdef";

impl AgentOptions {
    pub fn new(server: SocketAddr, user: &'static str, password: &'static str) -> Self {
        AgentOptions {
            server,
            transport: "udp",
            user,
            password,
            expires: 600,
            extra_sip: String::new(),
            extra_bridge: String::new(),
            extra: String::new(),
            data_dir: None,
            log_level: "info,signaling=debug,phone=debug".to_owned(),
            sip_trace: true,
            program: None,
            log_limit: None,
            bridge_listen: "127.0.0.1:0".parse().expect("literal"),
            sip_listen: "127.0.0.1:0".to_owned(),
            netns: None,
        }
    }

    /// Serves the bridge on `addr` (e.g. the port of an agent that was killed, to restart it
    /// where its page looks for it).
    pub fn with_bridge_listen(mut self, addr: SocketAddr) -> Self {
        self.bridge_listen = addr;
        self
    }

    /// Runs the agent on `dir` as its data directory (e.g. another agent's, to restart it).
    pub fn with_data_dir(mut self, dir: PathBuf) -> Self {
        self.data_dir = Some(dir);
        self
    }

    /// Adds lines to the generated `[bridge]` section.
    pub fn with_bridge(mut self, toml: &str) -> Self {
        self.extra_bridge.push_str(toml);
        self.extra_bridge.push('\n');
        self
    }

    /// Adds TOML sections to the generated config.
    pub fn with_extra(mut self, toml: &str) -> Self {
        self.extra.push_str(toml);
        self.extra.push('\n');
        self
    }
}

/// A running agent process. Killed on drop; its log is printed when a test fails.
pub struct Agent {
    child: Child,
    pub bridge: SocketAddr,
    pub dir: tempfile::TempDir,
    data_dir: PathBuf,
    log: Arc<Mutex<String>>,
}

impl Agent {
    pub fn start(opts: AgentOptions) -> Agent {
        let dir = tempfile::tempdir().expect("temp dir for the agent");
        let config = format!(
            "[sip]\nserver = \"{}\"\ntransport = \"{}\"\nuser = \"{}\"\npassword = \"{}\"\nexpires = {}\nlisten = \"{}\"\n{}\n\n[bridge]\nlisten = \"{}\"\ntoken = \"{TEST_TOKEN}\"\n{}\n[log]\nlevel = \"{}\"\nsip_trace = {}\n\n{}\n",
            opts.server,
            opts.transport,
            opts.user,
            opts.password,
            opts.expires,
            opts.sip_listen,
            opts.extra_sip,
            opts.bridge_listen,
            opts.extra_bridge,
            opts.log_level,
            opts.sip_trace,
            opts.extra
        );
        let data_dir = opts.data_dir.unwrap_or_else(|| dir.path().join("data"));
        let config_path = dir.path().join("agent.toml");
        std::fs::write(&config_path, config).expect("write agent config");
        let program = opts
            .program
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_softphone").into());
        let mut command = match &opts.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(program);
                c
            }
            None => Command::new(program),
        };
        let mut child = command
            .args(["run", "--config"])
            .arg(&config_path)
            .env("SOFTPHONE_DATA_DIR", &data_dir)
            .env_remove("SOFTPHONE_SIP_PASSWORD")
            // The config alone sets what is logged.
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the softphone binary");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let sink = log.clone();
        let limit = opts.log_limit;
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = sink.lock().unwrap();
                if let Some(limit) = limit.filter(|limit| l.len() > *limit) {
                    // Keep the first lines (the addresses the agent listens on) and the
                    // latest half.
                    let line_end = |at: usize| {
                        let nl = l.as_bytes()[..at].iter().rposition(|b| *b == b'\n');
                        nl.map_or(0, |i| i + 1)
                    };
                    let (keep_start, cut) = (line_end(limit / 8), line_end(l.len() - limit / 2));
                    l.replace_range(keep_start..cut, "[...]\n");
                }
                l.push_str(&line);
                l.push('\n');
            }
        });
        let mut agent = Agent {
            child,
            bridge: "127.0.0.1:0".parse().unwrap(),
            dir,
            data_dir,
            log,
        };
        agent.bridge = agent.wait_for_bridge();
        agent
    }

    /// The agent logs `bridge listening on http://ADDR`; port 0 means we must read it.
    fn wait_for_bridge(&mut self) -> SocketAddr {
        let found = testbed::wait_until("the bridge address", LONG_WAIT, POLL, || {
            if let Some(addr) = self.logged_addr("bridge listening on http://") {
                return Ok(Some(addr));
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "agent exited with {status} before serving the bridge:\n{}",
                    self.log()
                );
            }
            Ok(None)
        });
        found.unwrap_or_else(|e: testbed::TimedOut| panic!("{e}: agent log:\n{}", self.log()))
    }

    /// The address the agent logged after `marker` (`... listening on ADDR`), if it has.
    fn logged_addr(&self, marker: &str) -> Option<SocketAddr> {
        self.log().lines().find_map(|l| {
            l.split(marker)
                .nth(1)?
                .split_whitespace()
                .next()?
                .trim_end_matches('/')
                .parse()
                .ok()
        })
    }

    /// Its process id (to attach a profiler).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The local SIP address (UDP and TCP), from the `SIP listening on udp+tcp ADDR` line.
    pub fn sip_addr(&self) -> SocketAddr {
        self.logged_addr("SIP listening on udp+tcp ")
            .unwrap_or_else(|| panic!("agent never logged its SIP address:\n{}", self.log()))
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// `GET /api/v1/status` as JSON.
    pub fn status(&self) -> serde_json::Value {
        let (code, body) = http_get(self.bridge, "/api/v1/status").expect("bridge answers");
        assert_eq!(code, 200, "status endpoint: {body}");
        serde_json::from_str(&body).expect("status is JSON")
    }

    pub fn registration_state(&self) -> String {
        self.status()["registration"]["state"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// Polls the status until `pred` holds; panics with the agent's log on timeout.
    pub fn wait_status(
        &self,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let mut last = serde_json::Value::Null;
        let found = testbed::wait_until(what, timeout, Duration::from_millis(50), || {
            last = self.status();
            Ok(pred(&last).then(|| last.clone()))
        });
        found.unwrap_or_else(|e: testbed::TimedOut| {
            panic!("{e}; last status {last}\nagent log:\n{}", self.log())
        })
    }

    pub fn wait_registered(&self, timeout: Duration) -> serde_json::Value {
        self.wait_status(timeout, "registration", |s| {
            s["registration"]["state"] == "registered"
        })
    }

    /// Sends SIGTERM and waits for the process to exit (bounded).
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let exited = testbed::wait_until("the exit after SIGTERM", STOP_WAIT, POLL, || {
            Ok::<_, testbed::TimedOut>(self.child.try_wait().ok().flatten())
        });
        exited.unwrap_or_else(|e| {
            let _ = self.child.kill();
            panic!("agent: {e}:\n{}", self.log())
        })
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone()
    }

    /// Kills the process with SIGKILL (no chance to clean up, as in a crash) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `POST path` with a JSON body and the token; the status code and the JSON answer.
    pub fn post(&self, path: &str, body: &str) -> (u16, serde_json::Value) {
        let (code, text) = http_request(
            self.bridge,
            "POST",
            path,
            &[
                ("Authorization", &format!("Bearer {TEST_TOKEN}")),
                ("Content-Type", "application/json"),
            ],
            body,
        )
        .expect("bridge answers");
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (code, json)
    }

    /// Dials `to` over the bridge; the new call's id.
    pub fn dial(&self, to: &str) -> String {
        let (code, body) = self.post(
            "/api/v1/calls",
            &serde_json::json!({ "to": to }).to_string(),
        );
        assert_eq!(code, 201, "dial {to}: {body}\nagent log:\n{}", self.log());
        body["id"].as_str().expect("an id").to_owned()
    }

    /// `POST /api/v1/calls/{id}/{action}` (answer, hangup, hold, ...), expecting success.
    pub fn call_command(&self, id: &str, action: &str, body: &str) {
        let (code, answer) = self.post(&format!("/api/v1/calls/{id}/{action}"), body);
        assert_eq!(
            code,
            200,
            "{action} {id}: {answer}\nagent log:\n{}",
            self.log()
        );
    }

    /// The call with `id` in the status, if listed.
    pub fn call(&self, id: &str) -> Option<serde_json::Value> {
        self.status()["calls"]
            .as_array()?
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
    }

    /// Waits until call `id` is in `state`; returns its view.
    pub fn wait_call_state(&self, id: &str, state: &str, timeout: Duration) -> serde_json::Value {
        let s = self.wait_status(timeout, &format!("call {id} {state}"), |s| {
            s["calls"]
                .as_array()
                .is_some_and(|calls| calls.iter().any(|c| c["id"] == id && c["state"] == state))
        });
        s["calls"]
            .as_array()
            .and_then(|calls| calls.iter().find(|c| c["id"] == id).cloned())
            .expect("the call is listed")
    }

    /// Waits for a call in `state` (any id, newest first); returns its view.
    pub fn wait_any_call(&self, state: &str, timeout: Duration) -> serde_json::Value {
        let s = self.wait_status(timeout, &format!("a call {state}"), |s| {
            s["calls"]
                .as_array()
                .is_some_and(|calls| calls.iter().any(|c| c["state"] == state))
        });
        s["calls"]
            .as_array()
            .and_then(|calls| calls.iter().rev().find(|c| c["state"] == state).cloned())
            .expect("the call is listed")
    }

    /// Opens the event WebSocket (with the token); `query` like `?since=5&instance=...`.
    pub fn events(&self, query: &str) -> EventStream {
        let socket = event_socket(self.bridge, query, Duration::from_millis(200));
        EventStream { socket }
    }
}

/// The bridge's event WebSocket at `bridge` with the test token, `query` like `?since=5`;
/// a read waits at most `read_timeout`.
pub fn event_socket(
    bridge: SocketAddr,
    query: &str,
    read_timeout: Duration,
) -> tungstenite::WebSocket<TcpStream> {
    let url = format!("ws://{bridge}/api/v1/events{query}");
    let mut request = tungstenite::client::IntoClientRequest::into_client_request(url.as_str())
        .expect("a valid URL");
    request.headers_mut().insert(
        "Authorization",
        format!("Bearer {TEST_TOKEN}")
            .parse()
            .expect("a valid header"),
    );
    let stream = TcpStream::connect(bridge).expect("connect to the bridge");
    // Events are small and latency is measured on them: no Nagle delay.
    stream.set_nodelay(true).expect("set nodelay");
    stream
        .set_read_timeout(Some(read_timeout))
        .expect("set timeout");
    let (socket, _) = tungstenite::client(request, stream).expect("WebSocket handshake");
    socket
}

/// The bridge's event stream, read synchronously.
pub struct EventStream {
    socket: tungstenite::WebSocket<TcpStream>,
}

impl EventStream {
    /// The next event, or None after `timeout`.
    pub fn next(&mut self, timeout: Duration) -> Option<serde_json::Value> {
        let read = || Ok::<_, testbed::TimedOut>(self.read_one());
        testbed::wait_until("an event", timeout, Duration::ZERO, read)
            .ok()
            .flatten()
    }

    /// Reads events until one satisfies `pred`; every event read is returned in order.
    pub fn until(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> Vec<serde_json::Value> {
        let mut seen = Vec::new();
        let found = testbed::wait_until("a matching event", timeout, Duration::ZERO, || {
            if let Some(Some(event)) = self.read_one() {
                let done = pred(&event);
                seen.push(event);
                return Ok::<_, testbed::TimedOut>(done.then_some(()));
            }
            Ok(None)
        });
        if found.is_err() {
            panic!("no matching event within {timeout:?}; saw {seen:#?}");
        }
        seen
    }

    /// One read, blocking up to the socket's read timeout: `Some(Some(event))`, `Some(None)`
    /// when the socket failed or the text was not JSON, `None` when nothing came.
    fn read_one(&mut self) -> Option<Option<serde_json::Value>> {
        match self.socket.read() {
            Ok(tungstenite::Message::Text(text)) => Some(serde_json::from_str(text.as_str()).ok()),
            Ok(_) => None,
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            Err(_) => Some(None),
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("---- agent log ----\n{}", self.log());
        }
    }
}

/// `GET path` with the test token.
pub fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    http_request(
        addr,
        "GET",
        path,
        &[("Authorization", &format!("Bearer {TEST_TOKEN}"))],
        "",
    )
}

/// A minimal HTTP/1.1 request over a std socket (keeps test dependencies small).
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(15)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(head.as_bytes())?;
    let mut resp = String::new();
    s.read_to_string(&mut resp)?;
    let code = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((code, body))
}

/// The WAV at `path` once it is complete (an agent's `file:` output is finalized when the
/// call's stream stops); panics after `within` with what was there and `context()`.
pub fn complete_wav(
    path: &std::path::Path,
    within: Duration,
    context: impl Fn() -> String,
) -> testbed::audio::Wav {
    let mut last = None;
    let found = testbed::wait_until("a complete WAV", within, Duration::from_millis(100), || {
        match testbed::audio::read_wav(path) {
            Ok(w) if !w.samples.is_empty() => Ok(Some(w)),
            r => {
                last = Some(r);
                Ok(None)
            }
        }
    });
    found.unwrap_or_else(|e: testbed::TimedOut| {
        panic!("{e}: {}: {last:?}\n{}", path.display(), context())
    })
}

/// The tests of one binary share the private PulseAudio's `mic` and `speaker`: one at a time.
static PULSE_TURN: Mutex<()> = Mutex::new(());

/// Waits for the shared sound devices; hold the guard for the whole test.
pub fn pulse_turn() -> std::sync::MutexGuard<'static, ()> {
    PULSE_TURN.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a call on the private PulseAudio needs: the PBX, baresip, the sound server and its
/// player and recorder.
pub const DEVICE_CALL_TOOLS: [&str; 8] = [
    "kamailio",
    "kamcmd",
    "baresip",
    "pulseaudio",
    "pacat",
    "pactl",
    "paplay",
    "parec",
];

/// First line of a call test on the sound devices: checks [`DEVICE_CALL_TOOLS`] as
/// `testbed::require!` does (`None`: skip the test), then waits for the test's turn at `mic`
/// and `speaker`; hold the guard for the whole test.
pub fn device_call_turn(test: &str) -> Option<std::sync::MutexGuard<'static, ()>> {
    testbed::require_tools(test, &DEVICE_CALL_TOOLS).then(pulse_turn)
}

/// The private headless PulseAudio (`testbed::pulse`), started on first use.
pub fn pulse() -> &'static testbed::pulse::Pulse {
    testbed::pulse::Pulse::shared().unwrap_or_else(|e| panic!("private PulseAudio: {e}"))
}

/// Starts baresip from `options` (registering at `kam`) and waits until baresip reports the
/// registration and Kamailio holds its contact.
pub fn registered_baresip(
    options: testbed::BaresipOptions,
    kam: &testbed::Kamailio,
    wait: Duration,
) -> testbed::Baresip {
    let user = options.user.clone();
    let b = testbed::Baresip::start(options).unwrap();
    b.wait_registered(wait).unwrap();
    kam.wait_registered(&user, wait).unwrap();
    b
}

/// One call from the agent on the private PulseAudio's devices (`speaker`, `mic.monitor`) to
/// a recording baresip customer (1002), through a Kamailio of its own: connected on both
/// sides. Dropped in field order: the agent, the customer, then the PBX.
pub struct CustomerCall {
    agent: Agent,
    customer: testbed::Baresip,
    /// The agent's call id.
    id: String,
    _kam: testbed::Kamailio,
}

impl CustomerCall {
    /// The agent hangs up; once the customer has seen the call close it is stopped (sndfile
    /// completes its WAVs when the call's audio stops; stopping baresip makes sure). The
    /// agent, still running for its log, and the customer's one recording of the call.
    pub fn hang_up(self, step: Duration) -> (Agent, testbed::Recording) {
        let CustomerCall {
            agent,
            customer,
            id,
            _kam,
        } = self;
        agent.call_command(&id, "hangup", "");
        customer.wait_event("CALL_CLOSED", step).unwrap();
        let mut recordings = customer.recordings();
        customer.stop();
        assert_eq!(recordings.len(), 1, "{recordings:?}");
        (agent, recordings.remove(0))
    }
}

/// Starts a [`CustomerCall`]: the agent registered as `user` with `audio_extra` (lines) added
/// to its `[audio]`, the customer sending `customer_audio` and recording into `record`,
/// everything living at most `lifetime`; `step` bounds each wait.
pub fn device_call_to_customer(
    user: &'static str,
    audio_extra: &str,
    customer_audio: testbed::BaresipAudio,
    record: PathBuf,
    lifetime: Duration,
    step: Duration,
) -> CustomerCall {
    let kam =
        testbed::Kamailio::start_with_lifetime(testbed::KamailioOptions::md5(), lifetime).unwrap();
    let mut o = testbed::BaresipOptions::user("1002", &kam);
    o.audio = customer_audio;
    o.record = Some(record);
    o.lifetime = lifetime;
    let customer = registered_baresip(o, &kam, step);
    let password = testbed::password_of(user).unwrap_or_else(|| panic!("no test user {user}"));
    let agent = Agent::start(
        AgentOptions::new(kam.addr(), user, password).with_extra(&format!(
            "[audio]\ninput = \"device:mic.monitor\"\noutput = \"device:speaker\"\n{audio_extra}"
        )),
    );
    agent.wait_registered(step);
    let id = agent.dial("1002");
    agent.wait_call_state(&id, "connected", step);
    customer.wait_event("CALL_ESTABLISHED", step).unwrap();
    CustomerCall {
        agent,
        customer,
        id,
        _kam: kam,
    }
}
