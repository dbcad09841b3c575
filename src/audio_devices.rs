//! The agent's side of audio devices: the shared device pair the config asks for, open only
//! while calls need it ([`DeviceUse`]: from the moment a call starts ringing or dialing until
//! [`LINGER`] after the last one ended), the bridge's `/api/v1/devices`
//! ([`bridge::DeviceControl`]), a watch on the open devices (failure, disappearance: fall
//! back to the default) and bridge events for what changed and for the level meters.

use crate::config::{AudioConfig, RingOn};
use crate::ringing::SharedRingOn;
use bridge::protocol::{AudioStatus, DeviceFigures, EventBody};
use bridge::{DeviceControl, DeviceControlError, DeviceEntry, DeviceList};
use media::device::{
    DeviceChange, DeviceError, DeviceSpec, DeviceStats, Direction, HostChoice, InputSpec, Levels,
    OutputSpec, SharedDevices,
};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// How often the devices are checked for failure (cheap: a flag).
pub const CHECK_EVERY: Duration = Duration::from_secs(1);
/// Every how many checks a named device is looked for in the host's list (a round trip to
/// the sound server, over a connection kept for it).
pub const LIST_EVERY_CHECKS: u32 = 3;
/// How often level events are sent while a call has the devices (4 per second).
pub const LEVELS_EVERY: Duration = Duration::from_millis(250);
/// How long the devices stay open after the last call ended: a call right after (a
/// callback, the next call in a queue) finds them open, and a headset is not switched in
/// and out of its call profile for every short gap.
pub const LINGER: Duration = Duration::from_secs(3);

/// The devices of `[audio]` if either side is a `device:` (`None` otherwise), closed until a
/// call needs them ([`DeviceUse`]). Their names are looked up now; a device that cannot be
/// found is logged, and the first call falls back to the default one.
pub fn open(audio: &AudioConfig) -> Option<SharedDevices> {
    let input = match &audio.input {
        InputSpec::Device(d) => Some(d.clone()),
        InputSpec::Headless(_) => None,
    };
    let output = match &audio.output {
        OutputSpec::Device(d) => Some(d.clone()),
        OutputSpec::Headless(_) => None,
    };
    if input.is_none() && output.is_none() {
        return None;
    }
    let (devices, errors) = SharedDevices::on_demand(input, output, HostChoice::Default);
    for e in errors {
        tracing::warn!("{e}; calls will use the default device if it is still missing");
    }
    let processing = audio.processing();
    if processing != media::Processing::default() {
        devices.enable_voice_processing(processing);
        tracing::info!(
            echo_cancellation = processing.echo_cancellation,
            noise_suppression = processing.noise_suppression,
            auto_gain = processing.auto_gain,
            "voice processing on"
        );
    }
    let in_use = devices.in_use();
    tracing::info!(input = ?in_use.input, output = ?in_use.output, "audio devices ready (opened for calls)");
    Some(devices)
}

/// When the devices are needed (sans-IO): from the first live call (ringing, dialing,
/// connected, held) until [`LINGER`] after the last one ended.
#[derive(Debug, Default)]
pub struct DeviceDemand {
    open: bool,
    close_at: Option<Instant>,
}

impl DeviceDemand {
    /// Whether any call is live now. `Some(true)`: open the devices now.
    pub fn calls(&mut self, now: Instant, live: bool) -> Option<bool> {
        if live {
            self.close_at = None;
            if !self.open {
                self.open = true;
                return Some(true);
            }
        } else if self.open && self.close_at.is_none() {
            self.close_at = Some(now + LINGER);
        }
        None
    }

    /// When to close the devices, if they are to close.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.close_at
    }

    /// `Some(false)`: close the devices now.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<bool> {
        match self.close_at {
            Some(at) if at <= now => {
                self.close_at = None;
                self.open = false;
                Some(false)
            }
            _ => None,
        }
    }

    /// Whether the devices are (to be) open.
    pub fn is_open(&self) -> bool {
        self.open
    }
}

/// The driver of [`DeviceDemand`]: opens and closes the shared devices on the blocking pool
/// (never on the agent's loop) and watches them while they are open.
pub struct DeviceUse {
    devices: SharedDevices,
    demand: DeviceDemand,
    open: watch::Sender<bool>,
    changes: mpsc::UnboundedSender<DeviceChange>,
}

