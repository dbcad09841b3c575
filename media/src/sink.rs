//! Audio sinks for a call: an 8 kHz mono 16-bit WAV file, or nothing.

use std::fmt;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use crate::device::DeviceLink;
use crate::probe::Probe;
use crate::source::{SpecError, SAMPLE_RATE};

/// Where received audio goes, as written in the config (`[audio] output`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkSpec {
    /// `file:PATH.wav`: 8 kHz mono 16-bit WAV, finalized when the stream stops.
    File(PathBuf),
    /// `null`: discard.
    Null,
    /// The agent's shared playout device, for one call (built by the agent from
    /// `device:...`, never parsed): the call plays only while it is the active one.
    Device(DeviceLink),
    /// Notes when a [`Probe`]'s click comes out (built in code, never parsed).
    Probe(Probe),
}

const SINK_FORMS: &str = "\"file:PATH.wav\" or \"null\"";

impl SinkSpec {
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
            Some((k, v)) if k.eq_ignore_ascii_case("file") => {
                if v.trim().is_empty() {
                    return Err(err("the file path is empty"));
                }
                Ok(SinkSpec::File(PathBuf::from(v.trim())))
            }
            _ => Err(err("unknown kind")),
        }
    }

    /// Open the sink (creates the file for `file:`).
    pub fn open(&self) -> Result<Sink, hound::Error> {
        Ok(match self {
            SinkSpec::File(p) => {
                let spec = hound::WavSpec {
                    channels: 1,
                    sample_rate: SAMPLE_RATE,
                    bits_per_sample: 16,
                    sample_format: hound::SampleFormat::Int,
                };
                Sink::Wav(Box::new(hound::WavWriter::create(p, spec)?))
            }
            SinkSpec::Null => Sink::Null,
            SinkSpec::Device(link) => Sink::Device(link.clone()),
            SinkSpec::Probe(p) => Sink::Probe(p.clone()),
        })
    }
}

impl fmt::Display for SinkSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkSpec::File(p) => write!(f, "file:{}", p.display()),
            SinkSpec::Null => f.write_str("null"),
            SinkSpec::Device(_) => f.write_str("device"),
            SinkSpec::Probe(_) => f.write_str("probe"),
        }
    }
}

/// An open sink taking 8 kHz mono samples.
pub enum Sink {
    Wav(Box<hound::WavWriter<BufWriter<File>>>),
    Null,
    /// 8 kHz, like the WAV file ([`crate::device::SHARED_PLAYOUT_RATE`]).
    Device(DeviceLink),
    /// Plays nothing; times a probe's click as if it played the samples as written.
    Probe(Probe),
}

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sink::Wav(_) => f.write_str("Sink::Wav"),
            Sink::Null => f.write_str("Sink::Null"),
            Sink::Device(l) => write!(f, "Sink::Device({l:?})"),
            Sink::Probe(_) => f.write_str("Sink::Probe"),
        }
    }
}

impl Sink {
    pub fn write(&mut self, samples: &[i16]) -> Result<(), hound::Error> {
        match self {
            Sink::Wav(w) => {
                let mut w16 = w.get_i16_writer(samples.len() as u32);
                for &s in samples {
                    w16.write_sample(s);
                }
                w16.flush()?;
            }
            Sink::Device(link) => link.write(samples),
            Sink::Probe(p) => p.write(std::time::Instant::now(), SAMPLE_RATE, samples),
            Sink::Null => {}
        }
        Ok(())
    }

    /// Write `n` samples of silence.
    pub fn write_silence(&mut self, n: usize) -> Result<(), hound::Error> {
        const ZEROS: [i16; 160] = [0; 160];
        let mut left = n;
        while left > 0 {
            let k = left.min(ZEROS.len());
            self.write(&ZEROS[..k])?;
            left -= k;
        }
        Ok(())
    }

    /// Complete the file (header sizes); a dropped, unfinalized WAV has a wrong header.
    pub fn finalize(self) -> Result<(), hound::Error> {
        match self {
            Sink::Wav(w) => w.finalize(),
            Sink::Null | Sink::Device(_) | Sink::Probe(_) => Ok(()),
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
        for bad in ["", "file:", "speaker", "tone:440"] {
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
        s.write(&[1, 2, 3]).unwrap();
        s.write_silence(400).unwrap();
        s.finalize().unwrap();
        let r = hound::WavReader::open(&path).unwrap();
        assert_eq!(r.spec().sample_rate, 8000);
        assert_eq!(r.spec().channels, 1);
        assert_eq!(r.len(), 403);
    }
}
