//! One call's RTP session, sans-IO: everything the stream decides, with time passed in.
//!
//! - Sending: each frame period the driver calls [`RtpSession::handle_tick`]; the session
//!   sends the RFC 4733 events due ([`outgoing_dtmf`]) or asks for a frame of captured audio
//!   ([`RtpSession::handle_audio`]), which it encodes and packetizes (one SSRC, one sequence
//!   space for audio and events; muted: silence; on hold: nothing, the clock runs on).
//! - Receiving: [`RtpSession::handle_datagram`] sorts RTP from RTCP (RFC 5761 when
//!   multiplexed), drops and counts junk, latches onto the source of the peer's RTP
//!   (symmetric RTP), feeds telephone-events to the RFC 4733 receiver and audio to the
//!   jitter buffer; [`RtpSession::play_frame`] hands out one frame per period on the play
//!   clock, phased just after the first packet's arrival.
//! - SRTP (when the negotiation carries keys): every datagram out is protected and every
//!   datagram in is checked and decrypted before anything else looks at it; a broken tag or
//!   a replay is dropped and counted ([`RtpStats::srtp_auth_failed`],
//!   [`RtpStats::srtp_replayed`]) and the call goes on. A re-negotiation with new keys
//!   switches to fresh contexts.
//! - RTCP: reports when [`RtpSession::poll_timeout`] says (RFC 3550 §6.2, about every 5 s),
//!   a BYE on [`RtpSession::close`].
//! - The media timeout ([`RtpSession::set_media_timeout`], [`rtp_watch`]): the far end's RTP
//!   missing that long while neither side holds the other is reported as
//!   [`StreamEvent::MediaTimeout`]; the owner decides what to do about the call.
//! - Output: [`RtpSession::poll_transmit`] (datagrams, on the RTP or the RTCP port) and
//!   [`RtpSession::poll_event`] (digits, the figures after each report, the final figures,
//!   the far end's silence).
//!
//! The driver (`crate::stream`) owns the sockets, the source, the sink and the send timer.

mod clock;
mod events;
mod fec_plan;
mod outgoing_dtmf;
pub(crate) mod receive;
mod rtp_watch;

pub use events::{RtpStats, StreamEvent};
use receive::Receiver;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use tracing::{debug, info, warn};

use crate::codec::{self, AudioEncoder, OPUS_MAX_PACKET};
use crate::dtmf::{Digit, DtmfReceiver};
use crate::negotiate::{Codec, Negotiated};
use crate::quality::CodecModel;
use crate::rtcp::{RtcpConfig, RtcpSession};
use crate::rtp::{RtpPacket, RtpSender};
use crate::srtp::{Srtp, SrtpError};
use clock::PlayClock;
use fec_plan::FecPlan;
use outgoing_dtmf::OutgoingDtmf;
use rtp_watch::RtpWatch;

/// Largest G.711 payload accepted (120 ms at 8 kHz); bigger packets are dropped.
pub const MAX_PAYLOAD: usize = 960;
/// Largest Opus payload accepted (a 120 ms packet of three full frames).
pub const MAX_OPUS_PAYLOAD: usize = 3 * OPUS_MAX_PACKET + 7;
/// How long each DTMF tone we send lasts.
pub const DTMF_TONE_MS: u32 = 100;

/// Which of the session's two ports a datagram came in on or goes out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// The RTP port (also RTCP when multiplexed, RFC 5761).
    Rtp,
    /// The RTCP port (RTP port + 1).
    Rtcp,
}

/// A datagram the session wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The local port to send it from.
    pub port: Port,
    /// Where it goes.
    pub to: SocketAddr,
    /// The RTP or RTCP datagram.
    pub payload: Vec<u8>,
}

/// What [`RtpSession::handle_datagram`] made of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Received {
    /// Audio of the negotiated codec, into the jitter buffer.
    Audio,
    /// An RFC 4733 telephone-event packet.
    TelephoneEvent,
    /// An RTCP compound packet, accepted.
    Rtcp,
    /// Junk, an unknown payload type, an oversized packet or bad RTCP: dropped and counted.
    Dropped,
}

