//! What the browser tests share: the stand-in console, a browser script and its line
//! protocol (`tests/browser/lib.mjs`), and where screenshots go. Included by each browser test
//! with `#[path]`.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Bound on one script run; the scenarios take well under a minute on an idle machine.
pub const SCRIPT_DEADLINE: Duration = Duration::from_secs(300);
/// How long the console may take to start.
const T: Duration = Duration::from_secs(20);

/// Fails the test (never skips it) when `make browser-deps` has not run.
pub fn require_playwright() {
    let module = project_root().join("tests/browser/node_modules/playwright-core/package.json");
    assert!(
        module.is_file() || testbed::skip_e2e(),
        "playwright-core is not installed in tests/browser: run `make browser-deps`"
    );
}

pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/browser-artifacts/` (or under `$CARGO_TARGET_DIR`).
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("target"));
    let dir = target.join("browser-artifacts");
    std::fs::create_dir_all(&dir).expect("create the artifacts directory");
    dir
}

/// The only Task whose CallObject is `call_id`.
pub fn one_task(state: &Value, call_id: &str) -> Result<Value, String> {
    let tasks: Vec<&Value> = state["tasks"]
        .as_array()
        .map(|t| t.iter().filter(|t| t["CallObject"] == call_id).collect())
        .unwrap_or_default();
    match tasks.as_slice() {
        [one] => Ok((*one).clone()),
        _ if call_id.is_empty() => Err("no call id reported".into()),
        many => Err(format!(
            "{} Tasks for call {call_id}, want exactly one: {many:#?}",
            many.len()
        )),
    }
}

/// The stand-in Salesforce console (`tests/browser/console/server.mjs`); killed on drop.
pub struct Console {
    child: Child,
    url: String,
}

impl Console {
    /// Starts the console on a free port it picks itself (no probe race with other tests).
    /// The adapter it frames by default is a placeholder: tests pass theirs with
    /// [`Console::framing`].
    pub fn start() -> Console {
        Console::start_with(&[])
    }

    /// [`Console::start`] with more flags (e.g. `--apex-upsert`).
    pub fn start_with(flags: &[&str]) -> Console {
        let mut child = Command::new("node")
            .arg(project_root().join("tests/browser/console/server.mjs"))
            .args([
                "--port",
                "0",
                "--adapter-url",
                "http://127.0.0.1:9/softphone/",
            ])
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the console (node)");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut console = Console {
            child,
            url: String::new(),
        };
        let line = rx.recv_timeout(T).unwrap_or_else(|_| {
            let status = console.child.try_wait();
            panic!("the console printed no URL within {T:?} (exit: {status:?})")
        });
        let url = line
            .strip_prefix("console listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the console: {line}"));
        console.url = url.to_owned();
        console
    }

    /// The port the console listens on (its origin is `http://localhost:<port>`).
    pub fn port(&self) -> u16 {
        self.url
            .trim_start_matches("http://localhost:")
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|_| panic!("no port in the console's URL {}", self.url))
    }

    /// The console's URL framing `adapter` as its softphone.
    pub fn framing(&self, adapter: &str) -> String {
        let encoded: String = adapter
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        format!("{}?adapter={encoded}", self.url)
    }

    /// `GET /__test/state`.
    pub fn state(&self) -> Value {
        let addr = self
            .url
            .trim_start_matches("http://localhost:")
            .trim_end_matches('/');
        let addr = format!("127.0.0.1:{addr}")
            .parse()
            .expect("console address");
        let (code, body) = crate::common::http_request(addr, "GET", "/__test/state", &[], "")
            .expect("console answers");
        assert_eq!(code, 200, "console state: {body}");
        let body = dechunk(&body).unwrap_or(body);
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("console state ({e}): {body}"))
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The body of a `Transfer-Encoding: chunked` answer (Node's default), or None if `raw`
/// does not look chunked.
pub fn dechunk(raw: &str) -> Option<String> {
    let mut rest = raw;
    let mut out = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n")?;
        let size = usize::from_str_radix(size.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.push_str(after.get(..size)?);
        rest = after.get(size..)?.strip_prefix("\r\n")?;
    }
}

/// A browser script (`node tests/browser/NAME`); its `@@ ` lines are the protocol, the rest
/// of its output is kept for failure messages. Stopped on drop (SIGTERM lets playwright close
/// Chromium; SIGKILL after 5 s).
pub struct Script {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    log: Arc<Mutex<String>>,
}

impl Script {
    pub fn start(name: &str, args: &[(&str, &str)]) -> Script {
        let mut cmd = Command::new("node");
        cmd.arg(project_root().join("tests/browser").join(name));
        for (k, v) in args {
            cmd.arg(format!("--{k}")).arg(v);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start node");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                match line.strip_prefix("@@ ") {
                    Some(msg) => {
                        let _ = tx.send(msg.to_owned());
                    }
                    None => push_line(&sink, &line),
                }
            }
        });
        let stderr = child.stderr.take().expect("piped stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if std::env::var_os("BROWSER_TEST_VERBOSE").is_some() {
                    eprintln!("{line}");
                }
                push_line(&sink, &line);
            }
        });
        Script {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            log,
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Answers the script's needs with `serve` until it exits; its results by scenario.
    pub fn run(
        &mut self,
        serve: impl FnMut(&Value) -> Result<Value, String>,
    ) -> HashMap<String, Value> {
        self.run_within(SCRIPT_DEADLINE, serve)
    }

    /// [`Script::run`], failing if the script runs longer than `limit`.
    pub fn run_within(
        &mut self,
        limit: Duration,
        mut serve: impl FnMut(&Value) -> Result<Value, String>,
    ) -> HashMap<String, Value> {
        let deadline = Instant::now() + limit;
        let mut results = HashMap::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "the browser script ran over {limit:?}; results so far: {results:#?}\n{}",
                    self.log()
                ),
            };
            let msg: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("bad line from the script ({e}): {line}"));
            match msg["type"].as_str() {
                Some("result") => {
                    let name = msg["scenario"].as_str().unwrap_or_default().to_owned();
                    results.insert(name, msg);
                }
                Some("need") => {
                    let mut answer = serve(&msg).unwrap_or_else(|e| json!({ "error": e }));
                    answer["id"] = msg["id"].clone();
                    let stdin = self.stdin.as_mut().expect("script stdin");
                    // A script that died meanwhile shows up as a missing result.
                    let _ = writeln!(stdin, "{answer}").and_then(|_| stdin.flush());
                }
                _ => panic!("unknown message from the script: {line}"),
            }
        }
        let status = self.child.wait().expect("wait for node");
        if !status.success() && !results.contains_key("failed") {
            panic!("the browser script exited with {status}:\n{}", self.log());
        }
        results
    }
}

pub fn push_line(log: &Mutex<String>, line: &str) {
    let mut l = log.lock().unwrap();
    l.push_str(line);
    l.push('\n');
}

impl Drop for Script {
    fn drop(&mut self) {
        self.stdin.take();
        if matches!(self.child.try_wait(), Ok(None)) {
            let pid = self.child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let exited = || {
                let running = matches!(self.child.try_wait(), Ok(None));
                Ok::<_, testbed::TimedOut>((!running).then_some(()))
            };
            let within = Duration::from_secs(5);
            let _ = testbed::wait_until("node to exit", within, Duration::from_millis(50), exited);
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
