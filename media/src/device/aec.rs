//! Acoustic echo cancellation for the shared devices (`[audio] echo_cancellation = true`):
//! WebRTC's AudioProcessing module (the system's libwebrtc-audio-processing through the
//! `webrtc-audio-processing` crate, cargo feature `echo-cancellation`).
//!
//! It runs on the media side, never in a device callback: what the speaker is given (the
//! "render" stream, 8 kHz here) is brought to 48 kHz and fed in 10 ms frames; microphone
//! frames (48 kHz) are cleaned in place, in the same 10 ms frames.

use super::DeviceError;

/// What the canceller works on: 10 ms at 48 kHz.
pub const AEC_FRAME: usize = 480;

#[cfg(feature = "echo-cancellation")]
mod imp {
    use super::{DeviceError, AEC_FRAME};
    use crate::resample::Resampler;
    use webrtc_audio_processing::{
        Config, EchoCancellation, EchoCancellationSuppressionLevel, InitializationConfig,
        Processor, NUM_SAMPLES_PER_FRAME,
    };

    pub struct EchoCanceller {
        processor: Processor,
        /// Render audio (8 kHz) to the canceller's 48 kHz.
        up: Resampler,
        upsampled: Vec<i16>,
        /// Render samples waiting for a whole frame.
        pending: Vec<f32>,
        frame: Vec<f32>,
    }

    impl EchoCanceller {
        pub fn new(render_rate: u32) -> Result<EchoCanceller, DeviceError> {
            debug_assert_eq!(NUM_SAMPLES_PER_FRAME as usize, AEC_FRAME);
            let err = |e: String| DeviceError::EchoCancellation(e);
            let mut processor = Processor::new(&InitializationConfig {
                num_capture_channels: 1,
                num_render_channels: 1,
                ..Default::default()
            })
            .map_err(|e| err(format!("{e:?}")))?;
            processor.set_config(Config {
                echo_cancellation: Some(EchoCancellation {
                    suppression_level: EchoCancellationSuppressionLevel::High,
                    stream_delay_ms: None,
                    // Device latency is unknown and changes with the device: let it search.
                    enable_delay_agnostic: true,
                    enable_extended_filter: true,
                }),
                ..Default::default()
            });
            let up = Resampler::new(render_rate, 48_000)
                .ok_or_else(|| err(format!("no conversion from {render_rate} Hz to 48000 Hz")))?;
            Ok(EchoCanceller {
                processor,
                up,
                upsampled: Vec::new(),
                pending: Vec::with_capacity(2 * AEC_FRAME),
                frame: vec![0.0; AEC_FRAME],
            })
        }

        /// What is about to be played (at the render rate given to `new`).
        pub fn render(&mut self, samples: &[i16]) {
            self.upsampled.clear();
            self.up.process(samples, &mut self.upsampled);
            self.pending
                .extend(self.upsampled.iter().map(|&s| f32::from(s) / 32768.0));
            let whole = self.pending.len() / AEC_FRAME * AEC_FRAME;
            for chunk in self.pending[..whole].chunks_exact(AEC_FRAME) {
                self.frame.copy_from_slice(chunk);
                // An error leaves this frame out of the model; nothing to do about it here.
                let _ = self.processor.process_render_frame(&mut self.frame);
            }
            self.pending.drain(..whole);
        }

        /// Removes the echo from 48 kHz microphone audio, 10 ms at a time (a tail shorter
        /// than 10 ms is left as it is).
        pub fn capture(&mut self, samples: &mut [i16]) {
            for chunk in samples.chunks_exact_mut(AEC_FRAME) {
                for (f, &s) in self.frame.iter_mut().zip(chunk.iter()) {
                    *f = f32::from(s) / 32768.0;
                }
                if self
                    .processor
                    .process_capture_frame(&mut self.frame)
                    .is_ok()
                {
                    for (s, &f) in chunk.iter_mut().zip(self.frame.iter()) {
                        *s = (f * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
                    }
                }
            }
        }
    }
}

#[cfg(not(feature = "echo-cancellation"))]
mod imp {
    use super::DeviceError;

    /// Stand-in of a build without the `echo-cancellation` feature: cannot be created.
    pub struct EchoCanceller;

    impl EchoCanceller {
        pub fn new(_render_rate: u32) -> Result<EchoCanceller, DeviceError> {
            Err(DeviceError::EchoCancellation(
                "this build has no echo cancellation (build with --features echo-cancellation)"
                    .into(),
            ))
        }

        pub fn render(&mut self, _samples: &[i16]) {}

        pub fn capture(&mut self, _samples: &mut [i16]) {}
    }
}

pub use imp::EchoCanceller;

/// Whether this build can cancel echo.
pub const AVAILABLE: bool = cfg!(feature = "echo-cancellation");

#[cfg(all(test, feature = "echo-cancellation"))]
mod tests {
    use super::*;
    use crate::analysis::rms_dbfs;

    /// A repeatable noise (xorshift), the kind of signal an echo canceller converges on.
    fn noise(n: usize, seed: &mut u32) -> Vec<i16> {
        (0..n)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 17;
                *seed ^= *seed << 5;
                ((*seed >> 16) as i16) / 4
            })
            .collect()
    }

    #[test]
    fn the_speakers_echo_is_removed_from_the_microphone() {
        let mut aec = EchoCanceller::new(8000).unwrap();
        let mut seed = 0x1234_5678;
        // The "room": the microphone hears the speaker 20 ms later at half level.
        let mut played_48k: Vec<i16> = Vec::new();
        let mut up = crate::resample::Resampler::new(8000, 48000).unwrap();
        let (mut before, mut after) = (Vec::new(), Vec::new());
        for i in 0..400 {
            // 10 ms of far-end audio.
            let far = noise(80, &mut seed);
            aec.render(&far);
            let mut f48 = Vec::new();
            up.process(&far, &mut f48);
            played_48k.extend_from_slice(&f48);
            let start = played_48k.len().saturating_sub(AEC_FRAME + 960);
            let mut mic: Vec<i16> = played_48k[start..start + AEC_FRAME]
                .iter()
                .map(|&s| s / 2)
                .collect();
            if i >= 350 {
                before.extend_from_slice(&mic);
            }
            aec.capture(&mut mic);
            if i >= 350 {
                after.extend_from_slice(&mic);
            }
        }
        let (b, a) = (rms_dbfs(&before), rms_dbfs(&after));
        eprintln!("echo: {b:.1} dBFS at the microphone, {a:.1} dBFS after cancellation");
        assert!(a < b - 10.0, "only {b:.1} -> {a:.1} dBFS");
    }
}