/// RFC 5761 §4: RTCP packet types 200-204 put 72-76 where RTP has its payload type.
fn looks_like_rtcp(datagram: &[u8]) -> bool {
    datagram.len() >= 8 && (200..=204).contains(&datagram[1])
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
        // Scored on the narrowband scale like the rest: G.722 at 64 kbit/s carries at least
        // what G.711 does, with the same repeat-and-fade concealment.
        Codec::G722 => CodecModel::G711 { plc: true },
    }
}

/// How the session's datagrams cross the network.
enum Protection {
    /// Clear RTP and RTCP.
    Clear,
    /// SRTP and SRTCP with the negotiated keys.
    Srtp(Box<Srtp>),
    /// Keys were negotiated but no context could be made from them: nothing is sent or
    /// accepted, rather than anything in clear.
    Unusable,
}

fn protection(neg: &Negotiated) -> Protection {
    match &neg.srtp {
        None => Protection::Clear,
        Some(keys) => match Srtp::new(keys) {
            Ok(s) => {
                debug!(suite = %keys.suite, "SRTP on");
                Protection::Srtp(Box::new(s))
            }
            Err(e) => {
                warn!(error = %e, "SRTP keys unusable: no media is sent or accepted");
                Protection::Unusable
            }
        },
    }
}

fn frame_duration(neg: &Negotiated) -> Duration {
    Duration::from_millis(neg.codec.frame_ms(neg.ptime_ms) as u64)
}

/// See the module docs.
pub struct RtpSession {
    neg: Negotiated,
    /// Whether the driver has an RTCP socket of its own (RTP port + 1).
    rtcp_port: bool,
    /// The wall clock at `epoch`, for the NTP timestamps of RTCP sessions made later.
    wall: SystemTime,
    epoch: Instant,
    cname: String,
    sender: RtpSender,
    protection: Protection,
    encoder: Option<Box<dyn AudioEncoder>>,
    /// The loss the encoder plans its FEC for, from the far end's reports.
    fec_plan: FecPlan,
    /// Report blocks about our stream taken into the plan, of the current RTCP session.
    reports_planned: u64,
    receiver: Receiver,
    play_clock: PlayClock,
    rtcp: RtcpSession,
    dtmf_out: OutgoingDtmf,
    dtmf_in: Option<DtmfReceiver>,
    /// How long the far end's RTP has been missing (the media timeout).
    rtp_watch: RtpWatch,
    latched: Option<SocketAddr>,
    latched_rtcp: Option<SocketAddr>,
    muted: bool,
    closed: bool,
    stats: RtpStats,
    /// Losses of RTCP sessions replaced by a codec change.
    lost_before: u64,
    payload: Vec<u8>,
    silence: Vec<i16>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<StreamEvent>,
}

impl RtpSession {
    /// A session starting at `now` (the wall clock reading `wall`), sending with `sender`'s
    /// SSRC, sequence and timestamp. `rtcp_port`: whether the driver has a separate RTCP
    /// socket (else RTCP goes multiplexed whatever was negotiated).
    pub fn new(
        now: Instant,
        wall: SystemTime,
        neg: Negotiated,
        rtcp_port: bool,
        sender: RtpSender,
    ) -> RtpSession {
        debug!(codec = %neg.codec, "RTP session starting");
        let cname = format!("{:016x}", rand::random::<u64>());
        let mut s = RtpSession {
            rtcp: RtcpSession::new(RtcpConfig::new(sender.ssrc(), "", 8000), now, wall),
            wall,
            epoch: now,
            cname,
            encoder: new_encoder(&neg),
            fec_plan: FecPlan::default(),
            reports_planned: 0,
            protection: protection(&neg),
            receiver: Receiver::new(neg.codec, neg.codec.frame_ms(neg.ptime_ms)),
            play_clock: PlayClock::new(now, frame_duration(&neg)),
            dtmf_out: OutgoingDtmf::default(),
            dtmf_in: DtmfReceiver::new(neg.telephone_event_rate).ok(),
            rtp_watch: RtpWatch::new(now, &neg),
            stats: RtpStats {
                remote_addr: neg.remote_rtp,
                ..RtpStats::default()
            },
            neg,
            rtcp_port,
            sender,
            latched: None,
            latched_rtcp: None,
            muted: false,
            closed: false,
            lost_before: 0,
            payload: Vec::new(),
            silence: Vec::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        };
        s.rtcp = s.new_rtcp(now);
        s
    }