impl DeviceUse {
    /// Starts with the devices closed; [`watch`]es them while they are open.
    pub fn start(devices: SharedDevices, changes: mpsc::UnboundedSender<DeviceChange>) -> Self {
        let (open, open_rx) = watch::channel(false);
        watch(devices.clone(), changes.clone(), open_rx);
        DeviceUse {
            devices,
            demand: DeviceDemand::default(),
            open,
            changes,
        }
    }

    /// Whether a call is live now (called on every pass of the agent's loop: cheap).
    pub fn calls(&mut self, now: Instant, live: bool) {
        if let Some(open) = self.demand.calls(now, live) {
            self.settle(open);
        }
    }

    /// When the devices are to close.
    pub fn deadline(&self) -> Option<Instant> {
        self.demand.poll_timeout()
    }

    /// Closes the devices if their time came; true if it did.
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        match self.demand.handle_timeout(now) {
            Some(open) => {
                self.settle(open);
                true
            }
            None => false,
        }
    }

    /// Whether the devices are open (or opening) for calls.
    pub fn is_open(&self) -> bool {
        self.demand.is_open()
    }

    fn settle(&self, open: bool) {
        tracing::debug!(open, "audio devices needed: {open}");
        self.devices.set_needed(open);
        self.open.send_replace(open);
        // The devices settle on the latest wish whatever order these tasks run in.
        let devices = self.devices.clone();
        let changes = self.changes.clone();
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            for change in devices.settle() {
                let _ = changes.send(change);
            }
            let in_use = devices.in_use();
            tracing::info!(input = ?in_use.input, output = ?in_use.output, took_ms = started.elapsed().as_millis() as u64,
                "audio devices {}", if devices.is_needed() { "open" } else { "closed" });
        });
    }
}

/// The status's `audio` once the devices are closed: no side open.
pub fn closed_status() -> AudioStatus {
    AudioStatus {
        input: None,
        output: None,
    }
}

/// Checks the devices every [`CHECK_EVERY`] on the blocking pool while they are open and
/// sends what changed; sleeps while `open` says they are closed.
pub fn watch(
    devices: SharedDevices,
    changes: mpsc::UnboundedSender<DeviceChange>,
    mut open: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for n in 0u32.. {
            if !*open.borrow_and_update() {
                if open.wait_for(|o| *o).await.is_err() {
                    return;
                }
                // The first look one period after opening.
                tick.reset();
            }
            tick.tick().await;
            let d = devices.clone();
            let list = n % LIST_EVERY_CHECKS == 0;
            let Ok(found) = tokio::task::spawn_blocking(move || d.check(list)).await else {
                return;
            };
            for change in found {
                if changes.send(change).is_err() {
                    return;
                }
            }
        }
    });
}

/// The bridge event for a device change (logged too).
pub fn change_event(change: DeviceChange) -> EventBody {
    if change.reason == "selected" {
        tracing::info!(direction = change.direction.as_str(), from = %change.from, to = %change.to, "audio device switched");
    } else {
        tracing::warn!(direction = change.direction.as_str(), from = %change.from, to = %change.to, reason = %change.reason, "audio device replaced");
    }
    EventBody::DeviceChanged {
        direction: change.direction.as_str().to_string(),
        from: change.from,
        to: change.to,
        reason: change.reason,
    }
}

/// The level event, if a call has the devices now.
pub fn levels_event(devices: &SharedDevices) -> Option<EventBody> {
    if !devices.has_active_call() {
        // Forget what was measured between calls.
        devices.take_levels();
        return None;
    }
    let Levels {
        input_dbfs,
        output_dbfs,
    } = devices.take_levels();
    Some(EventBody::Levels {
        input_dbfs,
        output_dbfs,
    })
}

