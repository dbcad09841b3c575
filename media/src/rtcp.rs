//! RTCP (RFC 3550 §6): packets, receiver statistics (Appendix A) and a sans-IO session.
//!
//! - [`RtcpPacket`], [`parse_compound`], [`write_compound`]: SR, RR (report blocks), SDES,
//!   BYE; other types (APP, feedback, XR) are kept opaque as [`RtcpPacket::Other`].
//!   Parsing never panics: every length is checked and junk gets an [`RtcpError`].
//! - [`ReceptionStats`]: what a receiver keeps about one far-end source: extended highest
//!   sequence number with wrap (A.1), expected/lost/fraction lost (A.3), interarrival jitter
//!   (A.8), LSR/DLSR for the report block (§6.4.1).
//! - [`RtcpSession`]: given `now` and the RTP packets sent and received, emits a compound
//!   SR or RR + SDES CNAME every ~5 s (randomized 0.5–1.5×, §6.3.1), takes the far end's
//!   reports (round-trip time, §6.4.1), and sums it all up as [`CallQuality`].
//!
//! Compound validation follows A.2 (version 2, lengths add up to the datagram, padding only
//! on the last packet), except that the first packet need not be SR/RR: reduced-size RTCP
//! (RFC 5506) sends feedback alone, and a lone SDES or BYE is harmless.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::quality::{self, CallQuality, CodecModel};

pub const PT_SR: u8 = 200;
pub const PT_RR: u8 = 201;
pub const PT_SDES: u8 = 202;
pub const PT_BYE: u8 = 203;
pub const PT_APP: u8 = 204;

/// SDES item types (§6.5).
pub const SDES_END: u8 = 0;
pub const SDES_CNAME: u8 = 1;

/// Why a datagram is not valid RTCP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    #[error("empty RTCP datagram")]
    Empty,
    #[error("{len} bytes left at offset {offset}: shorter than an RTCP header")]
    ShortHeader { offset: usize, len: usize },
    #[error("RTCP version {version} at offset {offset} (expected 2)")]
    BadVersion { offset: usize, version: u8 },
    #[error("RTCP packet at offset {offset} claims {claimed} bytes, only {available} left")]
    Truncated {
        offset: usize,
        claimed: usize,
        available: usize,
    },
    #[error("padding bit set on the RTCP packet at offset {0}, which is not the last")]
    PaddingNotLast(usize),
    #[error("bad padding count {pad} in the RTCP packet at offset {offset}")]
    BadPadding { offset: usize, pad: usize },
    #[error("malformed RTCP packet type {packet_type}: {reason}")]
    Malformed {
        packet_type: u8,
        reason: &'static str,
    },
}

fn malformed(packet_type: u8, reason: &'static str) -> RtcpError {
    RtcpError::Malformed {
        packet_type,
        reason,
    }
}

/// 64-bit NTP timestamp (seconds since 1900 in the high word, fraction in the low word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NtpTime(pub u64);

/// Seconds from 1900-01-01 to 1970-01-01.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

impl NtpTime {
    /// From time since the Unix epoch.
    pub fn from_unix(d: Duration) -> NtpTime {
        let secs = d.as_secs().wrapping_add(NTP_UNIX_OFFSET);
        let frac = ((d.subsec_nanos() as u64) << 32) / 1_000_000_000;
        NtpTime((secs << 32) | frac)
    }

    /// From a wall-clock time (before 1970 reads as 1970).
    pub fn from_system_time(t: SystemTime) -> NtpTime {
        NtpTime::from_unix(t.duration_since(UNIX_EPOCH).unwrap_or_default())
    }

    /// The middle 32 bits (16.16 fixed point seconds): the LSR/DLSR unit.
    pub fn middle32(self) -> u32 {
        (self.0 >> 16) as u32
    }

    /// This time plus `d` (wrapping, like NTP itself).
    pub fn plus(self, d: Duration) -> NtpTime {
        let frac = ((d.subsec_nanos() as u64) << 32) / 1_000_000_000;
        NtpTime(
            self.0
                .wrapping_add(d.as_secs().wrapping_shl(32))
                .wrapping_add(frac),
        )
    }
}

/// Convert a 16.16 fixed-point duration (LSR/DLSR units) to a `Duration`.
pub fn duration_from_ntp_short(v: u32) -> Duration {
    Duration::from_nanos((v as u64 * 1_000_000_000) >> 16)
}

