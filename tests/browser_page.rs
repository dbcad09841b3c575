//! Browser tests of the softphone page (issue 9, "How it is checked"): Debian's Chromium,
//! driven by playwright-core (`tests/browser/*.mjs`), runs the page the agent serves at
//! `/softphone/` inside the stand-in Salesforce console (`tests/browser/console/`), with the
//! real agent registered at a real Kamailio whose carrier trunk is a SIPp far end.
//!
//! The scripts ask this test, over a line protocol (`tests/browser/lib.mjs`), to start SIPp
//! calls at the right moments and report what they saw; the assertions are here. Screenshots
//! land in `target/browser-artifacts/` (and in `docs/screenshots/` with
//! `UPDATE_SCREENSHOTS=1`). Run: `cargo test -p softphone --test browser_page -- --nocapture`.

#[path = "common/browser.rs"]
mod browser;
mod common;

use browser::{artifacts_dir, one_task, project_root, require_playwright, Console, Script};
use common::{Agent, AgentOptions};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use testbed::{Kamailio, KamailioOptions, Sipp, SippOutcome, SippProcess};

const ADA: &str = "003000000000001AAA";
const LEAD: &str = "00Q000000000001AAA";
const CALLER: &str = "+15550102000";
/// How the Lead's `555.010.3000` leaves the agent with the dial plan below (national number,
/// no prefix: the PBX sends numbers of 7+ digits to the trunk as they are).
const LEAD_DIALLED: &str = "5550103000";
/// Inbound rings timed (INVITE to ringing, INVITE to screen pop).
const RINGS: usize = 20;
const SIPP_LIFETIME: Duration = Duration::from_secs(240);
const T: Duration = Duration::from_secs(20);

