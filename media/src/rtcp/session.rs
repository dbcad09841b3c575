//! The session's reporting: what we send (SR or RR, SDES CNAME, BYE) and when (§6.2,
//! §6.3), what the far end's reports tell us (round-trip time, its view of our stream), and
//! the call's figures ([`CallQuality`]).

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use super::packet::{
    parse_compound, write_compound, Bye, NtpTime, ReceiverReport, ReportBlock, RtcpError,
    RtcpPacket, Sdes, SenderReport,
};
use super::stats::{round_trip_time, ReceptionStats};
use crate::quality::{self, CallQuality, CodecModel};

/// [`RtcpSession`] settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RtcpConfig {
    /// Our SSRC (the RTP sender's).
    pub ssrc: u32,
    /// Our CNAME (e.g. `user@host` or a random per-call string, RFC 7022).
    pub cname: String,
    /// RTP clock rate of the audio.
    pub clock_rate: u32,
    /// Nominal report interval (5 s, §6.2).
    pub interval: Duration,
    /// Randomize each interval by 0.5–1.5× (§6.3.1).
    pub randomize: bool,
    /// Codec for the MOS estimate.
    pub codec: CodecModel,
    /// Packetization time, counted in the one-way delay for the MOS estimate.
    pub frame: Duration,
}

impl RtcpConfig {
    /// Settings for `ssrc` with `cname`, at `clock_rate`: a 5 s randomized interval, G.711 with PLC for the MOS, 20 ms frames.
    pub fn new(ssrc: u32, cname: impl Into<String>, clock_rate: u32) -> Self {
        RtcpConfig {
            ssrc,
            cname: cname.into(),
            clock_rate,
            interval: Duration::from_secs(5),
            randomize: true,
            codec: CodecModel::G711 { plc: true },
            frame: Duration::from_millis(20),
        }
    }
}

/// What [`RtcpSession::handle_rtcp`] noticed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtcpEvent {
    /// The far end left (BYE naming its SSRC).
    Bye {
        /// The source leaving.
        ssrc: u32,
        /// Why, if said (lossy UTF-8).
        reason: Option<String>,
    },
    /// A new round-trip time from a report block about us.
    Rtt(Duration),
    /// The far end's CNAME.
    Cname {
        /// The source.
        ssrc: u32,
        /// Its CNAME (lossy UTF-8).
        cname: String,
    },
}

/// Sans-IO RTCP for one RTP session with one far-end source: see the module docs.
#[derive(Debug, Clone)]
pub struct RtcpSession {
    cfg: RtcpConfig,
    epoch: Instant,
    ntp_epoch: NtpTime,
    rng: u64,
    next_report: Instant,
    // Sending.
    packets_sent: u64,
    octets_sent: u64,
    last_sent: Option<(Instant, u32)>,
    // Receiving.
    remote: Option<ReceptionStats>,
    /// Packets of earlier far-end sources (SSRC changes).
    packets_received_before: u64,
    /// Last SR seen per source, kept until that source's RTP shows up.
    pending_sr: Option<(u32, NtpTime, Instant)>,
    last_fraction: Option<u8>,
    // From the far end's reports about us.
    rtt: Option<Duration>,
    remote_block: Option<ReportBlock>,
    /// Report blocks about our stream received so far.
    reports_about_us: u64,
    // Fed in by the playout side.
    concealed_ms: u64,
    playout_delay: Duration,
    events: VecDeque<RtcpEvent>,
}

impl RtcpSession {
    /// New session at `now`, whose wall clock reads `wall` (for NTP timestamps; pass
    /// `SystemTime::now()` from the driver). The interval randomization is seeded from the
    /// SSRC (itself random), so a session is deterministic given its inputs.
    pub fn new(cfg: RtcpConfig, now: Instant, wall: SystemTime) -> Self {
        let mut s = RtcpSession {
            rng: (cfg.ssrc as u64 ^ 0x9E37_79B9_7F4A_7C15) | 1,
            cfg,
            epoch: now,
            ntp_epoch: NtpTime::from_system_time(wall),
            next_report: now,
            packets_sent: 0,
            octets_sent: 0,
            last_sent: None,
            remote: None,
            packets_received_before: 0,
            pending_sr: None,
            last_fraction: None,
            rtt: None,
            remote_block: None,
            reports_about_us: 0,
            concealed_ms: 0,
            playout_delay: Duration::ZERO,
            events: VecDeque::new(),
        };
        // First report after half the interval (§6.2: the initial minimum is halved).
        let first = s.randomized(s.cfg.interval / 2);
        s.next_report = now + first;
        s
    }

