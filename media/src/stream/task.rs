//! The task of one stream: sockets, the frame timer, and the sans-IO parts it drives
//! (encoder, [`Receiver`] on its [`PlayClock`], [`DtmfSender`]/[`DtmfReceiver`], [`RtcpSession`]).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::sleep_until;
use tracing::{debug, info, warn};

use super::clock::PlayClock;
use super::receive::Receiver;
use super::{Command, EventSender, RtpStats, Shared, StreamEvent, MAX_OPUS_PAYLOAD, MAX_PAYLOAD};
use crate::codec::{self, AudioEncoder};
use crate::dtmf::{Digit, DtmfConfig, DtmfReceiver, DtmfSender};
use crate::negotiate::{Codec, Negotiated};
use crate::quality::CodecModel;
use crate::rtcp::{RtcpConfig, RtcpSession};
use crate::rtp::{RtpPacket, RtpSender};
use crate::sink::Sink;
use crate::source::{Source, SourceSpec};
use crate::stream::DTMF_TONE_MS;

/// Receive buffer; a datagram filling it whole is treated as oversized.
const RECV_BUF: usize = 4096;
/// If the timer falls this many frames behind (suspended process), it jumps ahead.
const MAX_BEHIND_FRAMES: u32 = 5;

pub(super) struct Sockets {
    pub rtp: UdpSocket,
    pub rtcp: Option<UdpSocket>,
}

/// RFC 5761 §4: RTCP packet types 200-204 put 72-76 where RTP has its payload type.
fn looks_like_rtcp(datagram: &[u8]) -> bool {
    datagram.len() >= 8 && (200..=204).contains(&datagram[1])
}

fn open_source(spec: &SourceSpec, codec: Codec) -> Source {
    spec.open_at(codec.clock_rate()).unwrap_or_else(|e| {
        warn!(error = %e, "audio input cannot be opened; sending silence");
        Source::Silence
    })
}

fn new_encoder(neg: &Negotiated) -> Option<Box<dyn AudioEncoder>> {
    codec::encoder(neg.codec, &neg.opus)
        .inspect_err(|e| warn!(error = %e, codec = %neg.codec, "encoder cannot be created"))
        .ok()
}

fn codec_model(neg: &Negotiated) -> CodecModel {
    match neg.codec {
        Codec::Opus => CodecModel::Opus {
            // libopus picks ~51 kbit/s for mono 20 ms when no bitrate is set.
            bitrate: neg.opus.bitrate.unwrap_or(51_000),
        },
        Codec::Pcmu | Codec::Pcma => CodecModel::G711 { plc: true },
    }
}

fn new_rtcp(neg: &Negotiated, ssrc: u32, now: Instant) -> RtcpSession {
    let mut cfg = RtcpConfig::new(
        ssrc,
        format!("{:016x}", rand::random::<u64>()),
        neg.codec.clock_rate(),
    );
    cfg.codec = codec_model(neg);
    cfg.frame = Duration::from_millis(neg.codec.frame_ms(neg.ptime_ms) as u64);
    RtcpSession::new(cfg, now, SystemTime::now())
}

/// DTMF we are sending: the sans-IO sender and the RTP timestamp at its epoch.
struct DtmfOut {
    sender: DtmfSender,
    timestamp_at_epoch: u32,
    /// Timestamp of the last event whose end packet went out (counted once).
    last_end: Option<u32>,
}

pub(super) struct Task {
    sockets: Sockets,
    neg: Negotiated,
    source_spec: SourceSpec,
    source: Source,
    sink: Sink,
    shared: Arc<Shared>,
    events: Option<EventSender>,
    sender: RtpSender,
    encoder: Option<Box<dyn AudioEncoder>>,
    receiver: Receiver,
    /// When the next received frame goes to the sink.
    play_clock: PlayClock,
    rtcp: RtcpSession,
    dtmf_out: Option<DtmfOut>,
    dtmf_queue: VecDeque<Digit>,
    dtmf_in: Option<DtmfReceiver>,
    latched: Option<SocketAddr>,
    latched_rtcp: Option<SocketAddr>,
    /// Counters of this task; copied to `shared` every frame.
    stats: RtpStats,
    /// Losses of RTCP sessions replaced by a codec change.
    lost_before: u64,
    frame: Vec<i16>,
    payload: Vec<u8>,
    packet: Vec<u8>,
    playout: Vec<i16>,
}