#[test]
fn the_page_in_the_console_answers_dials_survives_a_reload_and_logs_tasks() {
    testbed::require!("kamailio", "kamcmd", "sipp", "node", "chromium");
    require_playwright();

    let trunk = Sipp::spawn("trunk_uas_answer.xml", &[], SIPP_LIFETIME).unwrap();
    let kam = Kamailio::start(KamailioOptions::md5().with_trunk(trunk.addr())).unwrap();
    // The console's origin must be allowed before the agent starts, and the agent's port is
    // known only once it runs: the console starts first on a port of its own choosing, and
    // learns the adapter URL from its page's `?adapter=`.
    let console = Console::start();
    let console_port = console.port();
    let mut agent = Agent::start(
        AgentOptions::new(kam.addr(), "1001", "secret1001")
            .with_bridge(&format!(
                "allowed_origins = [\"http://localhost:{console_port}\"]"
            ))
            .with_extra(
                // Calls follow each other here; wrap-up is the tabs test's (browser_tabs.rs).
                "[dial_plan]\ninternational_prefix = \"011\"\ncountry_code = \"1\"\nnational_prefix = \"1\"\n[agent]\nwrapup_seconds = 0\n",
            ),
    );
    agent.wait_registered(T);
    kam.wait_registered("1001", T).unwrap();
    let adapter = format!("http://{}/softphone/", agent.bridge);
    let console_url = console.framing(&adapter);

    let shots = artifacts_dir();
    let mut script = Script::start(
        "console_calls.mjs",
        &[
            ("console", console_url.as_str()),
            ("adapter", adapter.as_str()),
            ("shots", &shots.display().to_string()),
            ("rings", &RINGS.to_string()),
        ],
    );
    let mut calls: HashMap<String, SippProcess> = HashMap::new();
    let mut outcomes: HashMap<String, SippOutcome> = HashMap::new();
    let results = script.run(|need| {
        let key = need["key"].as_str().unwrap_or_default().to_owned();
        match need["what"].as_str().unwrap_or_default() {
            "call" => {
                let scenario = match need["scenario"].as_str() {
                    Some("answered") => "carrier_uac_agent_hangs_up.xml",
                    Some("declined") => "carrier_uac_declined.xml",
                    other => return Err(format!("no SIPp scenario for {other:?}")),
                };
                let server = kam.addr().to_string();
                let args = ["-s", "1001", "-set", "caller", CALLER, &server];
                let sipp =
                    Sipp::spawn(scenario, &args, SIPP_LIFETIME).map_err(|e| e.to_string())?;
                calls.insert(key, sipp);
                Ok(json!({}))
            }
            "sipp_status" => {
                let sipp = calls.get_mut(&key).ok_or("no such call")?;
                let bye = sipp.messages().lines().any(|l| l.starts_with("BYE "));
                Ok(json!({ "running": sipp.is_running(), "bye": bye }))
            }
            "sipp_wait" => {
                let out = calls.remove(&key).ok_or("no such call")?.wait();
                let success = out.success;
                outcomes.insert(key, out);
                Ok(json!({ "success": success }))
            }
            "stop_agent" => {
                agent.terminate();
                Ok(json!({}))
            }
            other => Err(format!("unknown need {other:?}")),
        }
    });
    for (key, sipp) in calls.drain() {
        outcomes.insert(key, sipp.wait());
    }
    let trunk = trunk.wait();
    let state = console.state();
    let log = agent.log();
    let fail = |what: &str| -> String {
        format!(
            "{what}\nresults: {results:#?}\nconsole Tasks: {:#}\nscreen pops: {:#}\nbrowser log:\n{}",
            state["tasks"],
            state["screenPops"],
            script.log()
        )
    };
    if let Some(failed) = results.get("failed") {
        panic!(
            "{}",
            fail(&format!("the browser script failed: {}", failed["error"]))
        );
    }

    // Idle: the page is there, registered, with no banner.
    let setup = &results["setup"];
    assert_eq!(setup["state"], "idle", "{}", fail("idle state"));
    assert_eq!(
        setup["bannerVisible"],
        false,
        "{}",
        fail("no banner when the bridge is fine")
    );

    // Inbound: popped Ada, answered, hung up, one Task with the talk time.
    let inbound = &results["inbound"];
    let call_id = inbound["callId"].as_str().unwrap_or_default();
    assert!(!call_id.is_empty(), "{}", fail("inbound call id"));
    let remote_digits: String = inbound["remote"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert!(
        remote_digits.contains("5550102000"),
        "{}",
        fail("the caller's number shown")
    );
    let pops = state["screenPops"].as_array().cloned().unwrap_or_default();
    let first = pops.first().cloned().unwrap_or_default();
    assert_eq!(
        first["recordId"],
        ADA,
        "{}",
        fail("the inbound call popped Ada")
    );
    let terms: Vec<&str> = first["searchParams"]
        .as_str()
        .unwrap_or_default()
        .split(" OR ")
        .collect();
    assert!(
        terms.contains(&CALLER) && terms.contains(&"5550102000"),
        "{}",
        fail("searchParams")
    );
    assert!(
        first["callType"]
            .as_str()
            .unwrap_or_default()
            .eq_ignore_ascii_case("inbound"),
        "{}",
        fail("the pop's call type")
    );
    let task = one_task(&state, call_id).unwrap_or_else(|e| panic!("{}", fail(&e)));
    assert_eq!(task["CallType"], "Inbound", "{}", fail("inbound CallType"));
    assert_eq!(task["WhoId"], ADA, "{}", fail("inbound WhoId"));
    let talk = inbound["talkMs"].as_f64().unwrap_or(0.0) / 1000.0;
    let logged = task["CallDurationInSeconds"].as_f64().unwrap_or(-100.0);
    assert!(
        (logged - talk).abs() <= 1.0,
        "{}",
        fail(&format!(
            "CallDurationInSeconds {logged} vs {talk:.2} s talked"
        ))
    );
    let out = &outcomes["inbound"];
    assert!(out.success, "{out}");

    // Click-to-dial: the Lead's number reaches the trunk through the PBX, one Outbound Task.
    let dialled = &results["click_to_dial"];
    let call_id = dialled["callId"].as_str().unwrap_or_default();
    assert!(trunk.success, "{trunk}");
    assert!(
        trunk.logs.contains(&format!("dialled: {LEAD_DIALLED} in")),
        "the trunk got another number:\n{trunk}"
    );
    assert!(trunk.messages.contains("From: <sip:1001@"), "{trunk}");
    let task = one_task(&state, call_id).unwrap_or_else(|e| panic!("{}", fail(&e)));
    assert_eq!(
        task["CallType"],
        "Outbound",
        "{}",
        fail("outbound CallType")
    );
    assert_eq!(task["WhoId"], LEAD, "{}", fail("outbound WhoId"));
    assert!(
        pops.iter().any(|p| p["recordId"] == LEAD),
        "{}",
        fail("the clicked Lead popped")
    );

    // Reload mid-call: shown again within 2 s, the call never dropped, still one Task.
    let reload = &results["reload"];
    let call_id = reload["callId"].as_str().unwrap_or_default();
    let shown = reload["shownMs"].as_f64().unwrap_or(f64::MAX);
    println!("reload mid-call: the page showed the call again {shown:.0} ms after the reload");
    assert!(
        shown <= 2000.0,
        "{}",
        fail(&format!("shown again after {shown} ms"))
    );
    assert_eq!(
        reload["sippRunning"],
        true,
        "{}",
        fail("the call is up at SIPp")
    );
    assert_eq!(
        reload["sippSawBye"],
        false,
        "{}",
        fail("no BYE before the hang-up")
    );
    let out = &outcomes["reload"];
    assert!(out.success, "{out}");
    one_task(&state, call_id).unwrap_or_else(|e| panic!("{}", fail(&e)));

    // Rings: every one popped; the delays are measured and reported, not asserted.
    let rings = results["rings"]["rings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(rings.len(), RINGS, "{}", fail("all rings ran"));
    let timing =
        ring_timing(&rings, &outcomes, &log, &pops).unwrap_or_else(|e| panic!("{}", fail(&e)));
    timing.print();

    // The agent stopped: the page says what to check instead of showing a dead panel (the
    // agent served it, so "not running" is the one reason; the LNA case is the other test).
    let text = results["agent_stopped"]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(
        text.to_lowercase().contains("agent"),
        "{}",
        fail("the banner tells that the agent is not reachable")
    );
    let errors = &results["done"]["pageErrors"];
    assert_eq!(
        errors,
        &json!([]),
        "{}",
        fail("uncaught errors in the pages")
    );

    publish_screenshots(&shots);
}

#[test]
fn the_page_ignores_bad_bridge_input_escapes_names_and_explains_a_blocked_bridge() {
    testbed::require!("node", "chromium");
    require_playwright();
    let shots = artifacts_dir();
    let web = project_root().join("bridge/web");
    let mut script = Script::start(
        "page_faults.mjs",
        &[
            ("web", &web.display().to_string()),
            ("shots", &shots.display().to_string()),
        ],
    );
    let results = script.run(|need| Err(format!("unexpected need {need}")));
    let fail = |what: &str| {
        format!(
            "{what}\nresults: {results:#?}\nbrowser log:\n{}",
            script.log()
        )
    };
    if let Some(failed) = results.get("failed") {
        panic!(
            "{}",
            fail(&format!("the browser script failed: {}", failed["error"]))
        );
    }

    let bad = &results["bad_input"];
    assert!(
        bad["registration"]
            .as_str()
            .unwrap_or_default()
            .contains("Registered"),
        "{}",
        fail("still shows the snapshot's registration")
    );
    assert_eq!(
        bad["typed"],
        "5550103000",
        "{}",
        fail("the number field takes typing")
    );
    assert_eq!(
        bad["state"],
        "ringing",
        "{}",
        fail("a good event after bad ones still works")
    );
    assert!(
        bad["remote"]
            .as_str()
            .unwrap_or_default()
            .contains("<img src=x onerror="),
        "{}",
        fail("the display name is shown as text")
    );
    assert_eq!(
        bad["injectedImages"],
        0,
        "{}",
        fail("no <img> from the display name")
    );
    assert_eq!(
        bad["xssRan"],
        false,
        "{}",
        fail("the display name's script never ran")
    );
    assert!(
        bad["commands"].as_array().is_some_and(|c| c
            .iter()
            .any(|c| c.as_str().is_some_and(|c| c.ends_with("/answer")))),
        "{}",
        fail("Answer still reaches the bridge")
    );
    assert_eq!(
        bad["pageErrors"],
        json!([]),
        "{}",
        fail("bad input caused uncaught errors")
    );

    let blocked = &results["blocked"];
    assert_eq!(blocked["visible"], true, "{}", fail("the banner shows"));
    assert!(
        blocked["text"]
            .as_str()
            .unwrap_or_default()
            .contains("LocalNetworkAccessAllowedForUrls"),
        "{}",
        fail("the banner names the policy")
    );
}

/// With `UPDATE_SCREENSHOTS=1`, copies the page's screenshots to `docs/screenshots/`.
fn publish_screenshots(shots: &Path) {
    if std::env::var("UPDATE_SCREENSHOTS").as_deref() != Ok("1") {
        return;
    }
    let docs = project_root().join("docs/screenshots");
    std::fs::create_dir_all(&docs).expect("create docs/screenshots");
    for name in [
        "idle",
        "ringing",
        "in-call",
        "after-call",
        "blocked",
        "blocked-lna",
    ] {
        let file = format!("{name}.png");
        std::fs::copy(shots.join(&file), docs.join(&file))
            .unwrap_or_else(|e| panic!("copy {file} to docs/screenshots: {e}"));
    }
    println!("screenshots copied to {}", docs.display());
}

/// Delays of each ring, ms: INVITE at the agent → page ringing, → console screen pop.
struct RingTiming {
    to_ringing: Vec<f64>,
    to_pop: Vec<f64>,
}

impl RingTiming {
    fn print(&self) {
        let line = |name: &str, v: &[f64]| {
            println!(
                "{name}: p50 {:.1} ms, p95 {:.1} ms, min {:.1}, max {:.1} (n={})",
                percentile(v, 0.50),
                percentile(v, 0.95),
                v.iter().cloned().fold(f64::MAX, f64::min),
                v.iter().cloned().fold(f64::MIN, f64::max),
                v.len()
            )
        };
        line(
            "INVITE at the agent -> page data-state=ringing",
            &self.to_ringing,
        );
        line(
            "INVITE at the agent -> console searchAndScreenPop",
            &self.to_pop,
        );
    }
}

fn ring_timing(
    rings: &[Value],
    outcomes: &HashMap<String, SippOutcome>,
    agent_log: &str,
    pops: &[Value],
) -> Result<RingTiming, String> {
    let invites = invite_times(agent_log);
    let mut timing = RingTiming {
        to_ringing: Vec::new(),
        to_pop: Vec::new(),
    };
    let mut starts = Vec::new();
    for ring in rings {
        let key = ring["key"].as_str().unwrap_or_default();
        let out = outcomes
            .get(key)
            .ok_or(format!("no SIPp outcome for {key}"))?;
        if !out.success {
            return Err(format!("{key}: SIPp failed:\n{out}"));
        }
        let call_id =
            header_of_first(&out.messages, "Call-ID").ok_or(format!("{key}: no Call-ID"))?;
        let invite = *invites.get(&call_id).ok_or(format!(
            "{key}: the agent's log has no INVITE with Call-ID {call_id}"
        ))?;
        let ringing = ring["ringingAt"]
            .as_f64()
            .ok_or(format!("{key}: no ringing time"))?;
        timing.to_ringing.push(ringing - invite);
        starts.push(invite);
    }
    for (i, start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(f64::MAX);
        let pop = pops
            .iter()
            .filter(|p| {
                p["callType"]
                    .as_str()
                    .is_some_and(|t| t.eq_ignore_ascii_case("inbound"))
            })
            .filter_map(|p| p["at"].as_f64())
            .find(|at| at >= start && *at < end)
            .ok_or(format!("ring {}: no screen pop after its INVITE", i + 1))?;
        timing.to_pop.push(pop - start);
    }
    for (i, (r, p)) in timing.to_ringing.iter().zip(&timing.to_pop).enumerate() {
        println!(
            "ring {:2}: INVITE -> ringing {r:6.1} ms, -> screen pop {p:6.1} ms",
            i + 1
        );
    }
    Ok(timing)
}

/// Nearest-rank percentile.
fn percentile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// The value of `name` in the first SIP message of a SIPp trace that has it.
fn header_of_first(messages: &str, name: &str) -> Option<String> {
    let prefix = format!("{name}:");
    messages
        .lines()
        .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_owned()))
}

