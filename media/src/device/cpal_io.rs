//! Real devices through cpal. The device callbacks (cpal's audio threads) only convert the
//! sample format, mix or duplicate channels and move mono `f32` samples through a `ringbuf`
//! SPSC ring: no lock, no allocation, no logging; counters are atomics. Resampling and
//! latency trimming happen on the media side, in `read_frame`/`write_frame`; the playout
//! ring's policy (target fill, drift correction, underruns that keep the timeline) is
//! `super::ring`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, Sample, SampleFormat, SizedSample};
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::convert::RateConverter;
use super::ring::{ring_ends, RingReader, RingTuning, RingWriter};
use super::{
    frame_len, CaptureBackend, DeviceError, DeviceInfo, DeviceSpec, DeviceStats, ErrorCode,
    FrameStatus, HostChoice, PlayoutBackend, SharedCounters,
};

/// Device callback period asked for (`BufferSize::Fixed`), in ms: 10 ms, or 20 ms if refused.
/// ALSA gets 20 ms first: cpal double-buffers ALSA periods, and 2 x 10 ms through the pulse
/// plugin underran on a loaded 2-core machine (after which the plugin failed with EIO).
const CALLBACK_MS: u32 = 10;
const ALSA_CALLBACK_MS: u32 = 20;
/// PulseAudio playout asks for 10 ms at a time: cpal makes the server's whole buffer two
/// periods (20 ms). Write-to-speaker on the test server (docs/benchmarks.md,
/// "Write-to-speaker"): 18.5 ms at p95 with the ring's 3 ms target, against 56 ms with 20 ms
/// requests. A server that cannot keep up (seen beside eight busy loops on 2 cores, the
/// test server not running real-time: 98-99% pace) makes the stream step up to
/// [`PULSE_PLAYOUT_RELAXED_MS`], which kept pace there, for the rest of the process.
const PULSE_PLAYOUT_CALLBACK_MS: u32 = 10;
const PULSE_PLAYOUT_RELAXED_MS: u32 = 20;
/// The period new PulseAudio playout streams ask for: raised once, for good, when a stream
/// kept losing time ([`DevicePlayout::losing_time`]).
static PULSE_PLAYOUT_MS: AtomicU32 = AtomicU32::new(PULSE_PLAYOUT_CALLBACK_MS);
/// Episodes of lost time within [`LOST_TIME_WINDOW`] that make the playout step up. An
/// episode is a look that found new backlog cuts, [`LOST_TIME_EPISODE_GAP`] or more after
/// the last one. One stall of the machine or of the agent (a stop and continue, a suspend)
/// makes one or two; a server that cannot keep up makes one every few seconds.
const LOST_TIME_EPISODES: usize = 3;
const LOST_TIME_EPISODE_GAP: Duration = Duration::from_secs(2);
const LOST_TIME_WINDOW: Duration = Duration::from_secs(30);
/// Ring buffer size between callback and media side.
const RING_MS: u32 = 500;
/// Capture: when more than this is waiting, trim down to `CAPTURE_TRIM_TO_MS` (clock drift,
/// a stalled task) so the capture latency stays bounded.
const CAPTURE_MAX_BACKLOG_MS: u32 = 80;
const CAPTURE_TRIM_TO_MS: u32 = 30;

fn samples_for_ms(rate: u32, ms: u32) -> usize {
    (u64::from(rate) * u64::from(ms) / 1000) as usize
}

fn host(choice: HostChoice) -> Result<cpal::Host, DeviceError> {
    let id = match choice {
        HostChoice::Default => return Ok(cpal::default_host()),
        HostChoice::Alsa => cpal::HostId::Alsa,
        HostChoice::PulseAudio => cpal::HostId::PulseAudio,
    };
    cpal::host_from_id(id).map_err(|e| DeviceError::Host {
        host: id.name().to_string(),
        reason: e.to_string(),
    })
}

fn device_name(d: &cpal::Device) -> String {
    d.id()
        .map(|id| id.id().to_string())
        .unwrap_or_else(|_| d.to_string())
}

fn device_description(d: &cpal::Device) -> String {
    d.description()
        .map(|desc| desc.name().to_string())
        .unwrap_or_default()
}

