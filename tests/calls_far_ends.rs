//! End-to-end calls between the agent and real far ends (baresip, linphonec) through the
//! testbed Kamailio: audio both ways (tones checked in the agent's output WAV), answering over
//! the bridge, hold/resume as seen by the far end, blind and attended transfers.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Agent, AgentOptions};
use testbed::audio::{dominant_frequency, read_wav, rms, Wav};
use testbed::baresip::user_uri;
use testbed::{
    Baresip, BaresipAudio, BaresipOptions, Kamailio, KamailioOptions, Linphone, LinphoneOptions,
};

/// How long one step (registration, answer, re-INVITE, ...) may take.
const T: Duration = Duration::from_secs(8);
/// Hard upper bound of every peer's life: a test is done within 40 s.
const LIFETIME: Duration = Duration::from_secs(45);

fn kamailio() -> Kamailio {
    Kamailio::start_with_lifetime(KamailioOptions::md5(), LIFETIME).unwrap()
}

/// A registered baresip far end (auto-answer) sending `audio`.
fn baresip(kam: &Kamailio, user: &str, audio: BaresipAudio) -> Baresip {
    let mut o = BaresipOptions::user(user, kam);
    o.audio = audio;
    o.lifetime = LIFETIME;
    let b = Baresip::start(o).unwrap();
    b.wait_registered(T).unwrap();
    kam.wait_registered(user, T).unwrap();
    b
}

/// A registered linphonec far end (TCP, auto-answer).
fn linphone(kam: &Kamailio, user: &str) -> Linphone {
    let mut o = LinphoneOptions::user(user, kam);
    o.lifetime = LIFETIME;
    let l = Linphone::start(o).unwrap();
    l.wait_registered(T).unwrap();
    kam.wait_registered(user, T).unwrap();
    l
}

/// The agent as 1001, registered, sending `input` and writing what it hears to `out`.
fn agent(kam: &Kamailio, input: &str, out: &Path) -> Agent {
    let agent = Agent::start(
        AgentOptions::new(kam.addr(), "1001", "secret1001").with_extra(&format!(
            "[audio]\ninput = \"{input}\"\noutput = \"file:{}\"",
            out.display()
        )),
    );
    agent.wait_registered(T);
    kam.wait_registered("1001", T).unwrap();
    agent
}

/// The agent's output WAV once it is complete (finalized when the call's stream stops).
fn wait_wav(path: &Path, agent: &Agent) -> Wav {
    let deadline = Instant::now() + T;
    loop {
        match read_wav(path) {
            Ok(w) if !w.samples.is_empty() => return w,
            r if Instant::now() > deadline => panic!(
                "no complete WAV at {}: {r:?}\nagent log:\n{}",
                path.display(),
                agent.log()
            ),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn dbfs(level: f64) -> f64 {
    20.0 * level.max(1e-9).log10()
}

/// Checks the WAV is 8 kHz mono, has `freq` as its dominant frequency (±15 Hz) and a level
/// well above silence; returns (frequency, dBFS).
fn assert_tone(wav: &Wav, freq: f64, what: &str) -> (f64, f64) {
    assert_eq!(wav.sample_rate, 8000, "{what}: sample rate");
    // Skip the first half second (call set-up, jitter buffer filling).
    let body = &wav.samples[wav.samples.len().min(4000)..];
    let level = dbfs(rms(body));
    let f = dominant_frequency(body, wav.sample_rate);
    eprintln!(
        "{what}: {:.2} s, dominant {f:?} Hz, level {level:.1} dBFS",
        wav.duration_secs()
    );
    assert!(
        wav.duration_secs() > 1.5,
        "{what}: only {} s",
        wav.duration_secs()
    );
    let f = f.unwrap_or_else(|| panic!("{what}: silence ({level:.1} dBFS)"));
    assert!(
        (f - freq).abs() <= 15.0,
        "{what}: dominant {f} Hz, want {freq}"
    );
    assert!(level > -40.0, "{what}: level {level:.1} dBFS");
    (f, level)
}

fn end_reason(call: &serde_json::Value) -> String {
    call["end_reason"]["code"].as_str().unwrap_or("").to_owned()
}

fn out_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("out.wav")
}

#[test]
fn dial_out_to_echoing_baresip_hears_own_tone_back() {
    testbed::require!("kamailio", "kamcmd", "baresip");
    let kam = kamailio();
    let far = baresip(&kam, "1002", BaresipAudio::Echo);
    let tmp = tempfile::tempdir().unwrap();
    let out = out_path(&tmp);
    let agent = agent(&kam, "tone:440", &out);

    let id = agent.dial("1002");
    agent.wait_call_state(&id, "connected", T);
    let incoming = far.wait_event("CALL_ESTABLISHED", T).unwrap();
    assert!(incoming.peer_uri.starts_with("sip:1001@"), "{incoming:?}");
    std::thread::sleep(Duration::from_secs(3));
    agent.call_command(&id, "hangup", "");
    let call = agent.wait_call_state(&id, "ended", T);
    assert_eq!(end_reason(&call), "hangup_local", "{call}");
    far.wait_event("CALL_CLOSED", T).unwrap();

    let wav = wait_wav(&out, &agent);
    assert_tone(&wav, 440.0, "agent heard its echo");
}