    fn new_rtcp(&self, now: Instant) -> RtcpSession {
        let mut cfg = RtcpConfig::new(
            self.sender.ssrc(),
            self.cname.clone(),
            self.neg.codec.clock_rate(),
        );
        cfg.codec = codec_model(&self.neg);
        cfg.frame = frame_duration(&self.neg);
        let wall = self.wall + now.saturating_duration_since(self.epoch);
        RtcpSession::new(cfg, now, wall)
    }

    /// The negotiation in force.
    pub fn negotiated(&self) -> &Negotiated {
        &self.neg
    }

    /// Packetisation time actually used (Opus rounds to one of its frame sizes).
    pub fn frame(&self) -> Duration {
        frame_duration(&self.neg)
    }

    /// RTP timestamp ticks of one frame (at the RTP clock: 160 per 20 ms for G.722 too).
    fn frame_ticks(&self) -> u32 {
        self.neg.codec.frame_ms(self.neg.ptime_ms) * self.neg.codec.clock_rate() / 1000
    }

    /// Audio samples of one frame (at the codec's audio rate: 320 per 20 ms for G.722).
    fn frame_samples(&self) -> u32 {
        self.neg.codec.frame_ms(self.neg.ptime_ms) * self.neg.codec.sample_rate() / 1000
    }

    /// RTP ticks that `samples` of the codec's audio take.
    fn ticks_of(&self, samples: u32) -> u32 {
        let c = self.neg.codec;
        (u64::from(samples) * u64::from(c.clock_rate()) / u64::from(c.sample_rate())) as u32
    }

    /// Report the far end's RTP missing for `timeout` while neither side holds the other
    /// ([`StreamEvent::MediaTimeout`]); `None` or zero: never. The wait starts at `now`.
    pub fn set_media_timeout(&mut self, now: Instant, timeout: Option<Duration>) {
        self.rtp_watch.set_timeout(now, timeout);
    }

    /// Apply a new negotiation (re-offer): remote address, codec, ptime, direction.
    pub fn handle_update(&mut self, now: Instant, neg: Negotiated) {
        self.rtp_watch.on_update(now, &neg);
        if neg.remote_rtp != self.neg.remote_rtp {
            self.latched = None;
            self.latched_rtcp = None;
        }
        debug!(?neg, "media update");
        let old = std::mem::replace(&mut self.neg, neg);
        if old.srtp != self.neg.srtp {
            // New keys (re-INVITE): a fresh context for each direction whose key changed.
            let rekeyed = match (&mut self.protection, &old.srtp, &self.neg.srtp) {
                (Protection::Srtp(s), Some(old_keys), Some(new_keys)) => {
                    s.rekey(old_keys, new_keys).is_ok()
                }
                _ => false,
            };
            if !rekeyed {
                self.protection = protection(&self.neg);
            }
        }
        let frame_changed =
            old.codec.frame_ms(old.ptime_ms) != self.neg.codec.frame_ms(self.neg.ptime_ms);
        if old.codec != self.neg.codec || frame_changed {
            info!(from = %old.codec, to = %self.neg.codec, "codec or packet time change");
            self.encoder = self.planned_encoder();
            // The peer's timestamps may count at another rate: a new timeline.
            self.receiver =
                Receiver::new(self.neg.codec, self.neg.codec.frame_ms(self.neg.ptime_ms));
            self.play_clock.realign(self.frame());
            if old.codec.clock_rate() != self.neg.codec.clock_rate() {
                self.lost_before += self.rtcp_lost();
                self.rtcp = self.new_rtcp(now);
                self.reports_planned = 0;
            }
        } else if old.opus != self.neg.opus && self.neg.codec == Codec::Opus {
            self.encoder = self.planned_encoder();
        }
        if old.telephone_event_rate != self.neg.telephone_event_rate {
            self.dtmf_in = DtmfReceiver::new(self.neg.telephone_event_rate).ok();
            self.dtmf_out.reset();
        }
        self.stats.remote_addr = self.target();
        self.stats.latched = self.latched.is_some();
    }

    /// Muted: keep sending RTP, with silence.
    pub fn set_muted(&mut self, muted: bool) {
        self.muted = muted;
    }

    /// Queue `digits` to send as RFC 4733 events, one after another, each
    /// [`DTMF_TONE_MS`] long; audio is held back meanwhile. Without a negotiated
    /// telephone-event they are dropped (logged): the caller sends SIP INFO instead.
    pub fn send_dtmf(&mut self, digits: impl IntoIterator<Item = Digit>) {
        self.dtmf_out.queue(digits);
    }

