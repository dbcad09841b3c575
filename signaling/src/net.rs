//! Addresses shared by the sans-IO cores and the transport drivers.

use bytes::Bytes;
use std::fmt;
use std::net::SocketAddr;

/// The transport a message travels on. Reliable transports (TCP, TLS) need no retransmissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP (RFC 3261 §26.2, `SIP/2.0/TLS` in Via).
    Tls,
}

impl TransportKind {
    /// Whether the transport retransmits for us (no SIP retransmissions then).
    pub fn is_reliable(self) -> bool {
        matches!(self, TransportKind::Tcp | TransportKind::Tls)
    }
    /// The token used in Via (`SIP/2.0/UDP`).
    pub fn via_token(self) -> &'static str {
        match self {
            TransportKind::Udp => "UDP",
            TransportKind::Tcp => "TCP",
            TransportKind::Tls => "TLS",
        }
    }
    /// The `transport=` URI parameter that names it in a Contact, if one is needed (UDP is
    /// the default of a `sip:` URI).
    pub fn uri_param(self) -> Option<&'static str> {
        match self {
            TransportKind::Udp => None,
            TransportKind::Tcp => Some("tcp"),
            TransportKind::Tls => Some("tls"),
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Udp => "udp",
            TransportKind::Tcp => "tcp",
            TransportKind::Tls => "tls",
        })
    }
}

/// The far end of a hop: where a message came from or goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// The transport.
    pub transport: TransportKind,
    /// The address.
    pub addr: SocketAddr,
}

impl Peer {
    /// `addr` over UDP.
    pub fn udp(addr: SocketAddr) -> Self {
        Peer {
            transport: TransportKind::Udp,
            addr,
        }
    }
    /// `addr` over TCP.
    pub fn tcp(addr: SocketAddr) -> Self {
        Peer {
            transport: TransportKind::Tcp,
            addr,
        }
    }
    /// `addr` over TLS.
    pub fn tls(addr: SocketAddr) -> Self {
        Peer {
            transport: TransportKind::Tls,
            addr,
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport, self.addr)
    }
}

/// Why the driver could not deliver to a peer, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportFailure {
    /// No connection could be made or it broke (refused, reset, timed out): the peer may
    /// come back, so retry soon.
    Unreachable(String),
    /// The peer was reached but the connection was refused on purpose (its TLS certificate
    /// is not trusted, has expired or names another host; it refused our certificate). A
    /// person has to fix something, so retry slowly.
    Refused(String),
}

impl TransportFailure {
    /// The words.
    pub fn detail(&self) -> &str {
        match self {
            TransportFailure::Unreachable(d) | TransportFailure::Refused(d) => d,
        }
    }
}

/// Bytes a core wants sent: a SIP message or a keep-alive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub dest: Peer,
    /// What.
    pub bytes: Bytes,
}
