//! Calls against SIPp, QA's SIP traffic tool: each test runs one real SIPp scenario
//! (`tests/sipp/call_*.xml`, each with a header saying what it checks) against the real agent
//! binary, drives the agent over the bridge and checks both sides: SIPp's exit code (0 = every
//! expected message arrived and every `<ereg check_it>` matched) and the agent's status and
//! WebSocket events.
//!
//! When SIPp calls the agent, the agent's `[sip] server` is a port nobody listens on
//! (registration fails, calls still work). When the agent calls SIPp, `server` is SIPp
//! itself: the UAS scenarios answer the agent's REGISTER with 200 (a second SIPp "call", so
//! they run with `-m 2`) and then play the called party.

mod common;

use common::{Agent, AgentOptions, EventStream};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use testbed::{Sipp, SippOutcome, SippProcess};

/// SIPp's own `-timeout`: every scenario here ends well within it.
const SIPP_TIMEOUT: Duration = Duration::from_secs(20);
const SHORT: Duration = Duration::from_secs(5);
const LONG: Duration = Duration::from_secs(10);

const TONE: &str = "[audio]\ninput = \"tone:440\"\n";

/// A UDP port on 127.0.0.1 with nobody behind it.
fn nowhere() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], testbed::free_port().expect("a free port")))
}

/// An agent that SIPp calls (its registrar does not exist).
fn callee(auto_answer: bool) -> Agent {
    let extra = format!("[calls]\nauto_answer = {auto_answer}\n{TONE}");
    Agent::start(AgentOptions::new(nowhere(), "1001", "secret1001").with_extra(&extra))
}

/// An agent whose server (registrar and outbound proxy) is the SIPp UAS.
fn caller_via(sipp: &SippProcess) -> Agent {
    Agent::start(AgentOptions::new(sipp.addr(), "1001", "secret1001").with_extra(TONE))
}

/// SIPp as the caller, sending to the agent's SIP address.
fn sipp_calls(scenario: &str, agent: &Agent) -> SippProcess {
    Sipp::spawn(scenario, &[&agent.sip_addr().to_string()], SIPP_TIMEOUT)
        .unwrap_or_else(|e| panic!("start SIPp {scenario}: {e}"))
}

/// SIPp as the called party (and the agent's registrar): two "calls", REGISTER and INVITE.
fn sipp_answers(scenario: &str) -> SippProcess {
    Sipp::spawn(scenario, &["-m", "2"], SIPP_TIMEOUT)
        .unwrap_or_else(|e| panic!("start SIPp {scenario}: {e}"))
}

/// SIPp's verdict, with both sides' traces when it failed.
fn assert_sipp_ok(out: &SippOutcome, agent: &Agent) {
    assert!(out.success, "{out}\n---- agent log ----\n{}", agent.log());
}

/// Waits for the `incoming` event; returns its call view.
fn incoming(events: &mut EventStream) -> Value {
    let seen = events.until(LONG, |e| e["event"] == "incoming");
    seen.last().expect("the incoming event")["call"].clone()
}

fn id_of(call: &Value) -> String {
    call["id"].as_str().expect("a call id").to_owned()
}

/// The call's end reason once ended.
fn ended(agent: &Agent, id: &str) -> Value {
    agent.wait_call_state(id, "ended", SHORT)["end_reason"].clone()
}

/// Waits for call `id` to end; asserts it ended for `code`.
fn assert_ended(agent: &Agent, id: &str, code: &str) {
    let reason = ended(agent, id);
    assert_eq!(reason["code"], code, "{reason}");
}

/// SIPp's scenario (run to its end) passed.
fn assert_sipp_passed(sipp: SippProcess, agent: &Agent) {
    let out = sipp.wait();
    assert_sipp_ok(&out, agent);
}

/// A call from SIPp to a fresh agent, as far as the agent's `incoming` event. Bind the
/// agent, events and SIPp when taking it apart: a field left in it is dropped at once.
struct FromSipp {
    agent: Agent,
    events: EventStream,
    sipp: SippProcess,
    /// The call as the `incoming` event showed it.
    call: Value,
    id: String,
}

