//! Call records end to end: calls from SIPp through the real agent land in
//! `GET /api/v1/history`; a call cut short by killing the agent (SIGKILL) is closed as
//! `interrupted` at the next start with its talk time up to the kill; a damaged store is moved
//! aside, and a read-only data directory, or a disk that fills up while the agent runs (a
//! small tmpfs), costs the records, not the calls.

mod common;

use common::{http_get, Agent, AgentOptions, EventStream};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use testbed::{Sipp, SippProcess};

const SIPP_TIMEOUT: Duration = Duration::from_secs(30);
const SHORT: Duration = Duration::from_secs(5);
const LONG: Duration = Duration::from_secs(10);

/// A UDP port on 127.0.0.1 with nobody behind it: the agent's registrar (calls still work).
fn nowhere() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], testbed::free_port().expect("a free port")))
}

fn options() -> AgentOptions {
    AgentOptions::new(nowhere(), "1001", "secret1001")
        .with_extra("[calls]\nauto_answer = true\n[audio]\ninput = \"tone:440\"\n")
}

fn sipp_calls(scenario: &str, agent: &Agent) -> SippProcess {
    Sipp::spawn(scenario, &[&agent.sip_addr().to_string()], SIPP_TIMEOUT)
        .unwrap_or_else(|e| panic!("start SIPp {scenario}: {e}"))
}

fn incoming_id(events: &mut EventStream) -> String {
    let seen = events.until(LONG, |e| e["event"] == "incoming");
    seen.last().expect("the incoming event")["call"]["id"]
        .as_str()
        .expect("a call id")
        .to_owned()
}

/// `GET /api/v1/history` (with `query`): status code and JSON.
fn history(agent: &Agent, query: &str) -> (u16, Value) {
    let (code, body) =
        http_get(agent.bridge, &format!("/api/v1/history{query}")).expect("bridge answers");
    (
        code,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

fn newest(agent: &Agent) -> Value {
    let (code, page) = history(agent, "");
    assert_eq!(code, 200, "{page}\nagent log:\n{}", agent.log());
    page["calls"][0].clone()
}

#[test]
fn a_call_through_the_agent_lands_in_the_history() {
    testbed::require!("sipp");
    let agent = Agent::start(options());
    assert_eq!(agent.status()["records"]["ok"], true, "{}", agent.status());
    let mut events = agent.events("");
    let sipp = sipp_calls("call_uac_answer_bye.xml", &agent);
    let id = incoming_id(&mut events);
    assert!(
        id.starts_with('r') && id.contains('c') && id.len() <= 128,
        "ids name the run: {id}"
    );
    let out = sipp.wait();
    assert!(out.success, "{out}\n---- agent log ----\n{}", agent.log());
    let view = agent.wait_call_state(&id, "ended", SHORT);

    let entry = agent_entry_when_ended(&agent, &id);
    assert_eq!(entry["direction"], "inbound", "{entry}");
    assert_eq!(entry["remote"]["number"], "+4930123456", "{entry}");
    assert_eq!(entry["remote"]["display_name"], "QA Caller", "{entry}");
    assert_eq!(entry["started_at"], view["started_at"], "{entry}");
    assert_eq!(entry["answered_at"], view["answered_at"], "{entry}");
    assert_eq!(entry["ended_at"], view["ended_at"], "{entry}");
    assert!(entry["duration_s"].is_u64(), "{entry}");
    assert_eq!(entry["end_reason"]["code"], "hangup_remote", "{entry}");
    assert_eq!(entry["log_state"], "pending", "{entry}");

    let (code, err) = history(&agent, "?limit=500");
    assert_eq!(
        (code, &err["error"]["code"]),
        (400, &"bad_request".into()),
        "{err}"
    );
    let mut agent = agent;
    assert!(agent.terminate().success(), "a clean stop: {}", agent.log());
}

/// The newest history entry once it is `id` and ended (records are written on their own
/// thread, so the history may lag the status by a write).
fn agent_entry_when_ended(agent: &Agent, id: &str) -> Value {
    let deadline = Instant::now() + SHORT;
    loop {
        let entry = newest(agent);
        if entry["id"] == id && entry["ended_at"].is_string() {
            return entry;
        }
        assert!(
            Instant::now() < deadline,
            "history never showed {id} ended: {entry}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_call_cut_by_an_agent_crash_is_closed_as_interrupted_at_the_next_start() {
    testbed::require!("sipp");
    let mut agent = Agent::start(options());
    let mut events = agent.events("");
    // SIPp stays in the call until the agent hangs up, which it never does: it is killed.
    let sipp = sipp_calls("call_uac_agent_hangs_up.xml", &agent);
    let id = incoming_id(&mut events);
    agent.wait_call_state(&id, "connected", SHORT);
    let connected = Instant::now();
    std::thread::sleep(Duration::from_secs(4));
    let talked = connected.elapsed().as_secs_f64();
    agent.kill();
    drop(sipp.stop());

    let data = agent.data_dir();
    let restarted = Agent::start(options().with_data_dir(data));
    let entry = newest(&restarted);
    assert_eq!(entry["id"], id.as_str(), "{entry}");
    assert_eq!(entry["end_reason"]["code"], "interrupted", "{entry}");
    assert_eq!(entry["log_state"], "pending", "{entry}");
    assert!(entry["ended_at"].is_string(), "{entry}");
    let duration = entry["duration_s"].as_f64().expect("a duration");
    assert!(
        (duration - talked).abs() <= 2.0,
        "talk time {duration} s recorded, {talked:.1} s talked until the kill: {entry}"
    );
    assert_eq!(restarted.status()["records"]["ok"], true);
    assert!(
        restarted.log().contains("closed as interrupted"),
        "{}",
        restarted.log()
    );
}

#[test]
fn a_damaged_store_is_moved_aside_and_the_status_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    let garbage = b"not a database at all, but still somebody's data".repeat(50);
    std::fs::write(data.join("calls.db"), &garbage).expect("write");

    let agent = Agent::start(options().with_data_dir(data.clone()));
    let records = agent.status()["records"].clone();
    assert_eq!(records["ok"], true, "a fresh store works: {records}");
    let error = records["error"]
        .as_str()
        .expect("the status says what happened");
    assert!(error.contains("moved to"), "{error}");
    let moved: Vec<PathBuf> = std::fs::read_dir(&data)
        .expect("read dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().contains("calls.db.damaged-"))
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(
        std::fs::read(&moved[0]).expect("kept"),
        garbage,
        "never deleted"
    );
    assert!(
        agent.log().contains("ERROR"),
        "said loudly: {}",
        agent.log()
    );
    assert_eq!(history(&agent, "").0, 200);
}

/// Makes a directory read-only for whoever runs the test (root ignores permission bits, but
/// not the immutable attribute); undone on drop so the temp dir can be removed.
struct ReadOnly {
    dir: PathBuf,
    immutable: bool,
}

impl ReadOnly {
    fn make(dir: &std::path::Path) -> Option<ReadOnly> {
        use std::os::unix::fs::PermissionsExt;
        let writable = |d: &std::path::Path| {
            let probe = d.join("probe");
            let ok = std::fs::write(&probe, b"").is_ok();
            let _ = std::fs::remove_file(probe);
            ok
        };
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).ok()?;
        let mut guard = ReadOnly {
            dir: dir.to_owned(),
            immutable: false,
        };
        if writable(dir) {
            guard.immutable = std::process::Command::new("chattr")
                .arg("+i")
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success());
        }
        (!writable(dir)).then_some(guard)
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.immutable {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(&self.dir)
                .status();
        }
        let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o755));
    }
}

