//! Checking recorded audio: read a WAV, find the dominant tone (Goertzel), measure the level.

use std::path::Path;

use crate::TestbedError;

/// A WAV file's samples, mixed down to mono.
#[derive(Debug, Clone, PartialEq)]
pub struct Wav {
    pub sample_rate: u32,
    pub samples: Vec<i16>,
}

impl Wav {
    pub fn duration_secs(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate.max(1))
    }
}

/// Reads a 16-bit PCM WAV (as baresip's `sndfile` writes) and averages its channels.
pub fn read_wav(path: &Path) -> Result<Wav, TestbedError> {
    let err = |e: hound::Error| {
        TestbedError::io(
            format!("read WAV {}", path.display()),
            std::io::Error::other(e.to_string()),
        )
    };
    let mut r = hound::WavReader::open(path).map_err(err)?;
    let spec = r.spec();
    let channels = usize::from(spec.channels.max(1));
    let raw: Vec<i16> = r.samples::<i16>().collect::<Result<_, _>>().map_err(err)?;
    let samples = raw
        .chunks(channels)
        .map(|frame| {
            let sum: i32 = frame.iter().map(|s| i32::from(*s)).sum();
            (sum / frame.len() as i32) as i16
        })
        .collect();
    Ok(Wav {
        sample_rate: spec.sample_rate,
        samples,
    })
}

/// Root mean square level, 0.0 (silence) to 1.0 (full scale).
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples
        .iter()
        .map(|s| (f64::from(*s) / 32768.0).powi(2))
        .sum();
    (sum / samples.len() as f64).sqrt()
}

/// Relative power of `freq` Hz in `samples` (Goertzel), normalised by length.
pub fn tone_power(samples: &[i16], rate: u32, freq: f64) -> f64 {
    if samples.is_empty() || rate == 0 {
        return 0.0;
    }
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for x in samples {
        let s0 = f64::from(*x) / 32768.0 + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    power / (samples.len() as f64).powi(2)
}

/// The frequency (Hz, to the nearest 10 Hz between 50 Hz and the Nyquist limit) with the most
/// power, or `None` for silence (RMS below -60 dBFS) or an empty input.
pub fn dominant_frequency(samples: &[i16], rate: u32) -> Option<f64> {
    if rms(samples) < 0.001 || rate < 200 {
        return None;
    }
    let nyquist = rate / 2;
    let mut best = (0.0, 0.0);
    // Coarse scan on 10 Hz steps, then refine around the peak on 1 Hz steps.
    for f in (50..nyquist).step_by(10) {
        let p = tone_power(samples, rate, f64::from(f));
        if p > best.1 {
            best = (f64::from(f), p);
        }
    }
    let coarse = best.0;
    for df in -10..=10 {
        let f = coarse + f64::from(df);
        let p = tone_power(samples, rate, f);
        if p > best.1 {
            best = (f, p);
        }
    }
    Some(best.0)
}

/// The strongest frequency between 100 Hz and 12 kHz, to 20 Hz, with its level in dBFS:
/// power summed over 50 ms segments, so a tone slightly off pitch or with phase jumps still
/// has all its energy in one bin. The level is the peak amplitude (2|X|/N) squared, as mean
/// square.
pub fn strongest_tone(samples: &[i16], rate: u32) -> (f64, f64) {
    let seg = (rate as usize / 20).max(1);
    let segments = samples.chunks_exact(seg).count().max(1) as f64;
    let power = |freq: f64| -> f64 {
        samples
            .chunks_exact(seg)
            .map(|c| 2.0 * tone_power(c, rate, freq).max(0.0))
            .sum::<f64>()
            / segments
    };
    let (f, p) = (5..600)
        .map(|k| f64::from(k) * 20.0)
        .map(|f| (f, power(f)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((0.0, 0.0));
    (f, 10.0 * p.max(1e-12).log10())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, rate: u32, secs: f64, amp: f64) -> Vec<i16> {
        let n = (f64::from(rate) * secs) as usize;
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(rate);
                (amp * 32767.0 * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16
            })
            .collect()
    }

    #[test]
    fn finds_the_tone() {
        for (freq, rate) in [
            (440.0, 8000),
            (1000.0, 8000),
            (2600.0, 8000),
            (440.0, 48000),
        ] {
            let f = dominant_frequency(&sine(freq, rate, 0.5, 0.3), rate).unwrap();
            assert!((f - freq).abs() <= 2.0, "{freq} at {rate}: got {f}");
        }
    }

    #[test]
    fn silence_has_no_tone() {
        assert_eq!(dominant_frequency(&[0; 8000], 8000), None);
        assert_eq!(dominant_frequency(&[], 8000), None);
        assert_eq!(rms(&[]), 0.0);
    }

    #[test]
    fn reads_what_hound_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for s in sine(700.0, 8000, 0.25, 0.5) {
            w.write_sample(s).unwrap();
            w.write_sample(s).unwrap();
        }
        w.finalize().unwrap();
        let wav = read_wav(&path).unwrap();
        assert_eq!(wav.sample_rate, 8000);
        assert_eq!(wav.samples.len(), 2000);
        assert!((wav.duration_secs() - 0.25).abs() < 1e-9);
        assert!((rms(&wav.samples) - 0.5 / 2f64.sqrt()).abs() < 0.01);
        let f = dominant_frequency(&wav.samples, 8000).unwrap();
        assert!((f - 700.0).abs() <= 2.0, "{f}");
    }
}
