//! Audio devices only while calls need them: on the private headless PulseAudio
//! (`testbed::pulse`), an agent with `device:` input and output holds no capture or playout
//! stream while idle, opens both when a call rings or is dialed, and closes them again
//! `audio_devices::LINGER` (3 s) after the last call ended. What the sound server lists
//! (`pactl list source-outputs` / `sink-inputs`, by the agent's process id) is the check.
//!
//! `call_setup_to_audio` (ignored; run by hand, see docs/benchmarks.md) measures dial-to-audio
//! and answer-to-audio: from the bridge command to the far end's tone on the speaker.

mod common;

use std::time::{Duration, Instant};

use common::{http_get, pulse, Agent, AgentOptions};
use testbed::pulse::{TimedRecorder, RATE};
use testbed::{Baresip, BaresipAudio, BaresipOptions, Kamailio, KamailioOptions};

/// How long one step (registration, answer, ...) may take.
const T: Duration = Duration::from_secs(8);
const LIFETIME: Duration = Duration::from_secs(120);
/// How long the devices may take to close after the last call: the agent's 3 s linger,
/// with room for a loaded machine.
const CLOSED_WITHIN: Duration = Duration::from_secs(15);

/// The sound server's streams of process `pid`: (capture, playout).
fn streams_of(pid: u32) -> (usize, usize) {
    let count = |what: &str| {
        let list = pulse()
            .pactl(&["list", what])
            .unwrap_or_else(|e| panic!("pactl list {what}: {e}"));
        let mark = format!("application.process.id = \"{pid}\"");
        list.split("\n\n").filter(|b| b.contains(&mark)).count()
    };
    (count("source-outputs"), count("sink-inputs"))
}

/// Waits until the agent holds `want` (capture, playout) streams.
fn wait_streams(agent: &Agent, want: (usize, usize), within: Duration, what: &str) {
    let mut last = (usize::MAX, usize::MAX);
    let found = testbed::wait_until(what, within, Duration::from_millis(50), || {
        last = streams_of(agent.pid());
        Ok::<_, testbed::TimedOut>((last == want).then_some(()))
    });
    if let Err(e) = found {
        panic!(
            "{e}: the agent holds {last:?} (capture, playout) streams, want {want:?}\n\
             source-outputs:\n{}\nsink-inputs:\n{}\n{}",
            pulse()
                .pactl(&["list", "source-outputs"])
                .unwrap_or_default(),
            pulse().pactl(&["list", "sink-inputs"]).unwrap_or_default(),
            agent.log()
        );
    }
}