/// The devices of cpal's default host (PulseAudio when running, else ALSA); empty if the
/// host cannot be reached.
pub fn list_devices() -> Vec<DeviceInfo> {
    list_devices_on(HostChoice::Default).unwrap_or_default()
}

/// The devices of one host.
pub fn list_devices_on(choice: HostChoice) -> Result<Vec<DeviceInfo>, DeviceError> {
    let host = host(choice)?;
    let default_in = host.default_input_device().map(|d| device_name(&d));
    let default_out = host.default_output_device().map(|d| device_name(&d));
    let devices = host.devices().map_err(|e| DeviceError::Host {
        host: host.id().name().to_string(),
        reason: e.to_string(),
    })?;
    let mut out = Vec::new();
    for d in devices {
        let name = device_name(&d);
        let is_input = d.supports_input();
        let is_output = d.supports_output();
        let config = if is_output {
            d.default_output_config().ok()
        } else {
            d.default_input_config().ok()
        };
        out.push(DeviceInfo {
            is_default: (is_input && default_in.as_deref() == Some(name.as_str()))
                || (is_output && default_out.as_deref() == Some(name.as_str())),
            description: device_description(&d),
            name,
            is_input,
            is_output,
            default_rate: config.as_ref().map_or(0, |c| c.sample_rate()),
            channels: config.as_ref().map_or(0, |c| c.channels()),
        });
    }
    Ok(out)
}

/// Looks devices up over one connection to the sound server, kept between looks: opening
/// a host per look made PulseAudio log a client connecting and disconnecting every check.
pub(crate) struct DeviceWatch {
    choice: HostChoice,
    host: Option<cpal::Host>,
}

impl DeviceWatch {
    pub(crate) fn new(choice: HostChoice) -> DeviceWatch {
        DeviceWatch { choice, host: None }
    }

    /// Whether the host still has an input (or output) device called `name`; `None` when
    /// it cannot be asked (the connection is then made anew next time).
    pub(crate) fn present(&mut self, name: &str, input: bool) -> Option<bool> {
        if self.host.is_none() {
            self.host = host(self.choice).ok();
        }
        let devices = match self.host.as_ref()?.devices() {
            Ok(d) => d,
            Err(_) => {
                self.host = None;
                return None;
            }
        };
        let mut devices = devices;
        Some(devices.any(|d| {
            device_name(&d) == name
                && if input {
                    d.supports_input()
                } else {
                    d.supports_output()
                }
        }))
    }
}

impl DeviceWatch {
    /// The name of the device `spec` names, looked up without opening it (a side kept
    /// closed between calls still says which device it will use).
    pub(crate) fn resolve(
        &mut self,
        spec: &DeviceSpec,
        input: bool,
    ) -> Result<String, DeviceError> {
        if self.host.is_none() {
            self.host = Some(host(self.choice)?);
        }
        let Some(h) = self.host.as_ref() else {
            return Err(DeviceError::Host {
                host: format!("{:?}", self.choice),
                reason: "not connected".into(),
            });
        };
        let found = find_device(h, spec, input).map(|d| device_name(&d));
        if matches!(found, Err(DeviceError::Host { .. })) {
            // Connect anew next time.
            self.host = None;
        }
        found
    }
}

fn direction(input: bool) -> &'static str {
    if input {
        "input"
    } else {
        "output"
    }
}

/// The device `spec` names on `host`, for input or output.
fn find_device(
    host: &cpal::Host,
    spec: &DeviceSpec,
    input: bool,
) -> Result<cpal::Device, DeviceError> {
    let not_found = |available: String| DeviceError::NotFound {
        direction: direction(input),
        spec: spec.to_string(),
        available,
    };
    let wanted = match spec {
        DeviceSpec::Default => {
            let d = if input {
                host.default_input_device()
            } else {
                host.default_output_device()
            };
            return d.ok_or_else(|| not_found("(no default device)".into()));
        }
        DeviceSpec::Named(n) => n.to_lowercase(),
    };
    let list: Vec<cpal::Device> = if input {
        host.input_devices().map(|d| d.collect())
    } else {
        host.output_devices().map(|d| d.collect())
    }
    .map_err(|e| DeviceError::Host {
        host: host.id().name().to_string(),
        reason: e.to_string(),
    })?;
    let keys = |d: &cpal::Device| {
        [
            device_name(d).to_lowercase(),
            device_description(d).to_lowercase(),
        ]
    };
    if let Some(d) = list.iter().find(|d| keys(d).contains(&wanted)) {
        return Ok(d.clone());
    }
    if let Some(d) = list
        .iter()
        .find(|d| keys(d).iter().any(|k| k.contains(&wanted)))
    {
        return Ok(d.clone());
    }
    let names: Vec<String> = list.iter().map(device_name).collect();
    Err(not_found(names.join(", ")))
}

