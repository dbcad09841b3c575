//! Audio in and out of a call behind one small interface: the headless sources and sinks
//! (`tone:`/`file:`/`silence`, `file:`/`null`) and real devices through cpal (`device:NAME`,
//! `device:default`).
//!
//! The stream task sees two sides, both in 20 ms frames of mono `i16` at the codec's rate
//! (8 kHz for G.711, 48 kHz for Opus):
//! - [`CaptureBackend::read_frame`]: the next frame of the microphone (or tone, file...);
//! - [`PlayoutBackend::write_frame`]: a frame for the speaker (or WAV file, nothing).
//!
//! Neither call blocks. For a device, a cpal callback thread runs beside the task and only
//! moves samples through a lock-free SPSC ring buffer (`ringbuf`), converting the sample
//! format and mixing/duplicating channels on the way; it never locks, allocates or logs, and
//! counts overruns/underruns in atomics ([`DeviceStats`]). Resampling between the device rate
//! (often 48 kHz) and the codec rate (a short polyphase FIR, buffers allocated up front)
//! runs on the task's side. A stream error (device unplugged, server gone) raises a flag that
//! [`CaptureBackend::take_error`] returns; [`CaptureBackend::reopen_default`] is the fallback.
//!
//! ```no_run
//! use media::device::{AudioBackend, InputSpec, OutputSpec};
//! let input = InputSpec::parse("device:default").unwrap();
//! let output = OutputSpec::parse("device:speaker").unwrap();
//! let mut audio = AudioBackend::open(&input, &output, 8000).unwrap();
//! let mut frame = vec![0.0f32; audio.capture.frame_len()];
//! // every 20 ms:
//! audio.capture.read_frame(&mut frame);
//! audio.playout.write_frame(&frame).unwrap();
//! if let Some(e) = audio.capture.take_error() {
//!     eprintln!("{e}; falling back to the default device");
//!     audio.capture.reopen_default().unwrap();
//! }
//! ```

mod convert;
mod cpal_io;
mod headless;
mod ring;
mod shared;

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};

pub use convert::{f32_to_i16, i16_to_f32, FilterPhase, RateConverter};
pub use cpal_io::{list_devices, list_devices_on, DeviceCapture, DevicePlayout};
pub use headless::{HeadlessCapture, HeadlessPlayout};
pub use shared::{
    DeviceChange, DeviceLink, DevicePairStats, Direction, InUse, Levels, SharedDevices,
    SHARED_CAPTURE_RATE, SHARED_PLAYOUT_RATE, SILENCE_DBFS,
};

use crate::sink::SinkSpec;
use crate::source::{SourceSpec, SpecError};

/// Frames are 20 ms long: `rate / FRAMES_PER_SECOND` samples.
pub const FRAMES_PER_SECOND: u32 = 50;

/// Samples in one 20 ms frame at `rate`.
pub fn frame_len(rate: u32) -> usize {
    (rate / FRAMES_PER_SECOND) as usize
}

/// Which audio device, as written after `device:` in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceSpec {
    /// `device:default`: the system's default input or output.
    Default,
    /// `device:NAME`: the first device whose name or description contains NAME (case
    /// insensitive; an exact match wins).
    Named(String),
}

const DEVICE_FORMS: &str = "\"device:default\" or \"device:NAME\" (part of a device name)";
const INPUT_FORMS: &str = "\"device:default\", \"device:NAME\" (part of a device name), \
    \"tone:FREQ\" (e.g. \"tone:440\"), \"file:PATH.wav\" or \"silence\"";
const OUTPUT_FORMS: &str = "\"device:default\", \"device:NAME\" (part of a device name), \
    \"file:PATH.wav\", \"file16k:PATH.wav\" or \"null\"";

impl DeviceSpec {
    /// Parses `device:default` or `device:NAME`.
    pub fn parse(s: &str) -> Result<DeviceSpec, SpecError> {
        let err = |reason: &str| SpecError {
            what: "device",
            given: s.to_string(),
            reason: reason.to_string(),
            accepted: DEVICE_FORMS,
        };
        match s.trim().split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("device") => {
                let v = v.trim();
                if v.is_empty() {
                    Err(err("the device name is empty"))
                } else if v.eq_ignore_ascii_case("default") {
                    Ok(DeviceSpec::Default)
                } else {
                    Ok(DeviceSpec::Named(v.to_string()))
                }
            }
            _ => Err(err("not a device")),
        }
    }

    /// Whether `s` is meant as a device (`device:...`), valid or not.
    pub fn is_device(s: &str) -> bool {
        s.trim()
            .split_once(':')
            .is_some_and(|(k, _)| k.eq_ignore_ascii_case("device"))
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Default => f.write_str("device:default"),
            DeviceSpec::Named(n) => write!(f, "device:{n}"),
        }
    }
}

