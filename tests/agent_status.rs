//! Agent status end to end: the real agent set away or on Do Not Disturb over the bridge turns
//! SIPp's calls away (486, 480 as configured, or 302 to `[agent] forward_to`), records them as
//! ended calls the page never rings for, holds after-call work after an answered call until
//! `[agent] wrapup_seconds` ran out, and keeps the chosen status across a restart.
//!
//! Most tests have SIPp call the agent directly, its registrar a port nobody listens on
//! (registration fails, calls still work), so "the PBX" a forwarded call is sent to is that
//! address; the last ones go through Kamailio, where the agent is registered.

mod common;

use common::{http_get, Agent, AgentOptions, EventStream};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use testbed::{Kamailio, KamailioOptions, Sipp, SippProcess};

const SIPP_TIMEOUT: Duration = Duration::from_secs(20);
const SHORT: Duration = Duration::from_secs(5);
const LONG: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);

/// A UDP port on 127.0.0.1 with nobody behind it.
fn nowhere() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], testbed::free_port().expect("a free port")))
}

/// An agent that answers calls by itself, with `agent` as its `[agent]` section.
fn options(agent: &str) -> AgentOptions {
    AgentOptions::new(nowhere(), "1001", "secret1001").with_extra(&format!(
        "[calls]\nauto_answer = true\n[audio]\ninput = \"tone:440\"\n[agent]\n{agent}\n"
    ))
}

fn sipp_calls(scenario: &str, agent: &Agent) -> SippProcess {
    Sipp::spawn(scenario, &[&agent.sip_addr().to_string()], SIPP_TIMEOUT)
        .unwrap_or_else(|e| panic!("start SIPp {scenario}: {e}"))
}

/// SIPp's scenario ran to its end with every check passing.
fn assert_sipp_passed(sipp: SippProcess, agent: &Agent) {
    let out = sipp.wait();
    assert!(out.success, "{out}\n---- agent log ----\n{}", agent.log());
}

/// `POST /api/v1/agent/status`, expecting success.
fn choose(agent: &Agent, state: &str) {
    let (code, body) = agent.post(
        "/api/v1/agent/status",
        &serde_json::json!({ "state": state }).to_string(),
    );
    assert_eq!(code, 200, "{state}: {body}\nagent log:\n{}", agent.log());
    assert_eq!(body, serde_json::json!({"ok": true}));
}

/// Reads events until the turned-away call's `call` event; asserts no `incoming` came
/// before it (nothing rang or popped) and returns its view.
fn turned_away_call(events: &mut EventStream) -> Value {
    let seen = events.until(LONG, |e| {
        e["event"] == "call" && e["call"]["state"] == "ended"
    });
    assert!(
        !seen.iter().any(|e| e["event"] == "incoming"),
        "a turned-away call never rings: {seen:#?}"
    );
    seen.last().expect("the call event")["call"].clone()
}

