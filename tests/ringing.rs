//! The agent's own tones on real devices (the private headless PulseAudio, `testbed::pulse`):
//! an incoming call rings on the `[audio] ring` device (a null sink `bell`) and not on the
//! headset the calls use, and the ringtone stops when the call is answered and when the
//! caller cancels; switched over the bridge to ring where calls play, it rings on the
//! headset. A call the agent places to a far end that sends 180 Ringing without SDP (SIPp,
//! `tests/sipp/call_uas_ringback.xml`) plays ringback on the headset until the answer. A
//! second caller during a call beeps in the call's audio, not on the ring device.
//!
//! Levels are measured on the sinks' monitors over windows long enough to hold a whole
//! burst of each cadence (ringtone 1 s on / 2 s off, ringback 1 s on / 4 s off), so load
//! cannot move a burst out of the window.

mod common;

use std::time::Duration;

use common::{http_get, pulse, Agent, AgentOptions};
use media::test_support::{dominant_frequency, rms_dbfs};
use testbed::pulse::RATE;
use testbed::{BaresipAudio, BaresipOptions, Kamailio, KamailioOptions, Sipp};

/// How long one step (registration, answer, ...) may take.
const T: Duration = Duration::from_secs(8);
const LIFETIME: Duration = Duration::from_secs(120);
/// Louder than this (in the loudest 50 ms) is a tone; the ringtone is about -20 dBFS.
const HEARD_DBFS: f32 = -35.0;
/// Quieter than this everywhere is silence (a null sink's silence is digital zero).
const SILENT_DBFS: f32 = -60.0;

/// The loudest 50 ms of `samples`, and the dominant frequency of the loudest 500 ms.
fn loudest(samples: &[i16]) -> (f32, Option<f32>) {
    let win = RATE as usize / 20;
    let level = samples
        .chunks(win)
        .map(rms_dbfs)
        .fold(f32::NEG_INFINITY, f32::max);
    let half = RATE as usize / 2;
    let burst = (0..samples.len().saturating_sub(half).max(1))
        .step_by(win)
        .max_by(|&a, &b| {
            let end = |i: usize| (i + half).min(samples.len());
            rms_dbfs(&samples[a..end(a)]).total_cmp(&rms_dbfs(&samples[b..end(b)]))
        })
        .map(|i| &samples[i..(i + half).min(samples.len())]);
    (level, burst.and_then(|b| dominant_frequency(b, RATE)))
}

/// What the playout device had buffered when a tone stopped plays out within this (the
/// device's latency, ring and sound server): silence is judged after it.
const DRAIN: f64 = 0.5;

/// Records the monitors of `sinks` at once for `secs`; the loudest level and tone of each.
fn listen(sinks: &[&str], secs: f64) -> Vec<(f32, Option<f32>)> {
    listen_from(sinks, 0.0, secs)
}

/// [`listen`], judging only what was recorded after the first `skip` seconds.
fn listen_from(sinks: &[&str], skip: f64, secs: f64) -> Vec<(f32, Option<f32>)> {
    let recs: Vec<_> = sinks
        .iter()
        .map(|s| pulse().start_record(&format!("{s}.monitor")).unwrap())
        .collect();
    recs.into_iter()
        .map(|r| {
            let samples = r.finish(Duration::from_secs_f64(skip + secs)).unwrap();
            let per: Vec<i32> = samples
                .chunks(RATE as usize / 4)
                .map(|c| rms_dbfs(c).max(-99.0) as i32)
                .collect();
            eprintln!("dBFS per 250 ms: {per:?}");
            let from = ((skip * f64::from(RATE)) as usize).min(samples.len());
            loudest(&samples[from..])
        })
        .collect()
}

/// The sound server's playout streams of process `pid`.
fn playout_streams(pid: u32) -> usize {
    let list = pulse().pactl(&["list", "sink-inputs"]).unwrap();
    let mark = format!("application.process.id = \"{pid}\"");
    list.split("\n\n").filter(|b| b.contains(&mark)).count()
}

fn wait_playout_streams(agent: &Agent, want: usize, what: &str) {
    let mut last = 0;
    let found = testbed::wait_until(
        what,
        Duration::from_secs(15),
        Duration::from_millis(50),
        || {
            last = playout_streams(agent.pid());
            Ok::<_, testbed::TimedOut>((last == want).then_some(()))
        },
    );
    if let Err(e) = found {
        panic!("{e}: {last} playout streams, want {want}\n{}", agent.log());
    }
}

fn assert_heard(what: &str, got: (f32, Option<f32>), freqs: (f32, f32), agent: &Agent) {
    let (level, f) = got;
    assert!(
        level > HEARD_DBFS && f.is_some_and(|f| (freqs.0..=freqs.1).contains(&f)),
        "{what}: loudest {level:.1} dBFS at {f:?} Hz, want a tone of {freqs:?} Hz\n{}",
        agent.log()
    );
}

