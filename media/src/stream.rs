//! The tokio driver that carries one call's audio: paced RTP sending from a source through
//! the negotiated codec (Opus, PCMU, PCMA; see [`crate::codec`]), receiving into a sink with
//! loss concealment (PLC, Opus in-band FEC), symmetric-RTP latching, and live updates after
//! re-offers (a codec change swaps encoder and decoder).
//!
//! Rates: the source is opened at the codec's clock rate; decoded audio is converted from the
//! codec's rate to the sink's 8 kHz ([`crate::resample`]).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, Instant};
use tracing::{debug, info, warn};

use crate::codec::{self, AudioDecoder, AudioEncoder, OPUS_MAX_PACKET};
use crate::negotiate::{Codec, Negotiated};
use crate::resample::Resampler;
use crate::rtp::{RtpHeader, RtpPacket, RtpSender};
use crate::sink::{Sink, SinkSpec};
use crate::source::{Source, SourceSpec, SAMPLE_RATE};

/// Largest G.711 payload accepted (120 ms at 8 kHz); bigger packets are dropped.
pub const MAX_PAYLOAD: usize = 960;
/// Largest Opus payload accepted (a 120 ms packet of three full frames).
pub const MAX_OPUS_PAYLOAD: usize = 3 * OPUS_MAX_PACKET + 7;
/// Receive buffer; a datagram filling it whole is treated as oversized.
const RECV_BUF: usize = 4096;
/// Timestamp gaps up to this long are concealed in the sink (the decoder's PLC, which fades
/// to silence); larger jumps are treated as a new timeline.
const MAX_GAP_FILL_MS: i64 = 2000;
/// If the send loop falls this many frames behind (suspended process), it jumps ahead.
const MAX_BEHIND_FRAMES: u32 = 5;

/// Counters of one stream. Bytes are RTP payload octets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RtpStats {
    pub packets_sent: u64,
    pub bytes_sent: u64,
    /// Valid RTP packets with the negotiated codec or telephone-event payload type.
    pub packets_received: u64,
    pub bytes_received: u64,
    /// Sequence numbers skipped by the peer's stream.
    pub lost: u64,
    /// Duplicates and packets older than the last one played (not played).
    pub late: u64,
    /// Garbage, unknown payload type or oversized datagrams.
    pub dropped: u64,
    /// telephone-event packets (counted in `packets_received`, otherwise ignored for now).
    pub telephone_events: u64,
    /// Audio payloads the decoder refused (corrupt Opus); their time is concealed.
    pub decode_errors: u64,
    /// Lost frames recovered from the next packet's in-band FEC (Opus).
    pub fec_recovered: u64,
    /// Milliseconds of received audio made up by packet-loss concealment.
    pub concealed_ms: u64,
    /// Frames not sent because the Opus encoder was in DTX (silence).
    pub dtx_frames: u64,
    /// Where we send now (latched source, else the SDP address).
    pub remote_addr: Option<SocketAddr>,
    /// Whether `remote_addr` was learnt from incoming RTP (symmetric RTP).
    pub latched: bool,
}

/// A bound RTP socket, not yet carrying audio.
#[derive(Debug)]
pub struct AudioStream {
    socket: UdpSocket,
    local: SocketAddr,
}

