//! The driver: sans-IO nodes exchanging datagrams over a [`Network`] on a virtual [`Clock`].
//!
//! The loop is the one every sans-IO test harness converges on (quinn-proto's
//! `Pair::drive`, str0m's `progress`): drain what the nodes want to send, jump the clock to
//! the earliest thing that can happen (a delivery or a node's timer), make it happen,
//! repeat. Nothing waits on the host's clock, so a minute of SIP timers runs in
//! milliseconds and the same seed replays the same run.

use crate::clock::Clock;
use crate::network::{NetEventKind, Network};
use bytes::Bytes;
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A sans-IO participant: fed datagrams and timeouts, polled for datagrams to send.
pub trait Node {
    /// The address it sends from and receives on (unique within a [`Sim`]).
    fn addr(&self) -> SocketAddr;
    /// A datagram arrived at `now`.
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, payload: Bytes);
    /// The next datagram it wants sent, with its destination; `None` when it has nothing.
    fn poll_transmit(&mut self, now: Instant) -> Option<(SocketAddr, Bytes)>;
    /// When it next needs [`Node::handle_timeout`]; `None` when it has no timer running.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Its timeout is due (`now >= poll_timeout()`).
    fn handle_timeout(&mut self, now: Instant);
}

impl<N: Node + ?Sized> Node for Box<N> {
    fn addr(&self) -> SocketAddr {
        (**self).addr()
    }
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, payload: Bytes) {
        (**self).handle_datagram(now, from, payload)
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<(SocketAddr, Bytes)> {
        (**self).poll_transmit(now)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        (**self).poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        (**self).handle_timeout(now)
    }
}

/// A node's index in its [`Sim`], in the order nodes were added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub usize);

/// Why [`Sim::run_until`] returned.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// The stop condition became true.
    Stopped,
    /// The next event lies beyond the deadline; the clock now reads the deadline.
    Deadline,
    /// Nothing can ever happen again: no datagram in flight, no node timer running.
    Idle,
}

/// Counters kept by the driver (the network keeps its own, see [`Network::stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SimStats {
    /// Loop iterations so far (one per clock jump or same-instant round).
    pub steps: u64,
    /// Datagrams that arrived at an address no node has (silently discarded, like UDP).
    pub undeliverable: u64,
}

/// One line of [`Sim::timeline`]: a network event as an offset from the clock's base, so
/// timelines of separate runs compare equal when the runs were the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineEvent {
    pub at: Duration,
    pub kind: NetEventKind,
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub len: usize,
}

impl fmt::Display for TimelineEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>12?} {:<10?} {} -> {} ({} bytes)",
            self.at, self.kind, self.from, self.to, self.len
        )
    }
}

/// Default bound on loop rounds (or transmits of one node) at a single instant.
pub const DEFAULT_MAX_STEPS_PER_INSTANT: usize = 10_000;
/// Default bound on loop rounds over a whole `Sim`'s life.
pub const DEFAULT_MAX_STEPS: u64 = 50_000_000;

/// Nodes, a network and a clock. `N` is one node type, or `Box<dyn Node>` (the default)
/// for a mix; an enum of node types keeps typed access to each.
pub struct Sim<N: Node = Box<dyn Node>> {
    clock: Clock,
    net: Network,
    nodes: Vec<N>,
    stats: SimStats,
    max_steps_per_instant: usize,
    max_steps: u64,
}

impl<N: Node> Sim<N> {
    /// A simulation over `Network::new(seed)` with a clock based at the host's current
    /// instant.
    pub fn new(seed: u64) -> Self {
        Sim::with_parts(Clock::new(), Network::new(seed))
    }

    /// A simulation over a prepared clock and network.
    pub fn with_parts(clock: Clock, net: Network) -> Self {
        Sim {
            clock,
            net,
            nodes: Vec::new(),
            stats: SimStats::default(),
            max_steps_per_instant: DEFAULT_MAX_STEPS_PER_INSTANT,
            max_steps: DEFAULT_MAX_STEPS,
        }
    }

    /// Adds a node.
    ///
    /// # Panics
    /// When another node already has the same address: a mistake in the test's setup.
    pub fn add_node(&mut self, node: N) -> NodeId {
        let addr = node.addr();
        assert!(
            self.nodes.iter().all(|n| n.addr() != addr),
            "netsim: two nodes share the address {addr}"
        );
        self.nodes.push(node);
        NodeId(self.nodes.len() - 1)
    }

    /// Changes the busy-loop guard (see [`Sim::run_until`]).
    pub fn set_max_steps_per_instant(&mut self, n: usize) {
        self.max_steps_per_instant = n.max(1);
    }

    /// Changes the bound on the total number of loop rounds.
    pub fn set_max_steps(&mut self, n: u64) {
        self.max_steps = n;
    }

    pub fn now(&self) -> Instant {
        self.clock.now()
    }
    pub fn clock(&self) -> &Clock {
        &self.clock
    }
    pub fn network(&self) -> &Network {
        &self.net
    }
    /// The network, e.g. to change a link mid-run or inject a datagram from outside.
    pub fn network_mut(&mut self) -> &mut Network {
        &mut self.net
    }
    pub fn stats(&self) -> SimStats {
        self.stats
    }

    /// # Panics
    /// When `id` did not come from this `Sim`'s `add_node`.
    pub fn node(&self, id: NodeId) -> &N {
        &self.nodes[id.0]
    }
    /// # Panics
    /// When `id` did not come from this `Sim`'s `add_node`.
    pub fn node_mut(&mut self, id: NodeId) -> &mut N {
        &mut self.nodes[id.0]
    }
    pub fn nodes(&self) -> &[N] {
        &self.nodes
    }
    pub fn node_at(&self, addr: SocketAddr) -> Option<&N> {
        self.nodes.iter().find(|n| n.addr() == addr)
    }

