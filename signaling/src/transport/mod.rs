//! Thin tokio transport drivers: UDP and TCP sockets that move bytes between the network and
//! the sans-IO cores. No SIP policy lives here: TCP framing uses `message::parse::frame`, and
//! everything else (what to send, when, to whom) comes from the cores.

mod tcp;
mod udp;

use crate::net::{Peer, TransportKind};
use bytes::Bytes;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Something the network delivered.
#[derive(Debug)]
pub enum Inbound {
    /// One complete SIP message (a datagram, or one framed message of a stream).
    Message {
        /// Where it came from.
        source: Peer,
        /// The message.
        bytes: Bytes,
    },
    /// A stream connection to `peer` closed or broke; cores may want to re-register.
    Closed {
        /// The connection's far end.
        peer: Peer,
        /// Why, in words.
        reason: String,
    },
}

/// The agent's sockets: one UDP socket and one TCP listener on the same local port, plus
/// outgoing TCP connections opened on demand.
pub struct Transports {
    udp: Arc<udp::UdpDriver>,
    tcp: Arc<tcp::TcpDriver>,
    local: SocketAddr,
}

/// How long an outgoing TCP connect may take before the send fails.
pub const TCP_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl Transports {
    /// Binds UDP and TCP on `listen` (port 0 picks one free port for both) and starts the
    /// receive tasks. Inbound messages arrive on the returned channel.
    pub async fn bind(listen: SocketAddr) -> io::Result<(Transports, mpsc::Receiver<Inbound>)> {
        let (tx, rx) = mpsc::channel(1024);
        // With port 0, the UDP port chosen may be taken for TCP: try a few times.
        let mut last_err = None;
        for _ in 0..16 {
            let udp = udp::UdpDriver::bind(listen).await?;
            let local = udp.local_addr()?;
            match tcp::TcpDriver::bind(local, tx.clone()).await {
                Ok(tcp) => {
                    let udp = Arc::new(udp);
                    udp::spawn_receiver(udp.clone(), tx.clone());
                    return Ok((Transports { udp, tcp, local }, rx));
                }
                Err(e) if listen.port() == 0 => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("no free port for UDP and TCP")))
    }

    /// The local address both transports listen on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Sends bytes to a peer; TCP connects first when there is no connection yet.
    pub async fn send(&self, dest: Peer, bytes: Bytes) -> io::Result<()> {
        match dest.transport {
            TransportKind::Udp => self.udp.send(dest.addr, &bytes).await,
            TransportKind::Tcp => self.tcp.send(dest.addr, bytes).await,
        }
    }

    /// Closes every TCP connection and stops accepting new ones.
    pub fn shutdown(&self) {
        self.tcp.shutdown();
    }
}