impl AudioStream {
    /// Bind a UDP socket on `ip` only, on an ephemeral port (even if one is found in a few
    /// tries, as RFC 3550 recommends; otherwise any).
    pub async fn bind(ip: IpAddr) -> io::Result<AudioStream> {
        for _ in 0..8 {
            let socket = UdpSocket::bind((ip, 0)).await?;
            let local = socket.local_addr()?;
            if local.port() % 2 == 0 {
                return Ok(AudioStream { socket, local });
            }
            if let Some(even) = local.port().checked_add(1) {
                if let Ok(socket) = UdpSocket::bind((ip, even)).await {
                    let local = socket.local_addr()?;
                    return Ok(AudioStream { socket, local });
                }
            }
        }
        let socket = UdpSocket::bind((ip, 0)).await?;
        let local = socket.local_addr()?;
        Ok(AudioStream { socket, local })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Spawn the task carrying the audio. Must be called inside a tokio runtime. A source or
    /// sink that cannot be opened is logged and replaced by silence / null. The task ends
    /// on [`MediaHandle::stop`] or when every handle is dropped.
    pub fn start(self, negotiated: Negotiated, source: SourceSpec, sink: SinkSpec) -> MediaHandle {
        let sink = sink.open().unwrap_or_else(|e| {
            warn!(error = %e, "audio output cannot be opened; discarding received audio");
            Sink::Null
        });
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (done_tx, done_rx) = watch::channel(false);
        let shared = Arc::new(Shared::default());
        let task = Task::new(self.socket, negotiated, source, sink, Arc::clone(&shared));
        debug!(codec = %task.neg.codec, "media stream starting");
        tokio::spawn(task.run(cmd_rx, done_tx));
        MediaHandle {
            commands: cmd_tx,
            shared,
            done: done_rx,
            local: self.local,
        }
    }
}

#[derive(Debug, Default)]
struct Shared {
    stats: Mutex<RtpStats>,
    muted: AtomicBool,
}

impl Shared {
    fn stats(&self) -> MutexGuard<'_, RtpStats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Debug)]
enum Command {
    Update(Box<Negotiated>),
    Stop,
}

/// Control of a running stream; cheap to clone, all methods but `stopped` are sync.
#[derive(Debug, Clone)]
pub struct MediaHandle {
    commands: mpsc::UnboundedSender<Command>,
    shared: Arc<Shared>,
    done: watch::Receiver<bool>,
    local: SocketAddr,
}

impl MediaHandle {
    /// Apply a new negotiation (re-offer): remote address, codec, ptime, direction.
    pub fn update(&self, negotiated: Negotiated) {
        let _ = self.commands.send(Command::Update(Box::new(negotiated)));
    }

    /// Muted: keep sending RTP, with silence.
    pub fn set_muted(&self, muted: bool) {
        self.shared.muted.store(muted, Ordering::Relaxed);
    }

    pub fn stats(&self) -> RtpStats {
        self.shared.stats().clone()
    }

    /// The local RTP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Ask the task to end (the sink is finalized before it exits).
    pub fn stop(&self) {
        let _ = self.commands.send(Command::Stop);
    }

    /// Resolves once the task is gone and the sink finalized.
    pub async fn stopped(&self) {
        let mut done = self.done.clone();
        let _ = done.wait_for(|d| *d).await;
    }
}

/// Where received audio stands in the peer's stream.
#[derive(Debug, Default)]
struct Playout {
    ssrc: Option<u32>,
    last_seq: u16,
    /// Timestamp right after the last sample written to the sink.
    next_ts: Option<u32>,
    /// Packets missing right before the one being played (sequence gap).
    lost_before: u16,
}

/// The negotiated codec's encoder and decoder, and the conversion of decoded audio to the
/// sink's rate. `None` when the codec could not be created (logged; nothing sent/played).
struct CodecState {
    encoder: Option<Box<dyn AudioEncoder>>,
    decoder: Option<Box<dyn AudioDecoder>>,
    to_sink: Resampler,
}

impl CodecState {
    fn new(neg: &Negotiated) -> CodecState {
        let encoder = codec::encoder(neg.codec, &neg.opus)
            .inspect_err(|e| warn!(error = %e, codec = %neg.codec, "encoder cannot be created"))
            .ok();
        let decoder = codec::decoder(neg.codec)
            .inspect_err(|e| warn!(error = %e, codec = %neg.codec, "decoder cannot be created"))
            .ok();
        CodecState {
            encoder,
            decoder,
            // Codec rates are 8000 and 48000: always a whole ratio to the 8 kHz sink.
            to_sink: Resampler::new(neg.codec.clock_rate(), SAMPLE_RATE)
                .unwrap_or_else(|| Resampler::new(SAMPLE_RATE, SAMPLE_RATE).expect("8k->8k")),
        }
    }
}

fn open_source(spec: &SourceSpec, codec: Codec) -> Source {
    spec.open_at(codec.clock_rate()).unwrap_or_else(|e| {
        warn!(error = %e, "audio input cannot be opened; sending silence");
        Source::Silence
    })
}

struct Task {
    socket: UdpSocket,
    neg: Negotiated,
    source_spec: SourceSpec,
    source: Source,
    sink: Sink,
    shared: Arc<Shared>,
    sender: RtpSender,
    latched: Option<SocketAddr>,
    playout: Playout,
    codec: CodecState,
    frame: Vec<i16>,
    payload: Vec<u8>,
    packet: Vec<u8>,
    decoded: Vec<i16>,
    resampled: Vec<i16>,
}

impl Task {
    fn new(
        socket: UdpSocket,
        neg: Negotiated,
        source_spec: SourceSpec,
        sink: Sink,
        shared: Arc<Shared>,
    ) -> Self {
        shared.stats().remote_addr = neg.remote_rtp;
        Task {
            socket,
            source: open_source(&source_spec, neg.codec),
            source_spec,
            codec: CodecState::new(&neg),
            neg,
            sink,
            shared,
            sender: RtpSender::new(),
            latched: None,
            playout: Playout::default(),
            frame: Vec::new(),
            payload: Vec::new(),
            packet: Vec::new(),
            decoded: Vec::new(),
            resampled: Vec::new(),
        }
    }

