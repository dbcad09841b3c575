//! What tests and benches share (the `test-support` feature): signal measurements
//! (dominant frequency by a Goertzel sweep, RMS level in dBFS), a speech-like test signal,
//! a negotiation to start streams with, and encoding a run of frames.

use std::net::SocketAddr;

use crate::codec::AudioEncoder;
use crate::negotiate::{Codec, Direction, Negotiated};
use crate::OpusSettings;

pub use crate::wav::{read_wav_mono, WavError};

/// One stream's receive path (jitter buffer, decoder, concealment), sans-IO: for replaying
/// a network trace offline (`media/examples/jitter_replay.rs`).
pub use crate::session::receive::Receiver;

/// Send-receive with `remote` in `codec` (its default payload type), RTCP on the next port,
/// telephone-event 101 at 8 kHz, 20 ms packets.
pub fn negotiated(remote: SocketAddr, codec: Codec) -> Negotiated {
    Negotiated {
        remote_rtp: Some(remote),
        codec,
        payload_type: codec.default_payload_type(),
        telephone_event: Some(101),
        telephone_event_rate: 8000,
        rtcp_mux: false,
        remote_rtcp: remote
            .port()
            .checked_add(1)
            .map(|p| SocketAddr::new(remote.ip(), p)),
        ptime_ms: 20,
        local_direction: Direction::SendRecv,
        remote_direction: Direction::SendRecv,
        opus: OpusSettings::default(),
        srtp: None,
    }
}

/// The payloads of a packet capture: each a 32-bit little-endian length and the bytes, as
/// `benches/pesq/impair.py --capture` writes them (`testdata/opus/speech.rtp`). `None` if
/// the last one is cut short.
pub fn split_packets(mut data: &[u8]) -> Option<Vec<&[u8]>> {
    let mut packets = Vec::new();
    while let Some((len, rest)) = data.split_first_chunk::<4>() {
        let len = u32::from_le_bytes(*len) as usize;
        packets.push(rest.get(..len)?);
        data = &rest[len..];
    }
    data.is_empty().then_some(packets)
}

/// Each of `frames` encoded by `encoder`, one payload each.
///
/// # Panics
/// When the encoder refuses a frame: test input is expected to fit the codec.
pub fn encode_all<'a>(
    encoder: &mut dyn AudioEncoder,
    frames: impl IntoIterator<Item = &'a [i16]>,
) -> Vec<Vec<u8>> {
    frames
        .into_iter()
        .map(|f| {
            let mut p = Vec::new();
            encoder
                .encode(f, &mut p)
                .expect("test frames fit the codec");
            p
        })
        .collect()
}

/// Goertzel power of `freq` in `samples`.
fn goertzel_power(samples: &[i16], sample_rate: u32, freq: f32) -> f64 {
    let w = std::f64::consts::TAU * freq as f64 / sample_rate as f64;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = x as f64 + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// One sample of a speech-like test signal at `t` seconds: a 140 Hz voice gliding ±30 Hz
/// with eight harmonics, in 2.5 Hz syllables. Codec tests and benches use it because libopus
/// codes in-band FEC only for what its VAD calls speech, which a steady tone is not.
pub fn voice_sample(t: f64) -> i16 {
    use std::f64::consts::TAU;
    let envelope = (TAU * 2.5 * t).sin().max(0.0);
    let f0 = 140.0 + 30.0 * (TAU * 1.3 * t).sin();
    let s: f64 = (1..=8)
        .map(|k| (TAU * f0 * k as f64 * t).sin() / k as f64)
        .sum();
    (s * envelope * 5000.0) as i16
}

/// `n` samples of deterministic white noise (xorshift) whose RMS is `rms` of full scale: a
/// steady background hum for noise suppression tests.
pub fn white_noise(n: usize, rms: f64) -> Vec<i16> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Uniform in [-1, 1) has an RMS of 1/sqrt(3).
            let u = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            (u * 3f64.sqrt() * rms * 32768.0) as i16
        })
        .collect()
}