/// Convert a `Duration` to 16.16 fixed point, saturating.
pub fn duration_to_ntp_short(d: Duration) -> u32 {
    let v = (d.as_nanos() << 16) / 1_000_000_000;
    v.min(u32::MAX as u128) as u32
}

/// One reception report block (§6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// The source this block is about.
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost: a 24-bit signed value (−8388608..=8388607).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles << 16 | max seq).
    pub extended_highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR from that source (0: none).
    pub lsr: u32,
    /// Delay since that SR was received, 1/65536 s.
    pub dlsr: u32,
}

const BLOCK_LEN: usize = 24;

impl ReportBlock {
    fn parse(b: &[u8]) -> Option<ReportBlock> {
        let b = b.get(..BLOCK_LEN)?;
        let lost = ((b[5] as i32) << 16) | ((b[6] as i32) << 8) | b[7] as i32;
        let cumulative_lost = (lost << 8) >> 8; // sign-extend 24 bits
        Some(ReportBlock {
            ssrc: be32(b, 0)?,
            fraction_lost: b[4],
            cumulative_lost,
            extended_highest_seq: be32(b, 8)?,
            jitter: be32(b, 12)?,
            lsr: be32(b, 16)?,
            dlsr: be32(b, 20)?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.push(self.fraction_lost);
        let lost = self.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF);
        out.extend_from_slice(&lost.to_be_bytes()[1..]);
        out.extend_from_slice(&self.extended_highest_seq.to_be_bytes());
        out.extend_from_slice(&self.jitter.to_be_bytes());
        out.extend_from_slice(&self.lsr.to_be_bytes());
        out.extend_from_slice(&self.dlsr.to_be_bytes());
    }
}

/// Sender report (§6.4.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SenderReport {
    pub ssrc: u32,
    pub ntp: NtpTime,
    pub rtp_timestamp: u32,
    pub packet_count: u32,
    pub octet_count: u32,
    /// At most 31 are written.
    pub reports: Vec<ReportBlock>,
}

/// Receiver report (§6.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiverReport {
    pub ssrc: u32,
    /// At most 31 are written.
    pub reports: Vec<ReportBlock>,
}

/// One SDES item: type (1 = CNAME ... 8 = PRIV) and its text (at most 255 bytes written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesItem {
    pub kind: u8,
    pub value: Vec<u8>,
}

/// One SDES chunk: a source and its items.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SdesChunk {
    pub ssrc: u32,
    pub items: Vec<SdesItem>,
}

/// Source description (§6.5). At most 31 chunks are written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sdes {
    pub chunks: Vec<SdesChunk>,
}

impl Sdes {
    /// An SDES with one chunk holding a CNAME.
    pub fn cname(ssrc: u32, cname: &str) -> Sdes {
        Sdes {
            chunks: vec![SdesChunk {
                ssrc,
                items: vec![SdesItem {
                    kind: SDES_CNAME,
                    value: cname.as_bytes().to_vec(),
                }],
            }],
        }
    }

    /// The CNAME given for `ssrc`, if any (lossy UTF-8).
    pub fn cname_of(&self, ssrc: u32) -> Option<String> {
        self.chunks
            .iter()
            .filter(|c| c.ssrc == ssrc)
            .flat_map(|c| &c.items)
            .find(|i| i.kind == SDES_CNAME)
            .map(|i| String::from_utf8_lossy(&i.value).into_owned())
    }
}

/// Goodbye (§6.6). At most 31 sources and 255 reason bytes are written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bye {
    pub sources: Vec<u32>,
    pub reason: Option<Vec<u8>>,
}

