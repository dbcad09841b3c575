//! The cancelling engines behind [`super::EchoCanceller`]: one 10 ms frame of reference in,
//! one 10 ms capture frame cleaned in place, figures out.
//!
//! Evaluation (issue 14): WebRTC AEC2 (system library), the `aec3` crate and `sonora`, all
//! at 48 kHz mono, echo cancellation and the high-pass filter only.

use webrtc_audio_processing as apm;

use super::FRAME;

/// Which canceller runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Aec2,
    Aec3,
    Sonora,
}

impl Kind {
    /// From `SOFTPHONE_AEC` (evaluation only): `aec2`, `aec3`, `sonora`.
    pub fn from_env() -> Kind {
        match std::env::var("SOFTPHONE_AEC").as_deref() {
            Ok("aec3") => Kind::Aec3,
            Ok("sonora") => Kind::Sonora,
            _ => Kind::Aec2,
        }
    }
}

/// What an engine says about the echo.
#[derive(Debug, Clone, Copy, Default)]
pub struct Figures {
    pub delay_median_ms: Option<i32>,
    pub erle_db: Option<f64>,
}

pub enum Engine {
    Aec2(Box<apm::Processor>),
    Aec3(Box<Aec3Crate>),
    Sonora {
        apm: Box<sonora::AudioProcessing>,
        src: Vec<f32>,
    },
}

impl Engine {
    pub fn new(kind: Kind) -> Result<Engine, String> {
        match kind {
            Kind::Aec2 => {
                let mut processor = apm::Processor::new(&apm::InitializationConfig {
                    num_capture_channels: 1,
                    num_render_channels: 1,
                    ..Default::default()
                })
                .map_err(|e| e.to_string())?;
                processor.set_config(apm::Config {
                    echo_cancellation: Some(apm::EchoCancellation {
                        suppression_level: apm::EchoCancellationSuppressionLevel::Low,
                        enable_extended_filter: true,
                        enable_delay_agnostic: true,
                        stream_delay_ms: None,
                    }),
                    enable_high_pass_filter: true,
                    ..Default::default()
                });
                Ok(Engine::Aec2(Box::new(processor)))
            }
            Kind::Aec3 => Ok(Engine::Aec3(Box::new(Aec3Crate::new()))),
            Kind::Sonora => {
                use sonora::config::{EchoCanceller, HighPassFilter};
                let config = sonora::Config {
                    echo_canceller: Some(EchoCanceller {
                        transparent_mode: if std::env::var("SOFTPHONE_AEC_HMM").is_ok() {
                            sonora::config::TransparentModeType::Hmm
                        } else {
                            Default::default()
                        },
                        ..Default::default()
                    }),
                    high_pass_filter: Some(HighPassFilter::default()),
                    ..Default::default()
                };
                let stream = sonora::StreamConfig::new(super::SAMPLE_RATE, 1);
                let apm = sonora::AudioProcessing::builder()
                    .config(config)
                    .capture_config(stream)
                    .render_config(stream)
                    .build();
                Ok(Engine::Sonora {
                    apm: Box::new(apm),
                    src: vec![0.0; FRAME],
                })
            }
        }
    }

    /// Whether the reference needs the delay line (`super::lead`): AEC2 only, which cancels
    /// only within ~150 ms of the reference. AEC3 searches long delays itself.
    pub fn needs_lead(&self) -> bool {
        matches!(self, Engine::Aec2(_))
    }

    /// One reference frame ([`FRAME`] samples). Errors mean a wrong frame size, which the
    /// chunking rules out; the frame is then simply not seen as reference.
    pub fn render(&mut self, frame: &mut [f32]) {
        match self {
            Engine::Aec2(p) => {
                let _ = p.process_render_frame(frame);
            }
            Engine::Aec3(a) => a.render(frame),
            Engine::Sonora { apm, src } => {
                src.copy_from_slice(frame);
                let _ = apm.process_render_f32(&[src], &mut [frame]);
            }
        }
    }

