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
    /// The far end called us.
    Inbound,
    /// We called the far end.
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
#[non_exhaustive]
pub enum CallEvent {
    /// A new inbound call; it is ringing (180 sent). `offer` is the caller's SDP (None for a
    /// late-offer INVITE: then `answer` must carry our offer). `replaces` names the call this
    /// one replaces (RFC 3891, attended transfer landing on us).
    Incoming {
        /// The new call.
        call: CallHandle,
        /// The caller (From).
        from: NameAddr,
        /// Whom it called (To).
        to: NameAddr,
        /// The caller's SDP offer, if the INVITE carried one.
        offer: Option<Bytes>,
        /// The call this one replaces, if any.
        replaces: Option<CallHandle>,
    },
    /// An outbound call progressed: 180/183. `sdp` is early media's answer, if any.
    Progress {
        /// The call.
        call: CallHandle,
        /// The provisional status (180, 183).
        status: u16,
        /// Early media's SDP answer, if any.
        sdp: Option<Bytes>,
    },
    /// The call is answered. Outbound: `sdp` is the far end's answer from the 2xx. Inbound:
    /// `sdp` is the answer from the ACK when we made the offer in the 2xx (late offer).
    Answered {
        /// The call.
        call: CallHandle,
        /// The SDP answer that completes offer/answer, if this message carried it.
        sdp: Option<Bytes>,
    },
    /// The far end sent a new offer (re-INVITE or UPDATE with SDP), or asked for one
    /// (`offer` None); reply with [`UserAgent::answer_reoffer`] or
    /// [`UserAgent::reject_reoffer`].
    RemoteReoffer {
        /// The call.
        call: CallHandle,
        /// The far end's new offer; None when it asks us for one.
        offer: Option<Bytes>,
    },
    /// We reach the PBX over a new connection (at a new address): send the far end a new
    /// offer with [`UserAgent::reinvite`], whose Contact tells it where we are now.
    TargetRefreshNeeded {
        /// The call.
        call: CallHandle,
    },
    /// The session timer (RFC 4028) is due and the far end does not take UPDATE: send it
    /// the same offer as now with [`UserAgent::reinvite`] (which carries Session-Expires),
    /// so that its answer goes through offer/answer like any other ([`Self::ReofferAccepted`]).
    /// Until the answer, the session's expiry is still watched.
    SessionRefreshNeeded {
        /// The call.
        call: CallHandle,
    },
    /// Our re-INVITE was answered (2xx with the far end's SDP answer).
    ReofferAccepted {
        /// The call.
        call: CallHandle,
        /// The far end's SDP answer.
        sdp: Option<Bytes>,
    },
    /// Our re-INVITE was refused; the previous session description stays.
    ReofferRejected {
        /// The call.
        call: CallHandle,
        /// The far end's refusal.
        status: u16,
    },
    /// A DTMF digit arrived by SIP INFO.
    Dtmf {
        /// The call.
        call: CallHandle,
        /// The digit (`0`-`9`, `*`, `#`, `A`-`D`).
        digit: char,
        /// How long the key was pressed.
        duration_ms: u32,
    },
    /// Our DTMF INFO was refused (`status`) or not answered (408, 503): `digits` did not
    /// arrive (the refused one, then those dropped after it).
    DtmfFailed {
        /// The call.
        call: CallHandle,
        /// The refusal's status (408 or 503 when unanswered).
        status: u16,
        /// The digits that did not arrive.
        digits: String,
    },
    /// Progress of a transfer we asked for (REFER): `status` is the transfer target's SIP
    /// status as reported by NOTIFY (100, 180, 200, 486...), or the REFER's own failure.
    TransferProgress {
        /// The call whose far end we asked to transfer.
        call: CallHandle,
        /// The transfer target's status (or the REFER's failure).
        status: u16,
        /// The transfer is over (succeeded or failed); `status` says which.
        done: bool,
    },
    /// The far end asked us to call `target` (REFER). Accepted with 202 already; the
    /// application dials it and the user agent reports the result to the referrer when the
    /// new call ends its setup.
    TransferRequested {
        /// The call whose far end sent the REFER.
        call: CallHandle,
        /// Whom to call.
        target: crate::message::Uri,
        /// A `Replaces` value for the new call (attended transfer), if any.
        replaces: Option<String>,
    },
    /// The call is over; the handle is no longer valid.
    Ended {
        /// The call (its handle is now invalid).
        call: CallHandle,
        /// Why it ended.
        reason: EndReason,
    },
}

/// Why a call command was refused. The call is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    #[error("no such call")]
    /// The handle names no call (it ended, or never existed).
    UnknownCall,
    #[error("not possible while the call is {state}")]
    /// The call is not in a state that allows this command.
    InvalidState {
        /// The call's state, in words (`ringing`, `connected`...).
        state: &'static str,
    },
    #[error("cannot call {target}: {reason}")]
    /// The dial target cannot be called.
    BadTarget {
        /// The target as given.
        target: String,
        /// Why not.
        reason: String,
    },
    #[error("another offer/answer exchange is still in progress")]
    /// An offer/answer exchange is still under way; try again when it ends.
    OfferPending,
    #[error("internal: {0}")]
    /// The request could not be built or sent (a bug, or the transaction layer refused it).
    Internal(String),
}
