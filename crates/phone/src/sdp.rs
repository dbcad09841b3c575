//! A call's SDP session with bytes at its edges. SIP carries SDP as bytes from the socket
//! to here and back; media's offer/answer reads and writes text, so this is the one place a
//! body becomes text and text becomes a body.

use bytes::Bytes;
use media::{AudioCaps, Direction, Negotiated, NegotiationError, SdpSession};
use std::borrow::Cow;
use std::net::SocketAddr;

/// The offer/answer state of one call (see media's `SdpSession`).
#[derive(Debug)]
pub(crate) struct CallSdp(SdpSession);

impl CallSdp {
    pub fn new(local_rtp: SocketAddr, caps: AudioCaps, session_id: u64) -> Self {
        CallSdp(SdpSession::new(local_rtp, caps, session_id))
    }

    /// Where our RTP is.
    pub fn local_rtp(&self) -> SocketAddr {
        self.0.local_rtp()
    }

    /// Our offer, as the body to send.
    pub fn offer(&mut self, direction: Direction) -> Bytes {
        Bytes::from(self.0.create_offer(direction))
    }

    /// The far end's answer to our pending offer.
    pub fn receive_answer(&mut self, answer: &[u8]) -> Result<Negotiated, NegotiationError> {
        self.0.receive_answer(&text(answer))
    }

    /// The far end's offer: our answer (the body to send) and what was agreed.
    pub fn receive_offer(
        &mut self,
        offer: &[u8],
        wanted: Direction,
    ) -> Result<(Bytes, Negotiated), NegotiationError> {
        let (answer, negotiated) = self.0.receive_offer(&text(offer), wanted)?;
        Ok((Bytes::from(answer), negotiated))
    }

    /// Whether the far end's offer could be answered, without answering it (the session is
    /// left as it was).
    pub fn check_offer(&self, offer: &[u8]) -> Result<(), NegotiationError> {
        self.0
            .clone()
            .receive_offer(&text(offer), Direction::SendRecv)
            .map(|_| ())
    }
}

/// SDP is UTF-8 (RFC 4566 §5); a byte that is not becomes U+FFFD, which the SDP parser
/// then judges like any other character, so no body is refused for its encoding alone.
fn text(body: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(body)
}
