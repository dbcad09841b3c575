//! The soak (issue 12 item 5): a bounded run of calls through SIPp and Kamailio to the
//! auto-answering agent with media, holds, transfers, DTMF and page commands mixed in, then
//! idle until every RFC 3261 linger timer has run. What a user would notice after a day of
//! calls: failed calls, calls left in the status, and an agent that keeps what it no longer
//! needs (memory, file descriptors, threads, SIP transactions).
//!
//! - Kamailio is the PBX; the agent registers as 1001 with `[calls] auto_answer = true`,
//!   `[agent] wrapup_seconds = 0` and no audio device (`tone:440` in, `null` out).
//! - SIPp calls 1001 through Kamailio (`tests/sipp/soak_uac.xml`) with PCMA media from a
//!   pcap; the roles take turns (`tests/sipp/soak_roles.csv`): plain (RFC 4733 DTMF 5 in the
//!   media from SIPp, DTMF 7 from the page), remote hold (SIPp's hold and resume
//!   re-INVITEs), page hold (the page holds and resumes: the agent's re-INVITEs) and
//!   transfer (the page transfers the call blind to 1002: REFER, NOTIFY, the agent's BYE).
//! - This test plays the page: it follows the bridge's events and sends the commands.
//! - Samples of the agent (RSS and threads from `/proc/PID/status`, open descriptors in
//!   `/proc/PID/fd`, the status's `diagnostics`: SIP transactions, calls, heap in use) after
//!   a warm-up batch of calls, through the run, and at the end once Timer D/J/K have run.
//!
//! Short version (in `make test`): `SOAK_CALLS` (default 240) at `SOAK_RATE` (default 8)
//! calls/s. The long version, `make soak` (`cargo test -p softphone --test soak -- --ignored
//! --nocapture soak_long`, the debug build as every test), runs 3000 calls at 20 calls/s by default, the same knobs, and
//! prints the table of docs/benchmarks.md ("Soak: calls, memory and descriptors").

mod common;

use common::{Agent, AgentOptions};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testbed::{Kamailio, KamailioOptions, Sipp};

const T: Duration = Duration::from_secs(20);
/// RFC 3261 with T1 = 500 ms: Timer B/F/H and J are 64*T1 = 32 s, Timer D at least 32 s over
/// UDP; K and I are T4 = 5 s. After the last call ends, everything lingering is gone by then.
const LINGER: Duration = Duration::from_secs(32);
/// Calls in the warm-up batch before the first sample: four of each role.
const WARMUP_CALLS: u32 = 16;

#[test]
fn soak_short_calls_leave_nothing_behind() {
    testbed::require!("kamailio", "kamcmd", "sipp");
    let calls = knob("SOAK_CALLS", 240);
    let rate = knob("SOAK_RATE", 8);
    let report = soak(calls, rate);
    report.print();
    report.assert_nothing_left_behind();
}

/// Run: `make soak` (`SOAK_CALLS`, `SOAK_RATE`).
#[test]
#[ignore = "a soak of several minutes: make soak"]
fn soak_long() {
    testbed::require!("kamailio", "kamcmd", "sipp");
    let calls = knob("SOAK_CALLS", 3000);
    let rate = knob("SOAK_RATE", 20);
    let report = soak(calls, rate);
    report.print();
    report.assert_nothing_left_behind();
}

