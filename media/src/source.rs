//! Audio sources for a call: a tone, a looping WAV file, silence, the shared capture device
//! or a probe (mono frames at 8 kHz, or at a codec's rate with [`SourceSpec::open_at`]).
//! The device (and the probe, which stands in for it) captures at [`SHARED_CAPTURE_RATE`]:
//! Opus calls take its frames as they are, G.711 calls convert them once to 8 kHz.

use std::f64::consts::TAU;
use std::fmt;
use std::path::PathBuf;

use crate::device::{f32_to_i16, DeviceLink, RateConverter, SHARED_CAPTURE_RATE};
use crate::probe::Probe;
use crate::wav::{read_wav_mono, resample_linear, WavError};

/// The sample rate of [`SourceSpec::open`] and of the WAV sink.
pub const SAMPLE_RATE: u32 = 8000;

/// Peak amplitude of generated tones: -12 dBFS.
const TONE_AMPLITUDE: f64 = 32767.0 * 0.251_188_643;

/// What to play into a call, as written in the config (`[audio] input`).
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    /// `tone:FREQ`: a sine at FREQ Hz, peak -12 dBFS.
    Tone(f32),
    /// `file:PATH.wav`: a WAV file, converted to 8 kHz mono, looped.
    File(PathBuf),
    /// `silence`.
    Silence,
    /// The agent's shared capture device, for one call (built by the agent from
    /// `device:...`, never parsed): the call reads it only while it is the active one.
    Device(DeviceLink),
    /// A click on request, timed to the sink that plays it (built in code, never parsed).
    Probe(Probe),
}

/// A source or sink spec that could not be parsed; Display lists the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid audio {what} {given:?}: {reason}; accepted forms are {accepted}")]
pub struct SpecError {
    /// `source` or `sink`.
    pub what: &'static str,
    /// The text given.
    pub given: String,
    /// What is wrong with it.
    pub reason: String,
    /// The forms accepted.
    pub accepted: &'static str,
}

const SOURCE_FORMS: &str = "\"tone:FREQ\" (e.g. \"tone:440\"), \"file:PATH.wav\" or \"silence\"";

impl SourceSpec {
    /// Parses `tone:FREQ`, `file:PATH.wav` or `silence`.
    pub fn parse(s: &str) -> Result<SourceSpec, SpecError> {
        let err = |reason: &str| SpecError {
            what: "input",
            given: s.to_string(),
            reason: reason.to_string(),
            accepted: SOURCE_FORMS,
        };
        let t = s.trim();
        if t.eq_ignore_ascii_case("silence") {
            return Ok(SourceSpec::Silence);
        }
        match t.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("tone") => {
                let f: f32 = v
                    .trim()
                    .parse()
                    .map_err(|_| err("the tone frequency is not a number"))?;
                if !(f > 0.0 && f < SAMPLE_RATE as f32 / 2.0) {
                    return Err(err("the tone frequency must be between 0 and 4000 Hz"));
                }
                Ok(SourceSpec::Tone(f))
            }
            Some((k, v)) if k.eq_ignore_ascii_case("file") => {
                if v.trim().is_empty() {
                    return Err(err("the file path is empty"));
                }
                Ok(SourceSpec::File(PathBuf::from(v.trim())))
            }
            _ => Err(err("unknown kind")),
        }
    }

    /// Open the source at 8 kHz (reads the whole file for `file:`).
    pub fn open(&self) -> Result<Source, WavError> {
        self.open_at(SAMPLE_RATE)
    }

    /// Open the source producing `rate` Hz samples (a codec's clock rate): tones are
    /// generated at that rate, files converted to it once (linear interpolation).
    pub fn open_at(&self, rate: u32) -> Result<Source, WavError> {
        let rate = rate.max(1);
        Ok(match self {
            SourceSpec::Tone(f) => Source::Tone {
                phase: 0.0,
                step: TAU * *f as f64 / rate as f64,
            },
            SourceSpec::File(p) => {
                let (samples, file_rate) = read_wav_mono(p)?;
                let samples = resample_linear(&samples, file_rate, rate);
                if samples.is_empty() {
                    Source::Silence
                } else {
                    Source::Samples { samples, pos: 0 }
                }
            }
            SourceSpec::Silence => Source::Silence,
            SourceSpec::Device(link) => match DeviceReader::new(Mic::Link(link.clone()), rate) {
                Some(r) => Source::Device(Box::new(r)),
                None => Source::Silence,
            },
            SourceSpec::Probe(p) => match DeviceReader::new(Mic::Probe(p.clone()), rate) {
                Some(r) => Source::Device(Box::new(r)),
                None => Source::Silence,
            },
        })
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::Tone(hz) => write!(f, "tone:{hz}"),
            SourceSpec::File(p) => write!(f, "file:{}", p.display()),
            SourceSpec::Silence => f.write_str("silence"),
            SourceSpec::Device(_) => f.write_str("device"),
            SourceSpec::Probe(_) => f.write_str("probe"),
        }
    }
}

