//! The echo canceller on a real acoustic echo path: "the customer no longer hears themselves".
//!
//! The agent runs on the private headless PulseAudio (`testbed::pulse`: it plays on `speaker`
//! and captures `mic.monitor`), and the room is a `module-loopback` from `speaker.monitor` into
//! `mic` ([`Pulse::couple_speaker_to_mic`]): whatever the agent plays comes back into its
//! microphone, later and quieter, as from a desk speaker. The customer is a baresip far end
//! that sends a steady tone and records what it receives. For the first seconds only the
//! customer talks (the echo, and time for the canceller to converge); then the agent talks
//! too (a different tone into `mic`: double talk).
//!
//! Without echo cancellation the customer hears their own tone back; with it the echo is
//! tens of dB down while the agent's voice still comes through at its level.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Agent, AgentOptions};
use media::analysis::read_wav_mono;
use testbed::pulse::{write_tone_wav, Pulse, RATE};
use testbed::{BaresipAudio, BaresipOptions, Kamailio, KamailioOptions};

/// How long one step (registration, answer, ...) may take.
const T: Duration = Duration::from_secs(8);
const LIFETIME: Duration = Duration::from_secs(60);
/// The customer's voice (baresip's tone) and the agent's (played into `mic`).
const FAR_HZ: f64 = 1000.0;
const NEAR_HZ: f64 = 660.0;
/// The room: the speaker reaches the microphone 40 ms later (plus the devices' own buffers),
/// 10 dB down.
const ROOM_DELAY: Duration = Duration::from_millis(40);
const ROOM_GAIN_DB: f64 = -10.0;
/// The customer talks alone this long (into the call) before the agent joins in...
const FAR_ALONE: Duration = Duration::from_secs(6);
/// ...and then both talk this long.
const DOUBLE_TALK: Duration = Duration::from_secs(4);
/// Where the measurements are taken, in seconds of the customer's recording: the echo after
/// the canceller has had 3.5 s to converge, the agent's voice once it plays steadily.
const ECHO_WINDOW: (f64, f64) = (3.5, 5.5);
const NEAR_WINDOW: (f64, f64) = (7.0, 9.5);

/// What the customer heard in one call, tone levels in dBFS.
#[derive(Debug)]
struct Heard {
    /// Their own tone coming back while the agent is silent.
    echo: f64,
    /// Their tone as they sent it.
    sent: f64,
    /// The agent's tone while both talk.
    near: f64,
    /// Their own tone coming back while both talk.
    echo_in_double_talk: f64,
}

fn pulse() -> &'static Pulse {
    Pulse::shared().unwrap_or_else(|e| panic!("private PulseAudio: {e}"))
}

/// Level (RMS dBFS) of the tone near `freq` (±30 Hz: the device path shifts tones a little)
/// in `samples`: Hann-windowed Goertzel over 100 ms blocks, power averaged over the blocks.
fn tone_dbfs(samples: &[i16], rate: u32, freq: f64) -> f64 {
    let block = rate as usize / 10;
    let window: Vec<f64> = (0..block)
        .map(|i| 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / block as f64).cos())
        .collect();
    let blocks: Vec<&[i16]> = samples.chunks_exact(block).collect();
    let mut best = 0.0f64;
    let mut f = freq - 30.0;
    while f <= freq + 30.0 {
        let coeff = 2.0 * (std::f64::consts::TAU * f / f64::from(rate)).cos();
        let power: f64 = blocks
            .iter()
            .map(|b| {
                let (mut s1, mut s2) = (0.0f64, 0.0f64);
                for (x, w) in b.iter().zip(&window) {
                    let s0 = f64::from(*x) / 32768.0 * w + coeff * s1 - s2;
                    s2 = s1;
                    s1 = s0;
                }
                s1 * s1 + s2 * s2 - coeff * s1 * s2
            })
            .sum::<f64>()
            / blocks.len().max(1) as f64;
        best = best.max(power);
        f += 2.0;
    }
    // A sine of amplitude A gives |X| = A * N / 4 under a Hann window; its RMS is A / √2.
    let amplitude = 4.0 * best.sqrt() / block as f64;
    20.0 * (amplitude / std::f64::consts::SQRT_2).max(1e-9).log10()
}

fn window(samples: &[i16], rate: u32, (from, to): (f64, f64)) -> &[i16] {
    let at = |s: f64| ((s * f64::from(rate)) as usize).min(samples.len());
    &samples[at(from)..at(to)]
}