/// What was opened, for stats and messages.
#[derive(Debug, Clone)]
struct Opened {
    description: String,
    device: String,
    rate: u32,
    channels: usize,
    host: cpal::HostId,
    /// The callback period asked for, ms.
    period_ms: u32,
}

fn stream_config(
    device: &cpal::Device,
    input: bool,
    callback_ms: u32,
) -> Result<(cpal::StreamConfig, SampleFormat), DeviceError> {
    let supported = if input {
        device.default_input_config()
    } else {
        device.default_output_config()
    }
    .map_err(|e| DeviceError::Open {
        direction: direction(input),
        device: device_name(device),
        reason: e.to_string(),
    })?;
    let rate = supported.sample_rate();
    let mut frames = (rate * callback_ms / 1000).max(1);
    if let cpal::SupportedBufferSize::Range { min, max } = *supported.buffer_size() {
        frames = frames.clamp(min, max.max(min));
    }
    Ok((
        cpal::StreamConfig {
            channels: supported.channels(),
            sample_rate: rate,
            buffer_size: cpal::BufferSize::Fixed(frames),
        },
        supported.sample_format(),
    ))
}

fn error_callback(counters: Arc<SharedCounters>) -> impl FnMut(cpal::Error) + Send + 'static {
    move |e: cpal::Error| {
        use cpal::ErrorKind as K;
        let index = match e.kind() {
            K::DeviceBusy => 0,
            K::DeviceChanged => 1,
            K::DeviceNotAvailable => 2,
            K::HostUnavailable => 3,
            K::InvalidInput => 4,
            K::PermissionDenied => 5,
            K::RealtimeDenied => 6,
            K::ResourceExhausted => 7,
            K::StreamInvalidated => 8,
            K::UnsupportedConfig => 9,
            K::UnsupportedOperation => 10,
            K::Xrun => 11,
            K::BackendError => 12,
            K::Other => 13,
            _ => 14,
        };
        counters.last_kind.store(index + 1, Ordering::Relaxed);
        match e.kind() {
            K::Xrun => {
                counters.xruns.fetch_add(1, Ordering::Relaxed);
            }
            // Rerouted by the host, or informational: the stream goes on.
            K::DeviceChanged | K::RealtimeDenied => {}
            K::DeviceNotAvailable => counters.raise(ErrorCode::DeviceNotAvailable),
            K::StreamInvalidated => counters.raise(ErrorCode::StreamInvalidated),
            K::HostUnavailable => counters.raise(ErrorCode::HostUnavailable),
            _ => counters.raise(ErrorCode::Backend),
        }
    }
}

fn micros(d: std::time::Duration) -> u32 {
    d.as_micros().min(u128::from(u32::MAX)) as u32
}

fn build_input<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    mut prod: HeapProd<f32>,
    counters: Arc<SharedCounters>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let ch = usize::from(config.channels.max(1));
    let scale = 1.0 / ch as f32;
    let c = counters.clone();
    device.build_input_stream::<T, _, _>(
        *config,
        move |data: &[T], info: &cpal::InputCallbackInfo| {
            // The audio thread: atomics and the lock-free ring only.
            c.count_callback(data.len() / ch);
            let ts = info.timestamp();
            c.device_latency_us.store(
                micros(ts.callback.duration_since(ts.capture)),
                Ordering::Relaxed,
            );
            let frames = data.len() / ch;
            let pushed = prod.push_iter(
                data.chunks_exact(ch)
                    .map(|f| f.iter().map(|&s| f32::from_sample(s)).sum::<f32>() * scale),
            );
            if pushed < frames {
                c.overrun_samples
                    .fetch_add((frames - pushed) as u64, Ordering::Relaxed);
            }
        },
        error_callback(counters),
        None,
    )
}

