//! Addresses shared by the sans-IO cores and the transport drivers.

use bytes::Bytes;
use std::fmt;
use std::net::SocketAddr;

/// The transport a message travels on. Reliable transports (TCP) need no retransmissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

impl TransportKind {
    /// Whether the transport retransmits for us (no SIP retransmissions then).
    pub fn is_reliable(self) -> bool {
        matches!(self, TransportKind::Tcp)
    }
    /// The token used in Via (`SIP/2.0/UDP`).
    pub fn via_token(self) -> &'static str {
        match self {
            TransportKind::Udp => "UDP",
            TransportKind::Tcp => "TCP",
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Udp => "udp",
            TransportKind::Tcp => "tcp",
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
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport, self.addr)
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