/// `n` samples of [`voice_sample`] at `rate`, from sample `from` on.
pub fn voice(rate: u32, from: usize, n: usize) -> Vec<i16> {
    (from..from + n)
        .map(|i| voice_sample(i as f64 / f64::from(rate)))
        .collect()
}

/// The strongest frequency between 100 and 4000 Hz (capped at Nyquist), to about 1 Hz;
/// `None` for empty input or digital silence. Looks at no more than the first 2 s.
///
/// Power is averaged over short segments (100 ms for the 10 Hz search, 500 ms for the
/// 0.5 Hz refinement), not taken over the whole window: audio that went through
/// concealment or frame drops has phase jumps, which split one long window's narrow peak
/// into sidebands, while per-segment power keeps the tone's energy where the tone is.
pub fn dominant_frequency(samples: &[i16], sample_rate: u32) -> Option<f32> {
    if sample_rate == 0 || samples.iter().all(|&s| s == 0) {
        return None;
    }
    let n = samples.len().min(2 * sample_rate as usize);
    let s = &samples[..n];
    let top = 4000f32.min(sample_rate as f32 / 2.0 - 1.0);
    let best_in = |lo: f32, hi: f32, step: f32, segment: usize| {
        let segment = segment.clamp(1, s.len());
        let mut best = (lo, f64::MIN);
        let mut f = lo;
        while f <= hi {
            let p: f64 = s
                .chunks(segment)
                .filter(|c| c.len() == segment || c.len() == s.len())
                .map(|c| goertzel_power(c, sample_rate, f))
                .sum();
            if p > best.1 {
                best = (f, p);
            }
            f += step;
        }
        best.0
    };
    let coarse = best_in(100.0, top, 10.0, sample_rate as usize / 10);
    Some(best_in(
        (coarse - 10.0).max(100.0),
        (coarse + 10.0).min(top),
        0.5,
        sample_rate as usize / 2,
    ))
}

/// RMS level relative to full scale (32768); `-inf` for empty input or digital silence.
pub fn rms_dbfs(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return f32::NEG_INFINITY;
    }
    let sum: f64 = samples.iter().map(|&s| (s as f64) * (s as f64)).sum();
    let rms = (sum / samples.len() as f64).sqrt();
    if rms == 0.0 {
        return f32::NEG_INFINITY;
    }
    (20.0 * (rms / 32768.0).log10()) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| ((std::f64::consts::TAU * freq * i as f64 / 8000.0).sin() * 10000.0) as i16)
            .collect()
    }

    #[test]
    fn finds_the_tone() {
        for f in [150.0, 440.0, 1000.0, 3300.0] {
            let got = dominant_frequency(&sine(f, 4000), 8000).unwrap();
            assert!((got as f64 - f).abs() < 3.0, "{f}: {got}");
        }
        assert_eq!(dominant_frequency(&[0; 100], 8000), None);
        assert_eq!(dominant_frequency(&[], 8000), None);
    }

    #[test]
    fn finds_a_tone_broken_by_periodic_phase_jumps() {
        // 660 Hz at 48 kHz, with 7 samples skipped every 30 ms (what concealment or a
        // device ring's underruns do): one long window's peak moves to a sideband ~33 Hz
        // away; the tone is still the strongest thing in the signal.
        let rate = 48_000;
        let clean: Vec<i16> = (0..3 * rate as usize)
            .map(|i| ((std::f64::consts::TAU * 660.0 * i as f64 / 48_000.0).sin() * 10000.0) as i16)
            .collect();
        let broken: Vec<i16> = clean
            .chunks(1440)
            .flat_map(|c| c[..c.len().min(1433)].to_vec())
            .collect();
        let got = dominant_frequency(&broken, rate).unwrap();
        assert!((got - 660.0).abs() <= 5.0, "{got}");
    }

    #[test]
    fn levels() {
        assert_eq!(rms_dbfs(&[]), f32::NEG_INFINITY);
        assert_eq!(rms_dbfs(&[0; 10]), f32::NEG_INFINITY);
        assert!((rms_dbfs(&[16384, -16384]) + 6.02).abs() < 0.01);
    }
}