/// The devices' counters for the status document (`audio`).
pub fn audio_status(devices: &SharedDevices) -> AudioStatus {
    let figures = |(device, s): (String, DeviceStats)| DeviceFigures {
        device,
        description: s.description,
        rate: s.device_rate,
        callbacks: s.callbacks,
        callback_samples: s.callback_samples,
        largest_callback: s.largest_callback,
        underruns: s.underruns,
        silence_samples: s.silence_samples,
        skipped_samples: s.skipped_samples,
        corrected_samples: s.corrected_samples,
        dropped_samples: s.dropped_samples,
        overrun_samples: s.overrun_samples,
        short_reads: s.short_reads,
        xruns: s.xruns,
        buffered_us: s.buffered_us,
        device_latency_us: s.device_latency_us,
        failed: s.failed,
    };
    let stats = devices.stats();
    AudioStatus {
        input: stats.input.map(figures),
        output: stats.output.map(figures),
    }
}

/// [`DeviceControl`] for the bridge: lists and switches the shared devices and the ring
/// device; switches are also sent to the agent loop as events.
pub struct Control {
    devices: Option<SharedDevices>,
    changes: mpsc::UnboundedSender<DeviceChange>,
    ring_on: SharedRingOn,
}

/// The bridge's word for ringing where calls play.
const RING_ON_OUTPUT: &str = "output";
/// The bridge's word for no ringtone.
const RING_NONE: &str = "none";

impl Control {
    pub fn new(
        devices: Option<SharedDevices>,
        changes: mpsc::UnboundedSender<DeviceChange>,
        ring_on: SharedRingOn,
    ) -> Self {
        Control {
            devices,
            changes,
            ring_on,
        }
    }

    fn ring_on(&self) -> RingOn {
        self.ring_on
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The ring choice as the bridge says it: `output`, `none` or the device's name.
    fn ring_name(devices: &SharedDevices, ring: &RingOn) -> String {
        match ring {
            RingOn::Output => RING_ON_OUTPUT.into(),
            RingOn::Silent => RING_NONE.into(),
            RingOn::Device(spec) => devices.look_up_output(spec).unwrap_or_else(|_| match spec {
                DeviceSpec::Default => "default".into(),
                DeviceSpec::Named(n) => n.clone(),
            }),
        }
    }

    /// What the bridge's `ring` asks for; a device must exist.
    fn ring_wanted(devices: &SharedDevices, ring: &str) -> Result<RingOn, DeviceControlError> {
        if ring.eq_ignore_ascii_case(RING_NONE) {
            return Ok(RingOn::Silent);
        }
        if ring.eq_ignore_ascii_case(RING_ON_OUTPUT) {
            return Ok(RingOn::Output);
        }
        let spec = spec_of(ring);
        let name = devices.look_up_output(&spec).map_err(control_error)?;
        Ok(RingOn::Device(match spec {
            DeviceSpec::Default => DeviceSpec::Default,
            DeviceSpec::Named(_) => DeviceSpec::Named(name),
        }))
    }

    fn devices(&self) -> Result<&SharedDevices, DeviceControlError> {
        self.devices.as_ref().ok_or_else(|| {
            DeviceControlError::NotADevice(
                "[audio] input and output are not devices (set them to \"device:default\" to choose devices)".into(),
            )
        })
    }
}

fn spec_of(name: &str) -> DeviceSpec {
    if name.eq_ignore_ascii_case("default") {
        DeviceSpec::Default
    } else {
        DeviceSpec::Named(name.to_string())
    }
}

fn control_error(e: DeviceError) -> DeviceControlError {
    match e {
        DeviceError::NotADevice { .. } => DeviceControlError::NotADevice(e.to_string()),
        DeviceError::Host { .. } => DeviceControlError::Unavailable(e.to_string()),
        _ => DeviceControlError::Device(e.to_string()),
    }
}

impl DeviceControl for Control {
    fn list(&self) -> Result<DeviceList, DeviceControlError> {
        let devices = self.devices()?;
        let all = devices.list().map_err(control_error)?;
        let in_use = devices.in_use();
        let entry = |d: &media::device::DeviceInfo, used: &Option<String>| DeviceEntry {
            name: d.name.clone(),
            description: d.description.clone(),
            default: d.is_default,
            in_use: used.as_deref() == Some(d.name.as_str()),
        };
        Ok(DeviceList {
            inputs: all
                .iter()
                .filter(|d| d.is_input)
                .map(|d| entry(d, &in_use.input))
                .collect(),
            outputs: all
                .iter()
                .filter(|d| d.is_output)
                .map(|d| entry(d, &in_use.output))
                .collect(),
            input: in_use.input,
            output: in_use.output,
            ring: Some(Self::ring_name(devices, &self.ring_on())),
        })
    }

