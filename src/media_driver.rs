//! Carries out the call controller's media actions on real RTP streams: keeps a few bound
//! RTP sockets ready (so a call never waits for a bind), starts, updates, mutes, sends DTMF
//! on and stops the stream of each call; hands what the streams report (digits, quality)
//! back to the controller. With `device:` audio, each call gets a link to the agent's shared
//! device pair; the most recent call that receives audio (not held) uses it.

use media::device::{DeviceLink, InputSpec, OutputSpec, SharedDevices};
use media::{AudioStream, EventSender, MediaHandle, SinkSpec, SourceSpec, StreamEvent};
use phone::{CallIds, MediaAction, Phone};
use signaling::CallHandle;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

/// Bound sockets kept ready for the next calls.
const SPARE: usize = 2;

pub struct MediaDriver {
    ip: IpAddr,
    source: SourceSpec,
    sink: SinkSpec,
    /// The agent's devices when `[audio] input` or `output` is a `device:`.
    devices: Option<SharedDevices>,
    links: HashMap<CallHandle, DeviceLink>,
    /// Whether input / output are devices.
    device_sides: (bool, bool),
    spare: HashMap<SocketAddr, AudioStream>,
    running: HashMap<CallHandle, MediaHandle>,
    /// Output files already written in this run (the next call gets its own file).
    used_outputs: HashSet<PathBuf>,
    /// What every stream reports, tagged with its call.
    events_tx: mpsc::UnboundedSender<(u64, StreamEvent)>,
    events: mpsc::UnboundedReceiver<(u64, StreamEvent)>,
    /// Names calls in logs and file names as the page knows them.
    ids: CallIds,
}

impl MediaDriver {
    pub fn new(ip: IpAddr, source: SourceSpec, sink: SinkSpec, ids: CallIds) -> Self {
        let (events_tx, events) = mpsc::unbounded_channel();
        MediaDriver {
            ids,
            events_tx,
            events,
            ip,
            source,
            sink,
            devices: None,
            links: HashMap::new(),
            device_sides: (false, false),
            spare: HashMap::new(),
            running: HashMap::new(),
            used_outputs: HashSet::new(),
        }
    }

    /// Like [`new`](Self::new), with `device:` sides served by `devices`.
    pub fn with_devices(
        ip: IpAddr,
        input: &InputSpec,
        output: &OutputSpec,
        devices: Option<SharedDevices>,
        ids: CallIds,
    ) -> Self {
        // Device sides are filled in per call (`SourceSpec::Device`); these are unused then.
        let source = match input {
            InputSpec::Headless(s) => s.clone(),
            InputSpec::Device(_) => SourceSpec::Silence,
        };
        let sink = match output {
            OutputSpec::Headless(s) => s.clone(),
            OutputSpec::Device(_) => SinkSpec::Null,
        };
        let mut driver = Self::new(ip, source, sink, ids);
        if matches!(input, InputSpec::Device(_)) || matches!(output, OutputSpec::Device(_)) {
            driver.devices = devices;
        }
        driver.device_sides = (
            matches!(input, InputSpec::Device(_)),
            matches!(output, OutputSpec::Device(_)),
        );
        driver
    }

    /// New calls' RTP goes out from `ip` now (our address toward the PBX moved): spare
    /// sockets elsewhere are closed, and `refill` binds new ones there.
    pub fn move_to(&mut self, ip: IpAddr) {
        self.ip = ip;
        self.spare.retain(|addr, _| addr.ip() == ip);
    }

    /// Binds sockets until the controller has enough spare addresses.
    pub async fn refill(&mut self, phone: &mut Phone) {
        while phone.spare_rtp_addresses() < SPARE {
            match AudioStream::bind(self.ip).await {
                Ok(stream) => {
                    let addr = stream.local_addr();
                    self.spare.insert(addr, stream);
                    phone.add_rtp_address(addr);
                }
                Err(e) => {
                    tracing::warn!("cannot bind an RTP port on {}: {e}", self.ip);
                    return;
                }
            }
        }
    }

