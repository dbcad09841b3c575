//! The echo canceller on a real acoustic echo path: "the customer no longer hears themselves".
//!
//! The agent runs on the private headless PulseAudio (`testbed::pulse`: it plays on `speaker`
//! and captures `mic.monitor`), and the room is a `module-loopback` from `speaker.monitor` into
//! `mic` (`Pulse::couple_speaker_to_mic`): whatever the agent plays comes back into its
//! microphone, later and quieter, as from a desk speaker. The customer is a baresip far end
//! that talks (`media::test_support::voice`, a speech-like signal with harmonics up to ~1.4 kHz,
//! from a WAV) and records what it receives. For the first seconds only the customer talks
//! (the echo, and time for the canceller to converge); then the agent talks too (a 2 kHz
//! tone into `mic`, above the customer's voice: double talk).
//!
//! Without echo cancellation the customer hears their own voice back; with it (AEC3) the echo
//! is about 50 dB down (48.7-50.4 dB measured, also with the machine loaded) and the agent keeps
//! their level while both talk (within 1 dB measured; AEC2, which it replaced, ducked them
//! 4-25 dB: docs/benchmarks.md, "AEC3 against AEC2").

mod common;

use std::path::Path;
use std::time::Duration;

use common::pulse;
use media::test_support::{read_wav_mono, rms_dbfs, voice};
use testbed::pulse::{write_tone_wav, write_wav, RATE};
use testbed::BaresipAudio;

/// How long one step (registration, answer, ...) may take.
const T: Duration = Duration::from_secs(8);
const LIFETIME: Duration = Duration::from_secs(60);
/// The agent's voice (a tone played into `mic`), above every harmonic of the customer's.
const NEAR_HZ: f64 = 2000.0;
/// baresip's `aufile` source takes 8 kHz mono.
const CUSTOMER_RATE: u32 = 8000;
/// The room: the speaker reaches the microphone 40 ms later (plus the devices' own buffers),
/// 10 dB down.
const ROOM_DELAY: Duration = Duration::from_millis(40);
const ROOM_GAIN_DB: f64 = -10.0;
/// The customer talks alone this long (into the call) before the agent joins in...
const FAR_ALONE: Duration = Duration::from_secs(7);
/// ...and then both talk this long.
const DOUBLE_TALK: Duration = Duration::from_secs(4);
/// Where the measurements are taken, in seconds from where the agent's tone starts in the
/// customer's recording (found there: baresip records only the packets it gets, so under
/// load the recording runs short of the call): the echo after the canceller has had 4 s to
/// converge, the agent's voice once it plays steadily.
const ECHO_WINDOW: (f64, f64) = (-3.0, -0.5);
const NEAR_WINDOW: (f64, f64) = (1.0, 3.5);
/// The customer must have received at least this share of the call to judge it.
const MIN_RECEIVED: f64 = 0.8;

