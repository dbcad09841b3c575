//! Toy nodes exercising the driver: a pinger that retransmits until answered, a ponger.

use super::*;
use crate::link::LinkConfig;
use std::collections::VecDeque;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], port))
}

const RTO: Duration = Duration::from_millis(50);

/// Sends `ping <n>` and retransmits it every `RTO` until `pong <n>` arrives, `want` times.
struct Pinger {
    addr: SocketAddr,
    peer: SocketAddr,
    want: u32,
    done: u32,
    retransmits: u32,
    /// Retransmit deadline of the outstanding ping.
    timer: Option<Instant>,
    out: VecDeque<(SocketAddr, Bytes)>,
}

impl Pinger {
    fn new(addr: SocketAddr, peer: SocketAddr, want: u32, now: Instant) -> Self {
        let mut p = Pinger {
            addr,
            peer,
            want,
            done: 0,
            retransmits: 0,
            timer: None,
            out: VecDeque::new(),
        };
        p.send_ping(now);
        p
    }
    fn send_ping(&mut self, now: Instant) {
        self.out
            .push_back((self.peer, Bytes::from(format!("ping {}", self.done))));
        self.timer = Some(now + RTO);
    }
}

impl Node for Pinger {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn handle_datagram(&mut self, now: Instant, _from: SocketAddr, payload: Bytes) {
        // Late or duplicated pongs for an earlier ping are ignored.
        if payload[..] == *format!("pong {}", self.done).as_bytes() && self.done < self.want {
            self.done += 1;
            self.timer = None;
            if self.done < self.want {
                self.send_ping(now);
            }
        }
    }
    fn poll_transmit(&mut self, _now: Instant) -> Option<(SocketAddr, Bytes)> {
        self.out.pop_front()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.timer
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.retransmits += 1;
        self.send_ping(now);
    }
}

/// Answers every `ping <n>` with `pong <n>`; no timers.
struct Ponger {
    addr: SocketAddr,
    out: VecDeque<(SocketAddr, Bytes)>,
}

