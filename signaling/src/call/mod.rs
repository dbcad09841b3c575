//! Calls, sans-IO: INVITE dialogs as UAC and UAS (RFC 3261 §12-15), reliable provisional
//! responses (RFC 3262), session timers (RFC 4028), in-dialog INFO/OPTIONS/UPDATE, and
//! transfer by REFER (RFC 3515, with Replaces from RFC 3891).
//!
//! A [`UserAgent`] owns the [`Endpoint`](crate::endpoint::Endpoint) (transactions and
//! registration) and every call. The application (the call controller) gives it commands
//! (`dial`, `answer`, `hangup`, `reinvite`, `refer`, ...) with SDP bodies it built itself, and
//! polls [`CallEvent`]s. Signaling never looks inside SDP: offers and answers are opaque bytes.

mod body;
mod dialog;
mod dtmf;
mod in_dialog;
mod reason;
mod retry;
mod session_timer;
mod ua;
mod uac;
mod uas;

pub use reason::{EndKind, EndReason};
pub use ua::{UaConfig, UaEvent, UserAgent};
pub use uac::DialOptions;

use crate::message::typed::NameAddr;
use bytes::Bytes;
use std::fmt;

/// The application's handle on one call (stable for the call's life, never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallHandle(pub u64);

impl fmt::Display for CallHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which side started the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallDirection {
    Inbound,
    Outbound,
}

/// Settings for calls (RFC 4028 session timers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallSettings {
    /// The session interval we ask for, in seconds (0 disables session timers).
    pub session_expires: u32,
    /// The smallest session interval we accept (RFC 4028 requires at least 90).
    pub min_se: u32,
}

impl Default for CallSettings {
    fn default() -> Self {
        CallSettings {
            session_expires: 1800,
            min_se: 90,
        }
    }
}

/// What the user agent tells the application about its calls.
// Events are moved once from the core to the driver; boxing would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// A new inbound call; it is ringing (180 sent). `offer` is the caller's SDP (None for a
    /// late-offer INVITE: then `answer` must carry our offer). `replaces` names the call this
    /// one replaces (RFC 3891, attended transfer landing on us).
    Incoming {
        call: CallHandle,
        from: NameAddr,
        to: NameAddr,
        offer: Option<Bytes>,
        replaces: Option<CallHandle>,
    },
    /// An outbound call progressed: 180/183. `sdp` is early media's answer, if any.
    Progress {
        call: CallHandle,
        status: u16,
        sdp: Option<Bytes>,
    },
    /// The call is answered. Outbound: `sdp` is the far end's answer from the 2xx. Inbound:
    /// `sdp` is the answer from the ACK when we made the offer in the 2xx (late offer).
    Answered {
        call: CallHandle,
        sdp: Option<Bytes>,
    },
    /// The far end sent a new offer (re-INVITE or UPDATE with SDP), or asked for one
    /// (`offer` None); reply with [`UserAgent::answer_reoffer`] or
    /// [`UserAgent::reject_reoffer`].
    RemoteReoffer {
        call: CallHandle,
        offer: Option<Bytes>,
    },
    /// Our re-INVITE was answered (2xx with the far end's SDP answer).
    ReofferAccepted {
        call: CallHandle,
        sdp: Option<Bytes>,
    },
    /// Our re-INVITE was refused; the previous session description stays.
    ReofferRejected { call: CallHandle, status: u16 },
    /// A DTMF digit arrived by SIP INFO.
    Dtmf {
        call: CallHandle,
        digit: char,
        duration_ms: u32,
    },
    /// Our DTMF INFO was refused (`status`) or not answered (408, 503): `digits` did not
    /// arrive (the refused one, then those dropped after it).
    DtmfFailed {
        call: CallHandle,
        status: u16,
        digits: String,
    },
    /// Progress of a transfer we asked for (REFER): `status` is the transfer target's SIP
    /// status as reported by NOTIFY (100, 180, 200, 486...), or the REFER's own failure.
    TransferProgress {
        call: CallHandle,
        status: u16,
        /// The transfer is over (succeeded or failed); `status` says which.
        done: bool,
    },
    /// The far end asked us to call `target` (REFER). Accepted with 202 already; the
    /// application dials it and the user agent reports the result to the referrer when the
    /// new call ends its setup.
    TransferRequested {
        call: CallHandle,
        target: crate::message::Uri,
        replaces: Option<String>,
    },
    /// The call is over; the handle is no longer valid.
    Ended { call: CallHandle, reason: EndReason },
}

/// Why a call command was refused. The call is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("no such call")]
    UnknownCall,
    #[error("not possible while the call is {state}")]
    InvalidState { state: &'static str },
    #[error("cannot call {target}: {reason}")]
    BadTarget { target: String, reason: String },
    #[error("another offer/answer exchange is still in progress")]
    OfferPending,
    #[error("internal: {0}")]
    Internal(String),
}