    /// Where RTP goes: the latched source, else the SDP address.
    fn target(&self) -> Option<SocketAddr> {
        self.latched.or(self.neg.remote_rtp)
    }

    /// Where RTCP goes, and from which port: the RTP target when multiplexed, else where
    /// the peer's RTCP comes from, else the SDP's RTCP address.
    fn rtcp_target(&self) -> Option<(Port, SocketAddr)> {
        if self.neg.rtcp_mux || !self.rtcp_port {
            self.target().map(|t| (Port::Rtp, t))
        } else {
            self.latched_rtcp
                .or(self.neg.remote_rtcp)
                .map(|t| (Port::Rtcp, t))
        }
    }

    /// Where RTP goes while we send (not on hold), if anywhere.
    fn sending_to(&self) -> Option<SocketAddr> {
        self.target().filter(|_| self.neg.local_direction.sends())
    }

    /// One send period begins at `now`: the DTMF packets due go out. Returns how many
    /// samples of captured audio the period wants (pass them to
    /// [`handle_audio`](Self::handle_audio)), or `None` while an event takes the audio's
    /// place (RFC 4733 §2.5.1.1).
    pub fn handle_tick(&mut self, now: Instant) -> Option<usize> {
        if self.closed {
            return None;
        }
        let samples = self.frame_samples();
        let ticks = self.frame_ticks();
        let Some(pt) = self.neg.telephone_event else {
            self.dtmf_out.drop_queue();
            return Some(samples as usize);
        };
        let to = self.sending_to();
        let cfg = (self.neg.telephone_event_rate, self.frame_samples_ms());
        let mut on = false;
        for p in self.dtmf_out.poll(now, cfg, self.sender.timestamp()) {
            on = true;
            let mut packet = Vec::with_capacity(16);
            self.sender
                .event_packet(pt, &p.payload, p.timestamp, p.marker, &mut packet);
            if p.first_end {
                self.stats.digits_sent += 1;
            }
            if let Some(to) = to {
                self.count_sent(now, p.timestamp, p.payload.len());
                self.push_rtp(to, packet);
            }
        }
        if on || self.dtmf_out.is_active() {
            self.sender.skip(ticks);
            None
        } else {
            Some(samples as usize)
        }
    }

    fn frame_samples_ms(&self) -> u32 {
        self.neg.codec.frame_ms(self.neg.ptime_ms)
    }

    fn count_sent(&mut self, now: Instant, timestamp: u32, payload: usize) {
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += payload as u64;
        self.rtcp.on_rtp_sent(now, 0, timestamp, payload);
    }

    /// This period's captured audio (at the codec's rate): encoded and sent, unless on
    /// hold, without an encoder, or silent in Opus DTX; the RTP clock runs on either way.
    pub fn handle_audio(&mut self, now: Instant, frame: &[i16]) {
        let samples = self.ticks_of(frame.len() as u32);
        let (Some(to), Some(encoder)) = (self.sending_to(), self.encoder.as_mut()) else {
            self.sender.skip(samples);
            return;
        };
        let frame = if self.muted {
            self.silence.clear();
            self.silence.resize(frame.len(), 0);
            &self.silence[..]
        } else {
            frame
        };
        self.payload.clear();
        if let Err(e) = encoder.encode(frame, &mut self.payload) {
            debug!(error = %e, "frame not encoded");
            self.sender.skip(samples);
            return;
        }
        // Opus in DTX emits 1-2 byte frames for silence: they are not sent (RFC 7587 §3.1.3);
        // the next real packet carries the marker bit.
        if self.neg.codec == Codec::Opus && self.neg.opus.dtx && self.payload.len() <= 2 {
            self.stats.dtx_frames += 1;
            self.sender.skip(samples);
            return;
        }
        let ts = self.sender.timestamp();
        let mut packet = Vec::with_capacity(12 + self.payload.len());
        self.sender
            .packet(self.neg.payload_type, &self.payload, samples, &mut packet);
        let len = self.payload.len();
        self.count_sent(now, ts, len);
        self.push_rtp(to, packet);
    }

