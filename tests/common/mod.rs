//! Shared harness for end-to-end tests of the `softphone` binary: start the agent with a
//! generated config, read its bridge status, drive calls through the bridge (HTTP commands,
//! WebSocket events), stop it with a signal.
#![allow(dead_code)] // each test file uses a different part of the harness

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
}

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
        }
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
            "[sip]\nserver = \"{}\"\ntransport = \"{}\"\nuser = \"{}\"\npassword = \"{}\"\nexpires = {}\nlisten = \"127.0.0.1:0\"\n{}\n\n[bridge]\nlisten = \"127.0.0.1:0\"\ntoken = \"{TEST_TOKEN}\"\n{}\n[log]\nlevel = \"info,signaling=debug,phone=debug\"\nsip_trace = true\n\n{}\n",
            opts.server,
            opts.transport,
            opts.user,
            opts.password,
            opts.expires,
            opts.extra_sip,
            opts.extra_bridge,
            opts.extra
        );
        let data_dir = opts.data_dir.unwrap_or_else(|| dir.path().join("data"));
        let config_path = dir.path().join("agent.toml");
        std::fs::write(&config_path, config).expect("write agent config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_softphone"))
            .args(["run", "--config"])
            .arg(&config_path)
            .env("SOFTPHONE_DATA_DIR", &data_dir)
            .env_remove("SOFTPHONE_SIP_PASSWORD")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the softphone binary");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = sink.lock().unwrap();
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
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(addr) = self.log().lines().find_map(|l| {
                let rest = l.split("bridge listening on http://").nth(1)?;
                rest.split_whitespace()
                    .next()?
                    .trim_end_matches('/')
                    .parse()
                    .ok()
            }) {
                return addr;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "agent exited with {status} before serving the bridge:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("agent never logged its bridge address:\n{}", self.log());
    }

    /// The local SIP address (UDP and TCP), from the `SIP listening on udp+tcp ADDR` line.
    pub fn sip_addr(&self) -> SocketAddr {
        self.log()
            .lines()
            .find_map(|l| {
                l.split("SIP listening on udp+tcp ")
                    .nth(1)?
                    .trim()
                    .parse()
                    .ok()
            })
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
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.status();
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; last status {s}\nagent log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
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
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("agent did not exit within 15 s of SIGTERM:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
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
        let url = format!("ws://{}/api/v1/events{query}", self.bridge);
        let mut request = tungstenite::client::IntoClientRequest::into_client_request(url.as_str())
            .expect("a valid URL");
        request.headers_mut().insert(
            "Authorization",
            format!("Bearer {TEST_TOKEN}")
                .parse()
                .expect("a valid header"),
        );
        let stream = TcpStream::connect(self.bridge).expect("connect to the bridge");
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("set timeout");
        let (socket, _) = tungstenite::client(request, stream).expect("WebSocket handshake");
        EventStream { socket }
    }
}

/// The bridge's event stream, read synchronously.
pub struct EventStream {
    socket: tungstenite::WebSocket<TcpStream>,
}

impl EventStream {
    /// The next event, or None after `timeout`.
    pub fn next(&mut self, timeout: Duration) -> Option<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            match self.socket.read() {
                Ok(tungstenite::Message::Text(text)) => {
                    return serde_json::from_str(text.as_str()).ok();
                }
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue
                }
                Err(_) => return None,
            }
        }
        None
    }

    /// Reads events until one satisfies `pred`; every event read is returned in order.
    pub fn until(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Some(event) = self.next(deadline.saturating_duration_since(Instant::now())) {
                let done = pred(&event);
                seen.push(event);
                if done {
                    return seen;
                }
            }
        }
        panic!("no matching event within {timeout:?}; saw {seen:#?}");
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

/// The tests of one binary share the private PulseAudio's `mic` and `speaker`: one at a time.
static PULSE_TURN: Mutex<()> = Mutex::new(());

/// Waits for the shared sound devices; hold the guard for the whole test.
pub fn pulse_turn() -> std::sync::MutexGuard<'static, ()> {
    PULSE_TURN.lock().unwrap_or_else(|p| p.into_inner())
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
