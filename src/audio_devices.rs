//! The agent's side of audio devices: opens the shared device pair the config asks for,
//! serves the bridge's `/api/v1/devices` ([`bridge::DeviceControl`]), watches the devices
//! (failure, disappearance: fall back to the default) and turns what changed and the level
//! meters into bridge events.

use crate::config::AudioConfig;
use bridge::protocol::{AudioStatus, DeviceFigures, EventBody};
use bridge::{DeviceControl, DeviceControlError, DeviceEntry, DeviceList};
use media::device::{
    DeviceChange, DeviceError, DeviceSpec, DeviceStats, HostChoice, InputSpec, Levels, OutputSpec,
    SharedDevices,
};
use std::time::Duration;
use tokio::sync::mpsc;

/// How often the devices are checked for failure (cheap: a flag).
pub const CHECK_EVERY: Duration = Duration::from_secs(1);
/// Every how many checks a named device is looked for in the host's list (a round trip to
/// the sound server, over a connection kept for it).
pub const LIST_EVERY_CHECKS: u32 = 3;
/// How often level events are sent while a call has the devices (4 per second).
pub const LEVELS_EVERY: Duration = Duration::from_millis(250);

/// Opens the devices of `[audio]` if either side is a `device:`; `None` otherwise. A device
/// that cannot be opened now is logged and retried by [`watch`].
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
    let (devices, errors) = SharedDevices::open(input, output, HostChoice::Default);
    for e in errors {
        tracing::warn!("{e}; calls get silence there until it can be opened");
    }
    if audio.echo_cancellation {
        match devices.enable_echo_cancellation() {
            Ok(()) => tracing::info!("echo cancellation on"),
            Err(e) => tracing::warn!("{e}; carrying on without echo cancellation"),
        }
    }
    let in_use = devices.in_use();
    tracing::info!(input = ?in_use.input, output = ?in_use.output, "audio devices open");
    Some(devices)
}

/// Checks the devices every [`CHECK_EVERY`] on the blocking pool and sends what changed.
pub fn watch(devices: SharedDevices, changes: mpsc::UnboundedSender<DeviceChange>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for n in 0u32.. {
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

/// [`DeviceControl`] for the bridge: lists and switches the shared devices; switches are
/// also sent to the agent loop as events.
pub struct Control {
    devices: Option<SharedDevices>,
    changes: mpsc::UnboundedSender<DeviceChange>,
}

impl Control {
    pub fn new(
        devices: Option<SharedDevices>,
        changes: mpsc::UnboundedSender<DeviceChange>,
    ) -> Self {
        Control { devices, changes }
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
        })
    }

    fn select(
        &self,
        input: Option<&str>,
        output: Option<&str>,
    ) -> Result<DeviceList, DeviceControlError> {
        let devices = self.devices()?;
        let changes = devices
            .select(input.map(spec_of), output.map(spec_of))
            .map_err(control_error)?;
        for c in changes {
            let _ = self.changes.send(c);
        }
        self.list()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use media::device::Direction;

    #[test]
    fn names_become_specs() {
        assert_eq!(spec_of("Default"), DeviceSpec::Default);
        assert_eq!(spec_of("speaker"), DeviceSpec::Named("speaker".into()));
    }

    #[test]
    fn without_devices_the_bridge_is_told_so() {
        let (tx, _rx) = mpsc::unbounded_channel();
        let c = Control::new(None, tx);
        assert!(matches!(c.list(), Err(DeviceControlError::NotADevice(_))));
        let e = c.select(Some("default"), None).unwrap_err();
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