/// One RTCP packet of a compound datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket {
    SenderReport(SenderReport),
    ReceiverReport(ReceiverReport),
    Sdes(Sdes),
    Bye(Bye),
    /// APP, feedback, XR...: header count field and body (padding removed).
    Other {
        packet_type: u8,
        count: u8,
        body: Vec<u8>,
    },
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Parse a compound RTCP datagram. Never panics.
pub fn parse_compound(buf: &[u8]) -> Result<Vec<RtcpPacket>, RtcpError> {
    if buf.is_empty() {
        return Err(RtcpError::Empty);
    }
    let mut packets = Vec::new();
    let mut offset = 0;
    while offset < buf.len() {
        let rest = &buf[offset..];
        if rest.len() < 4 {
            return Err(RtcpError::ShortHeader {
                offset,
                len: rest.len(),
            });
        }
        let version = rest[0] >> 6;
        if version != 2 {
            return Err(RtcpError::BadVersion { offset, version });
        }
        let padding = rest[0] & 0x20 != 0;
        let count = rest[0] & 0x1F;
        let packet_type = rest[1];
        let len = (u16::from_be_bytes([rest[2], rest[3]]) as usize + 1) * 4;
        if len > rest.len() {
            return Err(RtcpError::Truncated {
                offset,
                claimed: len,
                available: rest.len(),
            });
        }
        let mut end = len;
        if padding {
            if len != rest.len() {
                return Err(RtcpError::PaddingNotLast(offset));
            }
            let pad = rest[len - 1] as usize;
            // §6.4.1: the count includes itself and "will be a multiple of four".
            if pad == 0 || pad & 3 != 0 || pad > len - 4 {
                return Err(RtcpError::BadPadding { offset, pad });
            }
            end -= pad;
        }
        packets.push(parse_body(packet_type, count, &rest[4..end])?);
        offset += len;
    }
    Ok(packets)
}

fn parse_blocks(pt: u8, count: u8, b: &[u8]) -> Result<Vec<ReportBlock>, RtcpError> {
    // Anything after the blocks is a profile-specific extension (§6.4.1): ignored.
    (0..count as usize)
        .map(|i| {
            ReportBlock::parse(b.get(i * BLOCK_LEN..).unwrap_or(&[]))
                .ok_or_else(|| malformed(pt, "report blocks run past the packet"))
        })
        .collect()
}

fn parse_body(pt: u8, count: u8, b: &[u8]) -> Result<RtcpPacket, RtcpError> {
    Ok(match pt {
        PT_SR => {
            if b.len() < 24 {
                return Err(malformed(pt, "sender info shorter than 24 bytes"));
            }
            let ntp = ((be32(b, 4).unwrap_or(0) as u64) << 32) | be32(b, 8).unwrap_or(0) as u64;
            RtcpPacket::SenderReport(SenderReport {
                ssrc: be32(b, 0).unwrap_or(0),
                ntp: NtpTime(ntp),
                rtp_timestamp: be32(b, 12).unwrap_or(0),
                packet_count: be32(b, 16).unwrap_or(0),
                octet_count: be32(b, 20).unwrap_or(0),
                reports: parse_blocks(pt, count, &b[24..])?,
            })
        }
        PT_RR => {
            let ssrc = be32(b, 0).ok_or_else(|| malformed(pt, "no SSRC"))?;
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc,
                reports: parse_blocks(pt, count, &b[4..])?,
            })
        }
        PT_SDES => RtcpPacket::Sdes(parse_sdes(count, b)?),
        PT_BYE => {
            let n = count as usize * 4;
            let ids = b
                .get(..n)
                .ok_or_else(|| malformed(pt, "SSRC list runs past the packet"))?;
            let sources = ids
                .chunks_exact(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let reason = match b.get(n) {
                None => None,
                Some(&len) => Some(
                    b.get(n + 1..n + 1 + len as usize)
                        .ok_or_else(|| malformed(pt, "reason runs past the packet"))?
                        .to_vec(),
                ),
            };
            RtcpPacket::Bye(Bye { sources, reason })
        }
        _ => RtcpPacket::Other {
            packet_type: pt,
            count,
            body: b.to_vec(),
        },
    })
}

fn parse_sdes(count: u8, b: &[u8]) -> Result<Sdes, RtcpError> {
    let pt = PT_SDES;
    let mut chunks = Vec::with_capacity(count as usize);
    let mut at = 0usize;
    for _ in 0..count {
        let ssrc = be32(b, at).ok_or_else(|| malformed(pt, "chunk runs past the packet"))?;
        at += 4;
        let mut items = Vec::new();
        loop {
            let kind = *b
                .get(at)
                .ok_or_else(|| malformed(pt, "chunk without an END item"))?;
            if kind == SDES_END {
                // Null octets up to the next 32-bit boundary end the chunk.
                at = (at + 4) & !3;
                break;
            }
            let len = *b
                .get(at + 1)
                .ok_or_else(|| malformed(pt, "item runs past the packet"))?
                as usize;
            let value = b
                .get(at + 2..at + 2 + len)
                .ok_or_else(|| malformed(pt, "item runs past the packet"))?;
            items.push(SdesItem {
                kind,
                value: value.to_vec(),
            });
            at += 2 + len;
        }
        if at > b.len() {
            return Err(malformed(pt, "chunk padding runs past the packet"));
        }
        chunks.push(SdesChunk { ssrc, items });
    }
    Ok(Sdes { chunks })
}

