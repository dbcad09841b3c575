//! One call as the page sees it: state, direction, remote party, end reason, audio figures.

use serde::{Deserialize, Serialize};

/// Where a call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallState {
    /// Outbound: the request is on its way, nothing heard back yet.
    Dialing,
    /// Inbound: alerting here. Outbound: the far end is alerting.
    Ringing,
    /// Outbound: the far end plays early media (ringback, announcements).
    Early,
    /// Answered and talking.
    Connected,
    /// Put on hold by us.
    Held,
    /// Over; `end_reason` says why.
    Ended,
}

/// Who started the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// The other party of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remote {
    /// The number (or user part) to show and to search records by, e.g. `+4930123456`.
    pub number: String,
    /// The display name the network gave, if any.
    pub display_name: Option<String>,
    /// The full address, e.g. `sip:+4930123456@pbx.example`.
    pub uri: String,
}

/// Why a call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndReason {
    /// Machine-readable: `busy`, `declined`, `not_found`, `unavailable`, `no_answer`,
    /// `network`, `cancelled`, `hangup_local`, `hangup_remote`, `transferred`, `failed`;
    /// `unavailable_rejected` / `forwarded` for an inbound call turned away while the agent
    /// was not available.
    pub code: String,
    /// Words a person reads, e.g. `"+4930123456 is busy"`.
    pub message: String,
    /// The SIP status code behind it, when there was one.
    pub sip_status: Option<u16>,
}

/// One call as the page sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallView {
    /// Opaque, stable for the call's life, unique across agent runs (e.g. `r12c3`).
    pub id: String,
    pub direction: Direction,
    pub state: CallState,
    pub remote: Remote,
    /// RFC 3339 UTC, e.g. `2025-01-31T09:15:02Z`.
    pub started_at: String,
    pub answered_at: Option<String>,
    pub ended_at: Option<String>,
    /// Our microphone is muted for this call.
    pub muted: bool,
    /// The far end put us on hold.
    pub on_hold_by_remote: bool,
    /// Present once the call is `ended`.
    pub end_reason: Option<EndReason>,
    /// The audio figures last reported (about every 5 s while the media runs; the final ones
    /// once it stopped). Null before the media starts.
    #[serde(default)]
    pub quality: Option<CallQuality>,
    /// The audio codec negotiated (null until the offer/answer is done).
    #[serde(default)]
    pub codec: Option<CallCodec>,
    /// The call's media is SRTP-encrypted (SDES keys agreed in the offer/answer).
    #[serde(default)]
    pub encrypted: bool,
    /// The SRTP crypto suite when encrypted, e.g. `AES_CM_128_HMAC_SHA1_80`; else null.
    #[serde(default)]
    pub srtp_suite: Option<String>,
}

/// The audio codec a call negotiated, with its two rates: they differ for G.722, whose
/// RTP clock (what the SDP says, what timestamps count) is 8000 Hz while it samples at 16 kHz.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCodec {
    /// The SDP encoding name: `opus`, `G722`, `PCMU`, `PCMA`.
    pub name: String,
    /// The RTP payload type in use.
    pub payload_type: u8,
    /// RTP clock rate, Hz (8000 for G.711 and G.722, 48000 for Opus).
    pub clock_rate: u32,
    /// Rate of the audio the codec carries, Hz (8000 for G.711, 16000 for G.722, 48000
    /// for Opus).
    pub sample_rate: u32,
}

impl CallView {
    /// A call as it starts: not answered, not ended, not muted or held, no audio figures.
    pub fn new(
        id: String,
        direction: Direction,
        state: CallState,
        remote: Remote,
        started_at: String,
    ) -> CallView {
        CallView {
            id,
            direction,
            state,
            remote,
            started_at,
            answered_at: None,
            ended_at: None,
            muted: false,
            on_hold_by_remote: false,
            end_reason: None,
            quality: None,
            codec: None,
            encrypted: false,
            srtp_suite: None,
        }
    }
}

/// Audio figures of a call, receive direction unless said otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallQuality {
    /// RTP packets sent (audio and DTMF events).
    pub packets_sent: u64,
    /// Valid RTP packets received.
    pub packets_received: u64,
    /// Packets the far end sent that never arrived (RFC 3550).
    pub packets_lost: u64,
    /// Packets that arrived too late to play, or twice.
    pub late: u64,
    /// RFC 3550 interarrival jitter, ms (0.1 ms steps).
    pub jitter_ms: f64,
    /// Round-trip time from RTCP, ms; null until the far end reported on our stream.
    pub rtt_ms: Option<f64>,
    /// Received audio made up by loss concealment, ms.
    pub concealed_ms: u64,
    /// Delay the jitter buffer added to the last frame played, ms.
    pub playout_delay_ms: f64,
    /// E-model (ITU-T G.107) MOS estimate, 1.0-4.5 (0.01 steps).
    pub mos: f64,
    /// Datagrams dropped as junk on the media ports: not RTP, unknown payload type,
    /// oversized, unparsable RTCP.
    pub junk: u64,
    /// DTMF digits received in the media (RFC 4733).
    pub digits_received: u64,
    /// SRTP/SRTCP packets dropped because their authentication tag did not match.
    #[serde(default)]
    pub srtp_auth_failed: u64,
    /// SRTP/SRTCP packets dropped as replays.
    #[serde(default)]
    pub srtp_replayed: u64,
}

// The numbers are finite by construction (rounded counters and estimates), so equality is
// an equivalence; the status document and events compare as `Eq`.
impl Eq for CallQuality {}
