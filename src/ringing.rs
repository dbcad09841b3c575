//! The agent's own tones on its devices (a thin driver): the tone `Phone::tone` asks for
//! (ringtone, call waiting, ringback: `phone::tones`) is played where `[audio] ring` and
//! `[audio] output` say, and stops the moment the controller no longer asks for it.
//!
//! - The ringtone plays on the ring device: with `ring` absent or `"default"`, on the shared
//!   playout device the calls use (no stream of its own: that device is open anyway while a
//!   call rings); with `ring = "device:NAME"`, on a stream of its own, opened when ringing
//!   starts and closed when it stops; with `"none"`, nowhere.
//! - Call waiting and ringback play in the call's audio: mixed by the shared playout device
//!   into what the active call plays, or alone while no call has it (a held call, a call
//!   not yet answered). With `output` a file or `null` there is no one to hear them.

use crate::config::RingOn;
use media::device::{DevicePlayout, DeviceSpec, HostChoice, PlayoutBackend, SharedDevices};
use media::{Tone, ToneGen};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// One frame of tone: 20 ms.
const FRAME: Duration = Duration::from_millis(20);
/// The rate tones are made at (the shared playout device's).
const RATE: u32 = media::device::SHARED_PLAYOUT_RATE;

/// The ring choice, shared by the agent loop (which plays) and the bridge (which switches).
pub type SharedRingOn = Arc<Mutex<RingOn>>;

/// Where a tone plays.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    /// The shared playout device (the calls' output).
    Output,
    /// A stream of its own on this device.
    Own(DeviceSpec),
}

/// Plays the tone asked for; see the module documentation.
pub struct Tones {
    ring_on: SharedRingOn,
    /// The shared devices when `[audio] output` is one.
    output: Option<SharedDevices>,
    playing: Option<(Tone, Route)>,
    /// Writes the shared device's tone while no call has the device.
    pacer: Option<JoinHandle<()>>,
    /// Dropping it stops the ring device's stream.
    own: Option<oneshot::Sender<()>>,
}

impl Tones {
    /// `output`: the agent's shared devices if `[audio] output` is a device.
    pub fn new(ring_on: SharedRingOn, output: Option<SharedDevices>) -> Tones {
        Tones {
            ring_on,
            output,
            playing: None,
            pacer: None,
            own: None,
        }
    }

    /// The tone the calls want now (called on every pass of the agent's loop: cheap when
    /// nothing changed).
    pub fn set(&mut self, tone: Option<Tone>) {
        let want = tone.and_then(|t| self.route(t).map(|r| (t, r)));
        if want == self.playing {
            return;
        }
        self.stop();
        if let Some((tone, route)) = &want {
            tracing::info!(tone = tone.name(), on = ?route, "tone on");
            match route {
                Route::Output => self.start_on_output(*tone),
                Route::Own(spec) => self.own = Some(ring_on_device(spec.clone(), *tone)),
            }
        }
        self.playing = want;
    }

    fn route(&self, tone: Tone) -> Option<Route> {
        let output = self.output.as_ref().map(|_| Route::Output);
        match tone {
            Tone::Ring => match &*self.ring_on.lock().unwrap_or_else(|p| p.into_inner()) {
                RingOn::Output => output,
                RingOn::Device(spec) => Some(Route::Own(spec.clone())),
                RingOn::Silent => None,
            },
            Tone::CallWaiting | Tone::Ringback => output,
        }
    }

    fn start_on_output(&mut self, tone: Tone) {
        let Some(devices) = self.output.clone() else {
            return;
        };
        devices.set_tone(Some(tone));
        let samples = (RATE / media::device::FRAMES_PER_SECOND) as usize;
        self.pacer = Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(FRAME);
            loop {
                tick.tick().await;
                if !devices.play_tone(samples) {
                    return;
                }
            }
        }));
    }

    fn stop(&mut self) {
        if let Some((tone, _)) = self.playing.take() {
            tracing::info!(tone = tone.name(), "tone off");
        }
        if let Some(pacer) = self.pacer.take() {
            pacer.abort();
        }
        if let Some(devices) = &self.output {
            devices.set_tone(None);
        }
        // Its task closes the stream.
        self.own = None;
    }
}

/// Opens `spec` (on the blocking pool) and plays `tone` on it until the returned sender is
/// dropped; then closes the stream at once.
fn ring_on_device(spec: DeviceSpec, tone: Tone) -> oneshot::Sender<()> {
    let (stop_tx, mut stop) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let what = spec.to_string();
        let opened = tokio::task::spawn_blocking(move || {
            DevicePlayout::open(&spec, RATE, HostChoice::Default)
        })
        .await;
        let mut playout = match opened {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                tracing::warn!("ring device {what}: {e}; no ringtone");
                return;
            }
            Err(_) => return,
        };
        tracing::debug!(device = playout.device_name(), "ring device open");
        let mut generator = ToneGen::new(tone, RATE);
        let mut frame = vec![0.0f32; (RATE / media::device::FRAMES_PER_SECOND) as usize];
        let mut tick = tokio::time::interval(FRAME);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = tick.tick() => {
                    generator.fill(&mut frame);
                    let _ = playout.write_frame(&frame);
                }
            }
        }
        // The stream stops here, off the loop.
        let _ = tokio::task::spawn_blocking(move || drop(playout)).await;
        tracing::debug!("ring device closed");
    });
    stop_tx
}