/// `[audio] input`: a headless source or a capture device.
#[derive(Debug, Clone, PartialEq)]
pub enum InputSpec {
    /// A tone, a file or silence (`tone:`, `file:`, `silence`).
    Headless(SourceSpec),
    /// A capture device (`device:`).
    Device(DeviceSpec),
}

impl InputSpec {
    /// `device:...` as a [`DeviceSpec`], anything else as a [`SourceSpec`].
    pub fn parse(s: &str) -> Result<InputSpec, SpecError> {
        if DeviceSpec::is_device(s) {
            DeviceSpec::parse(s).map(InputSpec::Device)
        } else {
            SourceSpec::parse(s)
                .map(InputSpec::Headless)
                .map_err(|e| SpecError {
                    accepted: INPUT_FORMS,
                    ..e
                })
        }
    }
}

impl fmt::Display for InputSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputSpec::Headless(s) => s.fmt(f),
            InputSpec::Device(d) => d.fmt(f),
        }
    }
}

/// `[audio] output`: a headless sink or a playout device.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputSpec {
    /// A WAV file or nothing (`file:`, `null`).
    Headless(SinkSpec),
    /// A playout device (`device:`).
    Device(DeviceSpec),
}

impl OutputSpec {
    /// `device:...` as a [`DeviceSpec`], anything else as a [`SinkSpec`].
    pub fn parse(s: &str) -> Result<OutputSpec, SpecError> {
        if DeviceSpec::is_device(s) {
            DeviceSpec::parse(s).map(OutputSpec::Device)
        } else {
            SinkSpec::parse(s)
                .map(OutputSpec::Headless)
                .map_err(|e| SpecError {
                    accepted: OUTPUT_FORMS,
                    ..e
                })
        }
    }
}

impl fmt::Display for OutputSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputSpec::Headless(s) => s.fmt(f),
            OutputSpec::Device(d) => d.fmt(f),
        }
    }
}

/// Which cpal host (audio API) opens devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostChoice {
    /// cpal's default: PulseAudio (or PipeWire's pulse server) when its socket is there,
    /// else ALSA.
    #[default]
    Default,
    /// ALSA (`default` is usually routed to PulseAudio by `libasound2-plugins`).
    Alsa,
    /// cpal's native PulseAudio client: the server's sinks and sources by name.
    PulseAudio,
}

/// One device as [`list_devices`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The host's name for it (ALSA PCM id, PulseAudio sink/source name).
    pub name: String,
    /// Human description (may equal `name`).
    pub description: String,
    /// It can capture.
    pub is_input: bool,
    /// It can play.
    pub is_output: bool,
    /// The default input or output of its host.
    pub is_default: bool,
    /// Rate of its default configuration (0 if unknown).
    pub default_rate: u32,
    /// Channels of its default configuration (0 if unknown).
    pub channels: u16,
}

/// Why audio could not be opened or carried on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// No device of the host matches the spec.
    #[error("no audio {direction} device matches {spec}; devices: {available}")]
    NotFound {
        /// `input` or `output`.
        direction: &'static str,
        /// What was asked for.
        spec: String,
        /// The host's devices of that direction.
        available: String,
    },
    /// The audio host (ALSA, PulseAudio) cannot be reached.
    #[error("audio host {host} is not available: {reason}")]
    Host {
        /// The host's name.
        host: String,
        /// What it said.
        reason: String,
    },
    /// The device was found but would not open.
    #[error("cannot open audio {direction} device {device:?}: {reason}")]
    Open {
        /// `input` or `output`.
        direction: &'static str,
        /// The device.
        device: String,
        /// What the host said.
        reason: String,
    },
    /// An open stream failed (device gone, server gone).
    #[error("audio {direction} device {device:?} failed: {reason}")]
    Stream {
        /// `input` or `output`.
        direction: &'static str,
        /// The device.
        device: String,
        /// What went wrong.
        reason: String,
    },
    /// A headless side's file cannot be read or written.
    #[error("audio file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A frame rate that is not a positive multiple of 50 Hz.
    #[error("unsupported audio rate {rate} Hz (the codec rate must be a positive multiple of 50)")]
    Rate {
        /// The rate asked for.
        rate: u32,
    },
    /// The rate converter cannot be built for these rates.
    #[error("resampler: {0}")]
    Resampler(String),
    /// Asked to switch a side that is configured headless.
    #[error(
        "[audio] {direction} is not a device (set it to \"device:default\" to choose devices)"
    )]
    NotADevice {
        /// `input` or `output`.
        direction: &'static str,
    },
}