/// Starts an agent (answering by itself or not), SIPp calling it with `scenario`, and waits
/// for the call to come in.
fn sipp_calls_in(scenario: &str, auto_answer: bool) -> FromSipp {
    let agent = callee(auto_answer);
    let mut events = agent.events("");
    let sipp = sipp_calls(scenario, &agent);
    let call = incoming(&mut events);
    let id = id_of(&call);
    FromSipp {
        agent,
        events,
        sipp,
        call,
        id,
    }
}

impl FromSipp {
    /// SIPp's scenario passes and ends the call with its BYE; the agent, for more checks.
    fn sipp_hangs_up(self) -> Agent {
        assert_sipp_passed(self.sipp, &self.agent);
        assert_ended(&self.agent, &self.id, "hangup_remote");
        self.agent
    }
}

/// Lets the ACK of the last INVITE reach its side before the next request in the dialog
/// (a BYE, INFO or re-INVITE is then a plain in-dialog request).
fn after_the_ack() {
    std::thread::sleep(Duration::from_millis(300));
}

#[test]
fn sipp_calls_and_hangs_up_answered_over_the_bridge() {
    testbed::require!("sipp");
    let FromSipp {
        agent,
        events: _events,
        sipp,
        call,
        id,
    } = sipp_calls_in("call_uac_answer_bye.xml", false);
    assert_eq!(call["direction"], "inbound", "{call}");
    assert_eq!(call["state"], "ringing", "{call}");
    assert_eq!(call["remote"]["number"], "+4930123456", "{call}");
    assert_eq!(call["remote"]["display_name"], "QA Caller", "{call}");
    let view = agent.wait_call_state(&id, "ringing", SHORT);
    assert_eq!(view["direction"], "inbound", "{view}");
    assert_eq!(view["remote"]["number"], "+4930123456", "{view}");
    assert!(view["answered_at"].is_null(), "{view}");

    agent.call_command(&id, "answer", "{}");
    let view = agent.wait_call_state(&id, "connected", SHORT);
    assert!(view["answered_at"].is_string(), "{view}");

    assert_sipp_passed(sipp, &agent);
    assert_ended(&agent, &id, "hangup_remote");
}

#[test]
fn sipp_calls_and_hangs_up_auto_answered() {
    testbed::require!("sipp");
    let call = sipp_calls_in("call_uac_answer_bye.xml", true);
    assert_eq!(
        call.call["remote"]["number"], "+4930123456",
        "{}",
        call.call
    );
    call.agent.wait_call_state(&call.id, "connected", SHORT);
    call.sipp_hangs_up();
}

/// The `call` events of call `id` (and its `incoming`), in the order they came.
fn call_events<'a>(events: &'a [Value], id: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| (e["event"] == "call" || e["event"] == "incoming") && e["call"]["id"] == id)
        .collect()
}

/// Asserts every event's `seq` is one more than the previous one's.
fn assert_consecutive(events: &[Value]) {
    let seqs: Vec<u64> = events.iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert_eq!(
        seqs.len(),
        events.len(),
        "every event has a seq: {events:#?}"
    );
    for pair in seqs.windows(2) {
        assert_eq!(pair[1], pair[0] + 1, "seq not consecutive: {seqs:?}");
    }
}

#[test]
fn sipp_answers_the_agents_call_and_the_agent_hangs_up() {
    testbed::require!("sipp");
    let sipp = sipp_answers("call_uas_answer.xml");
    let agent = caller_via(&sipp);
    let mut events = agent.events("");

    let id = agent.dial("1002");
    // The status may lag the 201 by a moment (it is published after the reply).
    let view = agent.wait_call_state(&id, "dialing", SHORT);
    assert_eq!(view["direction"], "outbound", "{view}");
    assert_eq!(view["remote"]["number"], "1002", "{view}");
    agent.wait_call_state(&id, "ringing", SHORT);
    let view = agent.wait_call_state(&id, "connected", SHORT);
    assert!(view["answered_at"].is_string(), "{view}");

    agent.call_command(&id, "hangup", "{}");
    assert_ended(&agent, &id, "hangup_local");
    assert_sipp_passed(sipp, &agent);

    let seen = events.until(SHORT, |e| {
        e["event"] == "call" && e["call"]["id"] == id && e["call"]["state"] == "ended"
    });
    assert_eq!(seen[0]["event"], "snapshot", "{seen:#?}");
    assert_consecutive(&seen);
    let mut states: Vec<&str> = call_events(&seen, &id)
        .iter()
        .filter_map(|e| e["call"]["state"].as_str())
        .collect();
    states.dedup();
    assert_eq!(
        states,
        ["dialing", "ringing", "connected", "ended"],
        "{seen:#?}"
    );
}

