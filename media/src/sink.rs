//! Audio sinks for a call: a mono 16-bit WAV file (8 kHz, or 16 kHz for wideband), the shared
//! playout device, a probe, or nothing. Frames come at the codec's rate (8 kHz G.711, 16 kHz
//! G.722, 48 kHz Opus); each sink converts once, if at all, to its own rate: the WAV file to
//! 8 or 16 kHz, the device (and the probe, which stands in for it) to
//! [`SHARED_PLAYOUT_RATE`].

use std::fmt;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use tracing::warn;

use crate::device::{DeviceLink, RateConverter, SHARED_PLAYOUT_RATE};
use crate::probe::Probe;
use crate::source::{SpecError, SAMPLE_RATE};

/// Where received audio goes, as written in the config (`[audio] output`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkSpec {
    /// `file:PATH.wav`: 8 kHz mono 16-bit WAV (wideband audio converted down), finalized
    /// when the stream stops.
    File(PathBuf),
    /// `file16k:PATH.wav`: 16 kHz mono 16-bit WAV (Opus converted down, G.711 up), finalized
    /// when the stream stops: wideband audio kept wideband, e.g. for a wideband PESQ score.
    File16k(PathBuf),
    /// `null`: discard.
    Null,
    /// The agent's shared playout device, for one call (built by the agent from
    /// `device:...`, never parsed): the call plays only while it is the active one.
    Device(DeviceLink),
    /// Notes when a [`Probe`]'s click comes out (built in code, never parsed).
    Probe(Probe),
}

const SINK_FORMS: &str = "\"file:PATH.wav\", \"file16k:PATH.wav\" or \"null\"";

/// The rate of [`SinkSpec::File16k`].
pub const WIDEBAND_FILE_RATE: u32 = 16_000;

impl SinkSpec {
    /// Parses `file:PATH.wav`, `file16k:PATH.wav` or `null`.
    pub fn parse(s: &str) -> Result<SinkSpec, SpecError> {
        let err = |reason: &str| SpecError {
            what: "output",
            given: s.to_string(),
            reason: reason.to_string(),
            accepted: SINK_FORMS,
        };
        let t = s.trim();
        if t.eq_ignore_ascii_case("null") {
            return Ok(SinkSpec::Null);
        }
        match t.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("file") || k.eq_ignore_ascii_case("file16k") => {
                if v.trim().is_empty() {
                    return Err(err("the file path is empty"));
                }
                let path = PathBuf::from(v.trim());
                Ok(if k.eq_ignore_ascii_case("file") {
                    SinkSpec::File(path)
                } else {
                    SinkSpec::File16k(path)
                })
            }
            _ => Err(err("unknown kind")),
        }
    }

    /// Open the sink (creates the file for `file:` and `file16k:`).
    pub fn open(&self) -> Result<Sink, hound::Error> {
        let wav = |p: &PathBuf, rate: u32| -> Result<Sink, hound::Error> {
            let spec = hound::WavSpec {
                channels: 1,
                sample_rate: rate,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            };
            Ok(Sink::Wav(
                Box::new(hound::WavWriter::create(p, spec)?),
                ToRate::new(rate),
            ))
        };
        Ok(match self {
            SinkSpec::File(p) => wav(p, SAMPLE_RATE)?,
            SinkSpec::File16k(p) => wav(p, WIDEBAND_FILE_RATE)?,
            SinkSpec::Null => Sink::Null,
            SinkSpec::Device(link) => Sink::Device(link.clone(), ToRate::new(SHARED_PLAYOUT_RATE)),
            SinkSpec::Probe(p) => Sink::Probe(p.clone(), ToRate::new(SHARED_PLAYOUT_RATE)),
        })
    }
}

impl fmt::Display for SinkSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkSpec::File(p) => write!(f, "file:{}", p.display()),
            SinkSpec::File16k(p) => write!(f, "file16k:{}", p.display()),
            SinkSpec::Null => f.write_str("null"),
            SinkSpec::Device(_) => f.write_str("device"),
            SinkSpec::Probe(_) => f.write_str("probe"),
        }
    }
}

/// Decoded frames (integer samples, any rate) to `f32` at one fixed rate: the integer
/// samples become `f32` once here, and stay so through the rate conversion and the device.
/// The converter is built for the first frames' rate and rebuilt if it changes (a codec
/// change mid-call); equal rates are only converted to `f32`.
pub struct ToRate {
    to: u32,
    conv: Option<RateConverter>,
    scratch: Vec<f32>,
    out: Vec<f32>,
}

