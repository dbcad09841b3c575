//! The UDP driver: one socket, one receive task.

use super::Inbound;
use crate::message::is_keepalive;
use crate::net::Peer;
use bytes::Bytes;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// The largest datagram we accept; anything larger is truncated by the kernel and then
/// rejected by the parser's Content-Length check.
const MAX_DATAGRAM: usize = 65_535;

pub(super) struct UdpDriver {
    socket: UdpSocket,
}

impl UdpDriver {
    pub(super) async fn bind(addr: SocketAddr) -> io::Result<Self> {
        Ok(UdpDriver {
            socket: UdpSocket::bind(addr).await?,
        })
    }

    pub(super) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    pub(super) async fn send(&self, dest: SocketAddr, bytes: &[u8]) -> io::Result<()> {
        self.socket.send_to(bytes, dest).await.map(|_| ())
    }
}

pub(super) fn spawn_receiver(driver: Arc<UdpDriver>, tx: mpsc::Sender<Inbound>) {
    tokio::spawn(async move {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            match driver.socket.recv_from(&mut buf).await {
                Ok((n, from)) => {
                    if is_keepalive(&buf[..n]) {
                        continue;
                    }
                    // The one copy between the socket and the parsed message: the receive
                    // buffer is reused, and a message kept for a transaction's lifetime
                    // should hold only its own bytes.
                    let msg = Inbound::Message {
                        source: Peer::udp(from),
                        bytes: Bytes::copy_from_slice(&buf[..n]),
                    };
                    if tx.send(msg).await.is_err() {
                        return; // the agent is gone
                    }
                }
                // ICMP port unreachable surfaces as ConnectionRefused/Reset on Linux: the
                // transaction's timers handle the silence, so just keep receiving.
                Err(e) => tracing::debug!(error = %e, "udp receive error"),
            }
        }
    });
}
