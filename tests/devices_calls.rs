//! Calls on real audio devices: the agent runs on the private headless PulseAudio
//! (`testbed::pulse`: null sinks `mic`, whose monitor is the default input, and `speaker`, the
//! default output) and dials an echoing baresip through Kamailio. A tone played into `mic`
//! goes out through the agent's microphone, comes back from baresip and is heard on the
//! agent's speaker; not while the call is on hold (then no level events either). Devices are switched over the bridge
//! mid-call, and unplugged. An Opus call plays wideband: a 6 kHz tone from baresip reaches
//! the speaker.
//!
//! One PulseAudio per test binary (its environment is inherited by the agent process); the
//! tests take turns because they share `mic` and `speaker`.

mod common;

use std::time::Duration;

use common::{http_get, pulse, pulse_turn, Agent, AgentOptions, EventStream};
use media::test_support::{dominant_frequency, rms_dbfs};
use testbed::pulse::{write_tone_wav, Playback, RATE};
use testbed::{Baresip, BaresipAudio, BaresipOptions, Kamailio, KamailioOptions};

/// How long one step (registration, answer, ...) may take.
const T: Duration = Duration::from_secs(8);
const LIFETIME: Duration = Duration::from_secs(60);
/// The tone played into the microphone; not a frequency any peer makes by itself.
const TONE_HZ: f32 = 660.0;

struct Setup {
    _kam: Kamailio,
    far: Baresip,
    agent: Agent,
    _tone: Playback,
    _dir: tempfile::TempDir,
}

/// Kamailio, an echoing baresip 1002, the tone playing into `mic`, and the agent (1001) on
/// `input`/`output` devices, registered.
fn setup(input: &str, output: &str) -> Setup {
    let pulse = pulse();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tone.wav");
    write_tone_wav(&wav, f64::from(TONE_HZ), Duration::from_secs(40), RATE).unwrap();
    let tone = pulse.start_play_into_mic(&wav).unwrap();
    let kam = Kamailio::start_with_lifetime(KamailioOptions::md5(), LIFETIME).unwrap();
    let mut o = BaresipOptions::user("1002", &kam);
    o.audio = BaresipAudio::Echo;
    o.lifetime = LIFETIME;
    let far = common::registered_baresip(o, &kam, T);
    let agent = Agent::start(
        AgentOptions::new(kam.addr(), "1001", "secret1001").with_extra(&format!(
            "[audio]\ninput = \"{input}\"\noutput = \"{output}\""
        )),
    );
    agent.wait_registered(T);
    kam.wait_registered("1001", T).unwrap();
    Setup {
        _kam: kam,
        far,
        agent,
        _tone: tone,
        _dir: dir,
    }
}

/// Dials the echo and waits until the call is connected on both sides.
fn connected_call(s: &Setup) -> String {
    let id = s.agent.dial("1002");
    s.agent.wait_call_state(&id, "connected", T);
    s.far.wait_event("CALL_ESTABLISHED", T).unwrap();
    id
}

/// Records `source` for 2 s after a settling second and checks the tone is there; returns
/// its dominant frequency and level.
fn assert_tone_on(source: &str, agent: &Agent, what: &str) -> (f32, f32) {
    let rec = pulse().start_record(source).unwrap();
    let samples = rec.finish(Duration::from_secs(3)).unwrap();
    // The first second: the recorder starting, a switch settling.
    let body = &samples[samples.len().min(RATE as usize)..];
    let level = rms_dbfs(body);
    let f = dominant_frequency(body, RATE);
    let audio = audio_counters(agent);
    eprintln!("{what}: {source}: dominant {f:?} Hz, level {level:.1} dBFS; devices {audio}");
    let f = f.unwrap_or_else(|| {
        panic!(
            "{what}: silence on {source}; devices {audio}\n{}",
            agent.log()
        )
    });
    // The tone crosses G.711 twice, baresip's jitter buffer and ours and two device rings.
    assert!(
        (f - TONE_HZ).abs() <= 15.0 && level > -40.0,
        "{what}: {source} has {f} Hz at {level:.1} dBFS, want {TONE_HZ} Hz; devices {audio}\n{}",
        agent.log()
    );
    (f, level)
}