/// An open source producing mono samples at the rate it was opened at.
#[derive(Debug)]
pub enum Source {
    /// A sine: its phase now and its step per sample, radians.
    Tone {
        /// Phase of the next sample.
        phase: f64,
        /// Phase step per sample.
        step: f64,
    },
    /// A file's samples, looped.
    Samples {
        /// The samples, at the rate opened at.
        samples: Vec<i16>,
        /// The next one to read.
        pos: usize,
    },
    /// Zeros.
    Silence,
    /// The shared capture device or a probe standing in for it.
    Device(Box<DeviceReader>),
}

/// What a [`DeviceReader`] captures from.
#[derive(Debug)]
enum Mic {
    Link(DeviceLink),
    /// A click on request, captured as the device would (same rate, same conversion).
    Probe(Probe),
}

impl Mic {
    /// `out` at [`SHARED_CAPTURE_RATE`]; false when this call does not have the device.
    fn read(&self, out: &mut [f32]) -> bool {
        match self {
            Mic::Link(link) => link.read(out),
            Mic::Probe(p) => {
                p.read(std::time::Instant::now(), SHARED_CAPTURE_RATE, out);
                true
            }
        }
    }
}

/// Microphone audio for one call, converted from the shared device's rate to the codec's.
#[derive(Debug)]
pub struct DeviceReader {
    mic: Mic,
    /// `None` when the codec runs at the device rate.
    convert: Option<RateConverter>,
    captured: Vec<f32>,
    /// Converted samples not yet read (the converter works in whole 20 ms chunks).
    converted: std::collections::VecDeque<i16>,
}

impl DeviceReader {
    /// `None` when the converter cannot be built for `rate` (logged).
    fn new(mic: Mic, rate: u32) -> Option<DeviceReader> {
        let convert = if rate == SHARED_CAPTURE_RATE {
            None
        } else {
            let c = RateConverter::new(SHARED_CAPTURE_RATE, rate)
                .inspect_err(|e| tracing::warn!(error = %e, "microphone audio not converted"))
                .ok()?;
            Some(c)
        };
        Some(DeviceReader {
            mic,
            convert,
            captured: Vec::new(),
            converted: std::collections::VecDeque::new(),
        })
    }

    /// The device's `f32` audio becomes integer samples here, once, after any rate
    /// conversion.
    fn read(&mut self, out: &mut [i16]) {
        let Some(convert) = self.convert.as_mut() else {
            self.captured.resize(out.len(), 0.0);
            if !self.mic.read(&mut self.captured) {
                out.fill(0);
                return;
            }
            for (o, &s) in out.iter_mut().zip(&self.captured) {
                *o = f32_to_i16(s);
            }
            return;
        };
        // Capture time in, codec time out: ask the device for exactly `out`'s duration.
        let want = out.len() * SHARED_CAPTURE_RATE as usize / convert.to_rate().max(1) as usize;
        self.captured.resize(want, 0.0);
        if !self.mic.read(&mut self.captured) {
            // Not the active call: silence, and no stale audio when it becomes active.
            self.converted.clear();
            convert.reset();
            out.fill(0);
            return;
        }
        let converted = &mut self.converted;
        convert.process(&self.captured, |o| {
            converted.extend(o.iter().map(|&s| f32_to_i16(s)))
        });
        for s in out.iter_mut() {
            *s = converted.pop_front().unwrap_or(0);
        }
    }
}

