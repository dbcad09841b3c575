//! One pair of audio devices for the whole agent, shared by its calls.
//!
//! The agent opens the configured capture and playout devices only while calls need them
//! ([`SharedDevices::on_demand`], then [`SharedDevices::set_needed`] and
//! [`SharedDevices::settle`]): an idle agent holds no stream, so the microphone-in-use light
//! is off and a Bluetooth headset leaves its call profile. [`SharedDevices::open`] opens
//! them at once and keeps them (tests, tools).
//! Each call's stream gets a [`DeviceLink`] (through `SourceSpec::Device` / `SinkSpec::Device`)
//! and reads the microphone / writes the speaker through it, but only the *active* call
//! touches the devices: the most recent call that receives audio (not held by us). Every
//! other call reads silence and its received audio is dropped, so a held call neither
//! steals microphone frames nor plays over the active one.
//!
//! The device callbacks stay lock-free (see `cpal_io`); the mutexes here are taken on the
//! media side only (stream tasks, the agent's device checks, the bridge's device switch),
//! and a new device is opened before the lock is taken, so a switch never stalls a call.
//! Peaks for level meters are kept in atomics by the stream tasks and read by the agent.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::aec::{Processing, VoiceProcessor};
use crate::tones::{Tone, ToneGen};

use super::convert::RateConverter;
use super::cpal_io::DeviceWatch;
use super::{
    list_devices_on, CaptureBackend, DeviceCapture, DeviceError, DeviceInfo, DevicePlayout,
    DeviceSpec, DeviceStats, HostChoice, PlayoutBackend,
};

/// Rate the shared capture device is opened at; each call converts to its codec's rate.
pub const SHARED_CAPTURE_RATE: u32 = 48_000;
/// Rate the shared playout device takes: Opus calls' own rate, so they play wideband;
/// G.711 calls convert once, from 8 kHz (`crate::sink`).
pub const SHARED_PLAYOUT_RATE: u32 = 48_000;

/// Level reported for silence (and below): the floor of 16-bit audio.
pub const SILENCE_DBFS: i32 = -96;

/// Capture or playout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The microphone side.
    Input,
    /// The speaker side.
    Output,
    /// The ring device (not one of the pair: it only names [`DeviceChange`]s of the agent's
    /// ring choice).
    Ring,
}

impl Direction {
    /// `input` or `output`, as in `[audio]` and on the bridge.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Input => "input",
            Direction::Output => "output",
            Direction::Ring => "ring",
        }
    }
}

/// A device was replaced without being asked to (it failed or disappeared), or was switched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceChange {
    /// Which side.
    pub direction: Direction,
    /// The device used before (`""` if none was open).
    pub from: String,
    /// The device used now (`""` if none could be opened).
    pub to: String,
    /// Why: `"selected"`, or what went wrong with `from`.
    pub reason: String,
}

/// The devices in use now (`None`: that side is not a device, or none could be opened).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InUse {
    /// The capture device.
    pub input: Option<String>,
    /// The playout device.
    pub output: Option<String>,
}

/// Peak levels since the last [`SharedDevices::take_levels`], in whole dBFS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    /// Loudest microphone sample.
    pub input_dbfs: i32,
    /// Loudest speaker sample.
    pub output_dbfs: i32,
}

/// [`SharedDevices::stats`]: (device name, counters) of each side open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DevicePairStats {
    /// The capture side.
    pub input: Option<(String, DeviceStats)>,
    /// The playout side.
    pub output: Option<(String, DeviceStats)>,
}

/// One side: what the config (or the last switch) asked for and what is open.
struct Side<B> {
    /// `None`: this side is not a device (headless source or sink).
    wanted: Option<DeviceSpec>,
    open: Option<B>,
    /// The device last opened or looked up: what [`SharedDevices::in_use`] names while the
    /// side is closed between calls (`None`: none could be found or opened).
    known: Option<String>,
}

/// What the capture and playout devices have in common, so both sides share one code path.
trait SideDevice: Sized {
    const DIRECTION: Direction;
    fn open_spec(spec: &DeviceSpec, host: HostChoice) -> Result<Self, DeviceError>;
    fn name(&self) -> &str;
    fn error(&mut self) -> Option<DeviceError>;
}

impl SideDevice for DeviceCapture {
    const DIRECTION: Direction = Direction::Input;
    fn open_spec(spec: &DeviceSpec, host: HostChoice) -> Result<Self, DeviceError> {
        DeviceCapture::open(spec, SHARED_CAPTURE_RATE, host)
    }
    fn name(&self) -> &str {
        self.device_name()
    }
    fn error(&mut self) -> Option<DeviceError> {
        CaptureBackend::take_error(self)
    }
}