/// The device counters of the agent's status (`audio`: underruns, drops, ring fill...).
fn audio_counters(agent: &Agent) -> serde_json::Value {
    match http_get(agent.bridge, "/api/v1/status") {
        Ok((200, body)) => serde_json::from_str::<serde_json::Value>(&body)
            .map(|s| s["audio"].clone())
            .unwrap_or_else(|e| format!("bad status: {e}").into()),
        Ok((code, body)) => format!("status {code}: {body}").into(),
        Err(e) => format!("no status: {e}").into(),
    }
}

/// How many clients connect to the sound server within `d` (`pactl subscribe`).
fn clients_connecting_within(d: Duration) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let out = std::fs::File::create(dir.path().join("events")).unwrap();
    let mut sub = std::process::Command::new("pactl")
        .arg("subscribe")
        .envs(pulse().env().iter().map(|(k, v)| (k, v)))
        .stdout(out)
        .spawn()
        .unwrap();
    std::thread::sleep(d);
    sub.kill().unwrap();
    sub.wait().unwrap();
    let events = std::fs::read_to_string(dir.path().join("events")).unwrap();
    eprintln!("sound server events: {events}");
    events
        .lines()
        .filter(|l| l.contains("'new' on client"))
        .count()
}

/// Records `source` for 2 s after a settling second and checks nothing is played there.
fn assert_quiet_on(source: &str, what: &str) {
    let rec = pulse().start_record(source).unwrap();
    let samples = rec.finish(Duration::from_secs(3)).unwrap();
    let body = &samples[samples.len().min(RATE as usize)..];
    let level = rms_dbfs(body);
    eprintln!("{what}: {source}: level {level:.1} dBFS");
    assert!(level < -60.0, "{what}: {source} at {level:.1} dBFS");
}

fn devices(agent: &Agent) -> serde_json::Value {
    let (code, body) = http_get(agent.bridge, "/api/v1/devices").unwrap();
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn names(list: &serde_json::Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect()
}

fn next_device_change(events: &mut EventStream, timeout: Duration) -> serde_json::Value {
    events
        .until(timeout, |e| e["event"] == "device_changed")
        .pop()
        .unwrap()
}

fn hang_up(s: &Setup, id: &str) {
    s.agent.call_command(id, "hangup", "");
    s.agent.wait_call_state(id, "ended", T);
}

#[test]
fn microphone_tone_reaches_the_echo_and_is_heard_on_the_speaker() {
    let Some(_turn) = common::device_call_turn(module_path!()) else {
        return;
    };
    let s = setup("device:default", "device:speaker");
    let mut events = s.agent.events("");
    let id = connected_call(&s);
    assert_tone_on("speaker.monitor", &s.agent, "echo of the microphone");

    // Level meters run while the call has the devices: the tone is loud on both sides.
    let seen = events.until(T, |e| {
        e["event"] == "levels"
            && e["input_dbfs"].as_i64().unwrap_or(-96) > -30
            && e["output_dbfs"].as_i64().unwrap_or(-96) > -40
    });
    let levels = seen.last().unwrap();
    eprintln!("levels: {levels}");

    // On hold the call gives the devices up: no level events, nothing played. Resumed, it
    // takes them back (fresh event streams: the first one holds a backlog of levels).
    s.agent.call_command(&id, "hold", "");
    s.agent.wait_call_state(&id, "held", T);
    let mut held = s.agent.events("");
    let seen: Vec<_> = std::iter::from_fn(|| held.next(Duration::from_millis(1500)))
        .take(5)
        .collect();
    assert!(
        seen.iter().all(|e| e["event"] != "levels"),
        "levels while held: {seen:?}"
    );
    assert_quiet_on("speaker.monitor", "held");
    s.agent.call_command(&id, "resume", "");
    s.agent.wait_call_state(&id, "connected", T);
    let mut resumed = s.agent.events("");
    let back = resumed.until(T, |e| {
        e["event"] == "levels" && e["input_dbfs"].as_i64().unwrap_or(-96) > -30
    });
    eprintln!("resumed: {}", back.last().unwrap());

    hang_up(&s, &id);
    // No call: no more level events (drain what was in flight first).
    let _ = events.until(T, |e| e["event"] == "call" && e["call"]["state"] == "ended");
    std::thread::sleep(Duration::from_millis(600));
    while events.next(Duration::from_millis(100)).is_some() {}
    let after: Vec<_> = std::iter::from_fn(|| events.next(Duration::from_secs(1)))
        .take(3)
        .collect();
    assert!(
        after.iter().all(|e| e["event"] != "levels"),
        "levels after the call: {after:?}"
    );
}

/// Stopped and continued in a call (SIGSTOP, SIGCONT: a laptop's sleep as the tests simulate
/// it, Ctrl-Z and `fg` in a terminal, a debugger attaching), the agent's devices go on: the
/// microphone still reaches the echo and the echo is heard. On Linux the sound server
/// client's wait fails with EINTR after a stop; that once ended the capture stream for good.
#[test]
fn after_a_stop_and_continue_the_devices_go_on() {
    let Some(_turn) = common::device_call_turn(module_path!()) else {
        return;
    };
    let s = setup("device:default", "device:speaker");
    let id = connected_call(&s);
    assert_tone_on("speaker.monitor", &s.agent, "before the stop");
    let pid = s.agent.pid().to_string();
    for sig in ["-STOP", "-CONT"] {
        let ok = std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} {pid}");
        std::thread::sleep(Duration::from_secs(1));
    }
    let callbacks = |side: &str| audio_counters(&s.agent)[side]["callbacks"].as_u64();
    let (input, output) = (callbacks("input"), callbacks("output"));
    assert_tone_on("speaker.monitor", &s.agent, "after the stop");
    let audio = audio_counters(&s.agent);
    assert!(
        audio["input"]["callbacks"].as_u64() > input
            && audio["output"]["callbacks"].as_u64() > output,
        "the devices stopped moving after the stop: {audio}\n{}",
        s.agent.log()
    );
    assert!(
        !s.agent.log().contains("Reactor error"),
        "the sound server client failed:\n{}",
        s.agent.log()
    );
    hang_up(&s, &id);
}

