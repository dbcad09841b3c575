//! Request methods (RFC 3261 §7.1 and extensions).

use super::SipStr;
use std::fmt;

/// A SIP method. Methods are case-sensitive tokens (RFC 3261 §7.1); unknown ones are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `INVITE`: starts a call or changes its session.
    Invite,
    /// `ACK`: confirms a final response to an INVITE.
    Ack,
    /// `BYE`: ends a call.
    Bye,
    /// `CANCEL`: stops a pending INVITE.
    Cancel,
    /// `REGISTER`: binds an address of record to a contact.
    Register,
    /// `OPTIONS`: asks for capabilities.
    Options,
    /// `INFO`: carries mid-call information (DTMF).
    Info,
    /// `UPDATE`: changes a session without an INVITE (RFC 3311).
    Update,
    /// `PRACK`: acknowledges a reliable provisional response (RFC 3262).
    Prack,
    /// `SUBSCRIBE`: asks for event notifications (RFC 6665).
    Subscribe,
    /// `NOTIFY`: reports an event (RFC 6665).
    Notify,
    /// `REFER`: asks for a transfer (RFC 3515).
    Refer,
    /// `MESSAGE`: carries an instant message (RFC 3428).
    Message,
    /// `PUBLISH`: publishes event state (RFC 3903).
    Publish,
    /// Any other method, as written.
    Other(SipStr),
}

impl Method {
    /// The method as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Prack => "PRACK",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Refer => "REFER",
            Method::Message => "MESSAGE",
            Method::Publish => "PUBLISH",
            Method::Other(s) => s.as_str(),
        }
    }

    /// Maps a token to a method; the caller has checked it is a valid `token`.
    #[inline]
    pub fn from_token(s: &str) -> Method {
        match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "UPDATE" => Method::Update,
            "PRACK" => Method::Prack,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "REFER" => Method::Refer,
            "MESSAGE" => Method::Message,
            "PUBLISH" => Method::Publish,
            other => Method::Other(SipStr::from(other)),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