impl Node for Ponger {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn handle_datagram(&mut self, _now: Instant, from: SocketAddr, payload: Bytes) {
        if let Some(n) = payload.strip_prefix(b"ping ") {
            let mut reply = b"pong ".to_vec();
            reply.extend_from_slice(n);
            self.out.push_back((from, Bytes::from(reply)));
        }
    }
    fn poll_transmit(&mut self, _now: Instant) -> Option<(SocketAddr, Bytes)> {
        self.out.pop_front()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn handle_timeout(&mut self, _now: Instant) {}
}

/// A pinger/ponger pair over `link` as boxed nodes; returns the sim and the pinger's id.
fn ping_pong(seed: u64, link: LinkConfig, want: u32) -> (Sim, NodeId) {
    let mut sim: Sim = Sim::new(seed);
    sim.network_mut().set_default_link(link);
    sim.network_mut().record_events(true);
    let now = sim.now();
    let pinger = sim.add_node(Box::new(Pinger::new(addr(1), addr(2), want, now)));
    sim.add_node(Box::new(Ponger {
        addr: addr(2),
        out: VecDeque::new(),
    }));
    (sim, pinger)
}

#[test]
fn ping_pong_completes_on_a_clean_link_in_virtual_time() {
    let mut sim: Sim<Box<dyn Node>> = Sim::new(1);
    sim.network_mut()
        .set_default_link(LinkConfig::with_delay_only(Duration::from_millis(10)));
    let now = sim.now();
    sim.add_node(Box::new(Pinger::new(addr(1), addr(2), 5, now)));
    sim.add_node(Box::new(Ponger {
        addr: addr(2),
        out: VecDeque::new(),
    }));

    let outcome = sim.run_for(Duration::from_secs(10), |_| false);
    // 5 round trips of 20 ms, then the pinger has no timer and the network is empty.
    assert_eq!(outcome, RunOutcome::Idle);
    assert_eq!(sim.clock().elapsed(), Duration::from_millis(100));
    assert!(sim.is_idle());
    let n = sim.network().stats();
    assert_eq!((n.sent, n.dropped, n.delivered), (10, 0, 10));
}

/// A mix of node types with typed access: the enum pattern the `Sim` docs suggest.
enum Toy {
    Ping(Pinger),
    Pong(Ponger),
}

impl Toy {
    fn pinger(&self) -> &Pinger {
        match self {
            Toy::Ping(p) => p,
            Toy::Pong(_) => panic!("test setup: not a pinger"),
        }
    }
    fn node(&self) -> &dyn Node {
        match self {
            Toy::Ping(p) => p,
            Toy::Pong(p) => p,
        }
    }
    fn node_mut(&mut self) -> &mut dyn Node {
        match self {
            Toy::Ping(p) => p,
            Toy::Pong(p) => p,
        }
    }
}

impl Node for Toy {
    fn addr(&self) -> SocketAddr {
        self.node().addr()
    }
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, payload: Bytes) {
        self.node_mut().handle_datagram(now, from, payload)
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<(SocketAddr, Bytes)> {
        self.node_mut().poll_transmit(now)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.node().poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.node_mut().handle_timeout(now)
    }
}

#[test]
fn ping_pong_survives_loss_by_retransmitting() {
    let mut sim: Sim<Toy> = Sim::new(7);
    sim.network_mut()
        .set_default_link(LinkConfig::lan().loss(0.3).jitter(Duration::from_millis(5)));
    let now = sim.now();
    let ping = sim.add_node(Toy::Ping(Pinger::new(addr(1), addr(2), 20, now)));
    sim.add_node(Toy::Pong(Ponger {
        addr: addr(2),
        out: VecDeque::new(),
    }));

    let outcome = sim.run_for(Duration::from_secs(60), |s| {
        s.node(ping).pinger().done == 20
    });
    assert_eq!(outcome, RunOutcome::Stopped, "{sim:?}");
    assert!(
        sim.node(ping).pinger().retransmits > 0,
        "30% loss over 40+ datagrams loses some"
    );
    assert!(sim.network().stats().dropped > 0);
    // Nothing left behind: the pinger stopped its timer, and stray retransmission answers
    // drain away.
    assert_eq!(
        sim.run_for(Duration::from_secs(1), |_| false),
        RunOutcome::Idle
    );
    assert!(sim.is_idle());
}

#[test]
fn stop_condition_can_inspect_typed_nodes() {
    // With one concrete node type (here an enum would do for a mix), the stop condition
    // and the assertions see the node's own fields.
    let mut sim: Sim<Pinger> = Sim::new(3);
    sim.network_mut()
        .set_default_link(LinkConfig::lan().loss(0.2));
    let now = sim.now();
    let a = sim.add_node(Pinger::new(addr(1), addr(2), 3, now));
    let b = sim.add_node(Pinger::new(addr(2), addr(1), 3, now));
    // Two pingers never answer each other: both keep retransmitting until the deadline.
    let outcome = sim.run_for(Duration::from_secs(1), |s| s.node(a).retransmits >= 10);
    assert_eq!(outcome, RunOutcome::Stopped);
    assert!(sim.node(a).retransmits >= 10);
    assert_eq!(sim.node(b).done, 0);
    assert!(sim.clock().elapsed() >= RTO * 10);
}

#[test]
fn stops_at_the_deadline_when_the_link_is_down() {
    let (mut sim, _) = ping_pong(5, LinkConfig::down(), 1);
    let deadline = sim.now() + Duration::from_millis(1234);
    assert_eq!(sim.run_until(deadline, |_| false), RunOutcome::Deadline);
    assert_eq!(sim.now(), deadline);
    // One retransmit every 50 ms up to 1234 ms: the original plus 24.
    assert_eq!(sim.network().stats().sent, 25);
    assert!(!sim.is_idle());
}

#[test]
fn same_seed_replays_the_same_timeline() {
    let link = LinkConfig::lan()
        .loss(0.25)
        .jitter(Duration::from_millis(30))
        .duplicate(0.1);
    let run = |seed| {
        let (mut sim, _) = ping_pong(seed, link, 30);
        let outcome = sim.run_for(Duration::from_secs(120), |_| false);
        assert_eq!(outcome, RunOutcome::Idle);
        sim.timeline()
    };
    let a = run(42);
    assert!(a.len() > 120);
    assert_eq!(a, run(42));
    assert_ne!(a, run(43));
}

#[test]
fn datagrams_to_nowhere_are_counted() {
    let (mut sim, _) = ping_pong(1, LinkConfig::lan(), 1);
    let now = sim.now();
    sim.network_mut().send(now, addr(9), addr(99), &b"lost"[..]);
    let outcome = sim.run_for(Duration::from_secs(1), |_| false);
    assert_eq!(outcome, RunOutcome::Idle);
    assert_eq!(sim.stats().undeliverable, 1);
}

#[test]
fn timeline_prints_one_line_per_event() {
    let (mut sim, _) = ping_pong(1, LinkConfig::lan(), 1);
    let _ = sim.run_for(Duration::from_secs(1), |_| false);
    let lines: Vec<String> = sim.timeline().iter().map(|e| e.to_string()).collect();
    assert_eq!(lines.len(), 4, "{lines:#?}"); // ping sent+delivered, pong sent+delivered
    assert!(lines[0].contains("Sent") && lines[0].contains("10.0.0.1:1 -> 10.0.0.1:2"));
}

/// A node that asks to be woken at an instant already past and never moves it.
struct Stuck(SocketAddr, Instant);

impl Node for Stuck {
    fn addr(&self) -> SocketAddr {
        self.0
    }
    fn handle_datagram(&mut self, _: Instant, _: SocketAddr, _: Bytes) {}
    fn poll_transmit(&mut self, _: Instant) -> Option<(SocketAddr, Bytes)> {
        None
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Some(self.1)
    }
    fn handle_timeout(&mut self, _: Instant) {}
}

#[test]
#[should_panic(expected = "busy loop")]
fn a_timer_that_never_moves_is_reported() {
    let mut sim: Sim<Stuck> = Sim::new(0);
    sim.set_max_steps_per_instant(100);
    let now = sim.now();
    sim.add_node(Stuck(addr(1), now));
    let _ = sim.run_for(Duration::from_secs(1), |_| false);
}

/// A node that always has one more datagram to send.
struct Chatty(SocketAddr);

impl Node for Chatty {
    fn addr(&self) -> SocketAddr {
        self.0
    }
    fn handle_datagram(&mut self, _: Instant, _: SocketAddr, _: Bytes) {}
    fn poll_transmit(&mut self, _: Instant) -> Option<(SocketAddr, Bytes)> {
        Some((self.0, Bytes::new()))
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn handle_timeout(&mut self, _: Instant) {}
}

#[test]
#[should_panic(expected = "poll_transmit never returns None")]
fn endless_transmits_are_reported() {
    let mut sim: Sim<Chatty> = Sim::new(0);
    sim.set_max_steps_per_instant(100);
    sim.add_node(Chatty(addr(1)));
    let _ = sim.run_for(Duration::from_secs(1), |_| false);
}

#[test]
#[should_panic(expected = "busy loop")]
fn zero_delay_ping_pong_forever_is_reported() {
    /// Echoes everything back: with a zero-delay link, time never moves.
    struct Echo(SocketAddr, SocketAddr, VecDeque<Bytes>);
    impl Node for Echo {
        fn addr(&self) -> SocketAddr {
            self.0
        }
        fn handle_datagram(&mut self, _: Instant, _: SocketAddr, p: Bytes) {
            self.2.push_back(p);
        }
        fn poll_transmit(&mut self, _: Instant) -> Option<(SocketAddr, Bytes)> {
            self.2.pop_front().map(|p| (self.1, p))
        }
        fn poll_timeout(&self) -> Option<Instant> {
            None
        }
        fn handle_timeout(&mut self, _: Instant) {}
    }
    let mut sim: Sim<Echo> = Sim::new(0);
    sim.set_max_steps_per_instant(100);
    sim.network_mut()
        .set_default_link(LinkConfig::with_delay_only(Duration::ZERO));
    sim.add_node(Echo(
        addr(1),
        addr(2),
        VecDeque::from([Bytes::from_static(b"x")]),
    ));
    sim.add_node(Echo(addr(2), addr(1), VecDeque::new()));
    let _ = sim.run_for(Duration::from_secs(1), |_| false);
}

#[test]
#[should_panic(expected = "share the address")]
fn duplicate_addresses_are_a_setup_error() {
    let mut sim: Sim<Chatty> = Sim::new(0);
    sim.add_node(Chatty(addr(1)));
    sim.add_node(Chatty(addr(1)));
}