#[test]
fn output_switched_mid_call_then_unplugged_falls_back_to_the_default() {
    let Some(_turn) = common::device_call_turn(module_path!()) else {
        return;
    };
    let headset = pulse().add_null_sink("headset").unwrap();
    let s = setup("device:mic.monitor", "device:speaker");
    let mut events = s.agent.events("");

    let list = devices(&s.agent);
    assert_eq!(list["input"], "mic.monitor", "{list}");
    assert_eq!(list["output"], "speaker", "{list}");
    let outputs = names(&list["outputs"]);
    assert!(
        outputs.contains(&"headset") && outputs.contains(&"speaker"),
        "{list}"
    );
    assert!(
        names(&list["inputs"]).contains(&"headset.monitor"),
        "{list}"
    );
    let speaker = list["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "speaker")
        .unwrap();
    assert_eq!(speaker["default"], true, "{list}");
    assert_eq!(speaker["in_use"], true, "{list}");

    let id = connected_call(&s);
    // The agent looks for vanished devices every few seconds over one kept connection: no
    // client connects to the sound server meanwhile (a new one per look made PulseAudio log
    // a connect and a disconnect every 3 s).
    let new_clients = clients_connecting_within(Duration::from_secs(7));
    assert_eq!(new_clients, 0, "clients connected during the call");
    assert_tone_on("speaker.monitor", &s.agent, "before the switch");

    let (code, answer) = s.agent.post("/api/v1/devices", r#"{"output": "headset"}"#);
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["output"], "headset", "{answer}");
    let change = next_device_change(&mut events, T);
    assert_eq!(change["direction"], "output", "{change}");
    assert_eq!(change["from"], "speaker", "{change}");
    assert_eq!(change["to"], "headset", "{change}");
    assert_eq!(change["reason"], "selected", "{change}");
    assert_tone_on("headset.monitor", &s.agent, "after the switch");
    assert_quiet_on("speaker.monitor", "after the switch");
    assert_eq!(s.agent.call(&id).unwrap()["state"], "connected");

    // Unplugged: the agent says so and plays on the default device again.
    pulse().unload_module(headset).unwrap();
    let change = next_device_change(&mut events, T);
    assert_eq!(change["direction"], "output", "{change}");
    assert_eq!(change["from"], "headset", "{change}");
    assert_eq!(change["to"], "speaker", "{change}");
    assert!(
        change["reason"].as_str().unwrap().contains("gone"),
        "{change}"
    );
    assert_tone_on("speaker.monitor", &s.agent, "after the unplug");
    assert_eq!(s.agent.call(&id).unwrap()["state"], "connected");
    assert_eq!(devices(&s.agent)["output"], "speaker");

    // A name that matches nothing changes nothing.
    let (code, answer) = s
        .agent
        .post("/api/v1/devices", r#"{"output": "no-such-device"}"#);
    assert_eq!(code, 422, "{answer}");
    assert_eq!(answer["error"]["code"], "unknown_device", "{answer}");
    assert_eq!(devices(&s.agent)["output"], "speaker");
    hang_up(&s, &id);
}

#[test]
fn voice_processing_starts_on_the_devices() {
    testbed::require!("pulseaudio", "pacat", "pactl");
    let _turn = pulse_turn();
    pulse();
    // No PBX needed: the agent serves the bridge while its registration retries.
    let agent = Agent::start(
        AgentOptions::new("127.0.0.1:9".parse().unwrap(), "1001", "secret1001").with_extra(
            "[audio]\ninput = \"device:default\"\noutput = \"device:default\"\n\
             echo_cancellation = true\nnoise_suppression = true\nauto_gain = true",
        ),
    );
    let list = devices(&agent);
    assert_eq!(list["input"], "mic.monitor", "{list}");
    let log = agent.log();
    let on = log
        .lines()
        .find(|l| l.contains("voice processing on"))
        .unwrap_or_else(|| panic!("no voice processing: {log}"));
    for what in ["echo_cancellation", "noise_suppression", "auto_gain"] {
        assert!(on.contains(&format!("{what}=true")), "{on}");
    }
}

/// An Opus call plays wideband on the devices: baresip's 6 kHz tone, beyond anything 8 kHz
/// audio carries, is what the agent's speaker plays.
#[test]
fn an_opus_call_is_wideband_on_the_speaker() {
    const WIDE_HZ: f64 = 6000.0;
    let Some(_turn) = common::device_call_turn(module_path!()) else {
        return;
    };
    pulse();
    let kam = Kamailio::start_with_lifetime(KamailioOptions::md5(), LIFETIME).unwrap();
    let mut o = BaresipOptions::user("1002", &kam);
    o.audio = BaresipAudio::Tone {
        freq: WIDE_HZ as u32,
    };
    o.opus = true;
    o.lifetime = LIFETIME;
    let far = common::registered_baresip(o, &kam, T);
    let agent = Agent::start(
        AgentOptions::new(kam.addr(), "1001", "secret1001")
            .with_extra("[audio]\ninput = \"silence\"\noutput = \"device:speaker\""),
    );
    agent.wait_registered(T);
    kam.wait_registered("1001", T).unwrap();
    let id = agent.dial("1002");
    agent.wait_call_state(&id, "connected", T);
    far.wait_event("CALL_ESTABLISHED", T).unwrap();

    let samples = pulse()
        .start_record("speaker.monitor")
        .unwrap()
        .finish(Duration::from_secs(3))
        .unwrap();
    let body = &samples[samples.len().min(RATE as usize)..];
    let level = rms_dbfs(body);
    let (f, tone) = testbed::audio::strongest_tone(body, RATE);
    eprintln!("speaker: level {level:.1} dBFS, strongest {f} Hz at {tone:.1} dBFS");
    // Within 4%, as the devices tests allow for the 660 Hz tone (±25 Hz).
    assert!(
        (f - WIDE_HZ).abs() <= WIDE_HZ * 0.04 && tone > -40.0,
        "strongest {f} Hz at {tone:.1} dBFS (of {level:.1} dBFS), want {WIDE_HZ} Hz\n{}",
        agent.log()
    );
    agent.call_command(&id, "hangup", "");
    agent.wait_call_state(&id, "ended", T);
}
