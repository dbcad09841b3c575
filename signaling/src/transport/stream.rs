//! What TCP and TLS connections share: reading a byte stream and splitting it into SIP
//! messages with `message::parse::frame`.

use super::Inbound;
use crate::message::parse::frame;
use crate::net::Peer;
use bytes::{Buf, Bytes, BytesMut};
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

/// Reads `read` until it ends, handing every complete message to `inbound`. Returns how
/// the stream ended (`Ok` when the peer closed it), or `None` when the agent is gone.
pub(super) async fn read_messages<R: AsyncRead + Unpin>(
    mut read: R,
    peer: Peer,
    inbound: &mpsc::Sender<Inbound>,
) -> Option<io::Result<()>> {
    let mut buf = BytesMut::with_capacity(8192);
    loop {
        match read.read_buf(&mut buf).await {
            Ok(0) => return Some(Ok(())),
            Ok(_) => {}
            Err(e) => return Some(Err(e)),
        }
        match split_messages(&mut buf, inbound, peer).await {
            Ok(true) => {}
            Ok(false) => return None,
            Err(why) => return Some(Err(io::Error::new(io::ErrorKind::InvalidData, why))),
        }
    }
}

/// How a stream ended, in words.
pub(super) fn ending(end: &io::Result<()>) -> String {
    match end {
        Ok(()) => "closed by peer".to_owned(),
        Err(e) => e.to_string(),
    }
}

/// Moves every complete message out of `buf`; `Ok(false)` when nobody listens any more. A
/// framing error poisons the stream (we can no longer find message boundaries), so the
/// connection is dropped.
async fn split_messages(
    buf: &mut BytesMut,
    inbound: &mpsc::Sender<Inbound>,
    peer: Peer,
) -> Result<bool, String> {
    loop {
        match frame(buf) {
            Ok(Some(f)) => {
                buf.advance(f.skip);
                if f.skip > 0 {
                    // A pong (or the peer's own ping): the cores learn the connection lives.
                    let keepalive = Inbound::Message {
                        source: peer,
                        bytes: Bytes::from_static(b"\r\n"),
                    };
                    if inbound.send(keepalive).await.is_err() {
                        return Ok(false);
                    }
                }
                if f.len == 0 {
                    continue;
                }
                let msg = buf.split_to(f.len).freeze();
                let sent = inbound
                    .send(Inbound::Message {
                        source: peer,
                        bytes: msg,
                    })
                    .await;
                if sent.is_err() {
                    return Ok(false);
                }
            }
            Ok(None) => return Ok(true),
            Err(e) => return Err(format!("unframeable stream: {e}")),
        }
    }
}
