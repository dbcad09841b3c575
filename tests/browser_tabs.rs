//! No call goes unlogged, none twice (issue 10, "How it is checked"), in Debian's Chromium
//! through the stand-in Salesforce console with the Apex upsert installed, against the real
//! agent registered at a real Kamailio whose carrier trunk calls in through SIPp:
//!
//! - two and then three tabs through N calls with random closes, reloads and focus changes
//!   (during ringing too): exactly N Tasks, one per call, and no call popped twice, counted by
//!   the console's server;
//! - the page closed mid-call, the far end hangs up, a page opens later: the Task is saved
//!   then, once, and names the record the call was popped with;
//! - the agent killed (SIGKILL) mid-call and restarted: the page saves the call's Task as
//!   interrupted with the talk time up to the kill.
//!
//! Run: `cargo test -p softphone --test browser_tabs -- --nocapture` (`TABS_CALLS=N`,
//! `TABS_SEED=S` to change the run; the seed is printed).

#[path = "common/browser.rs"]
mod browser;
mod common;

use browser::{artifacts_dir, require_playwright, Console, Script};
use common::{Agent, AgentOptions};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use testbed::{Kamailio, KamailioOptions, Sipp, SippProcess};

const ADA: &str = "003000000000001AAA";
const SIPP_LIFETIME: Duration = Duration::from_secs(120);
const T: Duration = Duration::from_secs(20);
/// The whole script: N calls of a few seconds each, two single-call scenarios and restarts.
const SCRIPT_LIMIT: Duration = Duration::from_secs(600);