impl SideDevice for DevicePlayout {
    const DIRECTION: Direction = Direction::Output;
    fn open_spec(spec: &DeviceSpec, host: HostChoice) -> Result<Self, DeviceError> {
        DevicePlayout::open(spec, SHARED_PLAYOUT_RATE, host)
    }
    fn name(&self) -> &str {
        self.device_name()
    }
    fn error(&mut self) -> Option<DeviceError> {
        PlayoutBackend::take_error(self)
    }
}

/// Which calls may use the devices, most recently receiving last.
#[derive(Debug, Default)]
struct Calls {
    /// (token, receiving) in the order they last started receiving.
    list: Vec<(u64, bool)>,
}

impl Calls {
    fn set(&mut self, token: u64, receiving: bool) {
        let was = self.list.iter().position(|(t, _)| *t == token);
        match was {
            Some(i) if receiving && !self.list[i].1 => {
                self.list.remove(i);
                self.list.push((token, true));
            }
            Some(i) => self.list[i].1 = receiving,
            None => self.list.push((token, receiving)),
        }
    }

    fn remove(&mut self, token: u64) {
        self.list.retain(|(t, _)| *t != token);
    }

    /// The call the devices belong to (0: none).
    fn active(&self) -> u64 {
        self.list
            .iter()
            .rev()
            .find(|(_, r)| *r)
            .map_or(0, |(t, _)| *t)
    }
}

struct Inner {
    host: HostChoice,
    capture: Mutex<Side<DeviceCapture>>,
    playout: Mutex<Side<DevicePlayout>>,
    calls: Mutex<Calls>,
    /// Token of the active call, read by every frame without taking `calls`.
    active: AtomicU64,
    next_token: AtomicU64,
    /// Largest |sample| read from the microphone / written to the speaker since last taken.
    input_peak: AtomicU32,
    output_peak: AtomicU32,
    /// `[audio] echo_cancellation`: what is played is taken out of what is captured.
    aec: Mutex<Option<Aec>>,
    /// Looks for named devices that vanished, over one kept connection.
    watch: Mutex<DeviceWatch>,
    /// Whether calls need the devices open ([`SharedDevices::set_needed`]).
    needed: AtomicBool,
    /// Taken by whatever opens, closes or swaps devices (settle, check, select), so they
    /// happen one at a time and in the order asked, whichever thread runs them.
    turn: Mutex<()>,
    /// A tone on the playout device ([`SharedDevices::set_tone`]).
    tone: Mutex<Option<ToneSlot>>,
}

/// The playout device's tone and a frame to mix it into.
struct ToneSlot {
    generator: ToneGen,
    scratch: Vec<f32>,
}

/// The echo canceller (48 kHz) and the conversion of what the playout device was handed
/// (at the device's rate) to the canceller's.
struct Aec {
    canceller: VoiceProcessor,
    /// `None` until the first reference comes, and after the playout device changed rate.
    up: Option<RateConverter>,
}

/// Reference waiting longer than this was played while no call read the microphone: stale.
const AEC_STALE_MS: usize = 200;

impl Aec {
    /// Takes what the speaker played since the last frame as the reference, moved as far
    /// as the microphone's frames moved against the device's timeline (`gap`, samples at
    /// the capture rate), so played and captured audio stay paired on the devices' clock.
    fn take_reference(
        &mut self,
        playout: Option<&mut DevicePlayout>,
        gap: i64,
        capture_backlog: usize,
    ) {
        let Some(playout) = playout else {
            return;
        };
        let (rate, _) = playout.device_format();
        let stale = playout.played_waiting() > rate as usize / 1000 * AEC_STALE_MS;
        let lost = gap.unsigned_abs() as usize > SHARED_CAPTURE_RATE as usize / 1000 * AEC_STALE_MS;
        if stale {
            // Played while no call read the microphone; a full ring also refused the newest
            // audio. Empty it and pair up with fresh audio next frame.
            playout.take_played(|_| {});
            self.up = None;
            return;
        }
        let new_rate = self.up.as_ref().is_none_or(|u| u.from_rate() != rate);
        if new_rate {
            self.up = RateConverter::new(rate, crate::aec::SAMPLE_RATE).ok();
        }
        let restart = new_rate || lost;
        if restart {
            // No pairing yet, or it is lost (the call just took the devices, a long stall).
            self.canceller.restart_reference();
        } else {
            self.canceller.skip_capture(gap);
        }
        let (canceller, up) = (&mut self.canceller, &mut self.up);
        playout.take_played(|chunk| match up.as_mut() {
            Some(up) => up.process(chunk, |o| canceller.render_f32(o.iter().copied())),
            None => canceller.render_f32(chunk.iter().copied()),
        });
        if restart {
            // What was played last goes with what was captured last, on the devices' clock.
            self.canceller.align_reference(capture_backlog);
        }
    }
}