fn build_output<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    mut reader: RingReader<HeapCons<f32>>,
    mut played: HeapProd<f32>,
    counters: Arc<SharedCounters>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32>,
{
    let ch = usize::from(config.channels.max(1));
    let c = counters.clone();
    device.build_output_stream::<T, _, _>(
        *config,
        move |data: &mut [T], info: &cpal::OutputCallbackInfo| {
            // The audio thread: atomics, the lock-free ring and a stack buffer only.
            c.count_callback(data.len() / ch);
            let ts = info.timestamp();
            c.device_latency_us.store(
                micros(ts.playback.duration_since(ts.callback)),
                Ordering::Relaxed,
            );
            let frames = data.len() / ch;
            let mut done = 0;
            let r = reader.read(Instant::now(), frames, |chunk| {
                for (k, &v) in chunk.iter().enumerate() {
                    let at = (done + k) * ch;
                    data[at..at + ch].fill(T::from_sample(v));
                }
                // What the device really gets, after drift correction, underrun silence and
                // skips: the echo canceller's reference (a full ring, nobody reading it, just
                // refuses the rest).
                played.push_slice(chunk);
                done += chunk.len();
            });
            let (silence, skipped) = (r.silence, r.skipped);
            data[done * ch..].fill(T::EQUILIBRIUM);
            played.push_iter(std::iter::repeat_n(0.0, frames - done));
            if silence > 0 {
                c.underruns.fetch_add(1, Ordering::Relaxed);
                c.silence_samples
                    .fetch_add(silence as u64, Ordering::Relaxed);
            }
            if skipped > 0 {
                c.skipped_samples
                    .fetch_add(skipped as u64, Ordering::Relaxed);
            }
            if r.device_lost_time {
                c.lost_time.fetch_add(1, Ordering::Relaxed);
            }
        },
        error_callback(counters),
        None,
    )
}

macro_rules! by_format {
    ($format:expr, $f:ident, $($arg:expr),*) => {
        match $format {
            SampleFormat::F32 => $f::<f32>($($arg),*),
            SampleFormat::I16 => $f::<i16>($($arg),*),
            SampleFormat::I32 => $f::<i32>($($arg),*),
            SampleFormat::U16 => $f::<u16>($($arg),*),
            SampleFormat::U8 => $f::<u8>($($arg),*),
            SampleFormat::I8 => $f::<i8>($($arg),*),
            SampleFormat::F64 => $f::<f64>($($arg),*),
            // Other formats (24-bit packed...): ask for f32, which every host converts to.
            _ => $f::<f32>($($arg),*),
        }
    };
}

/// Opens a stream on `spec`: tries 10 ms callbacks, then 20 ms. Returns the stream, the ring
/// end for the media side, and what was opened.
#[allow(clippy::type_complexity)]
fn open_stream(
    spec: &DeviceSpec,
    choice: HostChoice,
    input: bool,
    counters: &Arc<SharedCounters>,
) -> Result<
    (
        cpal::Stream,
        Option<HeapCons<f32>>,
        Option<(RingWriter<HeapProd<f32>>, HeapCons<f32>)>,
        Opened,
    ),
    DeviceError,
