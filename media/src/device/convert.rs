//! Sample conversions off the audio thread: rate (rubato's FFT resampler, fixed 20 ms input
//! chunks, every buffer allocated at construction) and `f32` <-> `i16`.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use super::{frame_len, DeviceError};

/// Converts a mono stream from one rate to another in 20 ms input chunks. Input of any length
/// is gathered into chunks; each finished chunk's output is handed to a closure. Allocates
/// only in [`new`](Self::new). Equal rates pass samples straight through.
pub struct RateConverter {
    from: u32,
    to: u32,
    fft: Option<Fft<f32>>,
    chunk_in: usize,
    in_buf: Vec<f32>,
    in_len: usize,
    out_buf: Vec<f32>,
}

impl std::fmt::Debug for RateConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateConverter")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("chunk_in", &self.chunk_in)
            .finish()
    }
}

impl RateConverter {
    pub fn new(from: u32, to: u32) -> Result<RateConverter, DeviceError> {
        let chunk = frame_len(from).max(1);
        if from == to {
            return Ok(RateConverter {
                from,
                to,
                fft: None,
                chunk_in: chunk,
                in_buf: Vec::new(),
                in_len: 0,
                out_buf: Vec::new(),
            });
        }
        let fft = Fft::<f32>::new(from as usize, to as usize, chunk, 1, FixedSync::Both)
            .map_err(|e| DeviceError::Resampler(format!("{from} Hz -> {to} Hz: {e}")))?;
        let chunk_in = fft.input_frames_next();
        let out_max = fft.output_frames_max();
        Ok(RateConverter {
            from,
            to,
            fft: Some(fft),
            chunk_in,
            in_buf: vec![0.0; chunk_in],
            in_len: 0,
            out_buf: vec![0.0; out_max],
        })
    }

    pub fn from_rate(&self) -> u32 {
        self.from
    }

    pub fn to_rate(&self) -> u32 {
        self.to
    }

    /// Input samples still needed to complete the current chunk.
    pub fn input_wanted(&self) -> usize {
        match self.fft {
            None => self.chunk_in,
            Some(_) => self.chunk_in - self.in_len,
        }
    }

    /// Most output samples one chunk produces.
    pub fn output_max(&self) -> usize {
        match &self.fft {
            None => self.chunk_in,
            Some(f) => f.output_frames_max(),
        }
    }

    /// Delay the resampler adds, in output samples.
    pub fn delay(&self) -> usize {
        self.fft.as_ref().map_or(0, |f| f.output_delay())
    }

    /// Input samples waiting for their chunk to complete.
    pub fn pending_input(&self) -> usize {
        self.in_len
    }

    /// Feeds `input`; `out` receives the output of every chunk completed by it.
    pub fn process(&mut self, mut input: &[f32], mut out: impl FnMut(&[f32])) {
        let Some(fft) = self.fft.as_mut() else {
            if !input.is_empty() {
                out(input);
            }
            return;
        };
        while !input.is_empty() {
            let take = (self.chunk_in - self.in_len).min(input.len());
            self.in_buf[self.in_len..self.in_len + take].copy_from_slice(&input[..take]);
            self.in_len += take;
            input = &input[take..];
            if self.in_len < self.chunk_in {
                break;
            }
            self.in_len = 0;
            let capacity = self.out_buf.len();
            // Both adapters are views of buffers sized at construction (lengths checked there).
            let (Ok(src), Ok(mut dst)) = (
                InterleavedSlice::new(&self.in_buf[..], 1, self.chunk_in),
                InterleavedSlice::new_mut(&mut self.out_buf[..], 1, capacity),
            ) else {
                continue;
            };
            if let Ok((_, written)) = fft.process_into_buffer(&src, &mut dst, None) {
                out(&self.out_buf[..written]);
            }
        }
    }

    /// Forgets buffered input and the resampler's history.
    pub fn reset(&mut self) {
        self.in_len = 0;
        if let Some(f) = self.fft.as_mut() {
            f.reset();
        }
    }
}

/// `i16` sample to `f32` in [-1, 1).
#[inline]
pub fn i16_to_f32(s: i16) -> f32 {
    f32::from(s) / 32768.0
}

/// `f32` sample to `i16`, clipped.
#[inline]
pub fn f32_to_i16(s: f32) -> i16 {
    (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::dominant_frequency;

    fn sine(freq: f32, rate: u32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (std::f32::consts::TAU * freq * i as f32 / rate as f32).sin() * 0.5)
            .collect()
    }

    fn run(from: u32, to: u32, freq: f32, pieces: usize) -> Vec<i16> {
        let mut c = RateConverter::new(from, to).unwrap();
        let input = sine(freq, from, from as usize); // 1 s
        let mut out = Vec::new();
        for piece in input.chunks(pieces) {
            c.process(piece, |o| out.extend(o.iter().map(|&s| f32_to_i16(s))));
        }
        out
    }

    #[test]
    fn down_and_up_keep_the_tone_and_the_length() {
        for (from, to, freq) in [
            (48000, 8000, 1000.0),
            (8000, 48000, 440.0),
            (44100, 8000, 1000.0),
            (8000, 44100, 1000.0),
            (16000, 48000, 3000.0),
        ] {
            // Odd piece sizes: chunks are gathered across calls.
            let out = run(from, to, freq, 333);
            assert_eq!(out.len(), to as usize, "{from}->{to}");
            let f = dominant_frequency(&out[to as usize / 4..], to).unwrap();
            assert!((f - freq).abs() < 5.0, "{from}->{to}: {f}");
        }
    }

    #[test]
    fn equal_rates_pass_through() {
        let out = run(48000, 48000, 1000.0, 100);
        assert_eq!(out.len(), 48000);
        assert_eq!(RateConverter::new(8000, 8000).unwrap().delay(), 0);
    }

    #[test]
    fn chunks_are_twenty_ms_of_input() {
        let c = RateConverter::new(48000, 8000).unwrap();
        assert_eq!(c.input_wanted(), 960);
        assert!(c.output_max() >= 160);
        let c = RateConverter::new(8000, 48000).unwrap();
        assert_eq!(c.input_wanted(), 160);
    }

    #[test]
    fn sample_conversion_clips() {
        assert_eq!(f32_to_i16(2.0), 32767);
        assert_eq!(f32_to_i16(-2.0), -32768);
        assert_eq!(f32_to_i16(i16_to_f32(1234)), 1234);
        assert_eq!(f32_to_i16(i16_to_f32(-32768)), -32768);
    }
}