    /// One capture frame cleaned in place; false if the engine refused it (the frame is
    /// then left as it was or garbled: the caller passes the microphone through).
    pub fn capture(&mut self, frame: &mut [f32]) -> bool {
        match self {
            Engine::Aec2(p) => p.process_capture_frame(frame).is_ok(),
            Engine::Aec3(a) => {
                a.capture(frame);
                true
            }
            Engine::Sonora { apm, src } => {
                src.copy_from_slice(frame);
                apm.process_capture_f32(&[src], &mut [frame]).is_ok()
            }
        }
    }

    pub fn figures(&mut self) -> Figures {
        match self {
            Engine::Aec2(p) => {
                let s = p.get_stats();
                Figures {
                    delay_median_ms: s.delay_median_ms,
                    erle_db: s.echo_return_loss_enhancement,
                }
            }
            Engine::Aec3(a) => {
                use aec3::api::EchoControl;
                let m = a.echo.metrics();
                Figures {
                    delay_median_ms: Some(m.delay_ms),
                    erle_db: Some(m.echo_return_loss_enhancement),
                }
            }
            Engine::Sonora { apm, .. } => {
                let s = apm.statistics();
                Figures {
                    delay_median_ms: s.delay_median_ms.or(s.delay_ms),
                    erle_db: s.echo_return_loss_enhancement,
                }
            }
        }
    }
}

/// The `aec3` crate's canceller driven directly (its graph runtime holds `Rc`s), as its
/// `nodes::aec3` does: render and capture through WebRTC's band-split audio buffers.
pub struct Aec3Crate {
    echo: aec3::audio_processing::aec3::echo_canceller3::EchoCanceller3,
    render: aec3::audio_processing::audio_buffer::AudioBuffer,
    capture: aec3::audio_processing::audio_buffer::AudioBuffer,
    stream: aec3::audio_processing::stream_config::StreamConfig,
}

// SAFETY (evaluation only): `EchoCanceller3` is not `Send` only because it boxes its block
// processor as `dyn BlockProcessorBackend` without a `Send` bound; the one implementation
// (`BlockProcessor`) owns plain data, and the whole canceller moves between threads as one.
unsafe impl Send for Aec3Crate {}

impl Aec3Crate {
    fn new() -> Self {
        let mut c = aec3::api::EchoCanceller3Config::default();
        c.ep_strength.bounded_erl = std::env::var("SOFTPHONE_AEC_BOUNDED").is_ok();
        Self::with_config(c)
    }

    pub fn with_config(config: aec3::api::EchoCanceller3Config) -> Self {
        use aec3::audio_processing::aec3::echo_canceller3::EchoCanceller3;
        use aec3::audio_processing::audio_buffer::AudioBuffer;
        let rate = super::SAMPLE_RATE as usize;
        let buffer = || AudioBuffer::from_sample_rates(rate, 1, rate, 1, rate);
        Aec3Crate {
            echo: EchoCanceller3::new(config, rate as i32, 1, 1),
            render: buffer(),
            capture: buffer(),
            stream: aec3::audio_processing::stream_config::StreamConfig::new(rate, 1, false),
        }
    }

    fn render(&mut self, frame: &[f32]) {
        use aec3::api::EchoControl;
        self.render.copy_from(&[frame], &self.stream);
        self.render.split_into_frequency_bands();
        self.echo.analyze_render(&mut self.render);
    }

    fn capture(&mut self, frame: &mut [f32]) {
        use aec3::api::EchoControl;
        self.capture.copy_from(&[&*frame], &self.stream);
        self.echo.analyze_capture(&mut self.capture);
        self.capture.split_into_frequency_bands();
        self.echo.process_capture(&mut self.capture, false);
        self.capture.merge_frequency_bands();
        self.capture.copy_to_stream(&self.stream, &mut [frame]);
    }
}
