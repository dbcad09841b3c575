//! The far end vanishing mid-call (issue 12, "Faults during a call"): SIPp plays a far end
//! that answers or calls and then sends no RTP at all, against the real agent binary with
//! `[calls] media_timeout_seconds = 2`. The call ends by itself with reason `network` and
//! words, SIPp gets the agent's BYE (its scenario waits for it and fails without it), and a
//! call the far end holds lasts as long as the hold does.

mod common;

use common::{Agent, AgentOptions, EventStream};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use testbed::{Sipp, SippProcess};

/// SIPp's own `-timeout`: every scenario here ends well within it.
const SIPP_TIMEOUT: Duration = Duration::from_secs(30);
const LONG: Duration = Duration::from_secs(20);

const CONFIG: &str =
    "[calls]\nauto_answer = true\nmedia_timeout_seconds = 2\n[audio]\ninput = \"tone:440\"\n";
const LOST: &str = "no audio from the other party for 2 s: the connection was lost";

/// A UDP port on 127.0.0.1 with nobody behind it.
fn nowhere() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], testbed::free_port().expect("a free port")))
}

/// SIPp calls an auto-answering agent (whose registrar does not exist) with `scenario`;
/// returns the agent, its events from the start and SIPp.
fn sipp_calls(scenario: &str) -> (Agent, EventStream, SippProcess) {
    let agent = Agent::start(AgentOptions::new(nowhere(), "1001", "secret1001").with_extra(CONFIG));
    let events = agent.events("");
    let sipp = Sipp::spawn(scenario, &[&agent.sip_addr().to_string()], SIPP_TIMEOUT)
        .unwrap_or_else(|e| panic!("start SIPp {scenario}: {e}"));
    (agent, events, sipp)
}

/// The `call` views of call `id` up to (and with) the one that ended it.
fn until_ended(events: &mut EventStream) -> (String, Vec<Value>) {
    let seen = events.until(LONG, |e| {
        e["event"] == "call" && e["call"]["state"] == "ended"
    });
    let ended = &seen.last().expect("the ended event")["call"];
    let id = ended["id"].as_str().expect("a call id").to_owned();
    let views = seen
        .iter()
        .filter(|e| (e["event"] == "call" || e["event"] == "incoming") && e["call"]["id"] == id)
        .map(|e| e["call"].clone())
        .collect();
    (id, views)
}

/// The call ended for lost media, in words, after it was answered; and the status says so.
fn assert_lost(agent: &Agent, id: &str, last: &Value) {
    assert_eq!(last["state"], "ended", "{last}");
    let reason = &last["end_reason"];
    assert_eq!(reason["code"], "network", "{reason}");
    assert_eq!(reason["message"], LOST, "{reason}");
    assert!(reason["sip_status"].is_null(), "{reason}");
    assert!(last["answered_at"].is_string(), "{last}");
    let listed = agent
        .call(id)
        .expect("the ended call is listed for a while");
    assert_eq!(listed["end_reason"]["code"], "network", "{listed}");
}

#[test]
fn a_caller_that_sends_no_audio_is_hung_up_for_network() {
    testbed::require!("sipp");
    let (agent, mut events, sipp) = sipp_calls("call_uac_silent.xml");
    let (id, views) = until_ended(&mut events);
    let states: Vec<&str> = views.iter().filter_map(|v| v["state"].as_str()).collect();
    assert!(states.contains(&"connected"), "answered first: {views:#?}");
    assert_lost(&agent, &id, views.last().expect("views"));
    // SIPp's scenario ends only on the agent's BYE.
    let out = sipp.wait();
    assert!(out.success, "{out}\n---- agent log ----\n{}", agent.log());
    assert!(
        agent.log().contains("no audio from the other party"),
        "the log says why"
    );
}

#[test]
fn a_called_party_that_sends_no_audio_is_hung_up_for_network() {
    testbed::require!("sipp");
    // SIPp is the registrar and the called party; it answers and then waits for our BYE.
    let sipp = Sipp::spawn("call_uas_answer.xml", &["-m", "2"], SIPP_TIMEOUT)
        .unwrap_or_else(|e| panic!("start SIPp: {e}"));
    let agent =
        Agent::start(AgentOptions::new(sipp.addr(), "1001", "secret1001").with_extra(CONFIG));
    let mut events = agent.events("");
    let id = agent.dial("1002");
    let (ended, views) = until_ended(&mut events);
    assert_eq!(ended, id);
    assert_eq!(views.last().unwrap()["direction"], "outbound");
    assert_lost(&agent, &id, views.last().expect("views"));
    let out = sipp.wait();
    assert!(out.success, "{out}\n---- agent log ----\n{}", agent.log());
}

#[test]
fn a_call_held_by_the_far_end_lasts_and_times_out_once_resumed() {
    testbed::require!("sipp");
    let (agent, mut events, sipp) = sipp_calls("call_uac_held_silent.xml");
    // Held from the start, silent for three timeouts: SIPp fails on a BYE in that time.
    let (id, views) = until_ended(&mut events);
    let holds: Vec<(&str, bool)> = views
        .iter()
        .filter_map(|v| Some((v["state"].as_str()?, v["on_hold_by_remote"].as_bool()?)))
        .collect();
    let mut steps = holds.clone();
    steps.dedup();
    assert_eq!(
        steps,
        [
            ("ringing", false),
            ("connected", true),
            ("connected", false),
            ("ended", false)
        ],
        "held while connected, resumed, then ended: {views:#?}"
    );
    assert_lost(&agent, &id, views.last().expect("views"));
    let out = sipp.wait();
    assert!(out.success, "{out}\n---- agent log ----\n{}", agent.log());
}