impl Task {
    pub(super) fn new(
        sockets: Sockets,
        neg: Negotiated,
        source_spec: SourceSpec,
        sink: Sink,
        shared: Arc<Shared>,
        events: Option<EventSender>,
    ) -> Self {
        let sender = RtpSender::new();
        let now = Instant::now();
        debug!(codec = %neg.codec, "media stream starting");
        Task {
            source: open_source(&source_spec, neg.codec),
            source_spec,
            encoder: new_encoder(&neg),
            receiver: Receiver::new(neg.codec, neg.codec.frame_ms(neg.ptime_ms)),
            play_clock: PlayClock::new(
                now,
                Duration::from_millis(neg.codec.frame_ms(neg.ptime_ms) as u64),
            ),
            rtcp: new_rtcp(&neg, sender.ssrc(), now),
            dtmf_in: DtmfReceiver::new(neg.telephone_event_rate).ok(),
            stats: RtpStats {
                remote_addr: neg.remote_rtp,
                ..RtpStats::default()
            },
            neg,
            sockets,
            sink,
            shared,
            events,
            sender,
            dtmf_out: None,
            dtmf_queue: VecDeque::new(),
            latched: None,
            latched_rtcp: None,
            lost_before: 0,
            frame: Vec::new(),
            payload: Vec::new(),
            packet: Vec::new(),
            playout: Vec::new(),
        }
    }

    /// Packetisation time actually used (Opus rounds to one of its frame sizes).
    fn frame_ms(&self) -> u32 {
        self.neg.codec.frame_ms(self.neg.ptime_ms)
    }

    fn ptime(&self) -> Duration {
        Duration::from_millis(self.frame_ms() as u64)
    }