impl ToRate {
    /// Converting to `to` Hz.
    pub fn new(to: u32) -> ToRate {
        ToRate {
            to,
            conv: None,
            scratch: Vec::new(),
            out: Vec::new(),
        }
    }

    /// `samples` at `rate`, at this converter's rate (empty if no converter can be built).
    pub fn convert(&mut self, rate: u32, samples: &[i16]) -> &[f32] {
        self.scratch.clear();
        self.scratch
            .extend(samples.iter().map(|&s| crate::device::i16_to_f32(s)));
        if rate == self.to {
            return &self.scratch;
        }
        if self.conv.as_ref().map(RateConverter::from_rate) != Some(rate) {
            self.conv = RateConverter::new(rate, self.to)
                .inspect_err(|e| warn!(error = %e, "received audio cannot be converted"))
                .ok();
        }
        self.out.clear();
        let Some(conv) = self.conv.as_mut() else {
            return &self.out;
        };
        let out = &mut self.out;
        conv.process(&self.scratch, |o| out.extend_from_slice(o));
        &self.out
    }
}

/// An open sink; [`write`](Sink::write) takes frames at any rate.
pub enum Sink {
    /// The file (8 or 16 kHz) and the conversion to its rate.
    Wav(Box<hound::WavWriter<BufWriter<File>>>, ToRate),
    Null,
    /// The shared playout device ([`SHARED_PLAYOUT_RATE`]) and the conversion to it.
    Device(DeviceLink, ToRate),
    /// Plays nothing; times a probe's click as if the shared playout device played the
    /// samples as written (same conversion as [`Sink::Device`]).
    Probe(Probe, ToRate),
}

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sink::Wav(..) => f.write_str("Sink::Wav"),
            Sink::Null => f.write_str("Sink::Null"),
            Sink::Device(l, _) => write!(f, "Sink::Device({l:?})"),
            Sink::Probe(..) => f.write_str("Sink::Probe"),
        }
    }
}

impl Sink {
    /// Plays (or stores) `samples` of `rate` Hz audio.
    pub fn write(&mut self, rate: u32, samples: &[i16]) -> Result<(), hound::Error> {
        match self {
            Sink::Wav(w, to) if rate == to.to => {
                let mut w16 = w.get_i16_writer(samples.len() as u32);
                for &s in samples {
                    w16.write_sample(s);
                }
                w16.flush()?;
            }
            Sink::Wav(w, to) => {
                let samples = to.convert(rate, samples);
                let mut w16 = w.get_i16_writer(samples.len() as u32);
                for &s in samples {
                    w16.write_sample(crate::device::f32_to_i16(s));
                }
                w16.flush()?;
            }
            Sink::Device(link, to) => link.write(to.convert(rate, samples)),
            Sink::Probe(p, to) => p.write(
                std::time::Instant::now(),
                SHARED_PLAYOUT_RATE,
                to.convert(rate, samples),
            ),
            Sink::Null => {}
        }
        Ok(())
    }

    /// Write `n` samples of silence at `rate`.
    pub fn write_silence(&mut self, rate: u32, n: usize) -> Result<(), hound::Error> {
        const ZEROS: [i16; 960] = [0; 960];
        let mut left = n;
        while left > 0 {
            let k = left.min(ZEROS.len());
            self.write(rate, &ZEROS[..k])?;
            left -= k;
        }
        Ok(())
    }