    /// An RTP packet of ours out to `to`, protected when the call is encrypted.
    fn push_rtp(&mut self, to: SocketAddr, packet: Vec<u8>) {
        let payload = match &mut self.protection {
            Protection::Clear => packet,
            Protection::Srtp(s) => match s.protect_rtp(&packet) {
                Ok(p) => p,
                Err(e) => {
                    debug!(error = %e, "RTP packet not protected; not sent");
                    return;
                }
            },
            Protection::Unusable => return,
        };
        self.transmits.push_back(Transmit {
            port: Port::Rtp,
            to,
            payload,
        });
    }

    /// The send timer fell `periods` behind (suspended, overloaded): the RTP clock counts
    /// the time not sent.
    pub fn handle_skipped(&mut self, periods: u32) {
        self.sender.skip(self.frame_ticks() * periods);
    }

    /// When the next received frame is due at the sink.
    pub fn play_due(&self) -> Instant {
        self.play_clock.due()
    }

    /// The frame due at [`play_due`](Self::play_due), decoded, concealed or silence,
    /// replacing `out`'s contents; returns its sample rate (the codec's).
    pub fn play_frame(&mut self, out: &mut Vec<i16>) -> u32 {
        let at = self.play_clock.advance();
        self.receiver.pull(at, out);
        self.receiver.rate()
    }

