//! Self-test of the room echo path: with [`Pulse::couple_speaker_to_mic`] a tone played on
//! `speaker` is heard on the microphone (`mic.monitor`) at the attenuation asked for; before
//! and after (the path dropped) the microphone hears nothing.

use std::time::Duration;

use testbed::audio::{dominant_frequency, rms};
use testbed::pulse::{write_tone_wav, Pulse, PulseOptions, RATE};

fn dbfs(samples: &[i16]) -> f64 {
    20.0 * rms(samples).max(1e-9).log10()
}

/// Records the microphone for 2 s and returns the last 1.5 s (the first half second: the
/// recorder starting).
fn mic(pulse: &Pulse) -> Vec<i16> {
    let samples = pulse
        .start_record("mic.monitor")
        .unwrap()
        .finish(Duration::from_secs(2))
        .unwrap();
    samples[samples.len().min(RATE as usize / 2)..].to_vec()
}

#[test]
fn speaker_reaches_the_microphone_only_while_coupled() {
    testbed::require!("pulseaudio", "pacat", "pactl", "paplay", "parec");
    let pulse = Pulse::start(PulseOptions {
        lifetime: Duration::from_secs(60),
        ..PulseOptions::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tone.wav");
    // write_tone_wav plays at -12 dBFS peak: -15 dBFS RMS.
    write_tone_wav(&wav, 500.0, Duration::from_secs(20), RATE).unwrap();
    let _tone = pulse.start_play_into("speaker", &wav).unwrap();

    let alone = dbfs(&mic(&pulse));
    eprintln!("microphone without the echo path: {alone:.1} dBFS");
    assert!(
        alone < -80.0,
        "the microphone hears {alone:.1} dBFS uncoupled"
    );

    let path = pulse
        .couple_speaker_to_mic(Duration::from_millis(60), -10.0)
        .unwrap();
    // The loopback spends its first moments finding its latency.
    std::thread::sleep(Duration::from_secs(1));
    let heard = mic(&pulse);
    let level = dbfs(&heard);
    let f = dominant_frequency(&heard, RATE);
    eprintln!("microphone through a -10 dB echo path: {level:.1} dBFS at {f:?} Hz");
    assert!(
        (level - (-25.0)).abs() < 2.0,
        "echo at {level:.1} dBFS, want about -25 (the -15 dBFS tone, 10 dB down)"
    );
    assert!(f.is_some_and(|f| (f - 500.0).abs() <= 2.0), "{f:?} Hz");

    drop(path);
    let after = dbfs(&mic(&pulse));
    eprintln!("microphone after the echo path is removed: {after:.1} dBFS");
    assert!(after < -80.0, "the microphone still hears {after:.1} dBFS");
    let modules = pulse.pactl(&["list", "short", "modules"]).unwrap();
    assert!(!modules.contains("module-loopback"), "{modules}");
}
