//! Node shapes every simulation needs: two node types on one network, and a far end that
//! only answers what it receives.

use bytes::Bytes;
use netsim::Node;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

/// One of two node types, so a `Sim<Either<A, B>>` keeps typed access to both.
pub enum Either<A, B> {
    /// The first kind (by convention the phone under test).
    Left(A),
    /// The second kind (by convention its far end).
    Right(B),
}

impl<A, B> Either<A, B> {
    /// The left node.
    ///
    /// # Panics
    /// When it is the right one: the test picked the wrong node id.
    pub fn left(&self) -> &A {
        match self {
            Either::Left(a) => a,
            Either::Right(_) => panic!("this node is the right-hand kind"),
        }
    }
    /// The left node, mutably (panics like [`Either::left`]).
    pub fn left_mut(&mut self) -> &mut A {
        match self {
            Either::Left(a) => a,
            Either::Right(_) => panic!("this node is the right-hand kind"),
        }
    }
    /// The right node (panics when it is the left one).
    pub fn right(&self) -> &B {
        match self {
            Either::Right(b) => b,
            Either::Left(_) => panic!("this node is the left-hand kind"),
        }
    }
    /// The right node, mutably (panics when it is the left one).
    pub fn right_mut(&mut self) -> &mut B {
        match self {
            Either::Right(b) => b,
            Either::Left(_) => panic!("this node is the left-hand kind"),
        }
    }
    fn node(&mut self) -> &mut dyn Node
    where
        A: Node,
        B: Node,
    {
        match self {
            Either::Left(a) => a,
            Either::Right(b) => b,
        }
    }
}

impl<A: Node, B: Node> Node for Either<A, B> {
    fn addr(&self) -> SocketAddr {
        match self {
            Either::Left(a) => a.addr(),
            Either::Right(b) => b.addr(),
        }
    }
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, payload: Bytes) {
        self.node().handle_datagram(now, from, payload)
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<(SocketAddr, Bytes)> {
        self.node().poll_transmit(now)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Either::Left(a) => a.poll_timeout(),
            Either::Right(b) => b.poll_timeout(),
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.node().handle_timeout(now)
    }
}

/// Datagrams to send, as (destination, bytes).
pub type Outbox = Vec<(SocketAddr, Bytes)>;

/// A far end with no timers of its own: each datagram in gets zero or more answers out
/// (a registrar, a scripted server).
pub trait Responder {
    /// The address it listens on.
    fn addr(&self) -> SocketAddr;
    /// Handles one datagram; answers go into `out`.
    fn respond(&mut self, now: Instant, from: SocketAddr, payload: Bytes, out: &mut Outbox);
}

/// A [`Responder`] as a node: answers leave in the order written.
pub struct Server<R> {
    /// The far end's own state, for the test to read and change.
    pub inner: R,
    outbox: VecDeque<(SocketAddr, Bytes)>,
}

impl<R: Responder> Server<R> {
    /// A node around `inner`.
    pub fn new(inner: R) -> Self {
        Server {
            inner,
            outbox: VecDeque::new(),
        }
    }
}

impl<R: Responder> Node for Server<R> {
    fn addr(&self) -> SocketAddr {
        self.inner.addr()
    }
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, payload: Bytes) {
        let mut out = Vec::new();
        self.inner.respond(now, from, payload, &mut out);
        self.outbox.extend(out);
    }
    fn poll_transmit(&mut self, _now: Instant) -> Option<(SocketAddr, Bytes)> {
        self.outbox.pop_front()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn handle_timeout(&mut self, _now: Instant) {}
}