    fn select(
        &self,
        input: Option<&str>,
        output: Option<&str>,
        ring: Option<&str>,
    ) -> Result<DeviceList, DeviceControlError> {
        let devices = self.devices()?;
        // Checked before anything switches: on an error nothing changes.
        let ring = ring.map(|r| Self::ring_wanted(devices, r)).transpose()?;
        let mut changes = devices
            .select(input.map(spec_of), output.map(spec_of))
            .map_err(control_error)?;
        if let Some(ring) = ring {
            let from = Self::ring_name(devices, &self.ring_on());
            let to = Self::ring_name(devices, &ring);
            *self.ring_on.lock().unwrap_or_else(|p| p.into_inner()) = ring;
            changes.push(DeviceChange {
                direction: Direction::Ring,
                from,
                to,
                reason: "selected".into(),
            });
        }
        for c in changes {
            let _ = self.changes.send(c);
        }
        self.list()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_open_with_the_first_call_and_close_after_the_linger() {
        let t0 = Instant::now();
        let mut d = DeviceDemand::default();
        assert_eq!(d.calls(t0, false), None);
        assert_eq!(d.poll_timeout(), None);
        assert!(!d.is_open());
        // A call rings or is dialed: open, once.
        assert_eq!(d.calls(t0, true), Some(true));
        assert_eq!(d.calls(t0 + Duration::from_secs(1), true), None);
        assert_eq!(d.poll_timeout(), None);
        // It ended: close after the linger, not before.
        let end = t0 + Duration::from_secs(60);
        assert_eq!(d.calls(end, false), None);
        assert_eq!(d.calls(end + Duration::from_secs(1), false), None);
        assert_eq!(d.poll_timeout(), Some(end + LINGER));
        assert_eq!(
            d.handle_timeout(end + LINGER - Duration::from_millis(1)),
            None
        );
        assert!(d.is_open());
        assert_eq!(d.handle_timeout(end + LINGER), Some(false));
        assert!(!d.is_open());
        assert_eq!(d.poll_timeout(), None);
        assert_eq!(d.handle_timeout(end + LINGER * 2), None);
    }

    #[test]
    fn a_call_within_the_linger_keeps_the_devices_open() {
        let t0 = Instant::now();
        let mut d = DeviceDemand::default();
        assert_eq!(d.calls(t0, true), Some(true));
        assert_eq!(d.calls(t0 + Duration::from_secs(5), false), None);
        // The next call rings two seconds later: nothing to open, nothing to close.
        assert_eq!(d.calls(t0 + Duration::from_secs(7), true), None);
        assert_eq!(d.poll_timeout(), None);
        assert_eq!(d.handle_timeout(t0 + Duration::from_secs(9)), None);
        assert!(d.is_open());
        // Its end starts a new linger.
        assert_eq!(d.calls(t0 + Duration::from_secs(20), false), None);
        assert_eq!(
            d.poll_timeout(),
            Some(t0 + Duration::from_secs(20) + LINGER)
        );
    }

    #[test]
    fn names_become_specs() {
        assert_eq!(spec_of("Default"), DeviceSpec::Default);
        assert_eq!(spec_of("speaker"), DeviceSpec::Named("speaker".into()));
    }

    #[test]
    fn without_devices_the_bridge_is_told_so() {
        let (tx, _rx) = mpsc::unbounded_channel();
        let c = Control::new(None, tx, Default::default());
        assert!(matches!(c.list(), Err(DeviceControlError::NotADevice(_))));
        let e = c.select(Some("default"), None, None).unwrap_err();
        assert!(e.to_string().contains("device:default"), "{e}");
    }

    #[test]
    fn changes_become_events() {
        let e = change_event(DeviceChange {
            direction: Direction::Output,
            from: "headset".into(),
            to: "speaker".into(),
            reason: "device \"headset\" is gone".into(),
        });
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"event": "device_changed", "direction": "output",
                "from": "headset", "to": "speaker", "reason": "device \"headset\" is gone"})
        );
    }
}