impl Source {
    /// Fill `out` with the next samples.
    pub fn read(&mut self, out: &mut [i16]) {
        match self {
            Source::Tone { phase, step } => {
                for s in out.iter_mut() {
                    *s = (phase.sin() * TONE_AMPLITUDE).round() as i16;
                    *phase += *step;
                    if *phase >= TAU {
                        *phase -= TAU;
                    }
                }
            }
            Source::Samples { samples, pos } => {
                for s in out.iter_mut() {
                    *s = samples[*pos];
                    *pos = (*pos + 1) % samples.len();
                }
            }
            Source::Silence => out.fill(0),
            Source::Device(r) => r.read(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{dominant_frequency, rms_dbfs};

    #[test]
    fn parse_forms() {
        assert_eq!(SourceSpec::parse("tone:440"), Ok(SourceSpec::Tone(440.0)));
        assert_eq!(SourceSpec::parse(" silence "), Ok(SourceSpec::Silence));
        assert_eq!(
            SourceSpec::parse("file:/tmp/a.wav"),
            Ok(SourceSpec::File("/tmp/a.wav".into()))
        );
        for bad in [
            "",
            "tone:",
            "tone:abc",
            "tone:5000",
            "file:",
            "mic",
            "beep:3",
        ] {
            let e = SourceSpec::parse(bad).unwrap_err().to_string();
            assert!(
                e.contains("tone:FREQ") && e.contains("silence"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn tone_is_at_its_frequency_and_level() {
        let mut src = SourceSpec::Tone(440.0).open().unwrap();
        let mut buf = vec![0i16; 8000];
        src.read(&mut buf[..160]);
        src.read(&mut buf[160..]);
        let f = dominant_frequency(&buf, 8000).unwrap();
        assert!((f - 440.0).abs() < 5.0, "{f}");
        let db = rms_dbfs(&buf);
        assert!((db + 15.0).abs() < 0.5, "{db}"); // peak -12 dBFS = rms -15 dBFS
    }

    #[test]
    fn tone_at_the_opus_rate() {
        let mut src = SourceSpec::Tone(1000.0).open_at(48000).unwrap();
        let mut buf = vec![0i16; 48000];
        src.read(&mut buf);
        let f = dominant_frequency(&buf, 48000).unwrap();
        assert!((f - 1000.0).abs() < 2.0, "{f}");
    }

    /// The probe captures like the device: at 48 kHz, so an 8 kHz call gets its click
    /// through the one conversion a device call has, a 48 kHz call without any.
    #[test]
    fn the_probe_is_captured_like_the_device() {
        let to_8k = crate::device::RateConverter::new(48000, 8000)
            .unwrap()
            .delay();
        for (rate, delay) in [(48000u32, 0usize), (8000, to_8k)] {
            let p = Probe::new();
            let mut src = SourceSpec::Probe(p.clone()).open_at(rate).unwrap();
            let n = rate as usize / 50;
            let mut frame = vec![0i16; n];
            src.read(&mut frame);
            assert!(frame.iter().all(|&s| s == 0));
            p.fire();
            src.read(&mut frame);
            let onset = frame
                .iter()
                .position(|&s| s.unsigned_abs() >= 4096)
                .unwrap();
            // The converter's delay is where a click's energy comes out (3 samples at 8 kHz);
            // the click's sharp onset crosses the threshold a sample or two early.
            assert!(onset <= delay && onset + 3 >= delay, "{rate}: {onset}");
        }
    }

    #[test]
    fn file_source_loops_and_resamples() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..320 {
            w.write_sample(if i < 160 { 1000i16 } else { -1000 })
                .unwrap();
        }
        w.finalize().unwrap();
        let mut src = SourceSpec::File(path).open().unwrap();
        let mut buf = vec![0i16; 320];
        src.read(&mut buf);
        // 160 samples at 8 kHz per loop: 80 high, 80 low, then again.
        assert_eq!(buf[0], 1000);
        assert_eq!(buf[100], -1000);
        assert_eq!(buf[160], 1000);
    }
}