/// The agent's device pair; cheap to clone.
#[derive(Clone)]
pub struct SharedDevices {
    inner: Arc<Inner>,
}

impl fmt::Debug for SharedDevices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedDevices")
            .field("in_use", &self.in_use())
            .field("active", &self.inner.active.load(Ordering::Relaxed))
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update under these locks is a plain assignment: carry on after a panic.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whole dBFS of a 16-bit peak.
fn peak_dbfs(peak: u32) -> i32 {
    if peak == 0 {
        return SILENCE_DBFS;
    }
    let db = 20.0 * (peak as f64 / 32768.0).log10();
    (db.round() as i32).clamp(SILENCE_DBFS, 0)
}

/// The 16-bit peak of `f32` samples (full scale ±1.0).
fn peak_of(samples: &[f32]) -> u32 {
    samples
        .iter()
        .map(|&s| u32::from(super::f32_to_i16(s).unsigned_abs()))
        .max()
        .unwrap_or(0)
}

impl SharedDevices {
    /// Opens the devices asked for (`None`: that side is not a device). A device that cannot
    /// be opened is reported and left closed; [`check`](Self::check) retries it.
    pub fn open(
        input: Option<DeviceSpec>,
        output: Option<DeviceSpec>,
        host: HostChoice,
    ) -> (SharedDevices, Vec<DeviceError>) {
        let mut errors = Vec::new();
        let capture = input.as_ref().and_then(|s| {
            DeviceCapture::open(s, SHARED_CAPTURE_RATE, host)
                .map_err(|e| errors.push(e))
                .ok()
        });
        let playout = output.as_ref().and_then(|s| {
            DevicePlayout::open(s, SHARED_PLAYOUT_RATE, host)
                .map_err(|e| errors.push(e))
                .ok()
        });
        let devices = Self::build(host, (input, capture), (output, playout), true);
        (devices, errors)
    }

    /// The devices asked for (`None`: that side is not a device), left closed until calls
    /// need them ([`set_needed`](Self::set_needed), [`settle`](Self::settle)). Their names
    /// are looked up now, without opening a stream, so the device list says which devices
    /// calls will use; a device that cannot be found is reported (the next call falls back
    /// to the default one).
    pub fn on_demand(
        input: Option<DeviceSpec>,
        output: Option<DeviceSpec>,
        host: HostChoice,
    ) -> (SharedDevices, Vec<DeviceError>) {
        let devices = Self::build(host, (input.clone(), None), (output.clone(), None), false);
        let mut errors = Vec::new();
        {
            let mut watch = lock(&devices.inner.watch);
            let mut look_up = |spec: &Option<DeviceSpec>, input: bool| {
                spec.as_ref()
                    .and_then(|s| watch.resolve(s, input).map_err(|e| errors.push(e)).ok())
            };
            let known_in = look_up(&input, true);
            let known_out = look_up(&output, false);
            lock(&devices.inner.capture).known = known_in;
            lock(&devices.inner.playout).known = known_out;
        }
        (devices, errors)
    }

    fn build(
        host: HostChoice,
        capture: (Option<DeviceSpec>, Option<DeviceCapture>),
        playout: (Option<DeviceSpec>, Option<DevicePlayout>),
        needed: bool,
    ) -> SharedDevices {
        fn side<B: SideDevice>((wanted, open): (Option<DeviceSpec>, Option<B>)) -> Mutex<Side<B>> {
            let known = open.as_ref().map(|d| d.name().to_string());
            Mutex::new(Side {
                wanted,
                open,
                known,
            })
        }
        SharedDevices {
            inner: Arc::new(Inner {
                host,
                capture: side(capture),
                playout: side(playout),
                calls: Mutex::new(Calls::default()),
                active: AtomicU64::new(0),
                next_token: AtomicU64::new(1),
                input_peak: AtomicU32::new(0),
                output_peak: AtomicU32::new(0),
                aec: Mutex::new(None),
                watch: Mutex::new(DeviceWatch::new(host)),
                needed: AtomicBool::new(needed),
                turn: Mutex::new(()),
                tone: Mutex::new(None),
            }),
        }
    }

    /// Whether calls need the devices: [`settle`](Self::settle) then opens or closes them
    /// to match. Cheap (an atomic), so the agent's loop may call it; the opening is not.
    pub fn set_needed(&self, needed: bool) {
        self.inner.needed.store(needed, Ordering::Release);
    }

    /// Whether calls need the devices now (see [`set_needed`](Self::set_needed)).
    pub fn is_needed(&self) -> bool {
        self.inner.needed.load(Ordering::Acquire)
    }

