//! The headless sources and sinks of `source.rs`/`sink.rs` behind the backend traits. They
//! work at 8 kHz; other codec rates are converted with a [`RateConverter`].

use super::convert::{f32_to_i16, i16_to_f32, RateConverter};
use super::{CaptureBackend, DeviceError, DeviceStats, FrameStatus, PlayoutBackend};
use crate::sink::{Sink, SinkSpec};
use crate::source::{Source, SourceSpec, SAMPLE_RATE};

/// A tone, a looping file or silence, as 20 ms frames at the codec rate.
#[derive(Debug)]
pub struct HeadlessCapture {
    spec: String,
    source: Source,
    rate: u32,
    conv: RateConverter,
    /// 8 kHz samples from the source.
    scratch: Vec<i16>,
    scratch_f: Vec<f32>,
    /// Converted samples not yet read (rate != 8000 only).
    pending: Vec<f32>,
}

impl HeadlessCapture {
    /// Opens `spec` as a capture side delivering frames at `rate`.
    pub fn open(spec: &SourceSpec, rate: u32) -> Result<HeadlessCapture, DeviceError> {
        let source = spec.open().map_err(|e| DeviceError::File {
            path: spec.to_string(),
            reason: e.to_string(),
        })?;
        let conv = RateConverter::new(SAMPLE_RATE, rate)?;
        let chunk = conv.input_wanted();
        let pending = Vec::with_capacity(conv.output_max() + super::frame_len(rate) * 2);
        Ok(HeadlessCapture {
            spec: spec.to_string(),
            source,
            rate,
            scratch: vec![0; chunk],
            scratch_f: vec![0.0; chunk],
            pending,
            conv,
        })
    }
}

impl CaptureBackend for HeadlessCapture {
    fn rate(&self) -> u32 {
        self.rate
    }

    fn read_frame(&mut self, frame: &mut [f32]) -> FrameStatus {
        if self.rate == SAMPLE_RATE {
            self.scratch.resize(frame.len(), 0);
            self.source.read(&mut self.scratch);
            for (f, &s) in frame.iter_mut().zip(&self.scratch) {
                *f = i16_to_f32(s);
            }
            return FrameStatus::Full;
        }
        while self.pending.len() < frame.len() {
            let n = self.conv.input_wanted();
            self.scratch.resize(n, 0);
            self.source.read(&mut self.scratch[..n]);
            for (f, &s) in self.scratch_f.iter_mut().zip(&self.scratch[..n]) {
                *f = i16_to_f32(s);
            }
            let pending = &mut self.pending;
            self.conv
                .process(&self.scratch_f[..n], |out| pending.extend_from_slice(out));
        }
        frame.copy_from_slice(&self.pending[..frame.len()]);
        self.pending.drain(..frame.len());
        FrameStatus::Full
    }

    fn stats(&self) -> DeviceStats {
        DeviceStats {
            description: self.spec.clone(),
            ..DeviceStats::default()
        }
    }
}

/// A WAV file (8 kHz mono) or nothing, fed 20 ms frames at the codec rate.
#[derive(Debug)]
pub struct HeadlessPlayout {
    spec: String,
    sink: Sink,
    rate: u32,
    conv: RateConverter,
    out: Vec<i16>,
}

impl HeadlessPlayout {
    /// Opens `spec` as a playout side taking frames at `rate`.
    pub fn open(spec: &SinkSpec, rate: u32) -> Result<HeadlessPlayout, DeviceError> {
        let sink = spec.open().map_err(|e| DeviceError::File {
            path: spec.to_string(),
            reason: e.to_string(),
        })?;
        let conv = RateConverter::new(rate, SAMPLE_RATE)?;
        Ok(HeadlessPlayout {
            spec: spec.to_string(),
            sink,
            rate,
            out: Vec::with_capacity(conv.output_max() * 2),
            conv,
        })
    }

    fn file_error(&self, e: hound::Error) -> DeviceError {
        DeviceError::File {
            path: self.spec.clone(),
            reason: e.to_string(),
        }
    }
}

impl PlayoutBackend for HeadlessPlayout {
    fn rate(&self) -> u32 {
        self.rate
    }

    fn write_frame(&mut self, frame: &[f32]) -> Result<(), DeviceError> {
        self.out.clear();
        if self.rate == SAMPLE_RATE {
            self.out.extend(frame.iter().map(|&s| f32_to_i16(s)));
        } else {
            let out = &mut self.out;
            self.conv.process(frame, |o| {
                out.extend(o.iter().map(|&s| f32_to_i16(s)));
            });
        }
        if self.out.is_empty() {
            return Ok(());
        }
        let r = self.sink.write(SAMPLE_RATE, &self.out);
        r.map_err(|e| self.file_error(e))
    }

    fn stats(&self) -> DeviceStats {
        DeviceStats {
            description: self.spec.clone(),
            ..DeviceStats::default()
        }
    }

    fn finish(self: Box<Self>) -> Result<(), DeviceError> {
        let spec = self.spec;
        self.sink.finalize().map_err(|e| DeviceError::File {
            path: spec,
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::dominant_frequency;

    #[test]
    fn tone_at_8k_and_48k() {
        for rate in [8000u32, 48000] {
            let mut c = HeadlessCapture::open(&SourceSpec::Tone(1000.0), rate).unwrap();
            assert_eq!(c.frame_len(), rate as usize / 50);
            let mut all = Vec::new();
            let mut frame = vec![0.0f32; c.frame_len()];
            for _ in 0..50 {
                assert_eq!(c.read_frame(&mut frame), FrameStatus::Full);
                all.extend(frame.iter().map(|&s| f32_to_i16(s)));
            }
            let f = dominant_frequency(&all[all.len() / 2..], rate).unwrap();
            assert!((f - 1000.0).abs() < 3.0, "{rate}: {f}");
        }
    }

    #[test]
    fn wav_sink_at_48k_is_written_at_8k() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.wav");
        let mut p: Box<dyn PlayoutBackend> =
            Box::new(HeadlessPlayout::open(&SinkSpec::File(path.clone()), 48000).unwrap());
        let mut src = HeadlessCapture::open(&SourceSpec::Tone(440.0), 48000).unwrap();
        let mut frame = vec![0.0f32; 960];
        for _ in 0..50 {
            src.read_frame(&mut frame);
            p.write_frame(&frame).unwrap();
        }
        p.finish().unwrap();
        let (samples, rate) = crate::wav::read_wav_mono(&path).unwrap();
        assert_eq!(rate, 8000);
        assert_eq!(samples.len(), 8000);
        let f = dominant_frequency(&samples[4000..], 8000).unwrap();
        assert!((f - 440.0).abs() < 3.0, "{f}");
    }
}
