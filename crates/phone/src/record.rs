//! One call as the controller keeps it: what the page sees (state, remote party, times,
//! mute, hold) and the media side (SDP session, local RTP address, negotiated codec).

use crate::sdp::CallSdp;
use crate::wallclock::rfc3339;
use media::Negotiated;
use signaling::CallHandle;
use std::net::SocketAddr;
use std::time::SystemTime;
use wire::{CallQuality, CallState, CallView, Direction, EndReason, Remote};

/// A call we placed because the far end asked us to (we are the transferee).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TransferOf {
    /// The call whose far end sent the REFER: told how this call went.
    pub referrer: CallHandle,
    pub reported: bool,
}

#[derive(Debug)]
pub(crate) struct CallRecord {
    pub handle: CallHandle,
    /// The page's id of the call (see [`CallIds`]), made once.
    pub id: String,
    pub direction: Direction,
    pub state: CallState,
    pub remote: Remote,
    pub started_at: SystemTime,
    pub answered_at: Option<SystemTime>,
    pub ended_at: Option<SystemTime>,
    pub muted: bool,
    pub on_hold_by_remote: bool,
    pub end_reason: Option<EndReason>,

    pub sdp: CallSdp,
    pub local_rtp: SocketAddr,
    /// The far end's offer of an inbound call, until we answer.
    pub offer: Option<bytes::Bytes>,
    pub negotiated: Option<Negotiated>,
    pub media_started: bool,
    /// Our re-INVITE in flight: `Some(true)` puts the call on hold, `Some(false)` resumes.
    pub hold_pending: Option<bool>,
    /// Digits to send once connected (an extension dialled as `x12`).
    pub post_dial: Option<String>,
    pub transfer_of: Option<TransferOf>,
    /// The media figures last reported (final once the stream stopped).
    pub quality: Option<CallQuality>,
}

impl CallRecord {
    /// A call just placed (dialing) or just arrived (ringing), with nothing happened yet.
    pub fn new(
        handle: CallHandle,
        id: String,
        direction: Direction,
        remote: Remote,
        started_at: SystemTime,
        sdp: CallSdp,
        local_rtp: SocketAddr,
    ) -> Self {
        CallRecord {
            handle,
            id,
            direction,
            state: match direction {
                Direction::Outbound => CallState::Dialing,
                Direction::Inbound => CallState::Ringing,
            },
            remote,
            started_at,
            answered_at: None,
            ended_at: None,
            muted: false,
            on_hold_by_remote: false,
            end_reason: None,
            sdp,
            local_rtp,
            offer: None,
            negotiated: None,
            media_started: false,
            hold_pending: None,
            post_dial: None,
            transfer_of: None,
            quality: None,
        }
    }

    pub fn is_live(&self) -> bool {
        self.state != CallState::Ended
    }

    pub fn view(&self) -> CallView {
        CallView {
            id: self.id.clone(),
            direction: self.direction,
            state: self.state,
            remote: self.remote.clone(),
            started_at: rfc3339(self.started_at),
            answered_at: self.answered_at.map(rfc3339),
            ended_at: self.ended_at.map(rfc3339),
            muted: self.muted,
            on_hold_by_remote: self.on_hold_by_remote,
            end_reason: self.end_reason.clone(),
            quality: self.quality.clone(),
            codec: self.negotiated.as_ref().map(|n| wire::CallCodec {
                name: n.codec.name().to_string(),
                payload_type: n.payload_type,
                clock_rate: n.codec.clock_rate(),
                sample_rate: n.codec.sample_rate(),
            }),
            encrypted: self.srtp_suite().is_some(),
            srtp_suite: self.srtp_suite().map(str::to_owned),
        }
    }

    /// The SRTP suite of the media in force, if encrypted.
    fn srtp_suite(&self) -> Option<&'static str> {
        self.negotiated
            .as_ref()
            .and_then(|n| n.srtp.as_ref())
            .map(|k| k.suite.name())
    }
}

/// The longest run prefix kept: ids stay short (the bridge takes up to 128 characters).
const MAX_RUN_PREFIX: usize = 32;

/// How this agent run names its calls for the page: the run prefix, `c` and the handle
/// (`r12c7`), so ids are unique across agent runs (the prefix comes from a persistent run
/// counter), URL-safe and short. An id from another run names no call of this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallIds {
    run: String,
}

impl CallIds {
    /// Ids prefixed with `run` (letters, digits, `-` and `_` kept; at most 32 characters).
    pub fn new(run: &str) -> CallIds {
        CallIds {
            run: run
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .take(MAX_RUN_PREFIX)
                .collect(),
        }
    }

    /// The page's id of a call.
    pub fn id(&self, handle: CallHandle) -> String {
        format!("{}c{}", self.run, handle.0)
    }

    /// The call an id names, if it is one of this run's in form.
    pub fn parse(&self, id: &str) -> Option<CallHandle> {
        let digits = id.strip_prefix(self.run.as_str())?.strip_prefix('c')?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(CallHandle)
    }
}

pub(crate) fn state_name(state: CallState) -> &'static str {
    match state {
        CallState::Dialing => "dialing",
        CallState::Ringing => "ringing",
        CallState::Early => "early",
        CallState::Connected => "connected",
        CallState::Held => "held",
        CallState::Ended => "ended",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_the_run_and_parse_back_only_within_it() {
        let ids = CallIds::new("r12");
        let id = ids.id(CallHandle(7));
        assert_eq!(id, "r12c7");
        assert_eq!(ids.parse(&id), Some(CallHandle(7)));
        for other_run in ["r1", "r123", ""] {
            assert_eq!(CallIds::new(other_run).parse(&id), None, "{other_run}");
        }
        for bad in ["r12c", "r12c+7", "r12c7x", "r12x7", "c7"] {
            assert_eq!(ids.parse(bad), None, "{bad}");
        }
        assert_eq!(CallIds::new("").parse("c7"), Some(CallHandle(7)));
        assert_eq!(
            CallIds::new("r<1>\n").id(CallHandle(2)),
            "r1c2",
            "only URL-safe characters"
        );
    }
}