/// What [`CaptureBackend::read_frame`] delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameStatus {
    /// A full frame of captured audio.
    Full,
    /// Not enough audio was captured yet (device start, clock drift): the frame was filled
    /// with what there was and silence, and counted in [`DeviceStats::short_reads`].
    Short,
}

/// Counters of a capture or playout side. Device callbacks update them lock-free.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceStats {
    /// What is open: `"cpal pulseaudio mic.monitor 48000 Hz x2 f32"`, `"tone:440"`...
    pub description: String,
    /// The device's own rate, which the sample counts are in (0: not a device).
    pub device_rate: u32,
    /// Device callbacks run.
    pub callbacks: u64,
    /// Samples (per channel) the callbacks moved: with `callbacks`, the device's real pace.
    pub callback_samples: u64,
    /// The largest callback, in samples per channel (the server may ask for far more than
    /// the period asked for).
    pub largest_callback: u32,
    /// Samples (device rate, mono) the capture callback could not store: the media side fell
    /// behind and the ring buffer was full.
    pub overrun_samples: u64,
    /// Playout callbacks that found less audio than the device asked for (played silence).
    pub underruns: u64,
    /// Playout: samples of silence played in those underruns (device rate).
    pub silence_samples: u64,
    /// Playout: late audio skipped after an underrun, so that what follows keeps its timing
    /// (and a tone its phase); at most what `silence_samples` stood in for.
    pub skipped_samples: u64,
    /// Playout: samples added (+) or removed (-) by the slow drift correction that keeps the
    /// ring at its target fill (device rate).
    pub corrected_samples: i64,
    /// Samples dropped on the media side to keep latency bounded (capture backlog trimmed,
    /// playout frames refused while the ring buffer was far beyond its target).
    pub dropped_samples: u64,
    /// Capture frames padded with silence ([`FrameStatus::Short`]).
    pub short_reads: u64,
    /// xrun notices from the host.
    pub xruns: u64,
    /// Latency the host reports between the device and the callback, in µs (last callback).
    pub device_latency_us: u32,
    /// Audio waiting in the ring buffer now, in µs.
    pub buffered_us: u32,
    /// Set once the stream reported a fatal error (see `take_error`).
    pub failed: bool,
    /// The kind of the last error the host reported, fatal or not (`"xrun"`...).
    pub last_error: Option<&'static str>,
}

/// The capture side the stream task reads from.
pub trait CaptureBackend: Send {
    /// Rate of the frames (the codec rate asked for at open).
    fn rate(&self) -> u32;
    /// Samples per 20 ms frame.
    fn frame_len(&self) -> usize {
        frame_len(self.rate())
    }
    /// Fills `frame` (any length; normally [`frame_len`](Self::frame_len)) with the next
    /// audio, full scale ±1.0 (devices, the echo canceller and the rate converters work in
    /// `f32`; the call converts to integer samples once, for the codec). Never blocks; pads
    /// with silence when too little was captured.
    fn read_frame(&mut self, frame: &mut [f32]) -> FrameStatus;
    /// Its counters now.
    fn stats(&self) -> DeviceStats;
    /// The stream's fatal error, once (device gone, server gone). `None` for headless ones.
    fn take_error(&mut self) -> Option<DeviceError> {
        None
    }
    /// Reopens on the host's default device (after [`take_error`](Self::take_error)).
    fn reopen_default(&mut self) -> Result<(), DeviceError> {
        Ok(())
    }
}

/// The playout side the stream task writes to.
pub trait PlayoutBackend: Send {
    /// Rate of the frames (the codec rate asked for at open).
    fn rate(&self) -> u32;
    /// Samples per 20 ms frame.
    fn frame_len(&self) -> usize {
        frame_len(self.rate())
    }
    /// Queues one frame for playout. Never blocks: when the device is far behind the frame
    /// is dropped and counted. `Err` only for a headless sink's I/O error.
    fn write_frame(&mut self, frame: &[f32]) -> Result<(), DeviceError>;
    /// Its counters now.
    fn stats(&self) -> DeviceStats;
    /// The stream's fatal error, once (device gone, server gone). `None` for headless ones.
    fn take_error(&mut self) -> Option<DeviceError> {
        None
    }
    /// Reopens on the host's default device (after [`take_error`](Self::take_error)).
    fn reopen_default(&mut self) -> Result<(), DeviceError> {
        Ok(())
    }
    /// Ends playout: a WAV sink writes its header; a device stream stops.
    fn finish(self: Box<Self>) -> Result<(), DeviceError>;
}