    pub(super) async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        done: watch::Sender<bool>,
    ) {
        let mut buf = vec![0u8; RECV_BUF];
        let mut rtcp_buf = vec![0u8; RECV_BUF];
        let mut next_tick = tokio::time::Instant::now() + self.ptime();
        loop {
            tokio::select! {
                biased;
                cmd = commands.recv() => match cmd {
                    Some(Command::Update(n)) => self.update(*n),
                    Some(Command::Dtmf(digits)) => self.dtmf_queue.extend(digits),
                    Some(Command::Stop) | None => break,
                },
                _ = sleep_until(next_tick) => {
                    self.tick(next_tick.into_std()).await;
                    let ptime = self.ptime();
                    next_tick += ptime;
                    let now = tokio::time::Instant::now();
                    if now > next_tick + ptime * MAX_BEHIND_FRAMES {
                        // Starved (suspended, overloaded): sending skips ahead; the RTP clock
                        // keeps counting the time not sent.
                        let behind = ((now - next_tick).as_nanos() / ptime.as_nanos()) as u32;
                        debug!(frames = behind, "media timer fell behind; skipping ahead");
                        let samples = self.frame_ms() * self.neg.codec.clock_rate() / 1000;
                        self.sender.skip(samples * behind);
                        next_tick += ptime * behind;
                    }
                }
                _ = sleep_until(self.play_clock.due().into()) => {
                    let at = self.play_clock.advance();
                    self.play(at);
                    // Starved: the sink still gets a frame for every period, so its clock
                    // stays whole.
                    let now = Instant::now();
                    while now > self.play_clock.due() + self.ptime() * MAX_BEHIND_FRAMES {
                        let at = self.play_clock.advance();
                        self.play(at);
                    }
                }
                r = self.sockets.rtp.recv_from(&mut buf) => match r {
                    Ok((n, from)) => self.on_datagram(&buf[..n], n == buf.len(), from),
                    Err(e) => debug!(error = %e, "RTP receive error"),
                },
                r = recv_opt(self.sockets.rtcp.as_ref(), &mut rtcp_buf) => match r {
                    Ok((n, from)) => self.on_rtcp(&rtcp_buf[..n], from),
                    Err(e) => debug!(error = %e, "RTCP receive error"),
                },
            }
        }
        let bye = self.rtcp.bye(Instant::now(), None);
        self.send_rtcp(&bye).await;
        let sink = std::mem::replace(&mut self.sink, Sink::Null);
        if let Err(e) = sink.finalize() {
            warn!(error = %e, "audio output could not be finalized");
        }
        self.publish();
        if let Some(events) = &self.events {
            events.send(StreamEvent::Stopped(self.stats.clone()));
        }
        let _ = done.send(true);
    }

    fn update(&mut self, neg: Negotiated) {
        if neg.remote_rtp != self.neg.remote_rtp {
            self.latched = None;
            self.latched_rtcp = None;
        }
        debug!(?neg, "media update");
        let old = std::mem::replace(&mut self.neg, neg);
        let frame_changed = old.codec.frame_ms(old.ptime_ms) != self.frame_ms();
        if old.codec != self.neg.codec || frame_changed {
            info!(from = %old.codec, to = %self.neg.codec, "codec or packet time change");
            self.encoder = new_encoder(&self.neg);
            self.source = open_source(&self.source_spec, self.neg.codec);
            // The peer's timestamps may count at another rate: a new timeline.
            self.receiver = Receiver::new(self.neg.codec, self.frame_ms());
            self.play_clock.realign(self.ptime());
            if old.codec.clock_rate() != self.neg.codec.clock_rate() {
                self.lost_before += self.rtcp_lost();
                self.rtcp = new_rtcp(&self.neg, self.sender.ssrc(), Instant::now());
            }
        } else if old.opus != self.neg.opus && self.neg.codec == Codec::Opus {
            self.encoder = new_encoder(&self.neg);
        }
        if old.telephone_event_rate != self.neg.telephone_event_rate {
            self.dtmf_in = DtmfReceiver::new(self.neg.telephone_event_rate).ok();
            self.dtmf_out = None;
        }
        self.stats.remote_addr = self.target();
        self.stats.latched = self.latched.is_some();
    }

    fn target(&self) -> Option<SocketAddr> {
        self.latched.or(self.neg.remote_rtp)
    }

    /// Where RTCP goes: the RTP target when multiplexed, else where the peer's RTCP comes
    /// from, else the SDP's RTCP address.
    fn rtcp_target(&self) -> Option<SocketAddr> {
        if self.neg.rtcp_mux || self.sockets.rtcp.is_none() {
            self.target()
        } else {
            self.latched_rtcp.or(self.neg.remote_rtcp)
        }
    }

    /// One frame period: DTMF or audio out, RTCP when due (the sink has its own clock).
    async fn tick(&mut self, at: Instant) {
        let sent_event = self.send_dtmf(at).await;
        let samples = self.frame_ms() * self.neg.codec.clock_rate() / 1000;
        if sent_event {
            // RFC 4733 §2.5.1.1: no audio for the time the event covers.
            self.sender.skip(samples);
        } else {
            self.send_frame(samples as usize).await;
        }
        if let Some(rx) = self.dtmf_in.as_mut() {
            rx.handle_timeout(at);
        }
        self.take_digits();
        if let Some(report) = self.rtcp.poll_transmit(at) {
            self.send_rtcp(&report).await;
            self.publish();
            if let Some(events) = &self.events {
                events.send(StreamEvent::Quality(self.stats.clone()));
            }
        } else {
            self.publish();
        }
    }

    /// Sends the DTMF packets due at `at`; true while an event is on (audio held back).
    async fn send_dtmf(&mut self, at: Instant) -> bool {
        let Some(pt) = self.neg.telephone_event else {
            if !self.dtmf_queue.is_empty() {
                warn!(
                    digits = self.dtmf_queue.len(),
                    "no telephone-event negotiated; DTMF dropped"
                );
                self.dtmf_queue.clear();
            }
            return false;
        };
        if !self.dtmf_queue.is_empty() {
            if self.dtmf_out.as_ref().is_none_or(|d| d.sender.is_idle()) {
                // A fresh epoch: the event starts where this frame's audio would have.
                let cfg = DtmfConfig::new(self.neg.telephone_event_rate, self.frame_ms());
                match DtmfSender::new(cfg, at) {
                    Ok(sender) => {
                        self.dtmf_out = Some(DtmfOut {
                            sender,
                            timestamp_at_epoch: self.sender.timestamp(),
                            last_end: None,
                        })
                    }
                    Err(e) => {
                        warn!(error = %e, "DTMF cannot be sent");
                        self.dtmf_queue.clear();
                        return false;
                    }
                }
            }
            if let Some(out) = self.dtmf_out.as_mut() {
                for d in self.dtmf_queue.drain(..) {
                    out.sender.start(d, DTMF_TONE_MS, at);
                }
            }
        }
        let target = self.target().filter(|_| self.neg.local_direction.sends());
        let Some(out) = self.dtmf_out.as_mut() else {
            return false;
        };
        let mut on = false;
        while let Some(p) = out.sender.poll(at) {
            on = true;
            let ts = p.rtp_timestamp(out.timestamp_at_epoch);
            self.sender
                .event_packet(pt, &p.payload, ts, p.marker, &mut self.packet);
            if p.end && out.last_end != Some(ts) {
                out.last_end = Some(ts);
                self.stats.digits_sent += 1;
            }
            if let Some(target) = target {
                match self.sockets.rtp.send_to(&self.packet, target).await {
                    Ok(_) => {
                        self.stats.packets_sent += 1;
                        self.stats.bytes_sent += p.payload.len() as u64;
                        self.rtcp.on_rtp_sent(at, 0, ts, p.payload.len());
                    }
                    Err(e) => debug!(error = %e, %target, "RTP event send failed"),
                }
            }
        }
        on || out.sender.is_active()
    }

    async fn send_frame(&mut self, samples: usize) {
        self.frame.resize(samples, 0);
        self.source.read(&mut self.frame);
        let target = match self.target() {
            Some(t) if self.neg.local_direction.sends() => t,
            _ => {
                self.sender.skip(samples as u32);
                return;
            }
        };
        if self.shared.muted.load(Ordering::Relaxed) {
            self.frame.fill(0);
        }
        self.payload.clear();
        let Some(encoder) = self.encoder.as_mut() else {
            self.sender.skip(samples as u32);
            return;
        };
        if let Err(e) = encoder.encode(&self.frame, &mut self.payload) {
            debug!(error = %e, "frame not encoded");
            self.sender.skip(samples as u32);
            return;
        }
        // Opus in DTX emits 1-2 byte frames for silence: they are not sent (RFC 7587 §3.1.3);
        // the next real packet carries the marker bit.
        if self.neg.codec == Codec::Opus && self.neg.opus.dtx && self.payload.len() <= 2 {
            self.stats.dtx_frames += 1;
            self.sender.skip(samples as u32);
            return;
        }
        let ts = self.sender.timestamp();
        self.sender.packet(
            self.neg.payload_type,
            &self.payload,
            samples as u32,
            &mut self.packet,
        );
        match self.sockets.rtp.send_to(&self.packet, target).await {
            Ok(_) => {
                self.stats.packets_sent += 1;
                self.stats.bytes_sent += self.payload.len() as u64;
                self.rtcp
                    .on_rtp_sent(Instant::now(), 0, ts, self.payload.len());
            }
            Err(e) => debug!(error = %e, %target, "RTP send failed"),
        }
    }

    /// One frame from the jitter buffer into the sink.
    fn play(&mut self, at: Instant) {
        self.receiver.pull(at, &mut self.playout);
        if let Err(e) = self.sink.write(self.receiver.rate(), &self.playout) {
            warn!(error = %e, "audio output write failed; discarding received audio from now on");
            let sink = std::mem::replace(&mut self.sink, Sink::Null);
            let _ = sink.finalize();
        }
    }

    fn take_digits(&mut self) {
        let Some(rx) = self.dtmf_in.as_mut() else {
            return;
        };
        while let Some(d) = rx.poll_digit() {
            info!(digit = %d.digit, ms = d.duration_ms, "DTMF received (RFC 4733)");
            self.stats.digits_received += 1;
            self.shared.digits().push_back(d);
            if let Some(events) = &self.events {
                events.send(StreamEvent::Digit(d));
            }
        }
    }

    fn on_datagram(&mut self, datagram: &[u8], truncated: bool, from: SocketAddr) {
        if looks_like_rtcp(datagram) {
            return self.on_rtcp(datagram, from);
        }
        let now = Instant::now();
        let max = match self.neg.codec {
            Codec::Opus => MAX_OPUS_PAYLOAD,
            Codec::Pcmu | Codec::Pcma => MAX_PAYLOAD,
        };
        let packet = match RtpPacket::parse(datagram) {
            Ok(p) if !truncated && p.payload.len() <= max => p,
            Ok(_) => return self.drop_packet(from, "oversized"),
            Err(e) => {
                debug!(%from, error = %e, "dropping non-RTP datagram");
                return self.drop_packet(from, "garbage");
            }
        };
        let h = packet.header;
        let is_event = Some(h.payload_type) == self.neg.telephone_event;
        if h.payload_type != self.neg.payload_type && !is_event {
            // e.g. comfort noise (PT 13) from the peer: it still uses up sequence numbers.
            if self.rtcp.reception().is_some_and(|r| r.ssrc() == h.ssrc) {
                self.rtcp.on_rtp_received(
                    now,
                    h.ssrc,
                    h.sequence,
                    h.timestamp,
                    packet.payload.len(),
                );
            }
            return self.drop_packet(from, "unknown payload type");
        }
        if self.latched != Some(from) {
            info!(%from, "symmetric RTP: sending to the source of the peer's RTP");
            self.latched = Some(from);
        }
        self.stats.packets_received += 1;
        self.stats.bytes_received += packet.payload.len() as u64;
        self.stats.remote_addr = self.latched;
        self.stats.latched = true;
        self.rtcp
            .on_rtp_received(now, h.ssrc, h.sequence, h.timestamp, packet.payload.len());
        if is_event {
            self.stats.telephone_events += 1;
            if let Some(rx) = self.dtmf_in.as_mut() {
                if let Err(e) = rx.handle(now, h.timestamp, packet.payload) {
                    debug!(error = %e, "telephone-event ignored");
                }
            }
            self.take_digits();
            return;
        }
        self.receiver.insert(now, &h, packet.payload);
        self.play_clock.on_packet(now);
    }

    fn on_rtcp(&mut self, datagram: &[u8], from: SocketAddr) {
        match self.rtcp.handle_rtcp(Instant::now(), datagram) {
            Ok(()) => {
                self.stats.rtcp_received += 1;
                if !self.neg.rtcp_mux {
                    self.latched_rtcp = Some(from);
                }
                while let Some(ev) = self.rtcp.poll_event() {
                    debug!(?ev, "RTCP");
                }
            }
            Err(e) => {
                debug!(%from, error = %e, "dropping bad RTCP");
                self.stats.rtcp_dropped += 1;
            }
        }
    }

    fn drop_packet(&mut self, from: SocketAddr, why: &str) {
        debug!(%from, why, "dropping RTP datagram");
        self.stats.dropped += 1;
    }

    async fn send_rtcp(&mut self, report: &[u8]) {
        let Some(target) = self.rtcp_target() else {
            return;
        };
        let socket = match (&self.sockets.rtcp, self.neg.rtcp_mux) {
            (Some(s), false) => s,
            _ => &self.sockets.rtp,
        };
        match socket.send_to(report, target).await {
            Ok(_) => self.stats.rtcp_sent += 1,
            Err(e) => debug!(error = %e, %target, "RTCP send failed"),
        }
    }

    fn rtcp_lost(&self) -> u64 {
        self.rtcp
            .reception()
            .map_or(0, |r| r.cumulative_lost().max(0) as u64)
    }

    /// Refresh the derived figures and hand a copy to the handles.
    fn publish(&mut self) {
        self.rtcp.set_playout_delay(self.receiver.playout_delay());
        let q = self.rtcp.stats();
        let js = self.receiver.jitter_stats();
        let c = self.receiver.counters();
        let lost = self.lost_before + self.rtcp_lost();
        let s = &mut self.stats;
        s.lost = lost;
        s.late = js.late_dropped + js.duplicates;
        s.fec_recovered = c.fec_recovered;
        s.decode_errors = c.decode_errors;
        s.concealed_ms = self.receiver.concealed().as_millis() as u64;
        s.jitter_ms = q.jitter_ms;
        s.rtt_ms = q.rtt_ms;
        s.mos = q.mos;
        s.playout_delay_ms = self.receiver.playout_delay().as_secs_f32() * 1000.0;
        *self.shared.stats() = s.clone();
    }
}

async fn recv_opt(
    socket: Option<&UdpSocket>,
    buf: &mut [u8],
) -> std::io::Result<(usize, SocketAddr)> {
    match socket {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}