> {
    let host = host(choice)?;
    let device = find_device(&host, spec, input)?;
    let name = device_name(&device);
    let mut last_err = String::new();
    let periods = match host.id() {
        cpal::HostId::Alsa => [ALSA_CALLBACK_MS, CALLBACK_MS],
        cpal::HostId::PulseAudio if !input => [
            PULSE_PLAYOUT_MS.load(Ordering::Relaxed),
            PULSE_PLAYOUT_RELAXED_MS,
        ],
        _ => [CALLBACK_MS, 20],
    };
    for ms in periods {
        let (config, format) = stream_config(&device, input, ms)?;
        let rate = config.sample_rate;
        let ring = HeapRb::<f32>::new(samples_for_ms(rate, RING_MS).max(1));
        let (prod, cons) = ring.split();
        let result = if input {
            by_format!(
                format,
                build_input,
                &device,
                &config,
                prod,
                counters.clone()
            )
            .map(|s| (s, Some(cons), None))
        } else {
            let tuning = RingTuning::for_callback(ms);
            let (writer, reader) = ring_ends(prod, cons, rate, tuning, Instant::now());
            let (played_prod, played) =
                HeapRb::<f32>::new(samples_for_ms(rate, RING_MS).max(1)).split();
            by_format!(
                format,
                build_output,
                &device,
                &config,
                reader,
                played_prod,
                counters.clone()
            )
            .map(|s| (s, None, Some((writer, played))))
        };
        match result {
            Ok((stream, cons, prod)) => {
                stream.play().map_err(|e| DeviceError::Open {
                    direction: direction(input),
                    device: name.clone(),
                    reason: e.to_string(),
                })?;
                let opened = Opened {
                    description: format!(
                        "{} {} {} Hz x{} {} ({ms} ms callbacks)",
                        host.id().name(),
                        name,
                        rate,
                        config.channels,
                        format
                    ),
                    device: name,
                    rate,
                    channels: usize::from(config.channels),
                    host: host.id(),
                    period_ms: ms,
                };
                return Ok((stream, cons, prod, opened));
            }
            Err(e) => last_err = e.to_string(),
        }
    }
    Err(DeviceError::Open {
        direction: direction(input),
        device: name,
        reason: last_err,
    })
}

/// One open direction, the shape capture and playout share: the cpal stream, the media
/// side's end of its ring(s) (`R`), the callback's counters, the rate converter between the
/// device and the frames, and what was opened.
struct Open<R> {
    // Dropped first: stops the callback before the ring goes.
    _stream: cpal::Stream,
    ring: R,
    counters: Arc<SharedCounters>,
    conv: RateConverter,
    opened: Opened,
}

/// The media side of a playout stream: the ring it writes and what the callback played.
struct PlayoutRings {
    writer: RingWriter<HeapProd<f32>>,
    /// What the callback handed the device, at its rate (mono).
    played: HeapCons<f32>,
}

impl Open<HeapCons<f32>> {
    /// A capture stream on `spec`, converting from the device's rate to `rate`.
    fn capture(spec: &DeviceSpec, rate: u32, host: HostChoice) -> Result<Self, DeviceError> {
        let counters = Arc::new(SharedCounters::default());
        let (stream, cons, _, opened) = open_stream(spec, host, true, &counters)?;
        let ring = cons.ok_or_else(|| DeviceError::Resampler("no capture ring".into()))?;
        let conv = RateConverter::new(opened.rate, rate)?;
        Ok(Open {
            _stream: stream,
            ring,
            counters,
            conv,
            opened,
        })
    }
}

impl Open<PlayoutRings> {
    /// A playout stream on `spec`, converting from `rate` to the device's rate.
    fn playout(spec: &DeviceSpec, rate: u32, host: HostChoice) -> Result<Self, DeviceError> {
        let counters = Arc::new(SharedCounters::default());
        let (stream, _, rings, opened) = open_stream(spec, host, false, &counters)?;
        let (writer, played) =
            rings.ok_or_else(|| DeviceError::Resampler("no playout ring".into()))?;
        let conv = RateConverter::new(rate, opened.rate)?;
        Ok(Open {
            _stream: stream,
            ring: PlayoutRings { writer, played },
            counters,
            conv,
            opened,
        })
    }
}

/// What the media side counts itself, beside the callback's counters.
#[derive(Default)]
struct MediaSideCounts {
    /// Device samples waiting between the callback and the frames.
    buffered: usize,
    dropped: u64,
    corrected: i64,
    short_reads: u64,
}