    /// The settings it runs with.
    pub fn config(&self) -> &RtcpConfig {
        &self.cfg
    }

    /// Our NTP time at `now`.
    pub fn ntp(&self, now: Instant) -> NtpTime {
        self.ntp_epoch
            .plus(now.saturating_duration_since(self.epoch))
    }

    fn randomized(&mut self, d: Duration) -> Duration {
        if !self.cfg.randomize {
            return d;
        }
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11; // 53 bits
        let unit = r as f64 / (1u64 << 53) as f64; // [0, 1)
        d.mul_f64(0.5 + unit)
    }

    /// We sent an RTP packet (`payload_len` bytes of payload, RTP header excluded).
    pub fn on_rtp_sent(&mut self, now: Instant, _seq: u16, timestamp: u32, payload_len: usize) {
        self.packets_sent += 1;
        self.octets_sent += payload_len as u64;
        self.last_sent = Some((now, timestamp));
    }

    /// We received a valid RTP packet from the far end.
    pub fn on_rtp_received(
        &mut self,
        now: Instant,
        ssrc: u32,
        seq: u16,
        timestamp: u32,
        _payload_len: usize,
    ) {
        match &mut self.remote {
            Some(r) if r.ssrc() == ssrc => {
                r.update(seq, timestamp, now);
            }
            _ => {
                if let Some(old) = self.remote.take() {
                    self.packets_received_before += old.packets();
                }
                let mut r = ReceptionStats::new(ssrc, seq, self.cfg.clock_rate, self.epoch);
                if let Some((s, ntp, at)) = self.pending_sr {
                    if s == ssrc {
                        r.on_sender_report(ntp, at);
                    }
                }
                r.update(seq, timestamp, now);
                self.remote = Some(r);
                self.last_fraction = None;
            }
        }
    }

    /// Audio the playout side concealed (added up).
    pub fn add_concealed(&mut self, ms: u64) {
        self.concealed_ms += ms;
    }

    /// The playout (jitter buffer) delay, counted in the one-way delay for the MOS.
    pub fn set_playout_delay(&mut self, d: Duration) {
        self.playout_delay = d;
    }

    /// A compound RTCP datagram from the far end.
    pub fn handle_rtcp(&mut self, now: Instant, buf: &[u8]) -> Result<(), RtcpError> {
        let packets = parse_compound(buf)?;
        let remote_ssrc = self.remote.as_ref().map(|r| r.ssrc());
        for p in packets {
            let blocks = match &p {
                RtcpPacket::SenderReport(sr) => {
                    match &mut self.remote {
                        Some(r) if r.ssrc() == sr.ssrc => r.on_sender_report(sr.ntp, now),
                        _ => self.pending_sr = Some((sr.ssrc, sr.ntp, now)),
                    }
                    &sr.reports[..]
                }
                RtcpPacket::ReceiverReport(rr) => &rr.reports[..],
                RtcpPacket::Sdes(sdes) => {
                    for c in &sdes.chunks {
                        if let Some(cname) = sdes.cname_of(c.ssrc) {
                            self.events.push_back(RtcpEvent::Cname {
                                ssrc: c.ssrc,
                                cname,
                            });
                        }
                    }
                    &[]
                }
                RtcpPacket::Bye(bye) => {
                    for &s in &bye.sources {
                        if Some(s) == remote_ssrc || remote_ssrc.is_none() {
                            self.events.push_back(RtcpEvent::Bye {
                                ssrc: s,
                                reason: bye
                                    .reason
                                    .as_ref()
                                    .map(|r| String::from_utf8_lossy(r).into_owned()),
                            });
                        }
                    }
                    &[]
                }
                RtcpPacket::Other { .. } => &[],
            };
            for b in blocks.iter().filter(|b| b.ssrc == self.cfg.ssrc) {
                self.remote_block = Some(*b);
                self.reports_about_us += 1;
                if let Some(rtt) = round_trip_time(self.ntp(now), b) {
                    self.rtt = Some(rtt);
                    self.events.push_back(RtcpEvent::Rtt(rtt));
                }
            }
        }
        Ok(())
    }