    /// True when nothing is left: no datagram in flight and no node timer running. The
    /// closing assertion of a tier-(b) test ("no transaction or timer left behind").
    pub fn is_idle(&self) -> bool {
        self.net.in_flight() == 0 && self.nodes.iter().all(|n| n.poll_timeout().is_none())
    }

    /// The network's event log as offsets from the clock's base (empty unless
    /// `network_mut().record_events(true)` was called). Print it when a test fails.
    pub fn timeline(&self) -> Vec<TimelineEvent> {
        let base = self.clock.base();
        self.net
            .events()
            .iter()
            .map(|e| TimelineEvent {
                at: e.at.saturating_duration_since(base),
                kind: e.kind,
                from: e.from,
                to: e.to,
                len: e.len,
            })
            .collect()
    }

    /// Runs until `stop(self)` holds, nothing is left to happen, or the next event lies
    /// beyond `deadline`, whichever comes first. Events due exactly at `deadline` still run.
    ///
    /// Each round: every node's pending transmits go to the network; the stop condition is
    /// checked; the clock jumps to the earliest delivery or node timeout (never backwards: a
    /// timeout in the past fires now); every datagram due is delivered (in due order) and
    /// every node whose timeout is due gets `handle_timeout`.
    ///
    /// # Panics
    /// When more than `max_steps_per_instant` rounds happen without the clock moving, or one
    /// node yields that many transmits at one instant: a node that keeps asking to be woken
    /// at a time already reached, or two nodes bouncing datagrams over a zero-delay link,
    /// would otherwise hang the test. Also past `max_steps` rounds in total.
    pub fn run_until(
        &mut self,
        deadline: Instant,
        mut stop: impl FnMut(&Self) -> bool,
    ) -> RunOutcome {
        let mut instant = self.clock.now();
        let mut rounds_here = 0usize;
        loop {
            self.flush_transmits();
            if stop(self) {
                return RunOutcome::Stopped;
            }
            let Some(next) = self.next_event() else {
                return RunOutcome::Idle;
            };
            if next > deadline {
                self.clock.advance_to(deadline);
                return RunOutcome::Deadline;
            }
            let now = self.clock.advance_to(next);
            self.count_round(now, &mut instant, &mut rounds_here);

            while let Some(d) = self.net.poll_delivery(now) {
                match self.nodes.iter_mut().find(|n| n.addr() == d.to) {
                    Some(node) => node.handle_datagram(now, d.from, d.payload),
                    None => self.stats.undeliverable += 1,
                }
            }
            for node in &mut self.nodes {
                if node.poll_timeout().is_some_and(|t| t <= now) {
                    node.handle_timeout(now);
                }
            }
        }
    }

    /// [`Sim::run_until`] with a deadline `d` from now.
    pub fn run_for(&mut self, d: Duration, stop: impl FnMut(&Self) -> bool) -> RunOutcome {
        let deadline = self.clock.now() + d;
        self.run_until(deadline, stop)
    }

    /// Runs until nothing is left to happen or the deadline passes.
    pub fn run_until_idle(&mut self, deadline: Instant) -> RunOutcome {
        self.run_until(deadline, |_| false)
    }

    /// The earliest of the next delivery and every node's timeout.
    fn next_event(&self) -> Option<Instant> {
        self.nodes
            .iter()
            .filter_map(|n| n.poll_timeout())
            .chain(self.net.next_delivery())
            .min()
    }

    fn flush_transmits(&mut self) {
        let now = self.clock.now();
        for node in &mut self.nodes {
            let from = node.addr();
            let mut sent = 0usize;
            while let Some((to, payload)) = node.poll_transmit(now) {
                self.net.send(now, from, to, payload);
                sent += 1;
                if sent > self.max_steps_per_instant {
                    panic!(
                        "netsim: busy loop: node {from} produced more than {} datagrams at \
                         t={:?} without the clock moving; its poll_transmit never returns None",
                        self.max_steps_per_instant,
                        now.saturating_duration_since(self.clock.base()),
                    );
                }
            }
        }
    }

    fn count_round(&mut self, now: Instant, instant: &mut Instant, rounds_here: &mut usize) {
        self.stats.steps += 1;
        if self.stats.steps > self.max_steps {
            panic!(
                "netsim: more than {} simulation steps (t={:?}); raise set_max_steps if the \
                 run is really this long",
                self.max_steps,
                now.saturating_duration_since(self.clock.base()),
            );
        }
        if now != *instant {
            *instant = now;
            *rounds_here = 0;
            return;
        }
        *rounds_here += 1;
        if *rounds_here > self.max_steps_per_instant {
            let due: Vec<String> = self
                .nodes
                .iter()
                .filter(|n| n.poll_timeout().is_some_and(|t| t <= now))
                .map(|n| n.addr().to_string())
                .collect();
            panic!(
                "netsim: busy loop: {} rounds at t={:?} without the clock moving. Nodes whose \
                 timeout is due and stays due after handle_timeout: [{}]; datagrams due now: {}. \
                 A node must move its poll_timeout past `now` when handling it, and links \
                 between nodes that answer each other need a non-zero delay.",
                self.max_steps_per_instant,
                now.saturating_duration_since(self.clock.base()),
                due.join(", "),
                self.net.next_delivery().is_some_and(|t| t <= now),
            );
        }
    }
}

impl<N: Node> fmt::Debug for Sim<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("elapsed", &self.clock.elapsed())
            .field(
                "nodes",
                &self.nodes.iter().map(|n| n.addr()).collect::<Vec<_>>(),
            )
            .field("net", &self.net.stats())
            .field("stats", &self.stats)
            .finish()
    }
}

#[cfg(test)]
mod tests;
