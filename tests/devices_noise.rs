//! Noise suppression on the real device path: "the customer no longer hears the office".
//!
//! The agent runs on the private headless PulseAudio (`testbed::pulse`: it captures
//! `mic.monitor`); into its microphone plays an open office's steady hum (white noise,
//! -35 dBFS RMS) for the whole call, and the agent's voice (`media::test_support::voice`,
//! about -22 dBFS) joins in after a few seconds. A baresip customer records what it receives.
//! The same call runs without and with `[audio] noise_suppression`: with it the hum alone is
//! much quieter and the voice over it keeps its level.

mod common;

use std::path::Path;
use std::time::Duration;

use common::pulse;
use media::test_support::{read_wav_mono, rms_dbfs, voice, white_noise};
use testbed::pulse::{write_wav, RATE};
use testbed::BaresipAudio;

/// How long one step (registration, answer, ...) may take.
const T: Duration = Duration::from_secs(8);
const LIFETIME: Duration = Duration::from_secs(60);
/// The hum alone this long into the microphone, then the voice over it this long.
const HUM_ALONE: Duration = Duration::from_secs(6);
const VOICE: Duration = Duration::from_secs(4);
/// The hum's RMS, of full scale.
const HUM_RMS: f64 = 0.018; // -35 dBFS

/// Levels the customer heard, dBFS RMS.
#[derive(Debug)]
struct Heard {
    /// The hum alone, once the suppressor has had 3 s to learn it.
    hum: f64,
    /// The voice over the hum.
    voice: f64,
}

/// Seconds into `samples` where the voice starts: the first 100 ms block 8 dB above the
/// first second's level (the hum, with or without the suppressor).
fn voice_onset(samples: &[i16], rate: u32) -> Option<f64> {
    let block = rate as usize / 10;
    let floor = rms_dbfs(samples.get(rate as usize..2 * rate as usize)?);
    samples
        .chunks_exact(block)
        .enumerate()
        .skip(20)
        .find(|(_, b)| rms_dbfs(b) > floor + 8.0)
        .map(|(i, _)| (i * block) as f64 / f64::from(rate))
}

/// One call from the agent (`user`) to a silent, recording baresip, with the hum and then
/// the voice in the agent's microphone; what the customer heard.
fn call_from_the_office(user: &'static str, suppress: bool) -> Heard {
    let pulse = pulse();
    let dir = tempfile::tempdir().unwrap();
    let mic_wav = dir.path().join("office.wav");
    let hum_alone = (HUM_ALONE.as_secs_f64() * f64::from(RATE)) as usize;
    let n = hum_alone + (VOICE.as_secs_f64() * f64::from(RATE)) as usize;
    let mut office = white_noise(n, HUM_RMS);
    for (m, v) in office[hum_alone..]
        .iter_mut()
        .zip(voice(RATE, 0, n - hum_alone))
    {
        *m = m.saturating_add(v);
    }
    write_wav(&mic_wav, &office, RATE).unwrap();

    let call = common::device_call_to_customer(
        user,
        &format!("noise_suppression = {suppress}"),
        BaresipAudio::Silence,
        dir.path().join("customer"),
        LIFETIME,
        T,
    );
    let mut office = pulse.start_play_into_mic(&mic_wav).unwrap();
    office.wait(T + HUM_ALONE + VOICE).unwrap();
    let (_agent, recording) = call.hang_up(T);
    let (heard, rate) = read(&recording.received);
    let onset = voice_onset(&heard, rate).unwrap_or_else(|| {
        panic!("noise suppression {suppress}: the agent's voice never reached the customer")
    });
    let at = |s: f64| ((s.max(0.0) * f64::from(rate)) as usize).min(heard.len());
    let result = Heard {
        hum: f64::from(rms_dbfs(&heard[at(onset - 3.0)..at(onset - 0.5)])),
        voice: f64::from(rms_dbfs(&heard[at(onset + 0.5)..at(onset + 3.5)])),
    };
    eprintln!("noise suppression {suppress}: voice from {onset:.2} s; {result:?}");
    result
}

/// A WAV as (samples, rate).
fn read(path: &Path) -> (Vec<i16>, u32) {
    read_wav_mono(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_customer_no_longer_hears_the_office() {
    let Some(_turn) = common::device_call_turn(module_path!()) else {
        return;
    };
    let off = call_from_the_office("1001", false);
    let on = call_from_the_office("1003", true);
    let summary = format!(
        "hum heard at {:.1} dBFS without noise suppression, {:.1} dBFS with it; the voice \
         over it at {:.1} and {:.1} dBFS",
        off.hum, on.hum, off.voice, on.voice
    );
    eprintln!("{summary}");
    // Without the suppressor the hum arrives as played, less what G.711 leaves out (white
    // noise keeps a sixth of its power in 0-4 kHz: -35 dBFS becomes about -43).
    assert!(
        off.hum > -48.0,
        "the hum did not reach the customer: {summary}"
    );
    assert!(
        off.hum - on.hum >= 8.0,
        "the hum is not suppressed: {summary}"
    );
    assert!(
        (off.voice - on.voice).abs() <= 3.0,
        "the voice suffers under noise suppression: {summary}"
    );
}