    /// A datagram that arrived at `now` from `from` on `port`; `truncated` if it filled
    /// the driver's receive buffer.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        port: Port,
        datagram: &[u8],
        truncated: bool,
    ) -> Received {
        if self.closed {
            return Received::Dropped;
        }
        let is_rtcp = port == Port::Rtcp || looks_like_rtcp(datagram);
        let plain;
        let datagram = match &mut self.protection {
            Protection::Clear => datagram,
            Protection::Srtp(s) => {
                let r = if is_rtcp {
                    s.unprotect_rtcp(datagram)
                } else {
                    s.unprotect_rtp(datagram)
                };
                match r {
                    Ok(p) => {
                        plain = p;
                        &plain[..]
                    }
                    Err(e) => return self.refused(from, is_rtcp, e),
                }
            }
            Protection::Unusable => return self.drop_packet(from, "no SRTP context"),
        };
        if is_rtcp {
            return self.handle_rtcp(now, from, datagram);
        }
        let max = match self.neg.codec {
            Codec::Opus => MAX_OPUS_PAYLOAD,
            Codec::Pcmu | Codec::Pcma | Codec::G722 => MAX_PAYLOAD,
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
        // Any RTP from the far end shows it is there, comfort noise included.
        self.rtp_watch.on_rtp(now);
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
            return Received::TelephoneEvent;
        }
        self.receiver.insert(now, &h, packet.payload);
        self.play_clock.on_packet(now);
        Received::Audio
    }

    fn handle_rtcp(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) -> Received {
        match self.rtcp.handle_rtcp(now, datagram) {
            Ok(()) => {
                self.stats.rtcp_received += 1;
                self.plan_fec();
                if !self.neg.rtcp_mux {
                    self.latched_rtcp = Some(from);
                }
                while let Some(ev) = self.rtcp.poll_event() {
                    debug!(?ev, "RTCP");
                }
                Received::Rtcp
            }
            Err(e) => {
                debug!(%from, error = %e, "dropping bad RTCP");
                self.stats.rtcp_dropped += 1;
                Received::Dropped
            }
        }
    }

    /// A new report about our stream: the encoder plans its FEC for the loss it says.
    fn plan_fec(&mut self) {
        let (reports, last) = self.rtcp.reports_about_us();
        let Some(block) = last.filter(|_| reports > self.reports_planned) else {
            return;
        };
        self.reports_planned = reports;
        let before = self.fec_plan.percent();
        let percent = self.fec_plan.on_report(block.fraction_lost);
        if percent != before {
            debug!(percent, "Opus FEC planned for the loss the far end reports");
        }
        if let Some(e) = self.encoder.as_mut() {
            e.set_expected_loss(percent);
        }
    }

    /// A new encoder for the negotiated codec, planning for the loss planned so far.
    fn planned_encoder(&self) -> Option<Box<dyn AudioEncoder>> {
        let mut e = new_encoder(&self.neg)?;
        e.set_expected_loss(self.fec_plan.percent());
        Some(e)
    }

    /// A datagram SRTP refused: counted by why.
    fn refused(&mut self, from: SocketAddr, rtcp: bool, error: SrtpError) -> Received {
        debug!(%from, rtcp, %error, "dropping SRTP datagram");
        match error {
            SrtpError::AuthFailed => self.stats.srtp_auth_failed += 1,
            SrtpError::Replayed => self.stats.srtp_replayed += 1,
            _ if rtcp => self.stats.rtcp_dropped += 1,
            _ => self.stats.dropped += 1,
        }
        Received::Dropped
    }

    fn drop_packet(&mut self, from: SocketAddr, why: &str) -> Received {
        debug!(%from, why, "dropping RTP datagram");
        self.stats.dropped += 1;
        Received::Dropped
    }

    fn take_digits(&mut self) {
        let Some(rx) = self.dtmf_in.as_mut() else {
            return;
        };
        while let Some(d) = rx.poll_digit() {
            info!(digit = %d.digit, ms = d.duration_ms, "DTMF received (RFC 4733)");
            self.stats.digits_received += 1;
            self.events.push_back(StreamEvent::Digit(d));
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due: the next RTCP report, the
    /// end of a received digit whose end packets were lost, or the media timeout. `None`
    /// once closed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        [
            Some(self.rtcp.poll_timeout()),
            self.dtmf_in.as_ref().and_then(DtmfReceiver::poll_timeout),
            self.rtp_watch.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Time passed: an RTCP report when due (then the figures as a
    /// [`StreamEvent::Quality`]), a digit whose end packets never came, the far end's RTP
    /// missing for the media timeout ([`StreamEvent::MediaTimeout`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if let Some(rx) = self.dtmf_in.as_mut() {
            rx.handle_timeout(now);
        }
        self.take_digits();
        if let Some(silent) = self.rtp_watch.handle_timeout(now) {
            warn!(
                silent_ms = silent.as_millis() as u64,
                "no RTP from the far end"
            );
            self.events.push_back(StreamEvent::MediaTimeout { silent });
        }
        if now < self.rtcp.poll_timeout() {
            return;
        }
        self.rtcp.set_playout_delay(self.receiver.playout_delay());
        if let Some(report) = self.rtcp.poll_transmit(now) {
            self.queue_rtcp(report);
            let figures = self.stats();
            self.events.push_back(StreamEvent::Quality(figures));
        }
    }

    fn queue_rtcp(&mut self, report: Vec<u8>) {
        if let Some((port, to)) = self.rtcp_target() {
            let report = match &mut self.protection {
                Protection::Clear => report,
                Protection::Srtp(s) => match s.protect_rtcp(&report) {
                    Ok(p) => p,
                    Err(e) => {
                        debug!(error = %e, "RTCP not protected; not sent");
                        return;
                    }
                },
                Protection::Unusable => return,
            };
            self.stats.rtcp_sent += 1;
            self.transmits.push_back(Transmit {
                port,
                to,
                payload: report,
            });
        }
    }

    /// The call ends: an RTCP BYE goes out and the final figures come as
    /// [`StreamEvent::Stopped`]. The session takes no more input after it.
    pub fn close(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        self.rtcp.set_playout_delay(self.receiver.playout_delay());
        let bye = self.rtcp.bye(now, None);
        self.queue_rtcp(bye);
        let figures = self.stats();
        self.events.push_back(StreamEvent::Stopped(figures));
        self.closed = true;
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event (digit, figures).
    pub fn poll_event(&mut self) -> Option<StreamEvent> {
        self.events.pop_front()
    }

    fn rtcp_lost(&self) -> u64 {
        self.rtcp
            .reception()
            .map_or(0, |r| r.cumulative_lost().max(0) as u64)
    }

    /// The call's figures now.
    pub fn stats(&self) -> RtpStats {
        let q = self.rtcp.stats();
        let js = self.receiver.jitter_stats();
        let c = self.receiver.counters();
        RtpStats {
            lost: self.lost_before + self.rtcp_lost(),
            late: js.late_dropped + js.duplicates,
            fec_recovered: c.fec_recovered,
            decode_errors: c.decode_errors,
            concealed_ms: self.receiver.concealed().as_millis() as u64,
            jitter_ms: q.jitter_ms,
            rtt_ms: q.rtt_ms,
            mos: q.mos,
            playout_delay_ms: self.receiver.playout_delay().as_secs_f32() * 1000.0,
            ..self.stats.clone()
        }
    }
}
