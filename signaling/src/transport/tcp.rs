//! The TCP driver: a listener for connections the PBX opens, and outgoing connections opened
//! on first send. Each connection has a reader task that splits the stream into messages
//! (`stream.rs`), and a writer guarded by an async mutex.

use super::stream::{ending, read_messages};
use super::{Inbound, TCP_CONNECT_TIMEOUT};
use crate::net::Peer;
use bytes::Bytes;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

type Writer = Arc<tokio::sync::Mutex<OwnedWriteHalf>>;

struct Connection {
    writer: Writer,
    reader: JoinHandle<()>,
}

pub(super) struct TcpDriver {
    conns: Mutex<HashMap<SocketAddr, Connection>>,
    inbound: mpsc::Sender<Inbound>,
    acceptor: Mutex<Option<JoinHandle<()>>>,
}

impl TcpDriver {
    pub(super) async fn bind(
        addr: SocketAddr,
        inbound: mpsc::Sender<Inbound>,
    ) -> io::Result<Arc<Self>> {
        let listener = TcpListener::bind(addr).await?;
        let driver = Arc::new(TcpDriver {
            conns: Mutex::new(HashMap::new()),
            inbound,
            acceptor: Mutex::new(None),
        });
        let weak = Arc::downgrade(&driver);
        let acceptor = tokio::spawn(async move {
            loop {
                let Ok((stream, from)) = listener.accept().await else {
                    continue;
                };
                let Some(driver) = weak.upgrade() else { return };
                driver.adopt(stream, from);
            }
        });
        *lock(&driver.acceptor) = Some(acceptor);
        Ok(driver)
    }

    pub(super) async fn send(self: &Arc<Self>, dest: SocketAddr, bytes: Bytes) -> io::Result<()> {
        let existing = lock(&self.conns).get(&dest).map(|c| c.writer.clone());
        let writer = match existing {
            Some(w) => w,
            None => {
                let stream = tokio::time::timeout(TCP_CONNECT_TIMEOUT, TcpStream::connect(dest))
                    .await
                    .map_err(|_| {
                        io::Error::new(io::ErrorKind::TimedOut, "tcp connect timed out")
                    })??;
                self.adopt(stream, dest)
            }
        };
        let result = writer.lock().await.write_all(&bytes).await;
        if result.is_err() {
            self.forget(dest);
        }
        result
    }

    /// Registers a connected stream and starts its reader.
    fn adopt(self: &Arc<Self>, stream: TcpStream, peer: SocketAddr) -> Writer {
        let _ = stream.set_nodelay(true);
        let (read, write) = stream.into_split();
        let writer: Writer = Arc::new(tokio::sync::Mutex::new(write));
        let reader = tokio::spawn(read_loop(Arc::downgrade(self), read, peer));
        if let Some(old) = lock(&self.conns).insert(
            peer,
            Connection {
                writer: writer.clone(),
                reader,
            },
        ) {
            old.reader.abort();
        }
        writer
    }

    pub(super) fn forget(&self, peer: SocketAddr) {
        if let Some(c) = lock(&self.conns).remove(&peer) {
            c.reader.abort();
        }
    }

    pub(super) fn shutdown(&self) {
        if let Some(a) = lock(&self.acceptor).take() {
            a.abort();
        }
        for (_, c) in lock(&self.conns).drain() {
            c.reader.abort();
        }
    }
}

async fn read_loop(
    driver: std::sync::Weak<TcpDriver>,
    read: tokio::net::tcp::OwnedReadHalf,
    peer: SocketAddr,
) {
    let Some(inbound) = driver.upgrade().map(|d| d.inbound.clone()) else {
        return;
    };
    let Some(end) = read_messages(read, Peer::tcp(peer), &inbound).await else {
        return;
    };
    let reason = ending(&end);
    if let Some(d) = driver.upgrade() {
        d.forget(peer);
        let _ = d
            .inbound
            .send(Inbound::Closed {
                peer: Peer::tcp(peer),
                reason,
                failure: None,
            })
            .await;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another task panicked mid-update of a plain map; the map
    // itself is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}