impl RtcpPacket {
    /// Append this packet (header, body, no padding) to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0x80, 0, 0, 0]);
        let (pt, count) = match self {
            RtcpPacket::SenderReport(sr) => {
                out.extend_from_slice(&sr.ssrc.to_be_bytes());
                out.extend_from_slice(&sr.ntp.0.to_be_bytes());
                out.extend_from_slice(&sr.rtp_timestamp.to_be_bytes());
                out.extend_from_slice(&sr.packet_count.to_be_bytes());
                out.extend_from_slice(&sr.octet_count.to_be_bytes());
                let n = sr.reports.len().min(31);
                sr.reports[..n].iter().for_each(|r| r.write(out));
                (PT_SR, n)
            }
            RtcpPacket::ReceiverReport(rr) => {
                out.extend_from_slice(&rr.ssrc.to_be_bytes());
                let n = rr.reports.len().min(31);
                rr.reports[..n].iter().for_each(|r| r.write(out));
                (PT_RR, n)
            }
            RtcpPacket::Sdes(s) => {
                let n = s.chunks.len().min(31);
                for c in &s.chunks[..n] {
                    let chunk_start = out.len();
                    out.extend_from_slice(&c.ssrc.to_be_bytes());
                    for item in c.items.iter().filter(|i| i.kind != SDES_END) {
                        let v = &item.value[..item.value.len().min(255)];
                        out.push(item.kind);
                        out.push(v.len() as u8);
                        out.extend_from_slice(v);
                    }
                    // END plus null padding to a 32-bit boundary (at least one null).
                    out.push(SDES_END);
                    while (out.len() - chunk_start) & 3 != 0 {
                        out.push(0);
                    }
                }
                (PT_SDES, n)
            }
            RtcpPacket::Bye(bye) => {
                let n = bye.sources.len().min(31);
                bye.sources[..n]
                    .iter()
                    .for_each(|s| out.extend_from_slice(&s.to_be_bytes()));
                if let Some(reason) = &bye.reason {
                    let r = &reason[..reason.len().min(255)];
                    out.push(r.len() as u8);
                    out.extend_from_slice(r);
                    while (out.len() - start) & 3 != 0 {
                        out.push(0);
                    }
                }
                (PT_BYE, n)
            }
            RtcpPacket::Other {
                packet_type,
                count,
                body,
            } => {
                out.extend_from_slice(body);
                while (out.len() - start) & 3 != 0 {
                    out.push(0);
                }
                (*packet_type, (*count & 0x1F) as usize)
            }
        };
        let words = (out.len() - start) / 4 - 1;
        // Bodies longer than 256 KiB cannot be expressed; only `Other` could get there.
        let words = words.min(u16::MAX as usize) as u16;
        out[start] = 0x80 | count as u8;
        out[start + 1] = pt;
        out[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
    }
}

/// Serialize packets back to back as one compound datagram.
pub fn write_compound(packets: &[RtcpPacket], out: &mut Vec<u8>) {
    for p in packets {
        p.write(out);
    }
}

/// RFC 3550 A.1 constants.
const MAX_DROPOUT: u16 = 3000;
const MAX_MISORDER: u16 = 100;
const MIN_SEQUENTIAL: u32 = 2;
const RTP_SEQ_MOD: u32 = 1 << 16;

/// What a receiver keeps about one far-end source (RFC 3550 A.1, A.3, A.8).
#[derive(Debug, Clone)]
pub struct ReceptionStats {
    ssrc: u32,
    clock_rate: u32,
    /// Reference instant for arrival times in timestamp units.
    epoch: Instant,
    max_seq: u16,
    /// Sequence number wraps, shifted (count << 16), as in A.1.
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u32,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    /// Last relative transit time, timestamp units (wrapping).
    transit: Option<u32>,
    /// A.8 jitter estimate, timestamp units.
    jitter: f64,
    /// Middle 32 bits of the last SR's NTP time and when it arrived.
    last_sr: Option<(u32, Instant)>,
    /// Valid packets, probation included (for display).
    packets: u64,
}