    /// Opens the devices when they are needed and closed, closes them when they are not
    /// needed (blocking: asks the sound server; run it off the agent's loop). A device that
    /// cannot be opened is replaced by the default one, as when one fails during a call;
    /// returns what changed.
    pub fn settle(&self) -> Vec<DeviceChange> {
        let _turn = lock(&self.inner.turn);
        if self.is_needed() {
            // Both at once: a call's audio waits for the slower one, not for the sum.
            let (capture, playout) = std::thread::scope(|s| {
                let capture = s.spawn(|| self.wake(&self.inner.capture));
                let playout = self.wake(&self.inner.playout);
                (capture.join().unwrap_or(None), playout)
            });
            let mut changes: Vec<DeviceChange> = [capture, playout].into_iter().flatten().collect();
            changes.retain(|c| !(c.from.is_empty() && c.to.is_empty()));
            return changes;
        }
        let capture = lock(&self.inner.capture).open.take();
        let playout = lock(&self.inner.playout).open.take();
        if let Some(aec) = lock(&self.inner.aec).as_mut() {
            // The next devices' audio is paired anew.
            aec.up = None;
        }
        // The streams stop here, outside the locks.
        drop((capture, playout));
        Vec::new()
    }

    /// Opens a closed side on the device it wants, or on the default one.
    fn wake<B: SideDevice>(&self, side: &Mutex<Side<B>>) -> Option<DeviceChange> {
        let wanted = {
            let s = lock(side);
            if s.open.is_some() {
                return None;
            }
            s.wanted.clone()?
        };
        match B::open_spec(&wanted, self.inner.host) {
            Ok(device) => {
                let mut s = lock(side);
                s.known = Some(device.name().to_string());
                s.open = Some(device);
                None
            }
            Err(e) => Some(self.fall_back(side, e.to_string(), false)),
        }
    }

    /// A tone on the playout device (`None`: none): mixed into what the active call plays,
    /// or, while no call has the devices, played alone by [`play_tone`](Self::play_tone).
    /// The same tone again goes on where it was in its cadence.
    pub fn set_tone(&self, tone: Option<Tone>) {
        let mut slot = lock(&self.inner.tone);
        if slot.as_ref().map(|t| t.generator.tone()) == tone {
            return;
        }
        *slot = tone.map(|t| ToneSlot {
            generator: ToneGen::new(t, SHARED_PLAYOUT_RATE),
            scratch: Vec::new(),
        });
    }

    /// The tone on the playout device, if any.
    pub fn tone(&self) -> Option<Tone> {
        lock(&self.inner.tone).as_ref().map(|t| t.generator.tone())
    }

    /// Plays the next `samples` ([`SHARED_PLAYOUT_RATE`]) of the tone alone if no call has
    /// the devices (a call's frames carry it otherwise); call every 20 ms while a tone is
    /// set. False once no tone is set.
    pub fn play_tone(&self, samples: usize) -> bool {
        let mut slot = lock(&self.inner.tone);
        let Some(tone) = slot.as_mut() else {
            return false;
        };
        if self.has_active_call() {
            return true;
        }
        tone.scratch.resize(samples, 0.0);
        tone.generator.fill(&mut tone.scratch);
        if let Some(playout) = lock(&self.inner.playout).open.as_mut() {
            let _ = playout.write_frame(&tone.scratch);
        }
        self.inner
            .output_peak
            .fetch_max(peak_of(&tone.scratch), Ordering::AcqRel);
        true
    }

    /// The name of the output device `spec` names, looked up without opening it.
    pub fn look_up_output(&self, spec: &DeviceSpec) -> Result<String, DeviceError> {
        lock(&self.inner.watch).resolve(spec, false)
    }

    /// Turns the microphone's processing on (`crate::aec`, on the media side, never in a
    /// device callback): with echo cancellation, from now on what the speaker plays is
    /// removed from what the microphone hears.
    pub fn enable_voice_processing(&self, what: Processing) {
        *lock(&self.inner.aec) = Some(Aec {
            canceller: VoiceProcessor::with(what),
            up: None,
        });
    }