/// Both sides of one call's audio.
pub struct AudioBackend {
    /// Where frames to send come from.
    pub capture: Box<dyn CaptureBackend>,
    /// Where received frames go.
    pub playout: Box<dyn PlayoutBackend>,
}

impl fmt::Debug for AudioBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AudioBackend")
            .field("capture", &self.capture.stats().description)
            .field("playout", &self.playout.stats().description)
            .finish()
    }
}

impl AudioBackend {
    /// Opens both sides at the codec `rate` on cpal's default host.
    pub fn open(
        input: &InputSpec,
        output: &OutputSpec,
        rate: u32,
    ) -> Result<AudioBackend, DeviceError> {
        Ok(AudioBackend {
            capture: open_capture(input, rate, HostChoice::Default)?,
            playout: open_playout(output, rate, HostChoice::Default)?,
        })
    }
}

/// Opens a capture side delivering `rate` Hz mono frames.
pub fn open_capture(
    spec: &InputSpec,
    rate: u32,
    host: HostChoice,
) -> Result<Box<dyn CaptureBackend>, DeviceError> {
    check_rate(rate)?;
    Ok(match spec {
        InputSpec::Headless(s) => Box::new(HeadlessCapture::open(s, rate)?),
        InputSpec::Device(d) => Box::new(DeviceCapture::open(d, rate, host)?),
    })
}

/// Opens a playout side taking `rate` Hz mono frames.
pub fn open_playout(
    spec: &OutputSpec,
    rate: u32,
    host: HostChoice,
) -> Result<Box<dyn PlayoutBackend>, DeviceError> {
    check_rate(rate)?;
    Ok(match spec {
        OutputSpec::Headless(s) => Box::new(HeadlessPlayout::open(s, rate)?),
        OutputSpec::Device(d) => Box::new(DevicePlayout::open(d, rate, host)?),
    })
}

fn check_rate(rate: u32) -> Result<(), DeviceError> {
    if rate == 0 || rate / FRAMES_PER_SECOND * FRAMES_PER_SECOND != rate || rate > 384_000 {
        Err(DeviceError::Rate { rate })
    } else {
        Ok(())
    }
}

/// Counters shared between a device callback and the media side: atomics only.
#[derive(Debug, Default)]
pub(crate) struct SharedCounters {
    pub callbacks: AtomicU64,
    pub callback_samples: AtomicU64,
    pub largest_callback: AtomicU32,
    pub overrun_samples: AtomicU64,
    pub underruns: AtomicU64,
    pub silence_samples: AtomicU64,
    pub skipped_samples: AtomicU64,
    /// Playout: backlogs cut because the device lost time (see `RingReader`).
    pub lost_time: AtomicU64,
    pub xruns: AtomicU64,
    pub device_latency_us: AtomicU32,
    /// 0: no error; otherwise an [`ErrorCode`] as u8, kept until taken.
    pub error: AtomicU8,
    /// Sticky: the stream failed at some point (not cleared by `take_error`).
    pub failed: AtomicBool,
    /// Index into [`ERROR_KINDS`] + 1 of the last error reported, fatal or not; 0: none.
    pub last_kind: AtomicU8,
}

/// Names of cpal's error kinds, for [`DeviceStats::last_error`].
pub(crate) const ERROR_KINDS: [&str; 15] = [
    "device busy",
    "device changed",
    "device not available",
    "host unavailable",
    "invalid input",
    "permission denied",
    "realtime denied",
    "resource exhausted",
    "stream invalidated",
    "unsupported config",
    "unsupported operation",
    "xrun",
    "backend error",
    "other",
    "unknown",
];

/// Errors a callback can report without allocating (cpal's `ErrorKind` reduced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum ErrorCode {
    DeviceNotAvailable = 1,
    StreamInvalidated = 2,
    HostUnavailable = 3,
    Backend = 4,
}

