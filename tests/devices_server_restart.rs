//! End-to-end: the sound server restarts under a call (a desktop's PulseAudio or PipeWire
//! crashing and coming back). The call goes on; the page is told in words that the devices
//! went and, once the server is back, that the agent opened them again by itself; audio
//! flows through the new streams. Its own test binary: it kills and restarts a private
//! PulseAudio of its own, which no other test shares.

mod common;

use common::{Agent, AgentOptions};
use std::time::Duration;
use testbed::pulse::{Pulse, PulseOptions};
use testbed::{BaresipOptions, Kamailio, KamailioOptions};

const T: Duration = Duration::from_secs(20);

/// The agent's playout callbacks so far (0 with no device open).
fn output_callbacks(status: &serde_json::Value) -> u64 {
    status["audio"]["output"]["callbacks"].as_u64().unwrap_or(0)
}

#[test]
fn a_call_goes_on_when_the_sound_server_restarts_and_the_page_is_told() {
    testbed::require!("kamailio", "kamcmd", "baresip", "pulseaudio", "pactl");
    let mut pulse = Pulse::start(PulseOptions {
        lifetime: Duration::from_secs(120),
        ..PulseOptions::default()
    })
    .unwrap();
    // The only test in this binary: nothing else reads the environment concurrently; the
    // agent inherits it.
    for (k, v) in pulse.env() {
        std::env::set_var(k, v);
    }
    let kam = Kamailio::start(KamailioOptions::md5()).unwrap();
    let far = common::registered_baresip(BaresipOptions::user("1002", &kam), &kam, T);
    let agent = Agent::start(
        AgentOptions::new(kam.addr(), "1001", "secret1001").with_extra(
            "[audio]\ninput = \"device:default\"\noutput = \"device:default\"\n\
             [agent]\nwrapup_seconds = 0\n",
        ),
    );
    agent.wait_registered(T);
    let mut events = agent.events("");
    let id = agent.dial("1002");
    agent.wait_call_state(&id, "connected", T);
    far.wait_event("CALL_ESTABLISHED", T).unwrap();
    agent.wait_status(T, "playout running", |s| output_callbacks(s) > 20);

    pulse.kill();
    let gone = events.until(T, |e| e["event"] == "device_changed");
    let gone = gone.last().unwrap();
    let reason = gone["reason"].as_str().unwrap_or_default();
    println!("server gone: {gone}");
    assert!(!reason.is_empty(), "{gone}");

    pulse.restart().unwrap();
    // Each side is opened again, and the page told so: "the device is available again" for
    // a side found closed, or the failure's words for one whose error only showed now.
    let mut reopened = std::collections::BTreeSet::new();
    while reopened.len() < 2 {
        let back = events.until(T, |e| {
            e["event"] == "device_changed" && e["to"].as_str().is_some_and(|to| !to.is_empty())
        });
        let back = back.last().unwrap();
        println!("server back: {back}");
        assert!(
            !back["reason"].as_str().unwrap_or_default().is_empty(),
            "{back}"
        );
        reopened.insert(back["direction"].as_str().unwrap_or_default().to_owned());
    }
    // New streams run: their counters start again and climb.
    let status = agent.wait_status(T, "playout running again", |s| {
        output_callbacks(s) > 20 && s["audio"]["input"]["callbacks"].as_u64() > Some(20)
    });
    assert_eq!(agent.call(&id).unwrap()["state"], "connected", "{status}");
    agent.call_command(&id, "hangup", "");
    agent.wait_call_state(&id, "ended", T);
    far.wait_event("CALL_CLOSED", T).unwrap();
}
