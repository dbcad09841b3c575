//! An `Endpoint` (transactions and registration, no calls) as a netsim node.

use bytes::Bytes;
use netsim::Node;
use signaling::Peer;
use signaling::{Endpoint, EndpointConfig, EndpointEvent};
use std::net::SocketAddr;
use std::time::Instant;

/// An endpoint on the simulated network, recording what it sent and reported.
pub struct SimEndpoint {
    /// The core under test; call it through [`SimEndpoint::with`] so its events are recorded.
    pub endpoint: Endpoint,
    /// Every datagram it sent, with when.
    pub sent: Vec<(Instant, Bytes)>,
    /// Every event it reported, with when.
    pub events: Vec<(Instant, EndpointEvent)>,
    addr: SocketAddr,
}

impl SimEndpoint {
    /// An endpoint listening on `addr` (over UDP).
    pub fn new(addr: SocketAddr, config: EndpointConfig) -> Self {
        SimEndpoint {
            endpoint: Endpoint::new(config),
            sent: Vec::new(),
            events: Vec::new(),
            addr,
        }
    }

    /// Runs `f` on the endpoint at `now`, then records what it reported.
    pub fn with<R>(&mut self, now: Instant, f: impl FnOnce(Instant, &mut Endpoint) -> R) -> R {
        let r = f(now, &mut self.endpoint);
        self.collect(now);
        r
    }

    fn collect(&mut self, now: Instant) {
        while let Some(e) = self.endpoint.poll_event() {
            self.events.push((now, e));
        }
    }
}

impl Node for SimEndpoint {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, payload: Bytes) {
        self.endpoint.handle_datagram(now, Peer::udp(from), payload);
        self.collect(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<(SocketAddr, Bytes)> {
        let t = self.endpoint.poll_transmit()?;
        self.sent.push((now, t.bytes.clone()));
        Some((t.dest.addr, t.bytes))
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.endpoint.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.endpoint.handle_timeout(now);
        self.collect(now);
    }
}