    /// Packetisation time actually used (Opus rounds to one of its frame sizes).
    fn frame_ms(&self) -> u32 {
        self.neg.codec.frame_ms(self.neg.ptime_ms)
    }

    fn ptime(&self) -> Duration {
        Duration::from_millis(self.frame_ms() as u64)
    }

    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        done: watch::Sender<bool>,
    ) {
        let mut buf = vec![0u8; RECV_BUF];
        let mut next_send = Instant::now() + self.ptime();
        loop {
            tokio::select! {
                biased;
                cmd = commands.recv() => match cmd {
                    Some(Command::Update(n)) => self.update(*n),
                    Some(Command::Stop) | None => break,
                },
                _ = sleep_until(next_send) => {
                    self.send_frame().await;
                    let ptime = self.ptime();
                    next_send += ptime;
                    let now = Instant::now();
                    if now > next_send + ptime * MAX_BEHIND_FRAMES {
                        debug!("send loop fell behind; skipping ahead");
                        next_send = now + ptime;
                    }
                }
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok((n, from)) => self.receive(&buf[..n], n == buf.len(), from),
                    Err(e) => debug!(error = %e, "RTP receive error"),
                },
            }
        }
        let sink = std::mem::replace(&mut self.sink, Sink::Null);
        if let Err(e) = sink.finalize() {
            warn!(error = %e, "audio output could not be finalized");
        }
        let _ = done.send(true);
    }

    fn update(&mut self, neg: Negotiated) {
        if neg.remote_rtp != self.neg.remote_rtp {
            self.latched = None;
        }
        debug!(?neg, "media update");
        let old = std::mem::replace(&mut self.neg, neg);
        if old.codec != self.neg.codec {
            info!(from = %old.codec, to = %self.neg.codec, "codec change");
            self.codec = CodecState::new(&self.neg);
            self.source = open_source(&self.source_spec, self.neg.codec);
            // The peer's timestamps now count at another rate: start a new timeline.
            self.playout.next_ts = None;
        } else if old.opus != self.neg.opus && self.neg.codec == Codec::Opus {
            self.codec.encoder = codec::encoder(self.neg.codec, &self.neg.opus)
                .inspect_err(|e| warn!(error = %e, "encoder cannot be created"))
                .ok();
        }
        let mut stats = self.shared.stats();
        stats.remote_addr = self.target();
        stats.latched = self.latched.is_some();
    }

    fn target(&self) -> Option<SocketAddr> {
        self.latched.or(self.neg.remote_rtp)
    }

    async fn send_frame(&mut self) {
        let samples = (self.frame_ms() * self.neg.codec.clock_rate() / 1000) as usize;
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
        let Some(encoder) = self.codec.encoder.as_mut() else {
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
            self.shared.stats().dtx_frames += 1;
            self.sender.skip(samples as u32);
            return;
        }
        self.sender.packet(
            self.neg.payload_type,
            &self.payload,
            samples as u32,
            &mut self.packet,
        );
        match self.socket.send_to(&self.packet, target).await {
            Ok(_) => {
                let mut stats = self.shared.stats();
                stats.packets_sent += 1;
                stats.bytes_sent += self.payload.len() as u64;
            }
            Err(e) => debug!(error = %e, %target, "RTP send failed"),
        }
    }