impl ReceptionStats {
    /// Start tracking `ssrc`, whose first packet carries `seq` (A.1: on probation until
    /// MIN_SEQUENTIAL = 2 packets in sequence were seen).
    pub fn new(ssrc: u32, seq: u16, clock_rate: u32, epoch: Instant) -> Self {
        let mut s = ReceptionStats {
            ssrc,
            clock_rate: clock_rate.max(1),
            epoch,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: 0,
            probation: MIN_SEQUENTIAL,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter: 0.0,
            last_sr: None,
            packets: 0,
        };
        s.init_seq(seq);
        s.max_seq = seq.wrapping_sub(1);
        s
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = seq as u32;
        self.max_seq = seq;
        self.bad_seq = RTP_SEQ_MOD + 1; // so seq == bad_seq is false
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Account for one RTP packet. Returns false when A.1 does not count it (probation, or
    /// a big jump in sequence numbers not yet confirmed by a second packet).
    pub fn update(&mut self, seq: u16, timestamp: u32, arrival: Instant) -> bool {
        let counted = self.update_seq(seq);
        if counted {
            self.packets += 1;
            self.update_jitter(timestamp, arrival);
        } else if self.probation > 0 {
            // Probation packets are real audio for the display count.
            self.packets += 1;
        }
        counted
    }

    fn update_seq(&mut self, seq: u16) -> bool {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return true;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return false;
        } else if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(RTP_SEQ_MOD);
            }
            self.max_seq = seq;
        } else if udelta as u32 <= RTP_SEQ_MOD - MAX_MISORDER as u32 {
            // A very large jump: a restart if the next packet confirms it.
            if seq as u32 == self.bad_seq {
                self.init_seq(seq);
                self.transit = None;
            } else {
                self.bad_seq = (seq as u32 + 1) & (RTP_SEQ_MOD - 1);
                return false;
            }
        } else {
            // Duplicate or reordered packet: counted, max unchanged.
        }
        self.received = self.received.wrapping_add(1);
        true
    }

    fn update_jitter(&mut self, timestamp: u32, arrival: Instant) {
        let since = arrival.saturating_duration_since(self.epoch);
        let arrival_ts = (since.as_nanos() * self.clock_rate as u128 / 1_000_000_000) as u32;
        let transit = arrival_ts.wrapping_sub(timestamp);
        if let Some(prev) = self.transit {
            let d = (transit.wrapping_sub(prev) as i32).unsigned_abs() as f64;
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.transit = Some(transit);
    }

    /// Note a sender report from this source, received at `arrival`.
    pub fn on_sender_report(&mut self, ntp: NtpTime, arrival: Instant) {
        self.last_sr = Some((ntp.middle32(), arrival));
    }

    /// Extended highest sequence number received.
    pub fn extended_max(&self) -> u32 {
        self.cycles.wrapping_add(self.max_seq as u32)
    }

    /// Packets expected (A.3); 0 while on probation.
    pub fn expected(&self) -> u32 {
        if self.probation > 0 {
            return 0;
        }
        self.extended_max()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1)
    }

    /// Packets counted as received by A.1.
    pub fn received(&self) -> u32 {
        self.received
    }

    /// Valid packets from this source, including the ones A.1 keeps out (probation).
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Cumulative lost (expected − received; negative with duplicates).
    pub fn cumulative_lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// Fraction lost since the last [`Self::report_block`], 1/256 (A.3), without resetting.
    pub fn fraction_lost_now(&self) -> u8 {
        let expected_interval = self.expected().wrapping_sub(self.expected_prior);
        let received_interval = self.received.wrapping_sub(self.received_prior);
        let lost_interval = expected_interval as i64 - received_interval as i64;
        if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        }
    }

    /// Interarrival jitter in timestamp units.
    pub fn jitter(&self) -> u32 {
        self.jitter as u32
    }

    /// Interarrival jitter in ms.
    pub fn jitter_ms(&self) -> f32 {
        (self.jitter * 1000.0 / self.clock_rate as f64) as f32
    }

    /// The report block about this source as of `now`; starts a new loss interval.
    pub fn report_block(&mut self, now: Instant) -> ReportBlock {
        let fraction_lost = self.fraction_lost_now();
        self.expected_prior = self.expected();
        self.received_prior = self.received;
        let (lsr, dlsr) = match self.last_sr {
            Some((lsr, at)) => (
                lsr,
                duration_to_ntp_short(now.saturating_duration_since(at)),
            ),
            None => (0, 0),
        };
        ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: self.cumulative_lost().clamp(-0x80_0000, 0x7F_FFFF) as i32,
            extended_highest_seq: self.extended_max(),
            jitter: self.jitter(),
            lsr,
            dlsr,
        }
    }
}