impl<R> Open<R> {
    fn stats(&self, own: MediaSideCounts) -> DeviceStats {
        let c = &self.counters;
        let rate = u64::from(self.opened.rate.max(1));
        DeviceStats {
            description: self.opened.description.clone(),
            device_rate: self.opened.rate,
            callbacks: c.callbacks.load(Ordering::Relaxed),
            callback_samples: c.callback_samples.load(Ordering::Relaxed),
            largest_callback: c.largest_callback.load(Ordering::Relaxed),
            overrun_samples: c.overrun_samples.load(Ordering::Relaxed),
            underruns: c.underruns.load(Ordering::Relaxed),
            // Counted by the playout callback only (zero for capture).
            silence_samples: c.silence_samples.load(Ordering::Relaxed),
            skipped_samples: c.skipped_samples.load(Ordering::Relaxed),
            corrected_samples: own.corrected,
            dropped_samples: own.dropped,
            short_reads: own.short_reads,
            xruns: c.xruns.load(Ordering::Relaxed),
            device_latency_us: c.device_latency_us.load(Ordering::Relaxed),
            buffered_us: (own.buffered as u64 * 1_000_000 / rate) as u32,
            failed: c.failed.load(Ordering::Acquire),
            last_error: c.last_error(),
        }
    }

    fn take_error(&self, input: bool) -> Option<DeviceError> {
        self.counters.take().map(|code| DeviceError::Stream {
            direction: direction(input),
            device: self.opened.device.clone(),
            reason: code.reason().to_string(),
        })
    }
}

/// A device of either direction: where it was asked for and its open stream.
struct Device<R> {
    /// Rate of the frames the media side reads or writes.
    rate: u32,
    host: HostChoice,
    spec: DeviceSpec,
    s: Open<R>,
}

impl<R> Device<R> {
    fn debug(&self, name: &str, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(name)
            .field("spec", &self.spec)
            .field("opened", &self.s.opened.description)
            .field("rate", &self.rate)
            .finish()
    }

    fn format(&self) -> (u32, usize) {
        (self.s.opened.rate, self.s.opened.channels)
    }

    /// Reopens on the host's default device with `open` (the same direction's opener).
    fn reopen_default(
        &mut self,
        open: fn(&DeviceSpec, u32, HostChoice) -> Result<Open<R>, DeviceError>,
    ) -> Result<(), DeviceError> {
        self.s = open(&DeviceSpec::Default, self.rate, self.host)?;
        self.spec = DeviceSpec::Default;
        Ok(())
    }
}

/// A capture device delivering 20 ms mono frames at the codec rate.
pub struct DeviceCapture {
    d: Device<HeapCons<f32>>,
    scratch: Vec<f32>,
    pending: Vec<f32>,
    dropped: u64,
    short_reads: u64,
    /// Device samples the frames left out (trimmed backlog, lost to a full ring) minus
    /// silence they made up (short reads), since last taken; see `take_timeline_gap`.
    gap_device: i64,
    gap_padded: i64,
    overruns_seen: u64,
}

impl std::fmt::Debug for DeviceCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.d.debug("DeviceCapture", f)
    }
}

impl DeviceCapture {
    /// Opens the capture device `spec` names on `host`, delivering frames at `rate`.
    pub fn open(
        spec: &DeviceSpec,
        rate: u32,
        host: HostChoice,
    ) -> Result<DeviceCapture, DeviceError> {
        let s = Open::capture(spec, rate, host)?;
        let scratch = vec![0.0; s.conv.input_wanted().max(frame_len(s.opened.rate))];
        let pending = Vec::with_capacity(frame_len(rate) * 2 + s.conv.output_max());
        Ok(DeviceCapture {
            d: Device {
                rate,
                host,
                spec: spec.clone(),
                s,
            },
            scratch,
            pending,
            dropped: 0,
            short_reads: 0,
            gap_device: 0,
            gap_padded: 0,
            overruns_seen: 0,
        })
    }

    /// The device's own rate and channel count.
    pub fn device_format(&self) -> (u32, usize) {
        self.d.format()
    }

    /// The host's name of the open device (`mic.monitor`), whatever the spec said.
    pub fn device_name(&self) -> &str {
        &self.d.s.opened.device
    }