/// What the customer heard in one call, levels in dBFS (RMS).
#[derive(Debug)]
struct Heard {
    /// Everything they heard while the agent is silent: their own voice coming back.
    echo: f64,
    /// Their voice as they sent it, in the same window.
    sent: f64,
    /// The agent's tone while both talk.
    near: f64,
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

/// `samples` from `from` to `to` seconds after `origin` (clipped to the recording).
fn window(samples: &[i16], rate: u32, origin: f64, (from, to): (f64, f64)) -> &[i16] {
    let at = |s: f64| (((origin + s).max(0.0) * f64::from(rate)) as usize).min(samples.len());
    &samples[at(from)..at(to)]
}

/// Seconds into `samples` where the agent's tone first stands out (-30 dBFS and up).
fn near_onset(samples: &[i16], rate: u32) -> Option<f64> {
    let block = rate as usize / 10;
    let step = block / 4;
    (0..samples.len().saturating_sub(block))
        .step_by(step)
        .find(|&i| tone_dbfs(&samples[i..i + block], rate, NEAR_HZ) > -30.0)
        .map(|i| i as f64 / f64::from(rate))
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
    let far_wav = dir.path().join("customer.wav");
    let far_len = CUSTOMER_RATE as usize * 30;
    write_wav(&far_wav, &voice(CUSTOMER_RATE, 0, far_len), CUSTOMER_RATE).unwrap();
    let _room = pulse
        .couple_speaker_to_mic(ROOM_DELAY, ROOM_GAIN_DB)
        .unwrap();

    let call = common::device_call_to_customer(
        user,
        &format!("echo_cancellation = {aec}"),
        BaresipAudio::File(far_wav),
        dir.path().join("customer"),
        LIFETIME,
        T,
    );
    std::thread::sleep(FAR_ALONE);
    let mut near = pulse.start_play_into_mic(&near_wav).unwrap();
    std::thread::sleep(DOUBLE_TALK);
    let (agent, recording) = call.hang_up(T);
    near.wait(T + DOUBLE_TALK).unwrap();
    let heard = read(&recording.received);
    let sent = read(&recording.sent);
    eprintln!(
        "echo cancellation {aec}: customer recorded {:.1} s received, {:.1} s sent",
        heard.1.len() as f64 / f64::from(heard.0),
        sent.1.len() as f64 / f64::from(sent.0)
    );
    let (rate, heard) = heard;
    eprintln!(
        "echo cancellation {aec}: customer hears, dBFS per 0.5 s: {}",
        profile(&heard, rate)
    );
    let call = (FAR_ALONE + DOUBLE_TALK).as_secs_f64();
    let received = heard.len() as f64 / f64::from(rate);
    assert!(
        received >= MIN_RECEIVED * call,
        "echo cancellation {aec}: the customer received {received:.1} s of a {call:.0} s \
         call: the agent's RTP did not keep up\n{}",
        agent.log()
    );
    let onset = near_onset(&heard, rate).unwrap_or_else(|| {
        panic!("echo cancellation {aec}: the agent's tone never reached the customer")
    });
    // The customer's own recording of what they sent, at the same point of the call.
    let sent_onset = onset * sent.1.len() as f64 / heard.len().max(1) as f64;
    let result = Heard {
        echo: f64::from(rms_dbfs(window(&heard, rate, onset, ECHO_WINDOW))),
        sent: f64::from(rms_dbfs(window(&sent.1, sent.0, sent_onset, ECHO_WINDOW))),
        near: tone_dbfs(window(&heard, rate, onset, NEAR_WINDOW), rate, NEAR_HZ),
    };
    eprintln!("echo cancellation {aec}: agent's tone from {onset:.2} s; {result:?}");
    // The canceller's own figures (delay estimate, ERLE, delay line), for the log.
    for line in agent.log().lines().filter(|l| l.contains("echo canceller")) {
        eprintln!("  {line}");
    }
    drop(agent);
    result
}

/// The level in each half second, for the log: how fast the canceller converges.
fn profile(samples: &[i16], rate: u32) -> String {
    samples
        .chunks(rate as usize / 2)
        .map(|c| format!("{:.0}", rms_dbfs(c)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A WAV as (rate, samples).
fn read(path: &Path) -> (u32, Vec<i16>) {
    let (samples, rate) = read_wav_mono(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (rate, samples)
}

/// The same customer through the same room twice, without the canceller (user 1001) and
/// with it (1003), after checking that the room echoes at all: both calls and a summary of
/// their levels for the assertion messages. Run once for both tests (they hold the devices
/// in turn).
fn calls_without_and_with_the_canceller() -> &'static (Heard, Heard, String) {
    static RUN: std::sync::OnceLock<(Heard, Heard, String)> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let off = call_through_the_room("1001", false);
        let on = call_through_the_room("1003", true);
        let summary = format!(
            "customer's voice sent at {:.1} dBFS; heard back {:.1} dBFS without echo \
             cancellation, {:.1} dBFS with it ({:.1} dB less); agent's voice during double talk \
             {:.1} dBFS without, {:.1} dBFS with",
            off.sent,
            off.echo,
            on.echo,
            off.echo - on.echo,
            off.near,
            on.near
        );
        eprintln!("{summary}");
        (off, on, summary)
    })
}

/// The room works: without the canceller the customer's voice comes back about as loud as
/// the room lets it (-10 dB, plus what the device path loses), and the agent is heard at the
/// level played into the microphone (-15 dBFS RMS).
fn assert_the_room_echoes((off, _, summary): &(Heard, Heard, String)) {
    assert!(
        off.echo > off.sent - 25.0,
        "no echo: the room does not work: {summary}"
    );
    assert!(
        (off.near - (-15.0)).abs() <= 3.0,
        "the agent's voice without echo cancellation: {summary}"
    );
}

#[test]
fn the_customer_no_longer_hears_themselves() {
    let Some(_turn) = common::device_call_turn(module_path!()) else {
        return;
    };
    let run = calls_without_and_with_the_canceller();
    assert_the_room_echoes(run);
    let (off, on, summary) = run;
    // With the canceller the customer's own voice is down by a margin anyone hears: 30 dB
    // (measured 48.7-50.4 dB on this testbed).
    assert!(off.echo - on.echo >= 30.0, "echo not removed: {summary}");
}

#[test]
fn under_double_talk_the_agent_keeps_their_level() {
    let Some(_turn) = common::device_call_turn(module_path!()) else {
        return;
    };
    let run = calls_without_and_with_the_canceller();
    assert_the_room_echoes(run);
    let (off, on, summary) = run;
    // While both talk the agent is heard as loud as without the canceller, within 6 dB
    // (measured within 1 dB).
    assert!(
        (off.near - on.near).abs() <= 6.0,
        "the agent's voice suffers under double talk: {summary}"
    );
}