#[test]
fn on_dnd_a_call_is_rejected_486_and_recorded_without_ringing() {
    testbed::require!("sipp");
    let agent = Agent::start(options(""));
    let status = agent.status()["agent"].clone();
    assert_eq!(status["state"], "available", "{status}");
    assert_eq!(status["chosen"], "available", "{status}");
    assert_eq!(status["dispositions"][0], "Resolved", "{status}");

    let mut events = agent.events("");
    choose(&agent, "dnd");
    let seen = events.until(SHORT, |e| e["event"] == "agent_status");
    let announced = &seen.last().expect("the event")["agent"];
    assert_eq!(announced["state"], "dnd", "{announced}");
    assert_eq!(agent.status()["agent"]["chosen"], "dnd");

    let (code, err) = agent.post("/api/v1/agent/status", r#"{"state": "on_call"}"#);
    assert_eq!((code, &err["error"]["code"]), (400, &"bad_request".into()));

    let sipp = sipp_calls("call_uac_unavailable_486.xml", &agent);
    let call = turned_away_call(&mut events);
    assert_sipp_passed(sipp, &agent);
    assert_eq!(call["direction"], "inbound", "{call}");
    assert_eq!(call["remote"]["number"], "+4930123456", "{call}");
    let reason = &call["end_reason"];
    assert_eq!(reason["code"], "unavailable_rejected", "{reason}");
    assert_eq!(reason["sip_status"], 486, "{reason}");
    assert_eq!(
        reason["message"], "rejected: the agent is on Do Not Disturb",
        "{reason}"
    );
    assert_eq!(agent.status()["agent"]["state"], "dnd", "never on a call");

    // Recorded like any call (the store writes on its own thread: wait for it).
    let id = call["id"].clone();
    let mut last = Value::Null;
    let found = testbed::wait_until("the call in the history", SHORT, POLL, || {
        let (code, body) = http_get(agent.bridge, "/api/v1/history").expect("bridge answers");
        assert_eq!(code, 200, "{body}");
        last = serde_json::from_str(&body).expect("JSON");
        let newest = &last["calls"][0];
        Ok::<_, testbed::TimedOut>((newest["id"] == id).then(|| newest.clone()))
    });
    let entry = found.unwrap_or_else(|e| panic!("{e}: {last}"));
    assert_eq!(
        entry["end_reason"]["code"], "unavailable_rejected",
        "{entry}"
    );
    assert_eq!(entry["duration_s"], 0, "{entry}");
    assert_eq!(entry["log_state"], "pending", "{entry}");
}

#[test]
fn away_with_480_configured_rejects_480() {
    testbed::require!("sipp");
    let agent = Agent::start(options("unavailable_response = 480"));
    let mut events = agent.events("");
    choose(&agent, "away");
    let sipp = sipp_calls("call_uac_unavailable_480.xml", &agent);
    let call = turned_away_call(&mut events);
    assert_sipp_passed(sipp, &agent);
    assert_eq!(call["end_reason"]["sip_status"], 480, "{call}");
    assert_eq!(
        call["end_reason"]["message"], "rejected: the agent is away",
        "{call}"
    );
}

#[test]
fn with_forward_to_a_call_is_redirected_302_to_the_target() {
    testbed::require!("sipp");
    let agent = Agent::start(options("forward_to = \"2000\""));
    let mut events = agent.events("");
    choose(&agent, "dnd");
    // SIPp checks the Contact names sip:2000@ at the PBX.
    let sipp = sipp_calls("call_uac_forwarded_302.xml", &agent);
    let call = turned_away_call(&mut events);
    assert_sipp_passed(sipp, &agent);
    let reason = &call["end_reason"];
    assert_eq!(reason["code"], "forwarded", "{reason}");
    assert_eq!(reason["sip_status"], 302, "{reason}");
    assert_eq!(
        reason["message"], "forwarded to 2000: the agent is on Do Not Disturb",
        "{reason}"
    );
}

/// The agent states announced in `events` (`agent_status`), in order.
fn agent_states(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == "agent_status")
        .map(|e| e["agent"]["state"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// SIPp calls, the agent answers by itself, SIPp hangs up: the call's id, and the events
/// read until the agent announced after-call work.
fn answered_call_then_wrapup(agent: &Agent, events: &mut EventStream) -> (Value, Vec<Value>) {
    let sipp = sipp_calls("call_uac_answer_bye.xml", agent);
    let seen = events.until(LONG, |e| {
        e["event"] == "agent_status" && e["agent"]["state"] == "after_call_work"
    });
    assert_sipp_passed(sipp, agent);
    let id = seen
        .iter()
        .find(|e| e["event"] == "incoming")
        .expect("the call rang")["call"]["id"]
        .clone();
    (id, seen)
}

#[test]
fn during_wrapup_calls_are_rejected_until_the_agent_chooses_available() {
    testbed::require!("sipp");
    // Long enough that only choosing available can end it during the test.
    let agent = Agent::start(options("wrapup_seconds = 600"));
    let mut events = agent.events("");
    let (id, seen) = answered_call_then_wrapup(&agent, &mut events);
    assert_eq!(agent_states(&seen), ["on_call", "after_call_work"]);
    let wrapup = agent.status()["agent"].clone();
    assert_eq!(wrapup["state"], "after_call_work", "{wrapup}");
    assert_eq!(wrapup["wrapup_call_id"], id, "{wrapup}");
    assert!(wrapup["wrapup_ends_at"].is_string(), "{wrapup}");
    assert_eq!(wrapup["chosen"], "available", "{wrapup}");

    let sipp = sipp_calls("call_uac_unavailable_486.xml", &agent);
    let call = turned_away_call(&mut events);
    assert_sipp_passed(sipp, &agent);
    assert_eq!(
        call["end_reason"]["message"], "rejected: the agent is in after-call work",
        "{call}"
    );

    choose(&agent, "available");
    let after = agent.status()["agent"].clone();
    assert_eq!(after["state"], "available", "ended at once: {after}");
    assert_eq!(after["wrapup_ends_at"], Value::Null, "{after}");
    let sipp = sipp_calls("call_uac_answer_bye.xml", &agent);
    events.until(LONG, |e| e["event"] == "incoming");
    assert_sipp_passed(sipp, &agent);
}

#[test]
fn wrapup_ends_by_itself_after_wrapup_seconds_and_calls_ring_again() {
    testbed::require!("sipp");
    let agent = Agent::start(options("wrapup_seconds = 2"));
    let mut events = agent.events("");
    answered_call_then_wrapup(&agent, &mut events);
    // No input reaches the agent meanwhile: its own deadline ends the wrap-up.
    let seen = events.until(LONG, |e| e["event"] == "agent_status");
    let ended = &seen.last().expect("the event")["agent"];
    assert_eq!(ended["state"], "available", "{ended}");
    assert_eq!(ended["wrapup_call_id"], Value::Null, "{ended}");
    let sipp = sipp_calls("call_uac_answer_bye.xml", &agent);
    events.until(LONG, |e| e["event"] == "incoming");
    assert_sipp_passed(sipp, &agent);
}

#[test]
fn the_chosen_status_survives_a_restart() {
    let mut agent = Agent::start(options(""));
    choose(&agent, "away");
    assert_eq!(agent.status()["agent"]["state"], "away");
    assert!(agent.terminate().success(), "a clean stop: {}", agent.log());

    let restarted = Agent::start(options("").with_data_dir(agent.data_dir()));
    let status = restarted.status()["agent"].clone();
    assert_eq!(status["state"], "away", "{status}");
    assert_eq!(status["chosen"], "away", "{status}");
}

/// An agent registered at Kamailio (our PBX) with `agent` as its `[agent]` section.
fn registered_at(kam: &Kamailio, agent: &str) -> Agent {
    let agent = Agent::start(
        AgentOptions::new(kam.addr(), "1001", "secret1001").with_extra(&format!(
            "[audio]\ninput = \"tone:440\"\n[agent]\n{agent}\n"
        )),
    );
    agent.wait_registered(LONG);
    kam.wait_registered("1001", LONG).unwrap();
    agent
}

/// SIPp calls 1001 at the PBX with `scenario`.
fn sipp_calls_through(kam: &Kamailio, scenario: &str) -> SippProcess {
    Sipp::spawn(scenario, &[&kam.addr().to_string()], SIPP_TIMEOUT)
        .unwrap_or_else(|e| panic!("start SIPp {scenario}: {e}"))
}

#[test]
fn through_the_pbx_a_dnd_agent_rejects_486() {
    testbed::require!("kamailio", "kamcmd", "sipp");
    let kam = Kamailio::start(KamailioOptions::md5()).unwrap();
    let agent = registered_at(&kam, "");
    let mut events = agent.events("");
    choose(&agent, "dnd");
    let sipp = sipp_calls_through(&kam, "call_uac_unavailable_486.xml");
    let call = turned_away_call(&mut events);
    let out = sipp.wait();
    assert!(out.success, "{out}\n---- agent log ----\n{}", agent.log());
    assert_eq!(call["end_reason"]["code"], "unavailable_rejected", "{call}");
    assert_eq!(call["remote"]["number"], "+4930123456", "{call}");
}

#[test]
fn through_the_pbx_a_forwarded_call_is_sent_to_the_target_at_the_pbx() {
    testbed::require!("kamailio", "kamcmd", "sipp");
    let kam = Kamailio::start(KamailioOptions::md5()).unwrap();
    let agent = registered_at(&kam, "forward_to = \"2000\"");
    let mut events = agent.events("");
    choose(&agent, "away");
    let sipp = sipp_calls_through(&kam, "call_uac_forwarded_302.xml");
    let call = turned_away_call(&mut events);
    let out = sipp.wait();
    assert!(out.success, "{out}\n---- agent log ----\n{}", agent.log());
    // The PBX relays the agent's 302 to the caller: its Contact is the target at the PBX.
    let contact = format!("Contact: <sip:2000@{}>", kam.addr());
    assert!(
        out.messages.contains(&contact),
        "{contact} not in what SIPp received:\n{}",
        out.messages
    );
    assert_eq!(call["end_reason"]["code"], "forwarded", "{call}");
    assert_eq!(
        call["end_reason"]["message"], "forwarded to 2000: the agent is away",
        "{call}"
    );
}