    /// A link for one call's stream; the call takes the devices once it
    /// [receives](DeviceLink::set_receiving).
    pub fn attach(&self) -> DeviceLink {
        DeviceLink {
            devices: self.clone(),
            token: self.inner.next_token.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Whether some call holds the devices now.
    pub fn has_active_call(&self) -> bool {
        self.inner.active.load(Ordering::Acquire) != 0
    }

    fn update_calls(&self, f: impl FnOnce(&mut Calls)) {
        let mut calls = lock(&self.inner.calls);
        f(&mut calls);
        self.inner.active.store(calls.active(), Ordering::Release);
    }

    /// The names of the devices open now; of a side closed between calls, the device it
    /// will open.
    pub fn in_use(&self) -> InUse {
        fn name<B: SideDevice>(side: &Mutex<Side<B>>) -> Option<String> {
            let s = lock(side);
            match &s.open {
                Some(d) => Some(d.name().to_string()),
                None => s.known.clone(),
            }
        }
        InUse {
            input: name(&self.inner.capture),
            output: name(&self.inner.playout),
        }
    }

    /// The counters of the devices open now, with their names (`None`: that side is closed).
    pub fn stats(&self) -> DevicePairStats {
        DevicePairStats {
            input: lock(&self.inner.capture)
                .open
                .as_ref()
                .map(|c| (c.device_name().to_string(), c.stats())),
            output: lock(&self.inner.playout)
                .open
                .as_ref()
                .map(|p| (p.device_name().to_string(), p.stats())),
        }
    }

    /// Whether input / output are devices at all (else the config uses tone/file/null).
    pub fn configured(&self) -> (bool, bool) {
        (
            lock(&self.inner.capture).wanted.is_some(),
            lock(&self.inner.playout).wanted.is_some(),
        )
    }

    /// The host's devices (blocking: asks the sound server).
    pub fn list(&self) -> Result<Vec<DeviceInfo>, DeviceError> {
        list_devices_on(self.inner.host)
    }

    /// Peak levels since the last call (silence when no audio went through).
    pub fn take_levels(&self) -> Levels {
        Levels {
            input_dbfs: peak_dbfs(self.inner.input_peak.swap(0, Ordering::AcqRel)),
            output_dbfs: peak_dbfs(self.inner.output_peak.swap(0, Ordering::AcqRel)),
        }
    }

    /// Switches to other devices (`None`: keep that side). An open side opens the new
    /// device before swapping it in; a side closed between calls only looks it up (it is
    /// opened with the next call). Both sides are opened or looked up before either is
    /// swapped: on an error nothing changes. Calls keep running on the new devices.
    pub fn select(
        &self,
        input: Option<DeviceSpec>,
        output: Option<DeviceSpec>,
    ) -> Result<Vec<DeviceChange>, DeviceError> {
        let (has_in, has_out) = self.configured();
        if input.is_some() && !has_in {
            return Err(DeviceError::NotADevice { direction: "input" });
        }
        if output.is_some() && !has_out {
            return Err(DeviceError::NotADevice {
                direction: "output",
            });
        }
        let _turn = lock(&self.inner.turn);
        let capture = input
            .as_ref()
            .map(|s| self.open_or_look_up(&self.inner.capture, s))
            .transpose()?;
        let playout = output
            .as_ref()
            .map(|s| self.open_or_look_up(&self.inner.playout, s))
            .transpose()?;
        let mut changes = Vec::new();
        if let (Some(spec), Some(new)) = (input, capture) {
            changes.push(swap(&self.inner.capture, spec, new, "selected".into()));
        }
        if let (Some(spec), Some(new)) = (output, playout) {
            changes.push(swap(&self.inner.playout, spec, new, "selected".into()));
        }
        Ok(changes)
    }

    /// The device `spec` names for `side`: opened if the side is open, else its name only.
    fn open_or_look_up<B: SideDevice>(
        &self,
        side: &Mutex<Side<B>>,
        spec: &DeviceSpec,
    ) -> Result<Replacement<B>, DeviceError> {
        if lock(side).open.is_some() {
            return B::open_spec(spec, self.inner.host).map(Replacement::Open);
        }
        let input = B::DIRECTION == Direction::Input;
        lock(&self.inner.watch)
            .resolve(spec, input)
            .map(Replacement::Closed)
    }

    /// Looks after the devices (blocking; call every second or so, off the agent loop): a
    /// device that failed (or, with `look_for_gone`, is no longer listed) is replaced by the
    /// default one; a side that could not be opened is retried. Returns what changed.
    /// Looking for gone devices asks the sound server (over a connection kept for it).
    /// Devices closed because no call needs them are left alone.
    pub fn check(&self, look_for_gone: bool) -> Vec<DeviceChange> {
        let _turn = lock(&self.inner.turn);
        if !self.is_needed() {
            return Vec::new();
        }
        let mut input_trouble = trouble(&self.inner.capture);
        let mut output_trouble = trouble(&self.inner.playout);
        // PulseAudio moves streams off a vanished device by itself, without an error: a
        // named device missing from the host's list is gone too.
        let in_name = open_named(&self.inner.capture);
        let out_name = open_named(&self.inner.playout);
        if look_for_gone && (in_name.is_some() || out_name.is_some()) {
            let mut watch = lock(&self.inner.watch);
            // `Some(false)` only: a server that cannot be asked is not proof of anything.
            let mut gone = |name: &str, input: bool| watch.present(name, input) == Some(false);
            if let Some(n) = in_name.filter(|n| gone(n, true)) {
                input_trouble.get_or_insert(format!("device {n:?} is gone"));
            }
            if let Some(n) = out_name.filter(|n| gone(n, false)) {
                output_trouble.get_or_insert(format!("device {n:?} is gone"));
            }
        }
        let mut changes = Vec::new();
        if let Some(why) = input_trouble {
            let retry_wanted = why == NOT_OPEN;
            changes.push(self.fall_back(&self.inner.capture, why, retry_wanted));
        }
        if let Some(why) = output_trouble {
            let retry_wanted = why == NOT_OPEN;
            changes.push(self.fall_back(&self.inner.playout, why, retry_wanted));
        } else {
            self.relax_playout_if_losing_time();
        }
        changes.retain(|c| !(c.from.is_empty() && c.to.is_empty()));
        changes
    }

    /// A sound server that keeps losing time with short playout requests (a loaded machine):
    /// the same device again with the longer period new streams now ask for. A short gap
    /// in the audio once, instead of a gap every few seconds; not a device change.
    fn relax_playout_if_losing_time(&self) {
        let side = &self.inner.playout;
        let spec = {
            let mut s = lock(side);
            let losing = s
                .open
                .as_mut()
                .is_some_and(|p| p.losing_time(Instant::now()));
            match (&s.wanted, losing) {
                (Some(spec), true) => spec.clone(),
                _ => return,
            }
        };
        match DevicePlayout::open_spec(&spec, self.inner.host) {
            Ok(device) => {
                tracing::info!(
                    device = device.name(),
                    "the sound server is not keeping up with short playout requests: \
                     playing with longer ones from now on"
                );
                swap(side, spec, Replacement::Open(device), String::new());
            }
            Err(e) => tracing::warn!("playout with longer requests could not be opened: {e}"),
        }
    }

    /// Opens the wanted device again (a side that was never open) or the default one, and
    /// swaps it in; when nothing can be opened the side is closed and retried next time.
    fn fall_back<B: SideDevice>(
        &self,
        side: &Mutex<Side<B>>,
        why: String,
        retry_wanted: bool,
    ) -> DeviceChange {
        let host = self.inner.host;
        let wanted = lock(side).wanted.clone().unwrap_or(DeviceSpec::Default);
        let mut attempt = if retry_wanted {
            B::open_spec(&wanted, host).map(|o| (wanted.clone(), o))
        } else {
            Err(DeviceError::NotADevice { direction: "" })
        };
        if attempt.is_err() && !(retry_wanted && wanted == DeviceSpec::Default) {
            attempt = B::open_spec(&DeviceSpec::Default, host).map(|o| (DeviceSpec::Default, o));
        }
        match attempt {
            // A side retried because it could not be opened: say it is back, in the words
            // the page shows.
            Ok((spec, device)) if retry_wanted => swap(
                side,
                spec,
                Replacement::Open(device),
                AVAILABLE_AGAIN.to_owned(),
            ),
            Ok((spec, device)) => swap(side, spec, Replacement::Open(device), why),
            // Keep asking for what the user wanted; the side is retried next check.
            Err(e) if retry_wanted => swap(side, wanted, Replacement::None, format!("{why}; {e}")),
            Err(e) => swap(
                side,
                wanted,
                Replacement::None,
                format!("{why}; the default device cannot be opened either: {e}"),
            ),
        }
    }

    /// Microphone audio at [`SHARED_CAPTURE_RATE`] for the call `token`; false (and `out`
    /// untouched) when that call is not the active one or no capture device is open.
    fn read(&self, token: u64, out: &mut [f32]) -> bool {
        if self.inner.active.load(Ordering::Acquire) != token {
            return false;
        }
        let mut side = lock(&self.inner.capture);
        let Some(capture) = side.open.as_mut() else {
            return false;
        };
        capture.read_frame(out);
        let gap = capture.take_timeline_gap();
        let backlog = capture.backlog();
        drop(side);
        // The canceller works at the capture rate (both 48 kHz).
        if let Some(aec) = lock(&self.inner.aec).as_mut() {
            aec.take_reference(lock(&self.inner.playout).open.as_mut(), gap, backlog);
            aec.canceller.capture_f32(out);
        }
        self.inner
            .input_peak
            .fetch_max(peak_of(out), Ordering::AcqRel);
        true
    }

    /// Plays `samples` ([`SHARED_PLAYOUT_RATE`]) if `token` is the active call.
    fn write(&self, token: u64, samples: &[f32]) {
        if self.inner.active.load(Ordering::Acquire) != token {
            return;
        }
        // A tone (call waiting, ringback) goes into the call's audio.
        let mut tone = lock(&self.inner.tone);
        let samples = match tone.as_mut() {
            Some(t) => {
                t.scratch.clear();
                t.scratch.extend_from_slice(samples);
                t.generator.mix_into(&mut t.scratch);
                &t.scratch[..]
            }
            None => samples,
        };
        let mut side = lock(&self.inner.playout);
        if let Some(playout) = side.open.as_mut() {
            // A device's write only fails for headless sinks; device trouble is in check().
            let _ = playout.write_frame(samples);
        }
        drop(side);
        // The echo canceller's reference is not taken here but from what the device was
        // handed (`Aec::take_reference`): the ring in between stretches, pads and skips.
        self.inner
            .output_peak
            .fetch_max(peak_of(samples), Ordering::AcqRel);
    }
}

/// Why [`SharedDevices::check`] retries a side: it could not be opened before.
const NOT_OPEN: &str = "it was not open";
/// The reason given when a retried side opens (e.g. the sound server is back).
const AVAILABLE_AGAIN: &str = "the device is available again";

/// What takes a side's place.
enum Replacement<B> {
    /// A device opened for it.
    Open(B),
    /// A device looked up while the side is closed between calls: its name.
    Closed(String),
    /// Nothing could be opened.
    None,
}

/// Puts `new` in `side`, wanting `spec` from now on; says what changed. The old stream
/// stops outside the lock.
fn swap<B: SideDevice>(
    side: &Mutex<Side<B>>,
    spec: DeviceSpec,
    new: Replacement<B>,
    reason: String,
) -> DeviceChange {
    let (old, before, to) = {
        let mut s = lock(side);
        s.wanted = Some(spec);
        let (open, to) = match new {
            Replacement::Open(d) => {
                let name = d.name().to_string();
                (Some(d), Some(name))
            }
            Replacement::Closed(name) => (None, Some(name)),
            Replacement::None => (None, None),
        };
        let before = std::mem::replace(&mut s.known, to.clone());
        (std::mem::replace(&mut s.open, open), before, to)
    };
    let from = old.as_ref().map(|d| d.name().to_string()).or(before);
    drop(old);
    DeviceChange {
        direction: B::DIRECTION,
        from: from.unwrap_or_default(),
        to: to.unwrap_or_default(),
        reason,
    }
}

/// Why an open side needs replacing (it failed), or that a wanted side is not open.
fn trouble<B: SideDevice>(side: &Mutex<Side<B>>) -> Option<String> {
    let mut s = lock(side);
    let s = &mut *s;
    match (&s.wanted, s.open.as_mut()) {
        (None, _) => None,
        (Some(_), None) => Some(NOT_OPEN.to_string()),
        (Some(_), Some(d)) => d.error().map(|e| e.to_string()),
    }
}

/// The open device's name if the side asked for it by name (only those can vanish).
fn open_named<B: SideDevice>(side: &Mutex<Side<B>>) -> Option<String> {
    let s = lock(side);
    s.open
        .as_ref()
        .filter(|_| matches!(s.wanted, Some(DeviceSpec::Named(_))))
        .map(|d| d.name().to_string())
}

/// One call's access to the shared devices (inside `SourceSpec::Device` and
/// `SinkSpec::Device`).
#[derive(Clone)]
pub struct DeviceLink {
    devices: SharedDevices,
    token: u64,
}

impl fmt::Debug for DeviceLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceLink({})", self.token)
    }
}

