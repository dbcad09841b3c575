//! RTCP on the wire (RFC 3550 §6.4-6.6, A.2): SR, RR and their report blocks, SDES, BYE,
//! others kept opaque; compound parsing and writing; NTP timestamps.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const PT_SR: u8 = 200;
pub const PT_RR: u8 = 201;
pub const PT_SDES: u8 = 202;
pub const PT_BYE: u8 = 203;

/// SDES item types (§6.5).
pub const SDES_END: u8 = 0;
pub const SDES_CNAME: u8 = 1;

/// Why a datagram is not valid RTCP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtcpError {
    #[error("empty RTCP datagram")]
    /// Nothing in the datagram.
    Empty,
    /// Fewer than 4 bytes where a packet header should start.
    #[error("{len} bytes left at offset {offset}: shorter than an RTCP header")]
    ShortHeader {
        /// Where the packet starts in the datagram.
        offset: usize,
        /// Bytes left from there.
        len: usize,
    },
    /// A version other than 2.
    #[error("RTCP version {version} at offset {offset} (expected 2)")]
    BadVersion {
        /// Where the packet starts in the datagram.
        offset: usize,
        /// The version it gives.
        version: u8,
    },
    /// A length field past the end of the datagram.
    #[error("RTCP packet at offset {offset} claims {claimed} bytes, only {available} left")]
    Truncated {
        /// Where the packet starts in the datagram.
        offset: usize,
        /// Its length field, in bytes.
        claimed: usize,
        /// Bytes left from there.
        available: usize,
    },
    /// Padding on a packet other than the last (A.2); the packet's offset.
    #[error("padding bit set on the RTCP packet at offset {0}, which is not the last")]
    PaddingNotLast(usize),
    /// A padding count of zero or longer than the packet.
    #[error("bad padding count {pad} in the RTCP packet at offset {offset}")]
    BadPadding {
        /// Where the packet starts in the datagram.
        offset: usize,
        /// The padding count it gives.
        pad: usize,
    },
    /// A known packet type whose body does not add up.
    #[error("malformed RTCP packet type {packet_type}: {reason}")]
    Malformed {
        /// The packet type (200 SR, 201 RR, 202 SDES, 203 BYE).
        packet_type: u8,
        /// What is wrong.
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
    /// The sender's SSRC.
    pub ssrc: u32,
    /// Wall-clock time of the report.
    pub ntp: NtpTime,
    /// The same instant on the RTP clock.
    pub rtp_timestamp: u32,
    /// RTP packets sent so far (wraps).
    pub packet_count: u32,
    /// RTP payload octets sent so far (wraps).
    pub octet_count: u32,
    /// At most 31 are written.
    pub reports: Vec<ReportBlock>,
}

/// Receiver report (§6.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiverReport {
    /// The reporter's SSRC.
    pub ssrc: u32,
    /// At most 31 are written.
    pub reports: Vec<ReportBlock>,
}

/// One SDES item: type (1 = CNAME ... 8 = PRIV) and its text (at most 255 bytes written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesItem {
    /// Item type (1 CNAME, 2 NAME, ... 8 PRIV).
    pub kind: u8,
    /// Item text.
    pub value: Vec<u8>,
}

/// One SDES chunk: a source and its items.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SdesChunk {
    /// The source described.
    pub ssrc: u32,
    /// Its items.
    pub items: Vec<SdesItem>,
}

/// Source description (§6.5). At most 31 chunks are written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sdes {
    /// One chunk per source.
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
    /// The sources leaving.
    pub sources: Vec<u32>,
    /// Why, if given (at most 255 bytes written).
    pub reason: Option<Vec<u8>>,
}

/// One RTCP packet of a compound datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket {
    /// Sender report (PT 200).
    SenderReport(SenderReport),
    /// Receiver report (PT 201).
    ReceiverReport(ReceiverReport),
    /// Source description (PT 202).
    Sdes(Sdes),
    /// Goodbye (PT 203).
    Bye(Bye),
    /// APP, feedback, XR...: header count field and body (padding removed).
    Other {
        /// Its packet type.
        packet_type: u8,
        /// The header's count field.
        count: u8,
        /// The body after the 4-byte header.
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
}