/// When each INVITE (by Call-ID) first reached the agent: the wall-clock timestamp of the
/// SIP trace's `recv` line, in ms since the epoch (the clock the page and console use too).
fn invite_times(log: &str) -> HashMap<String, f64> {
    let mut times = HashMap::new();
    let mut current: Option<(f64, bool)> = None; // (time, is an INVITE)
    for raw in log.lines() {
        let line = strip_ansi(raw);
        if let Some(t) = line.split_whitespace().next().and_then(parse_rfc3339_ms) {
            current = line
                .contains("sip_trace")
                .then_some((t, false))
                .filter(|_| line.contains(" recv "));
            continue;
        }
        let Some((t, invite)) = current.as_mut() else {
            continue;
        };
        if line.starts_with("INVITE ") {
            *invite = true;
        } else if *invite {
            if let Some(id) = line.strip_prefix("Call-ID:") {
                times.entry(id.trim().to_owned()).or_insert(*t);
            }
        }
    }
    times
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `2026-01-31T09:15:02.123456Z` → ms since the Unix epoch.
fn parse_rfc3339_ms(s: &str) -> Option<f64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':');
    let (h, min) = (
        t.next()?.parse::<i64>().ok()?,
        t.next()?.parse::<i64>().ok()?,
    );
    let sec: f64 = t.next()?.parse().ok()?;
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + h * 3600 + min * 60) as f64 + sec) * 1000.0)
}