fn assert_silent(what: &str, got: (f32, Option<f32>), agent: &Agent) {
    assert!(
        got.0 < SILENT_DBFS,
        "{what}: loudest {:.1} dBFS at {:?} Hz, want silence\n{}",
        got.0,
        got.1,
        agent.log()
    );
}

#[test]
fn an_incoming_call_rings_on_the_ring_device_until_answered_or_cancelled() {
    let Some(_turn) = common::device_call_turn(module_path!()) else {
        return;
    };
    pulse().add_null_sink("headset").unwrap();
    pulse().add_null_sink("bell").unwrap();
    let kam = Kamailio::start_with_lifetime(KamailioOptions::md5(), LIFETIME).unwrap();
    let mut o = BaresipOptions::user("1002", &kam);
    // The far end sends digital silence: what the headset plays after an answer is ours.
    o.audio = BaresipAudio::Silence;
    o.lifetime = LIFETIME;
    let far = common::registered_baresip(o, &kam, T);
    let agent = Agent::start(
        AgentOptions::new(kam.addr(), "1001", "secret1001").with_extra(
            "[audio]\ninput = \"device:default\"\noutput = \"device:headset\"\nring = \"device:bell\"\n[agent]\nwrapup_seconds = 0",
        ),
    );
    agent.wait_registered(T);
    kam.wait_registered("1001", T).unwrap();
    let (code, body) = http_get(agent.bridge, "/api/v1/devices").unwrap();
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((code, &list["ring"]), (200, &"bell".into()), "{list}");
    let agent_uri = testbed::baresip::user_uri("1001", kam.addr());

    // Ringing: the bell rings (a stream of its own beside the headset's), the headset not.
    far.dial(&agent_uri).unwrap();
    let id = agent.wait_any_call("ringing", T)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let got = listen(&["bell", "headset"], 4.5);
    eprintln!("ringing: bell {:?}, headset {:?}", got[0], got[1]);
    assert_heard("the bell while ringing", got[0], (430.0, 490.0), &agent);
    assert_silent("the headset while ringing", got[1], &agent);
    assert_eq!(playout_streams(agent.pid()), 2, "headset and bell");

    // Answered: the bell stops and its stream closes.
    agent.call_command(&id, "answer", "");
    agent.wait_call_state(&id, "connected", T);
    far.wait_event("CALL_ESTABLISHED", T).unwrap();
    let got = listen_from(&["bell", "headset"], DRAIN, 3.0);
    eprintln!("answered: bell {:?}, headset {:?}", got[0], got[1]);
    assert_silent("the bell after the answer", got[0], &agent);
    assert_silent("the headset after the answer", got[1], &agent);
    wait_playout_streams(&agent, 1, "the ring stream closed on answer");
    agent.call_command(&id, "hangup", "");
    agent.wait_call_state(&id, "ended", T);
    far.wait_event("CALL_CLOSED", T).unwrap();

    // Cancelled by the caller: the bell stops.
    far.dial(&agent_uri).unwrap();
    let id = agent.wait_any_call("ringing", T)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let got = listen(&["bell"], 4.5);
    assert_heard("the bell ringing again", got[0], (430.0, 490.0), &agent);
    far.hangup().unwrap();
    let end = agent.wait_call_state(&id, "ended", T);
    assert_eq!(end["end_reason"]["code"], "cancelled", "{end}");
    let got = listen_from(&["bell"], DRAIN, 3.0);
    eprintln!("cancelled: bell {:?}", got[0]);
    assert_silent("the bell after the cancel", got[0], &agent);

    // Switched to ring where calls play: the headset rings, the bell not; an answer stops it.
    let mut events = agent.events("");
    let (code, list) = agent.post("/api/v1/devices", r#"{"ring": "output"}"#);
    assert_eq!((code, &list["ring"]), (200, &"output".into()), "{list}");
    let change = events
        .until(T, |e| {
            e["event"] == "device_changed" && e["direction"] == "ring"
        })
        .pop()
        .unwrap();
    assert_eq!(
        (&change["from"], &change["to"]),
        (&"bell".into(), &"output".into()),
        "{change}"
    );
    far.dial(&agent_uri).unwrap();
    let id = agent.wait_any_call("ringing", T)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let got = listen(&["headset", "bell"], 4.5);
    eprintln!(
        "ringing on the output: headset {:?}, bell {:?}",
        got[0], got[1]
    );
    assert_heard("the headset ringing", got[0], (430.0, 490.0), &agent);
    assert_silent("the bell when ringing on the output", got[1], &agent);
    agent.call_command(&id, "answer", "");
    agent.wait_call_state(&id, "connected", T);
    let got = listen_from(&["headset"], DRAIN, 3.0);
    assert_silent("the headset after the answer", got[0], &agent);
    agent.call_command(&id, "hangup", "");
    agent.wait_call_state(&id, "ended", T);
}

#[test]
fn an_outbound_call_without_early_media_hears_ringback_until_answered() {
    let Some(_turn) = common::device_call_turn(module_path!()) else {
        return;
    };
    testbed::require!("sipp");
    pulse().add_null_sink("headset2").unwrap();
    // SIPp is the registrar and the called party: 180 without SDP, the answer 8 s later.
    let sipp = Sipp::spawn(
        "call_uas_ringback.xml",
        &["-m", "2"],
        Duration::from_secs(60),
    )
    .unwrap_or_else(|e| panic!("start SIPp: {e}"));
    let agent = Agent::start(
        AgentOptions::new(sipp.addr(), "1001", "secret1001").with_extra(
            "[audio]\ninput = \"device:default\"\noutput = \"device:headset2\"\n[agent]\nwrapup_seconds = 0",
        ),
    );
    agent.wait_registered(T);
    let id = agent.dial("1002");
    agent.wait_call_state(&id, "ringing", T);
    // The first burst is at once, the next 5 s later: 6 s hold one whatever the start.
    let got = listen(&["headset2"], 6.0);
    eprintln!("ringback: headset {:?}", got[0]);
    assert_heard("ringback on the headset", got[0], (415.0, 435.0), &agent);
    agent.wait_call_state(&id, "connected", Duration::from_secs(15));
    // SIPp sends no audio: once answered, silence.
    let got = listen_from(&["headset2"], DRAIN, 3.0);
    eprintln!("answered: headset {:?}", got[0]);
    assert_silent("the headset after the answer", got[0], &agent);
    agent.call_command(&id, "hangup", "");
    agent.wait_call_state(&id, "ended", T);
    let out = sipp.wait();
    assert!(out.success, "{out}\n{}", agent.log());
}

#[test]
fn a_second_caller_during_a_call_beeps_in_the_call_not_on_the_ring_device() {
    let Some(_turn) = common::device_call_turn(module_path!()) else {
        return;
    };
    pulse().add_null_sink("headset3").unwrap();
    pulse().add_null_sink("bell3").unwrap();
    let kam = Kamailio::start_with_lifetime(KamailioOptions::md5(), LIFETIME).unwrap();
    let caller = |user: &'static str| {
        let mut o = BaresipOptions::user(user, &kam);
        o.audio = BaresipAudio::Silence;
        o.lifetime = LIFETIME;
        common::registered_baresip(o, &kam, T)
    };
    let (first, second) = (caller("1002"), caller("1003"));
    let agent = Agent::start(
        AgentOptions::new(kam.addr(), "1001", "secret1001").with_extra(
            "[audio]\ninput = \"device:default\"\noutput = \"device:headset3\"\nring = \"device:bell3\"\n[agent]\nwrapup_seconds = 0",
        ),
    );
    agent.wait_registered(T);
    kam.wait_registered("1001", T).unwrap();
    let agent_uri = testbed::baresip::user_uri("1001", kam.addr());

    first.dial(&agent_uri).unwrap();
    let id = agent.wait_any_call("ringing", T)["id"]
        .as_str()
        .unwrap()
        .to_string();
    agent.call_command(&id, "answer", "");
    agent.wait_call_state(&id, "connected", T);
    first.wait_event("CALL_ESTABLISHED", T).unwrap();

    // The beep comes once when the second call starts ringing (then every 10 s): listen
    // from before the dial until a second after the agent shows it ringing.
    let mut recs = [
        pulse().start_record("headset3.monitor").unwrap(),
        pulse().start_record("bell3.monitor").unwrap(),
    ];
    for r in &mut recs {
        r.wait_recording(T).unwrap();
    }
    second.dial(&agent_uri).unwrap();
    agent.wait_status(T, "a second call ringing", |s| {
        s["calls"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["state"] == "ringing"))
    });
    let got: Vec<_> = recs
        .into_iter()
        .map(|r| {
            let d = r.started.elapsed() + Duration::from_millis(1500);
            loudest(&r.finish(d).unwrap())
        })
        .collect();
    eprintln!("call waiting: headset {:?}, bell {:?}", got[0], got[1]);
    assert_heard(
        "the call-waiting beep in the call",
        got[0],
        (430.0, 450.0),
        &agent,
    );
    assert_silent("the bell during a call", got[1], &agent);

    second.hangup().unwrap();
    agent.call_command(&id, "hangup", "");
    agent.wait_call_state(&id, "ended", T);
}