/// One call from the agent (`user`, echo cancellation `aec`) to a tone-sending baresip, with
/// the room coupling the agent's speaker to its microphone; what the customer heard.
fn call_through_the_room(user: &'static str, aec: bool) -> Heard {
    let pulse = pulse();
    let dir = tempfile::tempdir().unwrap();
    let near_wav = dir.path().join("near.wav");
    write_tone_wav(
        &near_wav,
        NEAR_HZ,
        DOUBLE_TALK + Duration::from_secs(2),
        RATE,
    )
    .unwrap();
    let _room = pulse
        .couple_speaker_to_mic(ROOM_DELAY, ROOM_GAIN_DB)
        .unwrap();

    let kam = Kamailio::start_with_lifetime(KamailioOptions::md5(), LIFETIME).unwrap();
    let mut o = BaresipOptions::user("1002", &kam);
    o.audio = BaresipAudio::Tone {
        freq: FAR_HZ as u32,
    };
    o.record = Some(dir.path().join("customer"));
    o.lifetime = LIFETIME;
    let customer = common::registered_baresip(o, &kam, T);
    let agent = Agent::start(
        AgentOptions::new(kam.addr(), user, password(user)).with_extra(&format!(
            "[audio]\ninput = \"device:mic.monitor\"\noutput = \"device:speaker\"\n\
             echo_cancellation = {aec}"
        )),
    );
    agent.wait_registered(T);

    let id = agent.dial("1002");
    agent.wait_call_state(&id, "connected", T);
    customer.wait_event("CALL_ESTABLISHED", T).unwrap();
    std::thread::sleep(FAR_ALONE);
    let mut near = pulse.start_play_into_mic(&near_wav).unwrap();
    std::thread::sleep(DOUBLE_TALK);
    agent.call_command(&id, "hangup", "");
    customer.wait_event("CALL_CLOSED", T).unwrap();
    near.wait(T + DOUBLE_TALK).unwrap();
    // sndfile completes the WAVs when the call's audio stops; stopping baresip makes sure.
    let recordings = customer.recordings();
    customer.stop();
    assert_eq!(recordings.len(), 1, "{recordings:?}");
    let heard = read(&recordings[0].received);
    let sent = read(&recordings[0].sent);
    eprintln!(
        "echo cancellation {aec}: customer recorded {:.1} s received, {:.1} s sent",
        heard.1.len() as f64 / f64::from(heard.0),
        sent.1.len() as f64 / f64::from(sent.0)
    );
    let (rate, heard) = heard;
    let echo_part = window(&heard, rate, ECHO_WINDOW);
    let near_part = window(&heard, rate, NEAR_WINDOW);
    let result = Heard {
        echo: tone_dbfs(echo_part, rate, FAR_HZ),
        sent: tone_dbfs(window(&sent.1, sent.0, ECHO_WINDOW), sent.0, FAR_HZ),
        near: tone_dbfs(near_part, rate, NEAR_HZ),
        echo_in_double_talk: tone_dbfs(near_part, rate, FAR_HZ),
    };
    eprintln!("echo cancellation {aec}: {result:?}");
    drop(agent);
    result
}

fn password(user: &str) -> &'static str {
    match user {
        "1001" => "secret1001",
        "1003" => "secret1003",
        other => panic!("no test user {other}"),
    }
}

/// A WAV as (rate, samples).
fn read(path: &Path) -> (u32, Vec<i16>) {
    let (samples, rate) = read_wav_mono(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (rate, samples)
}

#[test]
fn the_customer_no_longer_hears_themselves() {
    testbed::require!(
        "kamailio",
        "kamcmd",
        "baresip",
        "pulseaudio",
        "pacat",
        "pactl",
        "paplay",
        "parec"
    );
    let off = call_through_the_room("1001", false);
    let on = call_through_the_room("1003", true);
    let summary = format!(
        "customer's tone sent at {:.1} dBFS; echo heard back {:.1} dBFS without echo \
         cancellation, {:.1} dBFS with it ({:.1} dB less); agent's voice during double talk \
         {:.1} dBFS without, {:.1} dBFS with; echo during double talk {:.1} / {:.1} dBFS",
        off.sent,
        off.echo,
        on.echo,
        off.echo - on.echo,
        off.near,
        on.near,
        off.echo_in_double_talk,
        on.echo_in_double_talk,
    );
    eprintln!("{summary}");
    // Without the canceller the room's echo is plainly audible...
    assert!(
        off.echo > off.sent - 20.0,
        "no echo to cancel: the room does not work: {summary}"
    );
    // ...with it, it is gone for practical purposes.
    assert!(off.echo - on.echo >= 20.0, "echo not removed: {summary}");
    // The agent is still heard at about the same level while the customer talks.
    assert!(
        (off.near - on.near).abs() <= 6.0,
        "the agent's voice suffers under double talk: {summary}"
    );
}
