//! Via (RFC 3261 §20.42, rport RFC 3581).

use crate::message::{Host, Params, SipStr};

/// The transport token of a Via sent-protocol (`SIP/2.0/UDP`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
    Sctp,
    Ws,
    Wss,
    Other(SipStr),
}

/// One Via element: `SIP/2.0/UDP host:port;branch=z9hG4bK...;rport;received=...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    pub transport: Transport,
    pub host: Host,
    pub port: Option<u16>,
    pub params: Params,
}

impl Via {
    pub fn branch(&self) -> Option<&str> {
        self.params.value("branch")
    }
    pub fn received(&self) -> Option<&str> {
        self.params.value("received")
    }
    /// `None` when absent, `Some(None)` for a bare `;rport`, `Some(Some(p))` when filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params.get("rport").map(|v| v.and_then(|p| p.parse().ok()))
    }
}
