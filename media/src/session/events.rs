//! What a session reports: the call's figures ([`RtpStats`]) and its events
//! ([`StreamEvent`]).

use std::net::SocketAddr;

use crate::dtmf::ReceivedDigit;

/// Counters and quality figures of one stream. Bytes are RTP payload octets; packets count
/// when the session hands them to its driver.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RtpStats {
    /// RTP packets sent (audio and telephone-event).
    pub packets_sent: u64,
    /// Payload octets of `packets_sent`.
    pub bytes_sent: u64,
    /// Valid RTP packets with the negotiated codec or telephone-event payload type.
    pub packets_received: u64,
    /// Payload octets of `packets_received`.
    pub bytes_received: u64,
    /// Packets the peer sent that never came (RFC 3550 A.3, over every source seen).
    pub lost: u64,
    /// Duplicates and packets that came after their turn to play (not played).
    pub late: u64,
    /// Garbage, unknown payload type or oversized datagrams on the RTP port.
    pub dropped: u64,
    /// telephone-event packets (counted in `packets_received`).
    pub telephone_events: u64,
    /// DTMF digits received (RFC 4733).
    pub digits_received: u64,
    /// DTMF digits sent (RFC 4733), counted at their first end packet.
    pub digits_sent: u64,
    /// Audio payloads the decoder refused (corrupt Opus); their time is concealed.
    pub decode_errors: u64,
    /// Lost frames recovered from the next packet's in-band FEC (Opus).
    pub fec_recovered: u64,
    /// Milliseconds of received audio made up by packet-loss concealment.
    pub concealed_ms: u64,
    /// Frames not sent because the Opus encoder was in DTX (silence).
    pub dtx_frames: u64,
    /// RFC 3550 interarrival jitter of the received stream, ms.
    pub jitter_ms: f32,
    /// Delay the jitter buffer added to the last frame played, ms.
    pub playout_delay_ms: f32,
    /// Round-trip time from the peer's last RTCP report about us, ms.
    pub rtt_ms: Option<f32>,
    /// E-model MOS estimate (1.0-4.5) from loss, delay and codec.
    pub mos: f32,
    /// RTCP compound packets sent.
    pub rtcp_sent: u64,
    /// RTCP compound packets accepted.
    pub rtcp_received: u64,
    /// RTCP datagrams that did not parse.
    pub rtcp_dropped: u64,
    /// SRTP/SRTCP packets dropped because their authentication tag did not match (forged,
    /// corrupted, or keyed with another key).
    pub srtp_auth_failed: u64,
    /// SRTP/SRTCP packets dropped as replays (an index already seen, or too old).
    pub srtp_replayed: u64,
    /// Where we send now (latched source, else the SDP address).
    pub remote_addr: Option<SocketAddr>,
    /// Whether `remote_addr` was learnt from incoming RTP (symmetric RTP).
    pub latched: bool,
}

/// What a stream tells its owner as it happens.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StreamEvent {
    /// The peer sent a DTMF digit (RFC 4733), reported when its event ended.
    Digit(ReceivedDigit),
    /// The figures after each RTCP report (about every 5 s).
    Quality(RtpStats),
    /// The session ended; the final figures.
    Stopped(RtpStats),
    /// No RTP from the far end for `silent` while neither side holds the other: the media
    /// timeout ran out (again every further timeout while the silence lasts).
    MediaTimeout {
        /// How long since the last RTP packet (or the start of the wait).
        silent: std::time::Duration,
    },
}