    /// Complete the file (header sizes); a dropped, unfinalized WAV has a wrong header.
    pub fn finalize(self) -> Result<(), hound::Error> {
        match self {
            Sink::Wav(w, _) => w.finalize(),
            Sink::Null | Sink::Device(..) | Sink::Probe(..) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        assert_eq!(SinkSpec::parse("null"), Ok(SinkSpec::Null));
        assert_eq!(
            SinkSpec::parse("file:out.wav"),
            Ok(SinkSpec::File("out.wav".into()))
        );
        assert_eq!(
            SinkSpec::parse("file16k:wide.wav"),
            Ok(SinkSpec::File16k("wide.wav".into()))
        );
        for bad in ["", "file:", "file16k:", "speaker", "tone:440"] {
            let e = SinkSpec::parse(bad).unwrap_err().to_string();
            assert!(
                e.contains("file:PATH.wav") && e.contains("null"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn wav_sink_writes_a_valid_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.wav");
        let mut s = SinkSpec::File(path.clone()).open().unwrap();
        s.write(8000, &[1, 2, 3]).unwrap();
        s.write_silence(8000, 400).unwrap();
        s.finalize().unwrap();
        let r = hound::WavReader::open(&path).unwrap();
        assert_eq!(r.spec().sample_rate, 8000);
        assert_eq!(r.spec().channels, 1);
        assert_eq!(r.len(), 403);
    }

    /// `file16k:` keeps 16 kHz frames as they are and converts 48 kHz (Opus) and 8 kHz
    /// (G.711) frames to 16 kHz: the file's length is the audio's duration.
    #[test]
    fn wideband_wav_sink_is_16k() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.wav");
        let mut s = SinkSpec::File16k(path.clone()).open().unwrap();
        s.write(16_000, &[7; 320]).unwrap();
        s.write_silence(48_000, 48_000).unwrap();
        s.write_silence(8_000, 8_000).unwrap();
        s.finalize().unwrap();
        let r = hound::WavReader::open(&path).unwrap();
        assert_eq!(r.spec().sample_rate, 16_000);
        assert_eq!(r.spec().channels, 1);
        let n = r.len() as i64;
        // The converters' filters hold back a few samples each.
        assert!((n - (320 + 2 * 16_000)).abs() < 200, "{n} samples");
    }
}

#[cfg(test)]
mod rate_tests {
    use super::*;
    use crate::device::SharedDevices;
    use crate::test_support::dominant_frequency;

    fn tone(freq: f64, rate: u32, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                ((std::f64::consts::TAU * freq * i as f64 / rate as f64).sin() * 8000.0) as i16
            })
            .collect()
    }

    /// Opus frames (48 kHz) land in the 8 kHz file at their pitch and length; a codec change
    /// to G.711 mid-call goes on at 8 kHz.
    #[test]
    fn the_wav_file_stays_at_8k_whatever_the_codec() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.wav");
        let mut s = SinkSpec::File(path.clone()).open().unwrap();
        let wide = tone(1000.0, 48000, 48000);
        for frame in wide.chunks(960) {
            s.write(48000, frame).unwrap();
        }
        s.write(8000, &tone(500.0, 8000, 8000)).unwrap();
        s.finalize().unwrap();
        let mut r = hound::WavReader::open(&path).unwrap();
        assert_eq!(r.spec().sample_rate, 8000);
        let pcm: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
        assert_eq!(pcm.len(), 16000);
        let f = dominant_frequency(&pcm[2000..8000], 8000).unwrap();
        assert!((f - 1000.0).abs() < 2.0, "{f}");
        let f = dominant_frequency(&pcm[8000..], 8000).unwrap();
        assert!((f - 500.0).abs() < 2.0, "{f}");
    }

    /// Wideband frames reach the device as they are; narrowband ones are converted once.
    #[test]
    fn the_device_gets_48k_frames() {
        let mut to = ToRate::new(SHARED_PLAYOUT_RATE);
        let wide = tone(6000.0, 48000, 960);
        let back: Vec<i16> = to
            .convert(48000, &wide)
            .iter()
            .map(|&s| crate::device::f32_to_i16(s))
            .collect();
        assert_eq!(back, wide, "no detour through 8 kHz");
        let narrow = tone(1000.0, 8000, 8000);
        let mut out = Vec::new();
        for frame in narrow.chunks(160) {
            let o = to.convert(8000, frame);
            assert_eq!(o.len(), 960);
            out.extend(o.iter().map(|&s| crate::device::f32_to_i16(s)));
        }
        let f = dominant_frequency(&out[12000..], 48000).unwrap();
        assert!((f - 1000.0).abs() < 2.0, "{f}");
        // A device sink takes 48 kHz: the output meter sees the frame as written.
        let d = SharedDevices::open(None, None, crate::device::HostChoice::Default).0;
        let link = d.attach();
        link.set_receiving(true);
        let mut sink = SinkSpec::Device(link).open().unwrap();
        sink.write(48000, &[16384; 960]).unwrap();
        assert_eq!(d.take_levels().output_dbfs, -6);
    }
}