#[test]
fn sipp_cancels_while_the_agent_rings() {
    testbed::require!("sipp");
    let call = sipp_calls_in("call_uac_cancel.xml", false);
    let (agent, id) = (&call.agent, call.id.as_str());
    let reason = agent.wait_call_state(id, "ended", LONG)["end_reason"].clone();
    assert_eq!(reason["code"], "cancelled", "{reason}");
    assert!(
        reason["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{reason}"
    );
    assert_sipp_passed(call.sipp, agent);
    let view = agent.call(id).expect("the ended call is still listed");
    assert!(view["answered_at"].is_null(), "{view}");
}

#[test]
fn the_agent_hangs_up_a_call_from_sipp() {
    testbed::require!("sipp");
    let call = sipp_calls_in("call_uac_agent_hangs_up.xml", true);
    let (agent, id) = (&call.agent, call.id.as_str());
    agent.wait_call_state(id, "connected", SHORT);
    after_the_ack();
    agent.call_command(id, "hangup", "{}");
    assert_ended(agent, id, "hangup_local");
    assert_sipp_passed(call.sipp, agent);
}

#[test]
fn sipp_is_busy() {
    testbed::require!("sipp");
    let sipp = sipp_answers("call_uas_busy.xml");
    let agent = caller_via(&sipp);

    let id = agent.dial("1002");
    let reason = agent.wait_call_state(&id, "ended", LONG)["end_reason"].clone();
    assert_eq!(reason["code"], "busy", "{reason}");
    assert_eq!(reason["sip_status"], 486, "{reason}");
    let message = reason["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("busy"),
        "a message a person reads: {reason}"
    );
    assert!(!message.contains("SIP/2.0"), "{reason}");
    assert_sipp_passed(sipp, &agent);
}

#[test]
fn sipp_holds_and_resumes_the_agent_by_reinvite() {
    testbed::require!("sipp");
    // SIPp checks the SIP side: a=recvonly answers its a=sendonly, a=sendrecv its resume.
    let call = sipp_calls_in("call_uac_remote_hold.xml", true);
    call.agent.wait_call_state(&call.id, "connected", SHORT);
    call.sipp_hangs_up();
}

/// Whether call `id` is listed with `on_hold_by_remote == held` and state connected.
fn held_by_remote(status: &Value, id: &str, held: bool) -> bool {
    status["calls"].as_array().is_some_and(|calls| {
        calls
            .iter()
            .any(|c| c["id"] == id && c["on_hold_by_remote"] == held && c["state"] == "connected")
    })
}

#[test]
fn sipp_hold_by_reinvite_shows_on_hold_by_remote() {
    testbed::require!("sipp");
    let FromSipp {
        agent,
        mut events,
        sipp,
        call: _,
        id,
    } = sipp_calls_in("call_uac_remote_hold.xml", true);
    let view = agent.wait_call_state(&id, "connected", SHORT);
    assert_eq!(view["on_hold_by_remote"], false, "{view}");
    // Held BY the far end: our own state stays connected.
    agent.wait_status(LONG, "on_hold_by_remote: true", |s| {
        held_by_remote(s, &id, true)
    });
    agent.wait_status(LONG, "on_hold_by_remote: false again", |s| {
        held_by_remote(s, &id, false)
    });

    assert_sipp_passed(sipp, &agent);
    let seen = events.until(SHORT, |e| {
        e["event"] == "call" && e["call"]["state"] == "ended"
    });
    let mut holds: Vec<bool> = call_events(&seen, &id)
        .iter()
        .filter_map(|e| e["call"]["on_hold_by_remote"].as_bool())
        .collect();
    holds.dedup();
    assert_eq!(
        holds,
        [false, true, false],
        "the page hears of the hold and the resume: {seen:#?}"
    );
}

#[test]
fn sipp_requires_100rel() {
    testbed::require!("sipp");
    let call = sipp_calls_in("call_uac_100rel.xml", false);
    call.agent.wait_call_state(&call.id, "ringing", SHORT);
    // Give the PRACK time to arrive before the answer (SIPp sends it on the 180 at once).
    std::thread::sleep(Duration::from_millis(500));
    call.agent.call_command(&call.id, "answer", "{}");
    call.agent.wait_call_state(&call.id, "connected", SHORT);
    call.sipp_hangs_up();
}

#[test]
fn sipp_asks_for_a_session_timer_and_refreshes_it() {
    testbed::require!("sipp");
    sipp_calls_in("call_uac_session_timer.xml", true).sipp_hangs_up();
}

#[test]
fn sipp_session_interval_below_min_se_gets_422() {
    testbed::require!("sipp");
    let agent = callee(true);
    let sipp = sipp_calls("call_uac_session_too_small.xml", &agent);

    assert_sipp_passed(sipp, &agent);
    let calls = agent.status()["calls"].clone();
    assert_eq!(calls, serde_json::json!([]), "a refused INVITE is no call");
}

#[test]
fn sipp_is_transferred_by_refer_and_reports_by_notify() {
    testbed::require!("sipp");
    let sipp = sipp_answers("call_uas_refer.xml");
    let agent = caller_via(&sipp);
    let mut events = agent.events("");

    let id = agent.dial("1002");
    agent.wait_call_state(&id, "connected", LONG);
    agent.call_command(&id, "transfer", r#"{"to": "1003"}"#);

    let reason = agent.wait_call_state(&id, "ended", LONG)["end_reason"].clone();
    assert_eq!(reason["code"], "transferred", "{reason}");
    assert_sipp_passed(sipp, &agent);

    let seen = events.until(SHORT, |e| {
        e["event"] == "call" && e["call"]["id"] == id && e["call"]["state"] == "ended"
    });
    assert_consecutive(&seen);
    let transfers: Vec<&Value> = seen.iter().filter(|e| e["event"] == "transfer").collect();
    assert!(
        transfers.iter().all(|e| e["call_id"] == id),
        "{transfers:#?}"
    );
    let mut states: Vec<&str> = transfers
        .iter()
        .filter_map(|e| e["state"].as_str())
        .collect();
    states.dedup();
    assert_eq!(states, ["trying", "succeeded"], "{seen:#?}");
    let last = transfers.last().expect("a transfer event");
    assert_eq!(last["sip_status"], 200, "{last}");
    // The call ends after the transfer succeeded.
    let succeeded = seen
        .iter()
        .position(|e| e["event"] == "transfer" && e["state"] == "succeeded");
    let ended_at = seen.len() - 1;
    assert!(succeeded.is_some_and(|i| i < ended_at), "{seen:#?}");
}

/// `POST path` expecting an error with `status` and `code`.
fn assert_refused(agent: &Agent, path: &str, body: &str, status: u16, code: &str) {
    let (got, answer) = agent.post(path, body);
    assert_eq!(
        (got, answer["error"]["code"].as_str()),
        (status, Some(code)),
        "POST {path} {body}: {answer}"
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "POST {path} {body}: {answer}"
    );
}

#[test]
fn refused_bridge_commands_leave_a_live_call_alone_and_dtmf_reaches_sipp_as_info() {
    testbed::require!("sipp");
    let call = sipp_calls_in("call_uac_dtmf_info.xml", false);
    let (agent, id) = (&call.agent, call.id.as_str());
    let before = agent.wait_call_state(id, "ringing", SHORT);
    let path = |action: &str| format!("/api/v1/calls/{id}/{action}");
    assert_refused(agent, &path("hold"), "", 409, "invalid_state");
    assert_refused(agent, &path("resume"), "", 409, "invalid_state");
    assert_refused(
        agent,
        &path("dtmf"),
        r#"{"digits": "1"}"#,
        409,
        "invalid_state",
    );
    assert_refused(
        agent,
        &path("transfer"),
        r#"{"to": "1003"}"#,
        409,
        "invalid_state",
    );
    assert_refused(agent, &path("dtmf"), "{not json", 400, "malformed_json");
    assert_refused(
        agent,
        &path("dtmf"),
        r#"{"digits": 12}"#,
        400,
        "malformed_json",
    );
    assert_refused(
        agent,
        &path("dtmf"),
        r#"{"digits": "1", "x": 1}"#,
        400,
        "malformed_json",
    );
    assert_refused(
        agent,
        &path("dtmf"),
        r#"{"digits": "12x"}"#,
        400,
        "bad_request",
    );
    assert_refused(
        agent,
        &path("transfer"),
        r#"{"to": "1003", "replaces": "c9"}"#,
        400,
        "bad_request",
    );
    assert_refused(agent, "/api/v1/calls/c999/hangup", "", 404, "unknown_call");
    assert_refused(agent, "/api/v1/calls/c999/answer", "", 404, "unknown_call");
    assert_refused(agent, "/api/v1/calls", r#"{"to": ""}"#, 400, "bad_request");
    let after = agent.call(id).expect("the call is still listed");
    assert_eq!(after, before, "refused commands changed the call");

    agent.call_command(id, "answer", "{}");
    agent.wait_call_state(id, "connected", SHORT);
    assert_refused(agent, &path("answer"), "", 409, "invalid_state");
    assert_refused(agent, &path("reject"), "", 409, "invalid_state");
    assert_refused(agent, &path("resume"), "", 409, "invalid_state");
    // DTMF is sent in the confirmed dialog.
    after_the_ack();
    agent.call_command(id, "dtmf", r#"{"digits": "12#"}"#);

    let hangup = path("hangup");
    let agent = call.sipp_hangs_up();
    assert_refused(&agent, &hangup, "", 409, "invalid_state");
}

#[test]
fn rfc4733_digits_from_sipp_reach_the_page_as_dtmf_events() {
    testbed::require!("sipp");
    let mut call = sipp_calls_in("call_uac_dtmf_rfc4733.xml", true);

    let mut digits = String::new();
    for _ in 0..3 {
        let seen = call.events.until(LONG, |e| {
            e["event"] == "dtmf" && e["call_id"] == call.id.as_str()
        });
        let last = seen.last().expect("a dtmf event");
        digits.push_str(last["digits"].as_str().unwrap_or("?"));
    }
    assert_eq!(digits, "123", "RFC 4733 digits seen by the page");
    call.sipp_hangs_up();
}

#[test]
fn refused_dtmf_info_is_reported_to_the_page_and_the_call_goes_on() {
    testbed::require!("sipp");
    let mut call = sipp_calls_in("call_uac_dtmf_info_refused.xml", true);
    let (agent, id) = (&call.agent, call.id.as_str());
    agent.wait_call_state(id, "connected", SHORT);
    // DTMF is sent in the confirmed dialog.
    after_the_ack();
    agent.call_command(id, "dtmf", r#"{"digits": "12"}"#);

    let seen = call.events.until(LONG, |e| e["event"] == "dtmf_failed");
    let failed = seen.last().expect("dtmf_failed");
    assert_eq!(failed["call_id"], id, "{failed}");
    assert_eq!(failed["digits"], "12", "{failed}");
    assert_eq!(failed["sip_status"], 415, "{failed}");
    assert_eq!(agent.call(id).expect("listed")["state"], "connected");
    call.sipp_hangs_up();
}

#[test]
fn the_agent_holds_and_resumes_sipp() {
    testbed::require!("sipp");
    let sipp = sipp_answers("call_uas_agent_holds.xml");
    let agent = caller_via(&sipp);

    let id = agent.dial("1002");
    agent.wait_call_state(&id, "connected", LONG);
    after_the_ack();
    agent.call_command(&id, "hold", "{}");
    let held = agent.wait_call_state(&id, "held", SHORT);
    assert_eq!(
        held["on_hold_by_remote"], false,
        "we hold, not the far end: {held}"
    );
    agent.call_command(&id, "resume", "{}");
    let resumed = agent.wait_call_state(&id, "connected", SHORT);
    assert_eq!(resumed["on_hold_by_remote"], false, "{resumed}");
    after_the_ack();
    agent.call_command(&id, "hangup", "{}");
    assert_ended(&agent, &id, "hangup_local");
    // SIPp checks the offers: a=sendonly to hold, a=sendrecv to resume.
    assert_sipp_passed(sipp, &agent);
}