fn status(agent: &Agent) -> serde_json::Value {
    let (code, body) = http_get(agent.bridge, "/api/v1/status").unwrap();
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// User and system CPU ticks of process `pid` so far (`/proc/PID/stat`).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses): utime is the 14th field.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// How long the test watches the idle agent's CPU use at its end (`IDLE_CPU_SECS`, 1 s
/// unless set; the figure is printed, not asserted).
fn idle_secs() -> u64 {
    std::env::var("IDLE_CPU_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Kamailio, baresip 1002 (`audio`, answering at once) and the agent 1001 on the default
/// input and the `speaker` output, both registered.
fn setup(audio: BaresipAudio, program: Option<std::path::PathBuf>) -> (Kamailio, Baresip, Agent) {
    pulse();
    let kam = Kamailio::start_with_lifetime(KamailioOptions::md5(), LIFETIME).unwrap();
    let mut o = BaresipOptions::user("1002", &kam);
    o.audio = audio;
    o.lifetime = LIFETIME;
    let far = common::registered_baresip(o, &kam, T);
    let mut opts = AgentOptions::new(kam.addr(), "1001", "secret1001")
        // Calls follow each other at once: no wrap-up time between them.
        .with_extra("[audio]\ninput = \"device:default\"\noutput = \"device:speaker\"\n[agent]\nwrapup_seconds = 0");
    opts.program = program;
    let agent = Agent::start(opts);
    agent.wait_registered(T);
    kam.wait_registered("1001", T).unwrap();
    (kam, far, agent)
}

#[test]
fn devices_are_open_only_while_calls_need_them() {
    let Some(_turn) = common::device_call_turn(module_path!()) else {
        return;
    };
    let (kam, far, agent) = setup(BaresipAudio::Echo, None);

    // Idle: no stream, yet the device list says which devices calls will use.
    assert_eq!(streams_of(agent.pid()), (0, 0), "streams while idle");
    let (code, body) = http_get(agent.bridge, "/api/v1/devices").unwrap();
    assert_eq!(code, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["input"], "mic.monitor", "{list}");
    assert_eq!(list["output"], "speaker", "{list}");
    let idle = status(&agent);
    assert!(
        idle["audio"]["input"].is_null() && idle["audio"]["output"].is_null(),
        "{idle}"
    );
    let (ticks, started) = (cpu_ticks(agent.pid()), Instant::now());

    // A call dialed: both streams open, and the status counts them.
    let id = agent.dial("1002");
    wait_streams(&agent, (1, 1), T, "streams for the dialed call");
    agent.wait_call_state(&id, "connected", T);
    far.wait_event("CALL_ESTABLISHED", T).unwrap();
    agent.wait_status(T, "the speaker in the status", |s| {
        s["audio"]["output"]["device"] == "speaker"
    });
    agent.call_command(&id, "hangup", "");
    agent.wait_call_state(&id, "ended", T);
    // Closed after the linger, and the status says so.
    wait_streams(&agent, (0, 0), CLOSED_WITHIN, "no stream after the call");
    agent.wait_status(T, "no device in the status", |s| {
        s["audio"]["input"].is_null() && s["audio"]["output"].is_null()
    });

    // An incoming call opens them while it rings, before anyone answers.
    far.dial(&testbed::baresip::user_uri("1001", kam.addr()))
        .unwrap();
    let call = agent.wait_any_call("ringing", T);
    wait_streams(&agent, (1, 1), T, "streams while an incoming call rings");
    // Cancelled unanswered: closed again.
    far.hangup().unwrap();
    agent.wait_call_state(call["id"].as_str().unwrap(), "ended", T);
    wait_streams(
        &agent,
        (0, 0),
        CLOSED_WITHIN,
        "no stream after the cancelled call",
    );
    let with_calls = (cpu_ticks(agent.pid()) - ticks, started.elapsed());
    let (ticks, started) = (cpu_ticks(agent.pid()), Instant::now());
    std::thread::sleep(Duration::from_secs(idle_secs()));
    eprintln!(
        "agent: {} CPU ticks over {:?} with two calls; idle: {} ticks over {:?}, {} threads",
        with_calls.0,
        with_calls.1,
        cpu_ticks(agent.pid()) - ticks,
        started.elapsed(),
        threads(agent.pid())
    );
}

/// Between calls a switch only looks the device up (no stream opens); the next call opens
/// it. A device unplugged between calls is replaced by the default one when a call opens
/// the devices, and the page is told.
#[test]
fn devices_chosen_or_unplugged_between_calls_take_effect_with_the_next_call() {
    let Some(_turn) = common::device_call_turn(module_path!()) else {
        return;
    };
    let headset = pulse().add_null_sink("headset").unwrap();
    let (_kam, far, agent) = setup(BaresipAudio::Echo, None);
    let mut events = agent.events("");

    let (code, answer) = agent.post("/api/v1/devices", r#"{"output": "headset"}"#);
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["output"], "headset", "{answer}");
    let change = events
        .until(T, |e| e["event"] == "device_changed")
        .pop()
        .unwrap();
    assert_eq!(
        (&change["from"], &change["to"], &change["reason"]),
        (&"speaker".into(), &"headset".into(), &"selected".into()),
        "{change}"
    );
    assert_eq!(streams_of(agent.pid()), (0, 0), "a switch between calls");
    let (code, answer) = agent.post("/api/v1/devices", r#"{"output": "no-such-device"}"#);
    assert_eq!(code, 422, "{answer}");

    // The call plays on the headset.
    let id = agent.dial("1002");
    agent.wait_call_state(&id, "connected", T);
    far.wait_event("CALL_ESTABLISHED", T).unwrap();
    agent.wait_status(T, "the headset in use", |s| {
        s["audio"]["output"]["device"] == "headset"
    });
    agent.call_command(&id, "hangup", "");
    agent.wait_call_state(&id, "ended", T);
    far.wait_event("CALL_CLOSED", T).unwrap();
    wait_streams(&agent, (0, 0), CLOSED_WITHIN, "no stream after the call");

    // Unplugged while idle: nothing happens until a call needs the devices.
    pulse().unload_module(headset).unwrap();
    let id = agent.dial("1002");
    let change = events
        .until(T, |e| e["event"] == "device_changed")
        .pop()
        .unwrap();
    assert_eq!(change["direction"], "output", "{change}");
    assert_eq!(change["from"], "headset", "{change}");
    assert_eq!(change["to"], "speaker", "{change}");
    agent.wait_call_state(&id, "connected", T);
    agent.wait_status(T, "the speaker in use", |s| {
        s["audio"]["output"]["device"] == "speaker"
    });
    agent.call_command(&id, "hangup", "");
    agent.wait_call_state(&id, "ended", T);
}

/// When `rec` first recorded 5 ms above -40 dBFS, if it has yet.
fn first_sound(rec: &TimedRecorder) -> Option<Instant> {
    let (samples, t0) = rec.snapshot();
    let win = 240;
    let at = samples.chunks_exact(win).position(|w| {
        let ms = w.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / win as f64;
        ms.sqrt() > 32768.0 * 0.01
    })?;
    Some(t0? + Duration::from_secs_f64((at * win) as f64 / f64::from(RATE)))
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// Dial-to-audio and answer-to-audio, `CALL_AUDIO_CALLS` calls each (default 10): from the
/// bridge command to the far end's 1 kHz tone on the agent's speaker. Between calls the
/// agent is left idle longer than the linger, so every call opens the devices anew (the
/// worst case). `CALL_AUDIO_AGENT` runs another `softphone` binary (an older build).
#[test]
#[ignore = "a measurement, run by hand: see docs/benchmarks.md"]
fn call_setup_to_audio() {
    let Some(_turn) = common::device_call_turn(module_path!()) else {
        return;
    };
    let program = std::env::var_os("CALL_AUDIO_AGENT").map(Into::into);
    let calls: usize = std::env::var("CALL_AUDIO_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let (kam, far, agent) = setup(BaresipAudio::Tone { freq: 1000 }, program);
    let idle = || std::thread::sleep(Duration::from_secs(5));
    let heard = |rec: &TimedRecorder, from: Instant, what: &str| -> f64 {
        let at = testbed::wait_until(what, T, Duration::from_millis(5), || {
            Ok::<_, testbed::TimedOut>(first_sound(rec))
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", agent.log()));
        at.saturating_duration_since(from).as_secs_f64() * 1000.0
    };
    let mut dial = Vec::new();
    let mut answer = Vec::new();
    for _ in 0..calls {
        idle();
        let rec = pulse()
            .start_timed_record("speaker.monitor")
            .expect("parec");
        std::thread::sleep(Duration::from_millis(300));
        let t = Instant::now();
        let id = agent.dial("1002");
        dial.push(heard(&rec, t, "the tone after dialing"));
        agent.call_command(&id, "hangup", "");
        agent.wait_call_state(&id, "ended", T);
        far.wait_event("CALL_CLOSED", T).unwrap();
        drop(rec);

        idle();
        // Answered as soon as it rings (as `auto_answer` does): the devices have had the
        // least time to open.
        let rec = pulse()
            .start_timed_record("speaker.monitor")
            .expect("parec");
        std::thread::sleep(Duration::from_millis(300));
        far.dial(&testbed::baresip::user_uri("1001", kam.addr()))
            .unwrap();
        let call = agent.wait_any_call("ringing", T);
        let id = call["id"].as_str().unwrap().to_string();
        let t = Instant::now();
        agent.call_command(&id, "answer", "");
        answer.push(heard(&rec, t, "the tone after answering"));
        agent.call_command(&id, "hangup", "");
        agent.wait_call_state(&id, "ended", T);
        far.wait_event("CALL_CLOSED", T).unwrap();
    }
    for (what, v) in [
        ("dial_to_audio", &mut dial),
        ("answer_to_audio", &mut answer),
    ] {
        eprintln!(
            "{what}: n {} min {:.1} p50 {:.1} p90 {:.1} max {:.1} ms; all {:?}",
            v.len(),
            percentile(v, 0.0),
            percentile(v, 0.5),
            percentile(v, 0.9),
            percentile(v, 1.0),
            v.iter().map(|x| x.round() as i64).collect::<Vec<_>>()
        );
    }
}

/// The idle agent's CPU use and streams over `IDLE_CPU_SECS` (30 s here unless set), with
/// devices configured and no call: printed, not asserted (see docs/benchmarks.md).
/// `CALL_AUDIO_AGENT` runs another `softphone` binary.
#[test]
#[ignore = "a measurement, run by hand: see docs/benchmarks.md"]
fn idle_agent_cpu() {
    let Some(_turn) = common::device_call_turn(module_path!()) else {
        return;
    };
    let program = std::env::var_os("CALL_AUDIO_AGENT").map(Into::into);
    let secs = std::env::var("IDLE_CPU_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let (_kam, _far, agent) = setup(BaresipAudio::Echo, program);
    // Past the start: registration done, the first status published.
    std::thread::sleep(Duration::from_secs(2));
    let (ticks, started) = (cpu_ticks(agent.pid()), Instant::now());
    std::thread::sleep(Duration::from_secs(secs));
    eprintln!(
        "idle agent: {} CPU ticks over {:?}; {} threads; streams (capture, playout) {:?}",
        cpu_ticks(agent.pid()) - ticks,
        started.elapsed(),
        threads(agent.pid()),
        streams_of(agent.pid())
    );
}