    /// How many report blocks about our stream the far end has sent, and the last one.
    pub fn reports_about_us(&self) -> (u64, Option<&ReportBlock>) {
        (self.reports_about_us, self.remote_block.as_ref())
    }

    /// What happened (BYE, RTT, CNAME).
    pub fn poll_event(&mut self) -> Option<RtcpEvent> {
        self.events.pop_front()
    }

    /// When the next report is due.
    pub fn poll_timeout(&self) -> Instant {
        self.next_report
    }

    /// The next compound report (SR if we sent RTP in the last two intervals, else RR; then
    /// SDES CNAME), when due.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if now < self.next_report {
            return None;
        }
        let out = self.build_report(now, None);
        let next = self.randomized(self.cfg.interval);
        self.next_report = now + next;
        Some(out)
    }

    /// A final compound report with a BYE, to send when the call ends.
    pub fn bye(&mut self, now: Instant, reason: Option<&str>) -> Vec<u8> {
        self.build_report(now, Some(reason.map(|r| r.as_bytes().to_vec())))
    }

    fn build_report(&mut self, now: Instant, bye: Option<Option<Vec<u8>>>) -> Vec<u8> {
        let reports: Vec<ReportBlock> = match &mut self.remote {
            Some(r) => {
                let b = r.report_block(now);
                self.last_fraction = Some(b.fraction_lost);
                vec![b]
            }
            None => vec![],
        };
        let we_sent = self
            .last_sent
            .is_some_and(|(at, _)| now.saturating_duration_since(at) < self.cfg.interval * 2);
        let first = if we_sent {
            let (at, ts) = self.last_sent.unwrap_or((now, 0));
            let elapsed = now.saturating_duration_since(at);
            let ticks = (elapsed.as_nanos() * self.cfg.clock_rate as u128 / 1_000_000_000) as u32;
            RtcpPacket::SenderReport(SenderReport {
                ssrc: self.cfg.ssrc,
                ntp: self.ntp(now),
                rtp_timestamp: ts.wrapping_add(ticks),
                packet_count: self.packets_sent as u32,
                octet_count: self.octets_sent as u32,
                reports,
            })
        } else {
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: self.cfg.ssrc,
                reports,
            })
        };
        let mut packets = vec![
            first,
            RtcpPacket::Sdes(Sdes::cname(self.cfg.ssrc, &self.cfg.cname)),
        ];
        if let Some(reason) = bye {
            packets.push(RtcpPacket::Bye(Bye {
                sources: vec![self.cfg.ssrc],
                reason,
            }));
        }
        let mut out = Vec::with_capacity(128);
        write_compound(&packets, &mut out);
        out
    }

    /// The call's figures so far. `fraction_lost` (and the MOS, which uses it) is the one of
    /// the last report we sent, or the cumulative loss ratio before the first report.
    pub fn stats(&self) -> CallQuality {
        let (received, lost, jitter_ms, cumulative_fraction) = match &self.remote {
            Some(r) => {
                let expected = r.expected();
                let lost = r.cumulative_lost();
                let f = if expected > 0 && lost > 0 {
                    lost as f32 / expected as f32
                } else {
                    0.0
                };
                (r.packets(), lost, r.jitter_ms(), f)
            }
            None => (0, 0, 0.0, 0.0),
        };
        let fraction_lost = match self.last_fraction {
            Some(f) => f as f32 / 256.0,
            None => cumulative_fraction,
        };
        let rtt_ms = self.rtt.map(|d| d.as_secs_f32() * 1000.0);
        let one_way_ms = rtt_ms.unwrap_or(0.0) / 2.0
            + self.playout_delay.as_secs_f32() * 1000.0
            + self.cfg.frame.as_secs_f32() * 1000.0;
        let mos = quality::mos(self.cfg.codec, one_way_ms, fraction_lost * 100.0);
        CallQuality {
            packets_sent: self.packets_sent,
            packets_received: self.packets_received_before + received,
            lost,
            fraction_lost,
            jitter_ms,
            rtt_ms,
            concealed_ms: self.concealed_ms,
            remote_fraction_lost: self.remote_block.map(|b| b.fraction_lost as f32 / 256.0),
            remote_jitter_ms: self
                .remote_block
                .map(|b| b.jitter as f32 * 1000.0 / self.cfg.clock_rate.max(1) as f32),
            mos,
        }
    }

    /// Reception statistics of the current far-end source.
    pub fn reception(&self) -> Option<&ReceptionStats> {
        self.remote.as_ref()
    }
}