/// Round-trip time from a report block about us, received when our NTP clock read `now`
/// (RFC 3550 §6.4.1 / A.8: `A − LSR − DLSR`). `None` when the block has no LSR or the result
/// is negative (clock or peer bug).
pub fn round_trip_time(now: NtpTime, block: &ReportBlock) -> Option<Duration> {
    if block.lsr == 0 {
        return None;
    }
    let rtt = now
        .middle32()
        .wrapping_sub(block.lsr)
        .wrapping_sub(block.dlsr);
    if rtt >= 0x8000_0000 {
        return None;
    }
    Some(duration_from_ntp_short(rtt))
}

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
pub enum RtcpEvent {
    /// The far end left (BYE naming its SSRC).
    Bye { ssrc: u32, reason: Option<String> },
    /// A new round-trip time from a report block about us.
    Rtt(Duration),
    /// The far end's CNAME.
    Cname { ssrc: u32, cname: String },
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
            concealed_ms: 0,
            playout_delay: Duration::ZERO,
            events: VecDeque::new(),
        };
        // First report after half the interval (§6.2: the initial minimum is halved).
        let first = s.randomized(s.cfg.interval / 2);
        s.next_report = now + first;
        s
    }

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
                if let Some(rtt) = round_trip_time(self.ntp(now), b) {
                    self.rtt = Some(rtt);
                    self.events.push_back(RtcpEvent::Rtt(rtt));
                }
            }
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_conversions() {
        let t = NtpTime::from_unix(Duration::new(1, 500_000_000));
        assert_eq!(t.0 >> 32, NTP_UNIX_OFFSET + 1);
        assert_eq!(t.0 as u32, 0x8000_0000);
        assert_eq!(t.middle32() & 0xFFFF, 0x8000);
        assert_eq!(duration_to_ntp_short(Duration::from_millis(500)), 0x8000);
        assert_eq!(
            duration_from_ntp_short(0x0001_8000),
            Duration::from_millis(1500)
        );
        assert_eq!(
            t.plus(Duration::from_millis(500)).0 >> 32,
            NTP_UNIX_OFFSET + 2
        );
    }

    #[test]
    fn report_block_sign_extends_cumulative_lost() {
        for lost in [0, 1, -1, 0x7F_FFFF, -0x80_0000, 1234, -77] {
            let b = ReportBlock {
                ssrc: 1,
                cumulative_lost: lost,
                ..Default::default()
            };
            let mut out = Vec::new();
            b.write(&mut out);
            assert_eq!(ReportBlock::parse(&out).unwrap().cumulative_lost, lost);
        }
        // Out-of-range values are clamped on the wire.
        let b = ReportBlock {
            cumulative_lost: 0x100_0000,
            ..Default::default()
        };
        let mut out = Vec::new();
        b.write(&mut out);
        assert_eq!(ReportBlock::parse(&out).unwrap().cumulative_lost, 0x7F_FFFF);
    }

    #[test]
    fn rtt_example_from_rfc3550() {
        // §6.4.1 figure: A = 0xb710:8000 (46864.500 s), DLSR = 0x0005:4000 (5.250 s),
        // LSR = 46853.125 s (the figure prints 0xb705:2030; 0.125 s is exactly 0x2000):
        // RTT = 6.125 s.
        let now = NtpTime(0xb710_8000u64 << 16);
        let block = ReportBlock {
            lsr: 0xb705_2000,
            dlsr: 0x0005_4000,
            ..Default::default()
        };
        assert_eq!(now.middle32(), 0xb710_8000);
        assert_eq!(
            round_trip_time(now, &block),
            Some(Duration::from_millis(6125))
        );
        let none = ReportBlock::default();
        assert_eq!(round_trip_time(now, &none), None);
    }
}
