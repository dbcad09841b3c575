//! WAV file reading into mono 16-bit samples, and linear resampling.

use std::path::Path;

/// Why a WAV file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WavError {
    /// The file cannot be opened or read.
    #[error("cannot read WAV file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// What the WAV reader said.
        #[source]
        source: hound::Error,
    },
    /// A sample format we do not read.
    #[error("WAV file {path} has {bits}-bit samples; only 8, 16, 24, 32-bit integer and 32-bit float are supported")]
    Format {
        /// The file.
        path: String,
        /// Its bits per sample.
        bits: u16,
    },
}

/// Read any common WAV (8/16/24/32-bit integer or 32-bit float, any channel count) as
/// mono 16-bit samples (channels averaged) and its sample rate.
pub fn read_wav_mono(path: impl AsRef<Path>) -> Result<(Vec<i16>, u32), WavError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let read_err = |source| WavError::Read {
        path: name.clone(),
        source,
    };
    let reader = hound::WavReader::open(path).map_err(read_err)?;
    let spec = reader.spec();
    let channels = spec.channels.max(1) as usize;
    let as_f32: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => reader
            .into_samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(read_err)?,
        (hound::SampleFormat::Int, bits @ (8 | 16 | 24 | 32)) => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f32;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(read_err)?
        }
        (_, bits) => return Err(WavError::Format { path: name, bits }),
    };
    let mono = as_f32
        .chunks(channels)
        .map(|frame| {
            let avg = frame.iter().sum::<f32>() / frame.len() as f32;
            (avg * 32768.0).round().clamp(-32768.0, 32767.0) as i16
        })
        .collect();
    Ok((mono, spec.sample_rate))
}

/// Linear-interpolation resampling from `from` Hz to `to` Hz.
pub fn resample_linear(samples: &[i16], from: u32, to: u32) -> Vec<i16> {
    if from == to || samples.is_empty() || from == 0 || to == 0 {
        return samples.to_vec();
    }
    let out_len = (samples.len() as u64 * to as u64 / from as u64) as usize;
    let step = from as f64 / to as f64;
    (0..out_len)
        .map(|i| {
            let pos = i as f64 * step;
            let idx = pos as usize;
            let frac = pos - idx as f64;
            let a = samples[idx.min(samples.len() - 1)] as f64;
            let b = samples[(idx + 1).min(samples.len() - 1)] as f64;
            (a + (b - a) * frac).round() as i16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stereo_float_48k_reads_as_mono() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48000,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for _ in 0..100 {
            w.write_sample(0.5f32).unwrap();
            w.write_sample(0.0f32).unwrap();
        }
        w.finalize().unwrap();
        let (s, rate) = read_wav_mono(&path).unwrap();
        assert_eq!(rate, 48000);
        assert_eq!(s.len(), 100);
        assert_eq!(s[0], 8192);
    }

    #[test]
    fn missing_file_names_the_path() {
        let e = read_wav_mono("/nonexistent/x.wav").unwrap_err().to_string();
        assert!(e.contains("/nonexistent/x.wav"), "{e}");
    }

    #[test]
    fn resample_lengths() {
        let s = vec![100i16; 4800];
        let r = resample_linear(&s, 48000, 8000);
        assert_eq!(r.len(), 800);
        assert!(r.iter().all(|&v| v == 100));
        assert_eq!(resample_linear(&s, 8000, 8000).len(), 4800);
    }
}
