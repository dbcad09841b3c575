//! What the stream tests share: a negotiation, a stream started with its events, a raw UDP
//! peer, and reading RTP off a socket.

#![allow(dead_code)] // each test file uses its own part

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use media::ReceivedDigit;
use media::RtpPacket;
use media::{
    AudioStream, Codec, EventSender, MediaHandle, Negotiated, RtpStats, SinkSpec, SourceSpec,
    StreamEvent,
};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::timeout;

pub const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

pub use media::test_support::negotiated;

/// A running stream and what it reports.
pub struct Running {
    pub handle: MediaHandle,
    events: mpsc::UnboundedReceiver<(u64, StreamEvent)>,
}

/// Starts `stream`, its events going to the returned [`Running`].
pub fn start(
    stream: AudioStream,
    negotiated: Negotiated,
    source: SourceSpec,
    sink: SinkSpec,
) -> Running {
    let (tx, events) = mpsc::unbounded_channel();
    let handle =
        stream.start_with_events(negotiated, source, sink, Some(EventSender { tag: 0, tx }));
    Running { handle, events }
}

impl Running {
    /// The next digit the stream reports (within 2 s).
    pub async fn next_digit(&mut self) -> ReceivedDigit {
        loop {
            match self.next_event().await {
                StreamEvent::Digit(d) => return d,
                _ => continue,
            }
        }
    }

    async fn next_event(&mut self) -> StreamEvent {
        timeout(Duration::from_secs(2), self.events.recv())
            .await
            .expect("an event within 2 s")
            .expect("the stream reports until it stops")
            .1
    }

    /// Stops the stream and returns its final figures.
    pub async fn finish(mut self) -> RtpStats {
        self.handle.stop();
        loop {
            if let StreamEvent::Stopped(stats) = self.next_event().await {
                self.handle.stopped().await;
                return stats;
            }
        }
    }
}

/// Our stream on 127.0.0.1 talking to a raw UDP socket (RTCP to its next port).
pub async fn against_raw_peer(
    codec: Codec,
    source: SourceSpec,
    sink: SinkSpec,
) -> (Running, SocketAddr, UdpSocket) {
    let ours = AudioStream::bind(LO).await.unwrap();
    let our_addr = ours.local_addr();
    let peer = UdpSocket::bind((LO, 0)).await.unwrap();
    let running = start(
        ours,
        negotiated(peer.local_addr().unwrap(), codec),
        source,
        sink,
    );
    (running, our_addr, peer)
}

/// Receive one RTP packet on `sock` (within 1 s); returns its PT, payload and source.
pub async fn recv_rtp(sock: &UdpSocket) -> (u8, Vec<u8>, SocketAddr) {
    let mut buf = [0u8; 2048];
    let (n, from) = timeout(Duration::from_secs(1), sock.recv_from(&mut buf))
        .await
        .expect("no RTP within 1 s")
        .unwrap();
    let p = RtpPacket::parse(&buf[..n]).unwrap();
    (p.header.payload_type, p.payload.to_vec(), from)
}