    pub fn apply(&mut self, action: MediaAction) {
        match action {
            MediaAction::Start {
                call,
                local,
                negotiated,
                media_timeout,
            } => {
                let Some(stream) = self.spare.remove(&local) else {
                    tracing::warn!(call = %self.ids.id(call), %local, "no stream bound at this address");
                    return;
                };
                tracing::info!(
                    call = %self.ids.id(call),
                    codec = negotiated.codec.name(),
                    remote = ?negotiated.remote_rtp,
                    "media started on {local}"
                );
                let mut source = self.source.clone();
                let mut sink = self.sink_for(call);
                if let Some(devices) = &self.devices {
                    let link = devices.attach();
                    link.set_receiving(negotiated.local_direction.receives());
                    if self.device_sides.0 {
                        source = SourceSpec::Device(link.clone());
                    }
                    if self.device_sides.1 {
                        sink = SinkSpec::Device(link.clone());
                    }
                    self.links.insert(call, link);
                }
                let events = EventSender {
                    tag: call.0,
                    tx: self.events_tx.clone(),
                };
                let handle = stream.with_media_timeout(media_timeout).start_with_events(
                    negotiated,
                    source,
                    sink,
                    Some(events),
                );
                self.running.insert(call, handle);
            }
            MediaAction::Update { call, negotiated } => {
                if let Some(link) = self.links.get(&call) {
                    link.set_receiving(negotiated.local_direction.receives());
                }
                if let Some(handle) = self.running.get(&call) {
                    handle.update(negotiated);
                }
            }
            MediaAction::Mute { call, muted } => {
                if let Some(handle) = self.running.get(&call) {
                    handle.set_muted(muted);
                }
            }
            MediaAction::SendDtmf { call, digits } => match self.running.get(&call) {
                Some(handle) => {
                    if let Err(e) = handle.send_dtmf(&digits) {
                        tracing::warn!(call = %self.ids.id(call), "DTMF not sent: {e}");
                    }
                }
                None => tracing::warn!(call = %self.ids.id(call), "DTMF for a call without media"),
            },
            MediaAction::Stop { call, local } => {
                if let Some(link) = self.links.remove(&call) {
                    link.detach();
                }
                if let Some(handle) = self.running.remove(&call) {
                    handle.stop();
                }
                self.spare.remove(&local);
            }
        }
    }

    /// The next report of any stream (never ends: the driver holds a sender).
    pub async fn next_event(&mut self) -> Option<(CallHandle, StreamEvent)> {
        let (tag, event) = self.events.recv().await?;
        Some((CallHandle(tag), event))
    }

    /// Hands a stream's report to the controller.
    pub fn deliver(phone: &mut Phone, call: CallHandle, event: StreamEvent) {
        match event {
            StreamEvent::MediaTimeout { silent } => {
                phone.media_timeout(std::time::Instant::now(), call, silent)
            }
            StreamEvent::Digit(d) => phone.media_digit(call, d.digit.as_char()),
            StreamEvent::Quality(stats) => phone.media_quality(call, &stats, false),
            StreamEvent::Stopped(stats) => {
                tracing::info!(
                    call = %phone.ids().id(call),
                    sent = stats.packets_sent,
                    received = stats.packets_received,
                    lost = stats.lost,
                    dropped = stats.dropped,
                    "media stopped"
                );
                phone.media_quality(call, &stats, true);
            }
            _ => {}
        }
    }

    /// Stops every stream and waits until their output files are complete.
    pub async fn stop_all(&mut self) {
        for (_, link) in self.links.drain() {
            link.detach();
        }
        let handles: Vec<MediaHandle> = self.running.drain().map(|(_, h)| h).collect();
        for handle in &handles {
            handle.stop();
        }
        for handle in &handles {
            handle.stopped().await;
        }
    }

    /// The first call writes the configured file; later ones `NAME-<call id>.wav` (e.g. `NAME-r3c7.wav`) beside it, so no
    /// recording overwrites another.
    fn sink_for(&mut self, call: CallHandle) -> SinkSpec {
        match &self.sink {
            SinkSpec::File(path) | SinkSpec::File16k(path) => {
                let path = if self.used_outputs.contains(path) {
                    with_suffix(path, &self.ids.id(call))
                } else {
                    path.clone()
                };
                self.used_outputs.insert(path.clone());
                match self.sink {
                    SinkSpec::File16k(_) => SinkSpec::File16k(path),
                    _ => SinkSpec::File(path),
                }
            }
            other => other.clone(),
        }
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    path.with_file_name(format!("{stem}-{suffix}{ext}"))
}
