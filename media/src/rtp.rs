//! RTP (RFC 3550) fixed header: parse, build, and the sender's sequence/timestamp state.
//!
//! Own code (about a hundred lines) rather than the `rtp` crate: only the fixed header is
//! needed, and parsing borrows the payload without copying (the crate's parse copies it and
//! measured 5.6× slower per packet: docs/benchmarks.md, `media/benches/rtp_sdp_crates.rs`).

/// Fixed RTP header size.
pub const HEADER_LEN: usize = 12;

/// Why a datagram is not a usable RTP packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtpError {
    /// Shorter than the fixed header; its length.
    #[error("packet of {0} bytes is shorter than the 12-byte RTP header")]
    TooShort(usize),
    /// A version other than 2 (the version given).
    #[error("RTP version {0} (expected 2)")]
    BadVersion(u8),
    /// The CSRC list or the header extension runs past the end.
    #[error("CSRC list or header extension runs past the end of the packet")]
    Truncated,
    /// More padding than payload.
    #[error("padding count {pad} is larger than the {available}-byte payload")]
    BadPadding {
        /// The padding count.
        pad: usize,
        /// Payload bytes there are.
        available: usize,
    },
}

/// The fields of the fixed header that the media path uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// Marker bit: the first packet of a talkspurt (or of an RFC 4733 event).
    pub marker: bool,
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Sequence number (wraps).
    pub sequence: u16,
    /// Media timestamp, in clock-rate ticks (wraps).
    pub timestamp: u32,
    /// Synchronization source.
    pub ssrc: u32,
}

/// A parsed packet borrowing its payload (CSRCs, extension and padding skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// The fixed header.
    pub header: RtpHeader,
    /// The payload, without padding.
    pub payload: &'a [u8],
}

impl<'a> RtpPacket<'a> {
    /// Parse a datagram. Never panics.
    pub fn parse(buf: &'a [u8]) -> Result<RtpPacket<'a>, RtpError> {
        if buf.len() < HEADER_LEN {
            return Err(RtpError::TooShort(buf.len()));
        }
        let version = buf[0] >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        let padding = buf[0] & 0x20 != 0;
        let extension = buf[0] & 0x10 != 0;
        let csrc_count = (buf[0] & 0x0F) as usize;
        let header = RtpHeader {
            marker: buf[1] & 0x80 != 0,
            payload_type: buf[1] & 0x7F,
            sequence: u16::from_be_bytes([buf[2], buf[3]]),
            timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
            ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
        };
        let mut start = HEADER_LEN + 4 * csrc_count;
        if extension {
            let ext = buf.get(start..start + 4).ok_or(RtpError::Truncated)?;
            let words = u16::from_be_bytes([ext[2], ext[3]]) as usize;
            start += 4 + 4 * words;
        }
        if start > buf.len() {
            return Err(RtpError::Truncated);
        }
        let mut end = buf.len();
        if padding {
            let pad = buf[end - 1] as usize;
            let available = end - start;
            if pad == 0 || pad > available {
                return Err(RtpError::BadPadding { pad, available });
            }
            end -= pad;
        }
        Ok(RtpPacket {
            header,
            payload: &buf[start..end],
        })
    }
}

impl RtpHeader {
    /// Append the 12-byte header (no CSRC, extension or padding) to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.push(0x80);
        out.push((self.payload_type & 0x7F) | if self.marker { 0x80 } else { 0 });
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
    }
}

/// Sender state: random SSRC and initial sequence/timestamp, marker on the first packet
/// (and after a pause in sending).
#[derive(Debug, Clone)]
pub struct RtpSender {
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    marker: bool,
}

impl Default for RtpSender {
    fn default() -> Self {
        Self::new()
    }
}

impl RtpSender {
    /// New stream with random SSRC, sequence and timestamp.
    pub fn new() -> Self {
        RtpSender {
            ssrc: rand::random(),
            sequence: rand::random(),
            timestamp: rand::random(),
            marker: true,
        }
    }

    /// A stream with the given SSRC, first sequence number and first timestamp (for
    /// replayable simulations; calls use [`RtpSender::new`]).
    pub fn starting_at(ssrc: u32, sequence: u16, timestamp: u32) -> Self {
        RtpSender {
            ssrc,
            sequence,
            timestamp,
            marker: true,
        }
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Build the next packet carrying `payload` (which covers `samples` clock ticks) into `out`.
    pub fn packet(&mut self, payload_type: u8, payload: &[u8], samples: u32, out: &mut Vec<u8>) {
        out.clear();
        RtpHeader {
            marker: self.marker,
            payload_type,
            sequence: self.sequence,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
        }
        .write(out);
        out.extend_from_slice(payload);
        self.marker = false;
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(samples);
    }

    /// The RTP timestamp the next audio packet will carry.
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }

    /// Build a packet with its own `timestamp` and `marker` (RFC 4733 events: every packet
    /// of an event carries the event's start time) into `out`; takes the next sequence
    /// number, leaves the audio clock alone.
    pub fn event_packet(
        &mut self,
        payload_type: u8,
        payload: &[u8],
        timestamp: u32,
        marker: bool,
        out: &mut Vec<u8>,
    ) {
        out.clear();
        RtpHeader {
            marker,
            payload_type,
            sequence: self.sequence,
            timestamp,
            ssrc: self.ssrc,
        }
        .write(out);
        out.extend_from_slice(payload);
        self.sequence = self.sequence.wrapping_add(1);
    }

    /// Advance the clock by `samples` without sending (time passes during hold); the next
    /// packet carries the marker bit (start of a talkspurt).
    pub fn skip(&mut self, samples: u32) {
        self.timestamp = self.timestamp.wrapping_add(samples);
        self.marker = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_then_parse() {
        let mut s = RtpSender::new();
        let mut out = Vec::new();
        s.packet(0, &[1, 2, 3], 160, &mut out);
        let p = RtpPacket::parse(&out).unwrap();
        assert!(p.header.marker);
        assert_eq!(p.header.payload_type, 0);
        assert_eq!(p.header.ssrc, s.ssrc());
        assert_eq!(p.payload, &[1, 2, 3]);
        let (seq, ts) = (p.header.sequence, p.header.timestamp);
        s.packet(8, &[4], 160, &mut out);
        let p = RtpPacket::parse(&out).unwrap();
        assert!(!p.header.marker);
        assert_eq!(p.header.payload_type, 8);
        assert_eq!(p.header.sequence, seq.wrapping_add(1));
        assert_eq!(p.header.timestamp, ts.wrapping_add(160));
        s.skip(160);
        s.packet(8, &[4], 160, &mut out);
        let p = RtpPacket::parse(&out).unwrap();
        assert!(p.header.marker);
        assert_eq!(p.header.timestamp, ts.wrapping_add(480));
    }

    #[test]
    fn csrc_extension_and_padding_are_skipped() {
        let mut b = vec![
            0x80 | 0x20 | 0x10 | 2,
            0x80 | 8,
            0,
            1,
            0,
            0,
            0,
            2,
            0,
            0,
            0,
            3,
        ];
        b.extend_from_slice(&[0xAA; 8]); // 2 CSRCs
        b.extend_from_slice(&[0xBE, 0xDE, 0, 1, 9, 9, 9, 9]); // extension, 1 word
        b.extend_from_slice(&[7, 7, 7]); // payload
        b.extend_from_slice(&[0, 0, 3]); // 3 bytes padding
        let p = RtpPacket::parse(&b).unwrap();
        assert_eq!(p.payload, &[7, 7, 7]);
        assert_eq!(p.header.payload_type, 8);
        assert!(p.header.marker);
        assert_eq!(p.header.sequence, 1);
        assert_eq!(p.header.timestamp, 2);
        assert_eq!(p.header.ssrc, 3);
    }

    #[test]
    fn garbage_is_a_typed_error() {
        assert_eq!(RtpPacket::parse(&[0x80; 5]), Err(RtpError::TooShort(5)));
        assert_eq!(RtpPacket::parse(&[0x40; 12]), Err(RtpError::BadVersion(1)));
        let mut csrc = vec![0x8F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        csrc.extend_from_slice(&[0; 8]);
        assert_eq!(RtpPacket::parse(&csrc), Err(RtpError::Truncated));
        let ext = [0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0, 5];
        assert_eq!(RtpPacket::parse(&ext), Err(RtpError::Truncated));
        let ext_head = [0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE];
        assert_eq!(RtpPacket::parse(&ext_head), Err(RtpError::Truncated));
        let pad = [0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 9];
        assert_eq!(
            RtpPacket::parse(&pad),
            Err(RtpError::BadPadding {
                pad: 9,
                available: 2
            })
        );
        let pad0 = [0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(
            RtpPacket::parse(&pad0),
            Err(RtpError::BadPadding { .. })
        ));
        // Padding flag on a header-only packet.
        assert!(RtpPacket::parse(&[0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn never_panics_on_any_short_input() {
        for first in 0..=255u8 {
            for len in 0..40 {
                let mut b = vec![first; len];
                if len > 0 {
                    b[0] = first;
                }
                let _ = RtpPacket::parse(&b);
            }
        }
    }
}