#[test]
fn every_call_is_logged_once_across_tabs_closed_pages_and_a_killed_agent() {
    testbed::require!("kamailio", "kamcmd", "sipp", "node", "chromium");
    require_playwright();
    let calls: usize = std::env::var("TABS_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let seed: u64 = std::env::var("TABS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_secs() % 1_000_000)
        });
    println!("tabs: {calls} calls, seed {seed} (TABS_SEED={seed} replays the tab actions)");

    let trunk = Sipp::spawn("trunk_uas_answer.xml", &[], SIPP_LIFETIME).unwrap();
    let kam = Kamailio::start(KamailioOptions::md5().with_trunk(trunk.addr())).unwrap();
    let console = Console::start_with(&["--apex-upsert"]);
    let data = tempfile::tempdir().expect("data dir");
    let options = || {
        AgentOptions::new(kam.addr(), "1001", "secret1001")
            .with_data_dir(data.path().to_owned())
            .with_bridge(&format!(
                "allowed_origins = [\"http://localhost:{}\"]",
                console.port()
            ))
    };
    let mut agent = Agent::start(options());
    agent.wait_registered(T);
    kam.wait_registered("1001", T).unwrap();
    let bridge = agent.bridge;
    let adapter = format!("http://{bridge}/softphone/");
    let console_url = console.framing(&adapter);

    let shots = artifacts_dir();
    let mut script = Script::start(
        "tabs_calls.mjs",
        &[
            ("console", console_url.as_str()),
            ("adapter", adapter.as_str()),
            ("shots", &shots.display().to_string()),
            ("calls", &calls.to_string()),
            ("seed", &seed.to_string()),
        ],
    );
    let mut sipps: HashMap<String, SippProcess> = HashMap::new();
    let mut killed_at = 0u128;
    let results = script.run_within(SCRIPT_LIMIT, |need| {
        let key = need["key"].as_str().unwrap_or_default().to_owned();
        match need["what"].as_str().unwrap_or_default() {
            "call" => {
                let caller = need["caller"].as_str().ok_or("no caller")?.to_owned();
                let talk = need["talkMs"].as_u64().unwrap_or(600).to_string();
                let server = kam.addr().to_string();
                let args = [
                    "-s", "1001", "-set", "caller", &caller, "-d", &talk, &server,
                ];
                let sipp = Sipp::spawn("carrier_uac_talks.xml", &args, SIPP_LIFETIME)
                    .map_err(|e| e.to_string())?;
                sipps.insert(key, sipp);
                Ok(json!({}))
            }
            "sipp_wait" => {
                let out = sipps.remove(&key).ok_or("no such call")?.wait();
                if out.success {
                    Ok(json!({}))
                } else {
                    Err(format!("the SIPp call failed: {out}"))
                }
            }
            "kill_and_restart_agent" => {
                agent.kill();
                killed_at = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis());
                // SIPp's call is gone with the agent: stop waiting for its BYE.
                sipps.clear();
                agent = Agent::start(options().with_bridge_listen(bridge));
                agent.wait_registered(T);
                Ok(json!({ "killedAt": killed_at as u64 }))
            }
            other => Err(format!("unknown need {other:?}")),
        }
    });
    let state = console.state();
    let fail = |what: &str| -> String {
        format!(
            "{what}\nseed {seed}\nresults: {results:#?}\nconsole Tasks: {:#}\nscreen pops: {:#}\nbrowser log:\n{}\nagent log:\n{}",
            state["tasks"],
            state["screenPops"],
            script.log(),
            agent.log()
        )
    };
    if let Some(failed) = results.get("failed") {
        panic!(
            "{}",
            fail(&format!("the browser script failed: {}", failed["error"]))
        );
    }
    let tasks = state["tasks"].as_array().cloned().unwrap_or_default();
    let tasks_of = |call: &str| -> Vec<Value> {
        tasks
            .iter()
            .filter(|t| t["CallObject"] == call)
            .cloned()
            .collect()
    };

    // Many tabs: one Task per call, none twice; no call popped twice.
    let tab_calls = results["tabs"]["calls"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(tab_calls.len(), calls, "{}", fail("every call ran"));
    for c in &tab_calls {
        let id = c["callId"].as_str().unwrap_or_default();
        assert_eq!(
            tasks_of(id).len(),
            1,
            "{}",
            fail(&format!("exactly one Task for call {id}"))
        );
    }
    let pops = state["screenPops"].as_array().cloned().unwrap_or_default();
    let mut popped: HashMap<String, usize> = HashMap::new();
    for p in &pops {
        // The first search term is the caller's number as the agent saw it.
        let terms = p["searchParams"].as_str().unwrap_or_default();
        let number = terms.split(" OR ").next().unwrap_or_default();
        *popped.entry(number.to_owned()).or_default() += 1;
    }
    let twice: Vec<_> = popped.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "{}",
        fail(&format!("calls popped more than once: {twice:?}"))
    );
    let tab_pops = tab_calls
        .iter()
        .filter(|c| {
            let caller = c["caller"].as_str().unwrap_or("?");
            popped.contains_key(caller)
        })
        .count();
    println!(
        "tabs: {calls} calls, {} Tasks, {tab_pops} popped once, none twice; tab actions: {}",
        tab_calls.len(),
        results["tabs"]["actions"].as_array().map_or(0, |a| a.len())
    );

    // The page closed during the call: nothing saved while no page was open, then one Task,
    // for Ada (the record the call was popped with).
    let closed = &results["closed_page"];
    let id = closed["callId"].as_str().unwrap_or_default();
    assert_eq!(
        closed["tasksWhileClosed"],
        0,
        "{}",
        fail("no page, no Task")
    );
    let saved = tasks_of(id);
    assert_eq!(
        saved.len(),
        1,
        "{}",
        fail("one Task after the page reopened")
    );
    assert_eq!(saved[0]["WhoId"], ADA, "{}", fail("the Task names Ada"));
    let reopened = closed["reopenedAt"].as_f64().unwrap_or(0.0);
    assert!(
        saved[0]["createdAt"].as_f64().unwrap_or(0.0) >= reopened,
        "{}",
        fail("the Task was saved after the page reopened")
    );

    // The agent killed mid-call: the call is logged once, as interrupted, with its talk time
    // up to the kill.
    let killed = &results["killed"];
    let id = killed["callId"].as_str().unwrap_or_default();
    let saved = tasks_of(id);
    assert_eq!(
        saved.len(),
        1,
        "{}",
        fail("one Task for the interrupted call")
    );
    let talked = (killed_at as f64 - killed["answeredAt"].as_f64().unwrap_or(0.0)) / 1000.0;
    let logged = saved[0]["CallDurationInSeconds"].as_f64().unwrap_or(-100.0);
    println!("interrupted call: {logged} s logged, {talked:.1} s talked until the kill");
    assert!(
        (logged - talked).abs() <= 2.0,
        "{}",
        fail(&format!("duration {logged} s vs {talked:.1} s talked"))
    );
    assert!(
        saved[0]["Description"]
            .as_str()
            .unwrap_or_default()
            .contains("agent stopped during the call"),
        "{}",
        fail("the Task says the call was interrupted")
    );
    assert_eq!(
        results["done"]["pageErrors"],
        json!([]),
        "{}",
        fail("uncaught errors in the pages")
    );
}