    fn receive(&mut self, datagram: &[u8], truncated: bool, from: SocketAddr) {
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
            if self.playout.ssrc == Some(h.ssrc) {
                self.track_sequence(&h);
            }
            return self.drop_packet(from, "unknown payload type");
        }
        if self.latched != Some(from) {
            info!(%from, "symmetric RTP: sending to the source of the peer's RTP");
            self.latched = Some(from);
        }
        let fresh = self.track_sequence(&h);
        {
            let mut stats = self.shared.stats();
            stats.packets_received += 1;
            stats.bytes_received += packet.payload.len() as u64;
            stats.remote_addr = self.latched;
            stats.latched = true;
            if is_event {
                stats.telephone_events += 1;
            }
            if !fresh {
                stats.late += 1;
            }
        }
        if is_event || !fresh {
            return;
        }
        self.play(&h, packet.payload);
    }

    fn drop_packet(&self, from: SocketAddr, why: &str) {
        debug!(%from, why, "dropping RTP datagram");
        self.shared.stats().dropped += 1;
    }

    /// Sequence bookkeeping over every packet of the peer's SSRC (audio and events share
    /// the sequence space). Returns false for duplicates and late packets.
    fn track_sequence(&mut self, h: &RtpHeader) -> bool {
        let p = &mut self.playout;
        if p.ssrc != Some(h.ssrc) {
            p.ssrc = Some(h.ssrc);
            p.last_seq = h.sequence;
            p.next_ts = None;
            p.lost_before = 0;
            return true;
        }
        let delta = h.sequence.wrapping_sub(p.last_seq) as i16;
        if delta <= 0 {
            return false;
        }
        if delta > 1 {
            self.shared.stats().lost += (delta - 1) as u64;
        }
        p.lost_before = (delta - 1) as u16;
        p.last_seq = h.sequence;
        true
    }

    /// Decode into the sink. A timestamp gap before the packet is concealed: when packets
    /// were lost, the last lost frame comes from this packet's FEC if it has some, the rest
    /// from the decoder's PLC.
    fn play(&mut self, h: &RtpHeader, payload: &[u8]) {
        let Some(decoder) = self.codec.decoder.as_mut() else {
            return;
        };
        let rate = self.neg.codec.clock_rate() as i64;
        let gap = match self.playout.next_ts {
            Some(next) => h.timestamp.wrapping_sub(next) as i32 as i64,
            None => 0,
        };
        self.decoded.clear();
        let mut stats = self.shared.stats();
        if gap > 0 && gap <= MAX_GAP_FILL_MS * rate / 1000 {
            let gap = gap as usize;
            let mut fec = 0;
            if self.playout.lost_before > 0 {
                let frame = decoder.packet_samples(payload).unwrap_or(0).min(gap);
                let mut recovered = Vec::new();
                if frame > 0 && decoder.decode_fec(payload, frame, &mut recovered) {
                    fec = frame;
                    decoder.conceal(gap - fec, &mut self.decoded);
                    self.decoded.extend_from_slice(&recovered);
                    stats.fec_recovered += 1;
                }
            }
            if fec == 0 {
                decoder.conceal(gap, &mut self.decoded);
            }
            stats.concealed_ms += ((gap - fec) as i64 * 1000 / rate) as u64;
        }
        let played = match decoder.decode(payload, &mut self.decoded) {
            Ok(n) => n,
            Err(e) => {
                debug!(error = %e, "undecodable payload");
                stats.decode_errors += 1;
                0
            }
        };
        drop(stats);
        self.resampled.clear();
        self.codec
            .to_sink
            .process(&self.decoded, &mut self.resampled);
        if let Err(e) = self.sink.write(&self.resampled) {
            warn!(error = %e, "audio output write failed; discarding received audio from now on");
            let sink = std::mem::replace(&mut self.sink, Sink::Null);
            let _ = sink.finalize();
        }
        if played > 0 || self.playout.next_ts.is_none() {
            self.playout.next_ts = Some(h.timestamp.wrapping_add(played as u32));
        }
    }
}
