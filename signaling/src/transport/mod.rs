//! Thin tokio transport drivers: UDP and TCP sockets and outgoing TLS connections that move
//! bytes between the network and the sans-IO cores. No SIP policy lives here: stream framing
//! uses `message::parse::frame`, and everything else (what to send, when, to whom) comes
//! from the cores.

mod certificate;
mod stream;
mod tcp;
mod tls;
mod udp;

pub use certificate::{certificate_summary, CertificateSummary};
pub use tls::{TlsClient, TlsSettings, TlsSetupError, TLS_HANDSHAKE_TIMEOUT};

use crate::net::{Peer, TransportFailure, TransportKind};
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
        /// When the peer ended it on purpose (a TLS alert: e.g. it wants a client
        /// certificate), words for the cores naming what to fix.
        failure: Option<TransportFailure>,
    },
}

/// The agent's sockets: one UDP socket and one TCP listener on the same local port, plus
/// outgoing TCP connections opened on demand, and outgoing TLS connections when a
/// [`TlsClient`] is given ([`Transports::with_tls`]).
pub struct Transports {
    udp: Arc<udp::UdpDriver>,
    tcp: Arc<tcp::TcpDriver>,
    tls: Option<Arc<tls::TlsDriver>>,
    inbound: mpsc::Sender<Inbound>,
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
                    let transports = Transports {
                        udp,
                        tcp,
                        tls: None,
                        inbound: tx,
                        local,
                    };
                    return Ok((transports, rx));
                }
                Err(e) if listen.port() == 0 => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("no free port for UDP and TCP")))
    }

    /// Sends to TLS peers with `client` (trust anchors, the server name to expect).
    pub fn with_tls(mut self, client: TlsClient) -> Self {
        self.tls = Some(tls::TlsDriver::new(client, self.inbound.clone()));
        self
    }

    /// The certificate (DER) that `peer` presented on the live TLS connection to it.
    pub fn tls_peer_certificate(&self, peer: SocketAddr) -> Option<Vec<u8>> {
        let cert = self.tls.as_ref()?.peer_certificate(peer)?;
        Some(cert.as_ref().to_vec())
    }

    /// The local address both transports listen on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Sends bytes to a peer; TCP and TLS connect first when there is no connection yet.
    /// [`failure_of`] turns an error into words for the cores.
    pub async fn send(&self, dest: Peer, bytes: Bytes) -> io::Result<()> {
        match dest.transport {
            TransportKind::Udp => self.udp.send(dest.addr, &bytes).await,
            TransportKind::Tcp => self.tcp.send(dest.addr, bytes).await,
            TransportKind::Tls => match &self.tls {
                Some(tls) => tls.send(dest.addr, bytes).await,
                None => Err(io::Error::other(tls::FailureError(
                    TransportFailure::Unreachable("TLS is not configured".into()),
                ))),
            },
        }
    }

    /// Closes the TCP or TLS connection to `peer`, if there is one (nothing to close for
    /// UDP); the next send to it opens a new one. The close is not reported as
    /// [`Inbound::Closed`]: the caller tells the cores.
    pub fn close(&self, peer: Peer) {
        match peer.transport {
            TransportKind::Udp => {}
            TransportKind::Tcp => self.tcp.forget(peer.addr),
            TransportKind::Tls => {
                if let Some(tls) = &self.tls {
                    tls.forget(peer.addr);
                }
            }
        }
    }

    /// Closes every TCP and TLS connection and stops accepting new ones.
    pub fn shutdown(&self) {
        self.tcp.shutdown();
        if let Some(tls) = &self.tls {
            tls.shutdown();
        }
    }
}

/// What a [`Transports::send`] error means for the cores: the TLS driver's words when it
/// gave some (a certificate refused, a handshake that timed out), else the OS's.
pub fn failure_of(error: &io::Error) -> TransportFailure {
    match error
        .get_ref()
        .and_then(|e| e.downcast_ref::<tls::FailureError>())
    {
        Some(f) => f.0.clone(),
        None => TransportFailure::Unreachable(error.to_string()),
    }
}