impl ErrorCode {
    pub(crate) fn from_u8(v: u8) -> Option<ErrorCode> {
        Some(match v {
            1 => ErrorCode::DeviceNotAvailable,
            2 => ErrorCode::StreamInvalidated,
            3 => ErrorCode::HostUnavailable,
            4 => ErrorCode::Backend,
            _ => return None,
        })
    }

    pub(crate) fn reason(self) -> &'static str {
        match self {
            ErrorCode::DeviceNotAvailable => "the device is no longer available",
            ErrorCode::StreamInvalidated => "the stream was invalidated and must be rebuilt",
            ErrorCode::HostUnavailable => "the audio server went away",
            ErrorCode::Backend => "the audio backend reported an error",
        }
    }
}

impl SharedCounters {
    /// A device callback of `frames` samples per channel ran.
    pub(crate) fn count_callback(&self, frames: usize) {
        self.callbacks.fetch_add(1, Ordering::Relaxed);
        self.callback_samples
            .fetch_add(frames as u64, Ordering::Relaxed);
        self.largest_callback
            .fetch_max(frames.min(u32::MAX as usize) as u32, Ordering::Relaxed);
    }

    /// Stores a fatal error for the media side (first one wins until taken).
    pub(crate) fn raise(&self, code: ErrorCode) {
        let _ = self
            .error
            .compare_exchange(0, code as u8, Ordering::AcqRel, Ordering::Relaxed);
        self.failed.store(true, Ordering::Release);
    }

    pub(crate) fn take(&self) -> Option<ErrorCode> {
        ErrorCode::from_u8(self.error.swap(0, Ordering::AcqRel))
    }

    pub(crate) fn last_error(&self) -> Option<&'static str> {
        match self.last_kind.load(Ordering::Relaxed) {
            0 => None,
            k => ERROR_KINDS.get(usize::from(k) - 1).copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_specs_parse() {
        assert_eq!(DeviceSpec::parse("device:default"), Ok(DeviceSpec::Default));
        assert_eq!(
            DeviceSpec::parse(" Device:DEFAULT "),
            Ok(DeviceSpec::Default)
        );
        assert_eq!(
            DeviceSpec::parse("device:USB Headset"),
            Ok(DeviceSpec::Named("USB Headset".into()))
        );
        for bad in ["device:", "device: ", "speaker", "tone:440"] {
            let e = DeviceSpec::parse(bad).unwrap_err().to_string();
            assert!(
                e.contains("device:default") && e.contains("device:NAME"),
                "{e}"
            );
        }
        assert_eq!(DeviceSpec::Named("x".into()).to_string(), "device:x");
    }

    #[test]
    fn input_and_output_specs_take_both_kinds() {
        assert_eq!(
            InputSpec::parse("tone:440"),
            Ok(InputSpec::Headless(SourceSpec::Tone(440.0)))
        );
        assert_eq!(
            InputSpec::parse("device:mic"),
            Ok(InputSpec::Device(DeviceSpec::Named("mic".into())))
        );
        assert_eq!(
            OutputSpec::parse("null"),
            Ok(OutputSpec::Headless(SinkSpec::Null))
        );
        assert_eq!(
            OutputSpec::parse("device:default"),
            Ok(OutputSpec::Device(DeviceSpec::Default))
        );
        assert!(OutputSpec::parse("device:").is_err());
        let e = InputSpec::parse("mic").unwrap_err().to_string();
        assert!(
            e.contains("device:default") && e.contains("tone:FREQ"),
            "{e}"
        );
        let e = OutputSpec::parse("speaker").unwrap_err().to_string();
        assert!(e.contains("device:NAME") && e.contains("null"), "{e}");
        assert_eq!(
            InputSpec::parse("device:default").unwrap().to_string(),
            "device:default"
        );
    }

    #[test]
    fn rates_must_give_whole_frames() {
        assert!(check_rate(8000).is_ok());
        assert!(check_rate(48000).is_ok());
        assert!(check_rate(0).is_err());
        assert!(check_rate(8001).is_err());
        assert_eq!(frame_len(8000), 160);
        assert_eq!(frame_len(48000), 960);
    }

    #[test]
    fn errors_are_kept_until_taken() {
        let c = SharedCounters::default();
        assert_eq!(c.take(), None);
        c.raise(ErrorCode::DeviceNotAvailable);
        c.raise(ErrorCode::Backend);
        assert_eq!(c.take(), Some(ErrorCode::DeviceNotAvailable));
        assert_eq!(c.take(), None);
        assert!(c.failed.load(Ordering::Acquire));
    }
}