fn knob(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One look at the agent process and its status.
#[derive(Debug, Clone)]
struct Sample {
    what: String,
    /// Calls SIPp completed so far in the measured run (its successful + failed).
    calls_ended: u64,
    rss_kb: u64,
    /// RSS less the program's own pages mapped from files (code paths first run in a call
    /// page in more of the binary).
    rss_anon_kb: u64,
    heap_kb: Option<u64>,
    fds: usize,
    threads: u64,
    transactions: u64,
    sip_calls: u64,
    /// Calls in the status not ended (ended ones may stay listed, as the protocol says).
    live_in_status: usize,
    listed_in_status: usize,
}

/// SIPp's counts from its statistics file.
#[derive(Debug, Default, Clone, Copy)]
struct SippCounts {
    successful: u64,
    failed: u64,
    retransmissions: u64,
}

/// What the page side saw, per role (the caller number says which).
#[derive(Debug, Default)]
struct PageLog {
    /// call id -> role
    roles: HashMap<String, &'static str>,
    /// role -> calls that ended, by end reason
    ended: HashMap<(&'static str, String), u64>,
    /// digits received in the media (`dtmf` events)
    digits_received: u64,
    /// commands sent / refused (status, error) by command
    sent: HashMap<&'static str, u64>,
    refused: Vec<String>,
    /// transfers the agent reported succeeded / failed
    transfers_succeeded: u64,
    transfers_failed: u64,
    /// snapshots after the first (the page fell behind and was resynchronised)
    resyncs: u64,
    /// the event socket failed (the page stopped following the calls)
    socket_error: Option<String>,
}

struct Report {
    calls: u32,
    rate: u32,
    warmup: SippCounts,
    run: SippCounts,
    samples: Vec<Sample>,
    page: PageLog,
    /// 1-, 5-, 15-minute load averages at the end of the calls.
    load: String,
    elapsed: Duration,
    log: String,
}

fn soak(calls: u32, rate: u32) -> Report {
    let started = Instant::now();
    let lifetime = Duration::from_secs(u64::from(calls / rate.max(1)) + 300);
    let kam = Kamailio::start_with_lifetime(KamailioOptions::md5(), lifetime).unwrap();
    let mut options = AgentOptions::new(kam.addr(), "1001", "secret1001");
    options.log_limit = Some(4 << 20);
    options.sip_trace = false;
    options.log_level = "info".into();
    // SOAK_HEAPTRACK=FILE: the agent runs under heaptrack (its profile in FILE.zst, read with
    // heaptrack_print) and is killed (SIGKILL) after the last sample: what heaptrack then
    // reports as leaked is what the agent held after the linger timers.
    let heaptrack = std::env::var_os("SOAK_HEAPTRACK").map(std::path::PathBuf::from);
    let wrapper_dir = tempfile::tempdir().expect("scratch dir");
    if let Some(out) = &heaptrack {
        options.program = Some(heaptrack_wrapper(wrapper_dir.path(), out));
    }
    let mut agent = Agent::start(options.with_extra(
        "[calls]\nauto_answer = true\n[audio]\ninput = \"tone:440\"\noutput = \"null\"\n[agent]\nwrapup_seconds = 0\n",
    ));
    agent.wait_registered(T);
    kam.wait_registered("1001", T).unwrap();
    // Under heaptrack the agent is the wrapper's child.
    let pid = match heaptrack {
        Some(_) => child_of(agent.pid()),
        None => agent.pid(),
    };

    // The page: follows the events and acts on calls by their role.
    let page = Arc::new(Mutex::new(PageLog::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let page_thread = {
        let (page, stop, bridge) = (page.clone(), stop.clone(), agent.bridge);
        std::thread::spawn(move || play_the_page(bridge, &page, &stop))
    };

    let scratch = tempfile::tempdir().expect("scratch dir");
    let warmup_stats = scratch.path().join("warmup.csv");
    let out = spawn_sipp(&kam, WARMUP_CALLS, rate.min(8), &warmup_stats).wait();
    let warmup = read_counts(&warmup_stats).unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert!(
        out.success && warmup.failed == 0,
        "warm-up: {warmup:?}; the page: {:?}\n{out}",
        page.lock().unwrap()
    );
    wait_no_calls(&agent);
    let mut samples = vec![sample(&agent, pid, "after the warm-up", 0)];

    let stats = scratch.path().join("run.csv");
    let mut sipp = spawn_sipp(&kam, calls, rate, &stats);
    let mut next_sample = Instant::now() + Duration::from_secs(5);
    while sipp.is_running() {
        std::thread::sleep(Duration::from_millis(200));
        if Instant::now() >= next_sample {
            next_sample += Duration::from_secs(5);
            let ended = read_counts(&stats).map_or(0, |c| c.successful + c.failed);
            samples.push(sample(&agent, pid, "calls running", ended));
        }
    }
    let out = sipp.wait();
    let run = read_counts(&stats).unwrap_or_else(|e| panic!("{e}\n{out}"));
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let ended = run.successful + run.failed;
    samples.push(sample(&agent, pid, "the last call ended", ended));
    wait_no_calls(&agent);

    // Every linger timer has run 32 s after the last call's last message; then the
    // figures settle (the diagnostics are refreshed once a second).
    let linger_from = Instant::now();
    let settled = testbed::wait_until(
        "transactions back to none after the linger timers",
        LINGER + T,
        Duration::from_millis(500),
        || {
            let d = agent.status()["diagnostics"].clone();
            let idle = d["sip_transactions"] == 0 && d["sip_calls"] == 0;
            Ok::<_, testbed::TimedOut>((idle && linger_from.elapsed() >= LINGER).then_some(()))
        },
    );
    if let Err(e) = settled {
        samples.push(sample(&agent, pid, "linger timers run", ended));
        panic!(
            "{e}: {:?}\nagent log:\n{}",
            samples.last(),
            tail(&agent.log(), 60)
        );
    }
    // What the last status requests used closes a moment after their answer; blocking-pool
    // threads idle for 10 s end by themselves. Look again until both are back at the
    // start's level, or 15 s passed (the assertions then say what stayed).
    let start = samples[0].clone();
    let mut last = sample(&agent, pid, "after the linger timers", ended);
    let _ = testbed::wait_until(
        "descriptors and threads back to the start's",
        Duration::from_secs(15),
        Duration::from_millis(500),
        || {
            last = sample(&agent, pid, "after the linger timers", ended);
            Ok::<_, testbed::TimedOut>(
                (last.fds <= start.fds && last.threads <= start.threads).then_some(()),
            )
        },
    );
    samples.push(last);
    stop.store(true, Ordering::Relaxed);
    let _ = page_thread.join();
    if heaptrack.is_some() {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        let _ = testbed::wait_until(
            "heaptrack to write its profile",
            Duration::from_secs(120),
            Duration::from_millis(200),
            || Ok::<_, testbed::TimedOut>((!agent.is_running()).then_some(())),
        );
    }
    let page = std::mem::take(&mut *page.lock().unwrap());
    // Failed calls are reported with the figures (assert_nothing_left_behind); any other
    // SIPp failure (it overstayed its -timeout, could not start) here.
    assert!(out.success || run.failed > 0, "SIPp: {out}");
    Report {
        calls,
        rate,
        warmup,
        run,
        samples,
        page,
        load,
        elapsed: started.elapsed(),
        log: tail(&agent.log(), 40),
    }
}

fn sipp_args(kam: &Kamailio, calls: u32, rate: u32, stats: &std::path::Path) -> Vec<String> {
    let roles = Sipp::scenario("soak_roles.csv").expect("tests/sipp/soak_roles.csv");
    [
        "-inf",
        &roles.display().to_string(),
        "-s",
        "1001",
        "-r",
        &rate.to_string(),
        "-m",
        &calls.to_string(),
        // A receive the agent leaves waiting 20 s fails the call.
        "-recv_timeout",
        "20000",
        // Kamailio's workers may forward a 180 after the 200 (they race on loopback): log
        // it rather than abort the call.
        "-default_behaviors",
        "all,-abortunexp",
        "-trace_stat",
        "-stf",
        &stats.display().to_string(),
        "-fd",
        "1",
        &kam.addr().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn spawn_sipp(
    kam: &Kamailio,
    calls: u32,
    rate: u32,
    stats: &std::path::Path,
) -> testbed::SippProcess {
    let args = sipp_args(kam, calls, rate, stats);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // The calls at `rate`, the longest call, and room for a loaded machine.
    let limit = Duration::from_secs(u64::from(calls / rate.max(1)) + 60);
    Sipp::spawn("soak_uac.xml", &args, limit).expect("SIPp starts")
}

/// The last row's cumulative counters of SIPp's `-trace_stat` file.
fn read_counts(stats: &std::path::Path) -> Result<SippCounts, String> {
    let csv = std::fs::read_to_string(stats)
        .map_err(|e| format!("SIPp statistics {}: {e}", stats.display()))?;
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().ok_or("no header")?.split(';').collect();
    let last: Vec<&str> = lines.next_back().ok_or("no rows")?.split(';').collect();
    let get = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .and_then(|i| last.get(i)?.trim().parse().ok())
            .unwrap_or(0)
    };
    Ok(SippCounts {
        successful: get("SuccessfulCall(C)"),
        failed: get("FailedCall(C)"),
        retransmissions: get("Retransmissions(C)"),
    })
}

/// Until no call in the status is live.
fn wait_no_calls(agent: &Agent) {
    agent.wait_status(Duration::from_secs(40), "no live call", |s| live(s) == 0);
}

fn live(status: &Value) -> usize {
    status["calls"]
        .as_array()
        .map_or(0, |c| c.iter().filter(|c| c["state"] != "ended").count())
}

fn sample(agent: &Agent, pid: u32, what: &str, calls_ended: u64) -> Sample {
    // /proc first: the status request's own connection is not counted.
    let proc_status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| -> u64 {
        proc_status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    let status = agent.status();
    let d = &status["diagnostics"];
    Sample {
        what: what.to_owned(),
        calls_ended,
        rss_kb: field("VmRSS:"),
        rss_anon_kb: field("RssAnon:"),
        heap_kb: d["heap_in_use"].as_u64().map(|b| b / 1024),
        fds,
        threads: field("Threads:"),
        transactions: d["sip_transactions"].as_u64().unwrap_or(u64::MAX),
        sip_calls: d["sip_calls"].as_u64().unwrap_or(u64::MAX),
        live_in_status: live(&status),
        listed_in_status: status["calls"].as_array().map_or(0, Vec::len),
    }
}

/// The role a call plays, from its caller number (tests/sipp/soak_roles.csv).
fn role_of(call: &Value) -> &'static str {
    let number = call["remote"]["number"].as_str().unwrap_or("");
    [
        ("5550100", "plain"),
        ("5550101", "remote_hold"),
        ("5550102", "page_hold"),
        ("5550103", "transfer"),
    ]
    .into_iter()
    .find_map(|(caller, role)| number.ends_with(caller).then_some(role))
    .unwrap_or("unknown")
}

/// The page: reads the event stream and sends each call's commands as its role says.
fn play_the_page(bridge: std::net::SocketAddr, page: &Mutex<PageLog>, stop: &AtomicBool) {
    let mut socket = common::event_socket(bridge, "", Duration::from_millis(200));
    let mut snapshots = 0;
    let mut acted: HashMap<String, &'static str> = HashMap::new();
    while !stop.load(Ordering::Relaxed) {
        let event = match socket.read() {
            Ok(tungstenite::Message::Text(text)) => {
                match serde_json::from_str::<Value>(text.as_str()) {
                    Ok(v) => v,
                    Err(_) => continue,
                }
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
            Err(e) => {
                page.lock().unwrap().socket_error = Some(e.to_string());
                return;
            }
        };
        let mut log = page.lock().unwrap();
        match event["event"].as_str().unwrap_or("") {
            "snapshot" => {
                snapshots += 1;
                if snapshots > 1 {
                    log.resyncs += 1;
                }
            }
            "incoming" | "call" => {
                let call = &event["call"];
                let id = call["id"].as_str().unwrap_or("").to_owned();
                let role = *log.roles.entry(id.clone()).or_insert_with(|| role_of(call));
                let state = call["state"].as_str().unwrap_or("");
                if std::env::var_os("SOAK_DEBUG").is_some() {
                    eprintln!("page: {} {id} {role} {state}", event["event"]);
                }
                let command = match (role, state) {
                    ("plain", "connected") => Some(("dtmf", r#"{"digits":"7"}"#)),
                    ("page_hold", "connected") => Some(("hold", "")),
                    ("page_hold", "held") => Some(("resume", "")),
                    ("transfer", "connected") => Some(("transfer", r#"{"to":"1002"}"#)),
                    (_, "ended") => {
                        let reason = call["end_reason"]["code"].as_str().unwrap_or("?");
                        *log.ended.entry((role, reason.to_owned())).or_default() += 1;
                        None
                    }
                    _ => None,
                };
                // Each command once per call (a `call` event repeats the state when other
                // fields change; page_hold's connected comes again after the resume).
                if let Some((action, body)) = command {
                    if acted.get(&id) == Some(&action)
                        || (action == "hold" && acted.get(&id) == Some(&"resume"))
                    {
                        continue;
                    }
                    acted.insert(id.clone(), action);
                    drop(log);
                    let path = format!("/api/v1/calls/{id}/{action}");
                    let answer = common::http_request(
                        bridge,
                        "POST",
                        &path,
                        &[
                            ("Authorization", &format!("Bearer {}", common::TEST_TOKEN)),
                            ("Content-Type", "application/json"),
                        ],
                        body,
                    );
                    let mut log = page.lock().unwrap();
                    *log.sent.entry(action).or_default() += 1;
                    let refused = match answer {
                        Ok((200, _)) => continue,
                        Ok((code, body)) => format!("{action} {id}: {code} {body}"),
                        Err(e) => format!("{action} {id}: {e}"),
                    };
                    eprintln!("page: refused: {refused}");
                    log.refused.push(refused);
                }
            }
            "dtmf" => log.digits_received += 1,
            "transfer" => match event["state"].as_str() {
                Some("succeeded") => log.transfers_succeeded += 1,
                Some("failed") => log.transfers_failed += 1,
                _ => {}
            },
            _ => {}
        }
    }
}

/// A script that runs the agent under heaptrack, writing the profile to `out`.
fn heaptrack_wrapper(dir: &std::path::Path, out: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("softphone-heaptrack");
    let body = format!(
        "#!/bin/sh\nexec heaptrack -o '{}' '{}' \"$@\"\n",
        out.display(),
        env!("CARGO_BIN_EXE_softphone")
    );
    std::fs::write(&script, body).expect("write the wrapper");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    script
}

/// The `softphone` child process of `pid` (the agent under the heaptrack wrapper).
fn child_of(pid: u32) -> u32 {
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    children
        .split_whitespace()
        .filter_map(|c| c.parse().ok())
        .find(|c: &u32| {
            std::fs::read_to_string(format!("/proc/{c}/comm"))
                .is_ok_and(|comm| comm.trim() == "softphone")
        })
        .unwrap_or_else(|| panic!("process {pid} has no softphone child"))
}

/// The samples as the Markdown table of docs/benchmarks.md.
fn print_samples(samples: &[Sample]) {
    println!("| when | calls ended | RSS (kB) | of it anonymous (kB) | heap in use (kB) | fds | threads | SIP transactions | SIP calls | calls listed (live) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for s in samples {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} ({}) |",
            s.what,
            s.calls_ended,
            s.rss_kb,
            s.rss_anon_kb,
            s.heap_kb.map_or("-".into(), |h| h.to_string()),
            s.fds,
            s.threads,
            s.transactions,
            s.sip_calls,
            s.listed_in_status,
            s.live_in_status
        );
    }
}

fn tail(log: &str, lines: usize) -> String {
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl Report {
    fn start(&self) -> &Sample {
        &self.samples[0]
    }

    fn end(&self) -> &Sample {
        self.samples.last().expect("samples")
    }

    fn print(&self) {
        println!(
            "soak: {} calls at {} calls/s (+{} warm-up), {:.0} s in all; load average at the end of the calls {}",
            self.calls,
            self.rate,
            WARMUP_CALLS,
            self.elapsed.as_secs_f64(),
            self.load
        );
        println!(
            "SIPp: {} successful, {} failed, {} retransmissions (warm-up: {} successful, {} failed)",
            self.run.successful,
            self.run.failed,
            self.run.retransmissions,
            self.warmup.successful,
            self.warmup.failed
        );
        let mut ended: Vec<_> = self.page.ended.iter().collect();
        ended.sort();
        println!("calls ended, by role and reason: {ended:?}");
        println!(
            "page: commands {:?}, refused {}, digits received {}, transfers succeeded {} failed {}, resyncs {}",
            self.page.sent,
            self.page.refused.len(),
            self.page.digits_received,
            self.page.transfers_succeeded,
            self.page.transfers_failed,
            self.page.resyncs
        );
        for r in self.page.refused.iter().take(10) {
            println!("  refused: {r}");
        }
        print_samples(&self.samples);
    }

    /// What a user would notice. No timing figure is asserted: only counts, and memory
    /// against a bound far above what the calls' own state needs.
    fn assert_nothing_left_behind(&self) {
        let (start, end) = (self.start(), self.end());
        let context = || {
            format!(
                "samples {:#?}\nagent log (end):\n{}",
                self.samples, self.log
            )
        };
        let calls = u64::from(self.calls);
        assert_eq!(
            (self.run.successful, self.run.failed),
            (calls, 0),
            "every SIPp call succeeded\n{}",
            context()
        );
        let transferred = self
            .page
            .ended
            .get(&("transfer", "transferred".to_owned()))
            .copied()
            .unwrap_or(0);
        let transfers = self
            .page
            .roles
            .values()
            .filter(|r| **r == "transfer")
            .count() as u64;
        assert_eq!(
            transferred, transfers,
            "every transferred call ended as transferred: {:?}",
            self.page.ended
        );
        let plain = self.page.roles.values().filter(|r| **r == "plain").count() as u64;
        assert_eq!(
            self.page.digits_received, plain,
            "the digit SIPp sends in the media on each plain call reached the page"
        );
        assert_eq!(self.page.socket_error, None, "the page's event socket");
        assert!(
            self.page.refused.is_empty(),
            "the agent refused page commands: {:?}",
            self.page.refused
        );
        assert_eq!(
            end.live_in_status,
            0,
            "no call left live in the status\n{}",
            context()
        );
        assert_eq!(
            (end.transactions, end.sip_calls),
            (0, 0),
            "no SIP transaction or call held once the linger timers ran\n{}",
            context()
        );
        assert!(
            end.fds <= start.fds,
            "open descriptors back to the start's: {} -> {}\n{}",
            start.fds,
            end.fds,
            context()
        );
        assert!(
            end.threads <= start.threads,
            "threads back to the start's: {} -> {}\n{}",
            start.threads,
            end.threads,
            context()
        );
        // Memory. What the agent keeps on purpose is bounded and fills early: the bridge's
        // resume history (the last 1000 events, a few hundred bytes each), the status's last 8
        // ended calls, SQLite's page cache of the call records (at most 2 MiB). So the heap
        // in use after the linger timers may exceed the warm-up's by at most those (4 MiB),
        // while a leak of even 16 kB a call (the issue saw ~28 kB of RSS a call) grows past
        // it within the short run's 240 calls. RSS adds what the allocator keeps cached from
        // the busiest moment (its arenas are not returned to the system eagerly): bounded
        // by the peak of concurrent calls, not by the number of calls, hence a looser bound.
        if let (Some(h0), Some(h1)) = (start.heap_kb, end.heap_kb) {
            assert!(
                h1 <= h0 + 4096,
                "heap in use after the linger timers {h1} kB against {h0} kB after the warm-up\n{}",
                context()
            );
        }
        assert!(
            end.rss_kb <= start.rss_kb + 32 * 1024,
            "RSS {} kB against {} kB after the warm-up\n{}",
            end.rss_kb,
            start.rss_kb,
            context()
        );
    }
}

/// The issue's measurement, for before/after figures: rounds of SIPp's built-in `uac`
/// scenario (no media, calls of no length) straight at the auto-answering agent at 100
/// calls/s, then idle 40 s; RSS and heap in use after each round and after the idle.
/// Run: `cargo test -p softphone --test soak -- --ignored --nocapture uac_rounds`
/// (`SOAK_ROUNDS` (3) of `SOAK_CALLS` (1000) at `SOAK_RATE` (100)).
#[test]
#[ignore = "a measurement of a few minutes"]
fn uac_rounds() {
    testbed::require!("kamailio", "kamcmd", "sipp");
    let (rounds, calls, rate) = (
        knob("SOAK_ROUNDS", 3),
        knob("SOAK_CALLS", 1000),
        knob("SOAK_RATE", 100),
    );
    let kam = Kamailio::start(KamailioOptions::md5()).unwrap();
    let mut options = AgentOptions::new(kam.addr(), "1001", "secret1001");
    options.log_limit = Some(1 << 20);
    options.sip_trace = false;
    options.log_level = "info".into();
    let agent = Agent::start(
        options.with_extra("[calls]\nauto_answer = true\n[agent]\nwrapup_seconds = 0\n"),
    );
    agent.wait_registered(T);
    let pid = agent.pid();
    let mut samples = vec![sample(&agent, pid, "registered", 0)];
    let target = agent.sip_addr().to_string();
    for round in 1..=rounds {
        let (m, r) = (calls.to_string(), rate.to_string());
        let args = ["-s", "1001", "-m", &m, "-r", &r, &target];
        let out = Sipp::run(
            "uac",
            &args,
            Duration::from_secs(u64::from(calls / rate) + 60),
        )
        .expect("SIPp runs");
        assert!(out.success, "round {round}: {out}");
        wait_no_calls(&agent);
        let done = u64::from(round * calls);
        samples.push(sample(&agent, pid, &format!("round {round}"), done));
    }
    std::thread::sleep(Duration::from_secs(40));
    samples.push(sample(&agent, pid, "40 s idle", u64::from(rounds * calls)));
    print_samples(&samples);
}
