//! Shared harness for end-to-end tests of the `softphone` binary: start the agent with a
//! generated config, read its bridge status, stop it with a signal.
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
}

impl AgentOptions {
    pub fn new(server: SocketAddr, user: &'static str, password: &'static str) -> Self {
        AgentOptions {
            server,
            transport: "udp",
            user,
            password,
            expires: 600,
            extra_sip: String::new(),
        }
    }
}

/// A running agent process. Killed on drop; its log is printed when a test fails.
pub struct Agent {
    child: Child,
    pub bridge: SocketAddr,
    pub dir: tempfile::TempDir,
    log: Arc<Mutex<String>>,
}

impl Agent {
    pub fn start(opts: AgentOptions) -> Agent {
        let dir = tempfile::tempdir().expect("temp dir for the agent");
        let config = format!(
            "[sip]\nserver = \"{}\"\ntransport = \"{}\"\nuser = \"{}\"\npassword = \"{}\"\nexpires = {}\nlisten = \"127.0.0.1:0\"\n{}\n\n[bridge]\nlisten = \"127.0.0.1:0\"\n\n[log]\nlevel = \"info,signaling=debug\"\nsip_trace = true\n",
            opts.server, opts.transport, opts.user, opts.password, opts.expires, opts.extra_sip
        );
        let config_path = dir.path().join("agent.toml");
        std::fs::write(&config_path, config).expect("write agent config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_softphone"))
            .args(["run", "--config"])
            .arg(&config_path)
            .env("SOFTPHONE_DATA_DIR", dir.path().join("data"))
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
        self.dir.path().join("data")
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

/// A minimal HTTP/1.1 GET over a std socket (keeps test dependencies small).
pub fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
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