#[test]
fn a_read_only_data_directory_costs_the_records_not_the_calls() {
    testbed::require!("sipp");
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    // The log file is there already (the agent appends to it); nothing new can be created.
    std::fs::write(data.join("softphone.log"), b"").expect("log file");
    let Some(_read_only) = ReadOnly::make(&data) else {
        eprintln!("skipped: cannot make a read-only directory here");
        return;
    };
    let agent = Agent::start(options().with_data_dir(data.clone()));
    let records = agent.status()["records"].clone();
    assert_eq!(records["ok"], false, "{records}");
    assert!(records["error"].is_string(), "{records}");
    let (code, err) = history(&agent, "");
    assert_eq!(
        (code, &err["error"]["code"]),
        (503, &"unavailable".into()),
        "{err}"
    );

    let mut events = agent.events("");
    let sipp = sipp_calls("call_uac_answer_bye.xml", &agent);
    let id = incoming_id(&mut events);
    assert!(id.starts_with('t'), "the start time names the run: {id}");
    let out = sipp.wait();
    assert!(out.success, "{out}\n---- agent log ----\n{}", agent.log());
    let reason = &agent.wait_call_state(&id, "ended", SHORT)["end_reason"];
    assert_eq!(reason["code"], "hangup_remote", "{reason}");
}

/// A small tmpfs mounted on a directory for the test's life (tests run as root here; where
/// mounting is not allowed the test says so and skips).
struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    fn mount(dir: &std::path::Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).ok()?;
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then(|| SmallDisk {
            dir: dir.to_owned(),
        })
    }

    /// Writes a file until the disk is full; returns its path.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.dir.join("filler");
        let mut f = std::fs::File::create(&path).expect("create the filler");
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let _ = f.write_all(&block[..4096]);
        while f.write_all(&[0u8]).is_ok() {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.dir)
            .status();
    }
}

#[test]
fn a_disk_that_fills_up_during_the_day_costs_the_records_not_the_calls() {
    testbed::require!("sipp");
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let Some(disk) = SmallDisk::mount(&data, "2m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let mut agent = Agent::start(options().with_data_dir(data.clone()));
    assert_eq!(agent.status()["records"]["ok"], true);

    // The disk fills up while the agent runs: the next call works, its record cannot be kept,
    // and the status says so.
    let filler = disk.fill();
    let mut events = agent.events("");
    let sipp = sipp_calls("call_uac_answer_bye.xml", &agent);
    let id = incoming_id(&mut events);
    let out = sipp.wait();
    assert!(out.success, "{out}\n---- agent log ----\n{}", agent.log());
    let reason = &agent.wait_call_state(&id, "ended", SHORT)["end_reason"];
    assert_eq!(reason["code"], "hangup_remote", "{reason}");
    let status = agent.wait_status(LONG, "records: not ok", |s| s["records"]["ok"] == false);
    let error = status["records"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("full"), "says why: {error}");

    // Space comes back: records are kept again, from the next call on.
    std::fs::remove_file(filler).expect("remove the filler");
    let sipp = sipp_calls("call_uac_answer_bye.xml", &agent);
    let id = incoming_id(&mut events);
    assert!(sipp.wait().success);
    agent.wait_call_state(&id, "ended", SHORT);
    agent.wait_status(LONG, "records: ok again", |s| s["records"]["ok"] == true);
    assert_eq!(
        newest(&agent)["id"],
        id.as_str(),
        "the new call is recorded"
    );
    assert!(agent.is_running(), "nothing panicked");
    agent.terminate();
    drop(disk);
}
