//! One call as the controller keeps it: what the page sees (state, remote party, times,
//! mute, hold) and the media side (SDP session, local RTP address, negotiated codec).

use crate::sdp::CallSdp;
use crate::wallclock::rfc3339;
use media::Negotiated;
use signaling::CallHandle;
use std::net::SocketAddr;
use std::sync::OnceLock;
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
        direction: Direction,
        remote: Remote,
        started_at: SystemTime,
        sdp: CallSdp,
        local_rtp: SocketAddr,
    ) -> Self {
        CallRecord {
            handle,
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

    pub fn id(&self) -> String {
        call_id(self.handle)
    }

    pub fn is_live(&self) -> bool {
        self.state != CallState::Ended
    }

    pub fn view(&self) -> CallView {
        CallView {
            id: self.id(),
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
        }
    }
}

/// The longest run prefix kept: ids stay short (the bridge takes up to 128 characters).
const MAX_RUN_PREFIX: usize = 32;

/// The prefix naming this agent run in call ids. One agent process is one run with one
/// [`crate::Phone`], whose constructor sets it; a process-wide value lets every place that
/// names a call (events, logs, the media driver's file names) do so the same way. The first
/// prefix set stays.
static RUN_PREFIX: OnceLock<String> = OnceLock::new();

/// Sets the run prefix (letters, digits, `-` and `_` kept; at most 32 characters).
pub(crate) fn set_run_prefix(prefix: &str) {
    let clean: String = prefix
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(MAX_RUN_PREFIX)
        .collect();
    let _ = RUN_PREFIX.set(clean);
}

fn run_prefix() -> &'static str {
    RUN_PREFIX.get().map_or("", String::as_str)
}

/// The page's id of a call: the run prefix, `c` and the handle (`r12c7`), so ids are unique
/// across agent runs, URL-safe and short.
pub fn call_id(handle: CallHandle) -> String {
    format_id(run_prefix(), handle)
}

/// The handle an id names, if it is one of this run's in form (an id from an earlier run
/// names no call of this one).
pub fn parse_call_id(id: &str) -> Option<CallHandle> {
    parse_id(run_prefix(), id)
}

fn format_id(run: &str, handle: CallHandle) -> String {
    format!("{run}c{}", handle.0)
}

fn parse_id(run: &str, id: &str) -> Option<CallHandle> {
    let digits = id.strip_prefix(run)?.strip_prefix('c')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(CallHandle)
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
        let id = format_id("r12", CallHandle(7));
        assert_eq!(id, "r12c7");
        assert_eq!(parse_id("r12", &id), Some(CallHandle(7)));
        for other_run in ["r1", "r123", ""] {
            assert_eq!(parse_id(other_run, &id), None, "{other_run}");
        }
        for bad in ["r12c", "r12c+7", "r12c7x", "r12x7", "c7"] {
            assert_eq!(parse_id("r12", bad), None, "{bad}");
        }
        assert_eq!(parse_id("", "c7"), Some(CallHandle(7)));
    }
}