impl PartialEq for DeviceLink {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.devices.inner, &other.devices.inner) && self.token == other.token
    }
}

impl Eq for DeviceLink {}

impl DeviceLink {
    /// Whether the call receives audio now (false while we hold it). The most recent call
    /// to start receiving gets the devices.
    pub fn set_receiving(&self, receiving: bool) {
        self.devices.update_calls(|c| c.set(self.token, receiving));
    }

    /// The call ended: it gives the devices back (to the previous receiving call, if any).
    pub fn detach(&self) {
        self.devices.update_calls(|c| c.remove(self.token));
    }

    /// Whether this call has the devices now.
    pub fn is_active(&self) -> bool {
        self.devices.inner.active.load(Ordering::Acquire) == self.token
    }

    /// Fills `out` with microphone audio at [`SHARED_CAPTURE_RATE`] if this call is active.
    pub fn read(&self, out: &mut [f32]) -> bool {
        self.devices.read(self.token, out)
    }

    /// Sends [`SHARED_PLAYOUT_RATE`] audio to the speaker if this call is active.
    pub fn write(&self, samples: &[f32]) {
        self.devices.write(self.token, samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headless() -> SharedDevices {
        SharedDevices::open(None, None, HostChoice::Default).0
    }

    #[test]
    fn the_latest_receiving_call_gets_the_devices() {
        let d = headless();
        let a = d.attach();
        let b = d.attach();
        assert!(!d.has_active_call());
        a.set_receiving(true);
        assert!(a.is_active());
        // A second call answered: it takes over.
        b.set_receiving(true);
        assert!(b.is_active() && !a.is_active());
        // b put on hold: a (still receiving) gets them back.
        b.set_receiving(false);
        assert!(a.is_active());
        // a held too: nobody.
        a.set_receiving(false);
        assert!(!d.has_active_call());
        // b resumed, then ends: a is held, so nobody.
        b.set_receiving(true);
        assert!(b.is_active());
        b.detach();
        assert!(!d.has_active_call());
        a.set_receiving(true);
        assert!(a.is_active());
        a.detach();
        assert!(!d.has_active_call());
    }

    #[test]
    fn a_call_without_the_devices_reads_nothing() {
        let d = headless();
        let a = d.attach();
        let mut buf = [0.5f32; 4];
        assert!(!a.read(&mut buf));
        assert_eq!(buf, [0.5; 4]);
        // Active but no capture device open (headless config): still nothing.
        a.set_receiving(true);
        assert!(!a.read(&mut buf));
    }

    #[test]
    fn levels_are_peaks_since_last_taken() {
        let d = headless();
        let a = d.attach();
        a.set_receiving(true);
        a.write(&[0.0, 0.5, -0.25]);
        let l = d.take_levels();
        assert_eq!(l.output_dbfs, -6);
        assert_eq!(l.input_dbfs, SILENCE_DBFS);
        assert_eq!(d.take_levels().output_dbfs, SILENCE_DBFS);
        a.write(&[-1.0]);
        assert_eq!(d.take_levels().output_dbfs, 0);
        // A call without the devices does not move the meters.
        let b = d.attach();
        b.write(&[0.6]);
        assert_eq!(d.take_levels().output_dbfs, SILENCE_DBFS);
    }

    #[test]
    fn switching_a_headless_side_is_refused() {
        let d = headless();
        let e = d.select(Some(DeviceSpec::Default), None).unwrap_err();
        assert!(e.to_string().contains("input"), "{e}");
        assert_eq!(d.check(true), Vec::new());
        assert_eq!(d.in_use(), InUse::default());
    }

    #[test]
    fn echo_cancellation_takes_played_audio_as_its_reference() {
        let d = headless();
        d.enable_voice_processing(Processing {
            echo_cancellation: true,
            ..Processing::default()
        });
        let a = d.attach();
        a.set_receiving(true);
        // No devices here, so no reference and nothing to cancel: nothing breaks and the
        // output meter still sees what is played.
        a.write(&[crate::device::i16_to_f32(1000); 160]);
        assert_eq!(d.take_levels().output_dbfs, -30);
    }

    #[test]
    fn devices_on_demand_open_nothing_until_needed() {
        let (d, errors) = SharedDevices::on_demand(None, None, HostChoice::Default);
        assert!(errors.is_empty());
        assert!(!d.is_needed());
        // Not needed: the watch has nothing to do, settling closes nothing.
        assert_eq!(d.check(true), Vec::new());
        assert_eq!(d.settle(), Vec::new());
        d.set_needed(true);
        assert!(d.is_needed());
        // Headless sides: nothing to open, nothing to report.
        assert_eq!(d.settle(), Vec::new());
        assert_eq!(d.stats(), DevicePairStats::default());
        d.set_needed(false);
        assert_eq!(d.settle(), Vec::new());
    }

    #[test]
    fn a_tone_is_mixed_into_the_active_call_or_played_alone() {
        let d = headless();
        assert!(!d.play_tone(960));
        d.set_tone(Some(Tone::CallWaiting));
        assert_eq!(d.tone(), Some(Tone::CallWaiting));
        // No call has the devices: the tone plays alone.
        assert!(d.play_tone(960));
        assert!(d.take_levels().output_dbfs > -30);
        // A call has them: its frames carry the tone, the pacer plays nothing.
        let a = d.attach();
        a.set_receiving(true);
        assert!(d.play_tone(960));
        assert_eq!(d.take_levels().output_dbfs, SILENCE_DBFS);
        a.write(&[0.0; 960]);
        assert!(d.take_levels().output_dbfs > -30);
        d.set_tone(None);
        assert!(!d.play_tone(960));
        a.write(&[0.0; 960]);
        assert_eq!(d.take_levels().output_dbfs, SILENCE_DBFS);
    }

    #[test]
    fn links_compare_by_devices_and_call() {
        let d = headless();
        let a = d.attach();
        assert_eq!(a, a.clone());
        assert_ne!(a, d.attach());
        assert_ne!(a, headless().attach());
    }
}
