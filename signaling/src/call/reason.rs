//! Why a call ended, in words a person reads (and a stable code for programs).

use std::fmt;

/// The kind of ending: a stable code for the page and call records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndKind {
    /// We hung up (BYE sent, or CANCEL before answer).
    LocalHangup,
    /// The far end hung up (BYE received).
    RemoteHangup,
    /// The caller gave up before we answered (CANCEL received).
    Missed,
    /// We declined an incoming call.
    Rejected,
    /// The far end was busy (486, 600).
    Busy,
    /// The far end or the PBX declined (603, 607, 608, 403).
    Declined,
    /// No such number (404, 410, 484, 485, 604).
    NotFound,
    /// The person or the route is not available now (480, 503).
    Unavailable,
    /// Nobody answered (408).
    NoAnswer,
    /// The PBX could not be reached or stopped answering.
    Network,
    /// The PBX refused our credentials.
    AuthFailed,
    /// The far end could not agree on media (488/415).
    Incompatible,
    /// The call was handed to someone else (transfer, or replaced by another call).
    Transferred,
    /// Session timer expired without a refresh (RFC 4028).
    SessionExpired,
    /// Any other failure (the status says which).
    Failed,
}

impl EndKind {
    /// The stable code the page and call records use (`hangup_local`, `busy`...).
    pub fn code(self) -> &'static str {
        match self {
            EndKind::LocalHangup => "hangup_local",
            EndKind::RemoteHangup => "hangup_remote",
            EndKind::Missed => "cancelled",
            EndKind::Rejected => "rejected",
            EndKind::Busy => "busy",
            EndKind::Declined => "declined",
            EndKind::NotFound => "not_found",
            EndKind::Unavailable => "unavailable",
            EndKind::NoAnswer => "no_answer",
            EndKind::Network => "network",
            EndKind::AuthFailed => "auth_failed",
            EndKind::Incompatible => "incompatible",
            EndKind::Transferred => "transferred",
            EndKind::SessionExpired => "session_expired",
            EndKind::Failed => "failed",
        }
    }
}

/// Why a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndReason {
    /// The kind of ending.
    pub kind: EndKind,
    /// The SIP status that ended it, when there was one.
    pub status: Option<u16>,
    /// A sentence for the agent.
    pub message: String,
}

impl EndReason {
    /// A reason of `kind`, with the SIP status when one ended the call.
    pub fn new(kind: EndKind, status: Option<u16>, message: impl Into<String>) -> Self {
        EndReason {
            kind,
            status,
            message: message.into(),
        }
    }

    /// The reason for a final failure response to our INVITE.
    pub fn from_status(status: u16, reason_phrase: &str) -> Self {
        let (kind, text) = match status {
            486 | 600 => (EndKind::Busy, "the line is busy"),
            603 | 607 | 608 => (EndKind::Declined, "the call was declined"),
            404 | 604 | 484 | 485 => (EndKind::NotFound, "the number does not exist"),
            410 => (EndKind::NotFound, "the number is no longer in service"),
            480 => (EndKind::Unavailable, "the person is not available"),
            408 => (EndKind::NoAnswer, "no answer"),
            487 => (EndKind::LocalHangup, "the call was cancelled"),
            401 | 407 => (EndKind::AuthFailed, "the PBX rejected our credentials"),
            403 => (EndKind::Declined, "the PBX does not allow this call"),
            488 | 606 | 415 => (EndKind::Incompatible, "no common audio codec"),
            503 => (
                EndKind::Unavailable,
                "the PBX is overloaded or has no route",
            ),
            _ => (EndKind::Failed, ""),
        };
        let message = if text.is_empty() {
            format!("the call failed: {status} {reason_phrase}")
        } else {
            format!("{text} ({status} {reason_phrase})")
        };
        EndReason::new(kind, Some(status), message)
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_read_as_words() {
        let busy = EndReason::from_status(486, "Busy Here");
        assert_eq!(busy.kind, EndKind::Busy);
        assert_eq!(busy.message, "the line is busy (486 Busy Here)");
        assert_eq!(
            EndReason::from_status(404, "Not Found").kind,
            EndKind::NotFound
        );
        assert_eq!(
            EndReason::from_status(603, "Decline").kind,
            EndKind::Declined
        );
        assert_eq!(EndReason::from_status(480, "x").kind, EndKind::Unavailable);
        let odd = EndReason::from_status(499, "Odd");
        assert_eq!(odd.kind, EndKind::Failed);
        assert_eq!(odd.message, "the call failed: 499 Odd");
    }
}