    /// How far the frames read since the last call moved against the device's own timeline,
    /// in samples at the frame rate: > 0 when captured audio was left out (backlog trimmed,
    /// lost to a full ring), < 0 when silence was made up (short reads). The echo canceller
    /// moves its reference by as much, so played and captured audio stay paired.
    pub fn take_timeline_gap(&mut self) -> i64 {
        let overruns = self.d.s.counters.overrun_samples.load(Ordering::Relaxed);
        self.gap_device += overruns.saturating_sub(self.overruns_seen) as i64;
        self.overruns_seen = overruns;
        let dev_rate = i64::from(self.d.s.opened.rate.max(1));
        let left_out = self.gap_device * i64::from(self.d.rate) / dev_rate;
        let gap = left_out - self.gap_padded;
        self.gap_device = 0;
        self.gap_padded = 0;
        gap
    }

    /// Audio captured but not read yet, in samples at the frame rate.
    pub fn backlog(&self) -> usize {
        let s = &self.d.s;
        let waiting = s.ring.occupied_len() + s.conv.pending_input();
        let dev_rate = s.opened.rate.max(1) as usize;
        waiting * self.d.rate as usize / dev_rate + self.pending.len()
    }

    /// Drops whatever has been captured so far (e.g. just before a call starts sending).
    pub fn flush(&mut self) {
        let s = &mut self.d.s;
        let n = s.ring.occupied_len();
        s.ring.skip(n);
        s.conv.reset();
        self.pending.clear();
    }
}

impl CaptureBackend for DeviceCapture {
    fn rate(&self) -> u32 {
        self.d.rate
    }

    fn read_frame(&mut self, frame: &mut [f32]) -> FrameStatus {
        let s = &mut self.d.s;
        let dev_rate = s.opened.rate;
        let backlog = s.ring.occupied_len();
        if backlog > samples_for_ms(dev_rate, CAPTURE_MAX_BACKLOG_MS) {
            let n = backlog - samples_for_ms(dev_rate, CAPTURE_TRIM_TO_MS);
            let skipped = s.ring.skip(n);
            self.dropped += skipped as u64;
            self.gap_device += skipped as i64;
        }
        while self.pending.len() < frame.len() {
            let want = s.conv.input_wanted().min(self.scratch.len());
            let n = s.ring.pop_slice(&mut self.scratch[..want]);
            if n == 0 {
                break;
            }
            let pending = &mut self.pending;
            s.conv
                .process(&self.scratch[..n], |out| pending.extend_from_slice(out));
        }
        if self.pending.len() >= frame.len() {
            frame.copy_from_slice(&self.pending[..frame.len()]);
            self.pending.drain(..frame.len());
            FrameStatus::Full
        } else {
            let have = self.pending.len();
            frame[..have].copy_from_slice(&self.pending);
            frame[have..].fill(0.0);
            self.pending.clear();
            self.short_reads += 1;
            self.gap_padded += (frame.len() - have) as i64;
            FrameStatus::Short
        }
    }

    fn stats(&self) -> DeviceStats {
        let s = &self.d.s;
        s.stats(MediaSideCounts {
            buffered: s.ring.occupied_len() + s.conv.pending_input(),
            dropped: self.dropped,
            short_reads: self.short_reads,
            ..MediaSideCounts::default()
        })
    }

    fn take_error(&mut self) -> Option<DeviceError> {
        self.d.s.take_error(true)
    }

    fn reopen_default(&mut self) -> Result<(), DeviceError> {
        self.d.reopen_default(Open::capture)?;
        let wanted = self.d.s.conv.input_wanted();
        if self.scratch.len() < wanted {
            self.scratch.resize(wanted, 0.0);
        }
        self.pending.clear();
        Ok(())
    }
}

/// A playout device taking 20 ms mono frames at the codec rate.
pub struct DevicePlayout {
    d: Device<PlayoutRings>,
    dropped: u64,
    corrected: i64,
    /// Backlog cuts counted so far, and when the recent episodes of them began.
    lost_time_seen: u64,
    lost_time_episodes: VecDeque<Instant>,
}

impl std::fmt::Debug for DevicePlayout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.d.debug("DevicePlayout", f)
    }
}

impl DevicePlayout {
    /// Opens the playout device `spec` names on `host`, taking frames at `rate`.
    pub fn open(
        spec: &DeviceSpec,
        rate: u32,
        host: HostChoice,
    ) -> Result<DevicePlayout, DeviceError> {
        Ok(DevicePlayout {
            d: Device {
                rate,
                host,
                spec: spec.clone(),
                s: Open::playout(spec, rate, host)?,
            },
            dropped: 0,
            corrected: 0,
            lost_time_seen: 0,
            lost_time_episodes: VecDeque::new(),
        })
    }

    /// Whether the sound server keeps losing time at this stream's period (its ring cut a
    /// backlog the server's own underruns left, in [`LOST_TIME_EPISODES`] episodes within
    /// [`LOST_TIME_WINDOW`]) while a longer PulseAudio period exists. When it says so, new
    /// PulseAudio playout streams of this process ask for the longer period from then on:
    /// the caller opens the device again (`SharedDevices::check`). `now` is when asked.
    pub fn losing_time(&mut self, now: Instant) -> bool {
        let opened = &self.d.s.opened;
        if opened.host != cpal::HostId::PulseAudio || opened.period_ms >= PULSE_PLAYOUT_RELAXED_MS {
            return false;
        }
        let cuts = self.d.s.counters.lost_time.load(Ordering::Relaxed);
        if cuts == self.lost_time_seen {
            return false;
        }
        self.lost_time_seen = cuts;
        let episodes = &mut self.lost_time_episodes;
        if episodes
            .back()
            .is_some_and(|&last| now.saturating_duration_since(last) < LOST_TIME_EPISODE_GAP)
        {
            return false;
        }
        episodes.retain(|&t| now.saturating_duration_since(t) <= LOST_TIME_WINDOW);
        episodes.push_back(now);
        if episodes.len() < LOST_TIME_EPISODES {
            return false;
        }
        PULSE_PLAYOUT_MS.fetch_max(PULSE_PLAYOUT_RELAXED_MS, Ordering::Relaxed);
        true
    }

    /// The device's own rate and channel count.
    pub fn device_format(&self) -> (u32, usize) {
        self.d.format()
    }

    /// The host's name of the open device (`speaker`), whatever the spec said.
    pub fn device_name(&self) -> &str {
        &self.d.s.opened.device
    }

    /// Hands `f` what the device was given since the last call (mono, at the device's rate,
    /// see [`device_format`](Self::device_format)), in order: the echo canceller's reference,
    /// taken after the ring's drift correction, underrun silence and skips.
    pub fn take_played(&mut self, mut f: impl FnMut(&[f32])) {
        let mut buf = [0.0f32; 480];
        loop {
            let n = self.d.s.ring.played.pop_slice(&mut buf);
            if n == 0 {
                break;
            }
            f(&buf[..n]);
        }
    }

    /// How much of what was played is waiting for [`take_played`](Self::take_played).
    pub fn played_waiting(&self) -> usize {
        self.d.s.ring.played.occupied_len()
    }
}

impl PlayoutBackend for DevicePlayout {
    fn rate(&self) -> u32 {
        self.d.rate
    }

    fn write_frame(&mut self, frame: &[f32]) -> Result<(), DeviceError> {
        let s = &mut self.d.s;
        let writer = &mut s.ring.writer;
        let (dropped, corrected) = (&mut self.dropped, &mut self.corrected);
        let now = Instant::now();
        let counters = &s.counters;
        s.conv.process(frame, |out| {
            let r = writer.write(now, out);
            *dropped += r.dropped as u64;
            *corrected += r.corrected;
            if r.skipped > 0 {
                counters
                    .skipped_samples
                    .fetch_add(r.skipped as u64, Ordering::Relaxed);
            }
        });
        Ok(())
    }

    fn stats(&self) -> DeviceStats {
        self.d.s.stats(MediaSideCounts {
            buffered: self.d.s.ring.writer.buffered(),
            dropped: self.dropped,
            corrected: self.corrected,
            ..MediaSideCounts::default()
        })
    }

    fn take_error(&mut self) -> Option<DeviceError> {
        self.d.s.take_error(false)
    }

    fn reopen_default(&mut self) -> Result<(), DeviceError> {
        self.d.reopen_default(Open::playout)
    }

    fn finish(self: Box<Self>) -> Result<(), DeviceError> {
        Ok(())
    }
}
