//! The simulated network: datagrams scheduled for delivery on virtual time.

use crate::link::{probability, LinkConfig};
use crate::rng::SimRng;
use bytes::Bytes;
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A datagram on its way, or delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub payload: Bytes,
    /// When it was handed to the network.
    pub sent_at: Instant,
    /// When it arrives (for a delivered datagram: when it was due, which is `<=` the `now`
    /// it was polled at).
    pub deliver_at: Instant,
}

/// What the network did with one `send`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Lost on the link.
    Dropped,
    /// Scheduled for delivery once.
    Scheduled,
    /// Scheduled twice (the link duplicated it).
    Duplicated,
}

/// Counters over the whole network since it was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetStats {
    /// Datagrams handed to `send`.
    pub sent: u64,
    /// Datagrams lost on a link.
    pub dropped: u64,
    /// Extra copies created by duplication.
    pub duplicated: u64,
    /// Datagrams (copies included) returned by `poll_delivery`.
    pub delivered: u64,
}

/// One line of the optional event log (see [`Network::record_events`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetEvent {
    pub at: Instant,
    pub kind: NetEventKind,
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub len: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetEventKind {
    Sent,
    Dropped,
    Duplicated,
    Delivered,
}

/// A queued datagram. Ordered by due time, then by the order it was queued in, so equal
/// due times deliver first-in-first-out and a run never depends on heap internals.
#[derive(Debug)]
struct Queued {
    at: Instant,
    seq: u64,
    datagram: Datagram,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// A deterministic lossy network. It has no clock of its own: every call says what time it
/// is, and the same seed with the same calls gives the same deliveries, bit for bit.
#[derive(Debug)]
pub struct Network {
    rng: SimRng,
    default_link: LinkConfig,
    /// Per-direction overrides, keyed `(from, to)`. Only looked up, never iterated, so the
    /// map's random order cannot leak into a run.
    links: HashMap<(SocketAddr, SocketAddr), LinkConfig>,
    queue: BinaryHeap<Reverse<Queued>>,
    next_seq: u64,
    stats: NetStats,
    events: Option<Vec<NetEvent>>,
}

impl Network {
    /// A network with [`LinkConfig::default`] everywhere and a PRNG seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Network {
            rng: SimRng::seed_from_u64(seed),
            default_link: LinkConfig::default(),
            links: HashMap::new(),
            queue: BinaryHeap::new(),
            next_seq: 0,
            stats: NetStats::default(),
            events: None,
        }
    }

    /// The behaviour of every direction without its own config.
    pub fn set_default_link(&mut self, config: LinkConfig) {
        self.default_link = config;
    }

    /// Overrides the behaviour of datagrams sent `from` -> `to` (one direction). Takes
    /// effect for datagrams sent from now on; those in flight keep their fate.
    pub fn set_link(&mut self, from: SocketAddr, to: SocketAddr, config: LinkConfig) {
        self.links.insert((from, to), config);
    }

    /// Overrides both directions between `a` and `b`.
    pub fn set_link_both(&mut self, a: SocketAddr, b: SocketAddr, config: LinkConfig) {
        self.set_link(a, b, config);
        self.set_link(b, a, config);
    }

    /// Returns the `from` -> `to` direction to the default behaviour.
    pub fn clear_link(&mut self, from: SocketAddr, to: SocketAddr) {
        self.links.remove(&(from, to));
    }

    /// The behaviour in force for `from` -> `to`.
    pub fn link(&self, from: SocketAddr, to: SocketAddr) -> LinkConfig {
        self.links
            .get(&(from, to))
            .copied()
            .unwrap_or(self.default_link)
    }

    /// Starts (or stops) keeping an event log of every send, drop, duplicate and delivery.
    pub fn record_events(&mut self, on: bool) {
        self.events = if on {
            Some(self.events.take().unwrap_or_default())
        } else {
            None
        };
    }

    /// The event log so far (empty unless recording).
    pub fn events(&self) -> &[NetEvent] {
        self.events.as_deref().unwrap_or(&[])
    }

    /// Hands a datagram to the network at `now`: it is dropped or scheduled for delivery
    /// according to the link `from` -> `to`.
    pub fn send(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        payload: impl Into<Bytes>,
    ) -> Fate {
        let payload = payload.into();
        let link = self.link(from, to);
        self.stats.sent += 1;
        self.log(now, NetEventKind::Sent, from, to, payload.len());

        if self.rng.chance(probability(link.loss)) {
            self.stats.dropped += 1;
            self.log(now, NetEventKind::Dropped, from, to, payload.len());
            return Fate::Dropped;
        }

        let at = self.arrival(now, &link);
        let duplicate = self.rng.chance(probability(link.duplicate));
        let datagram = Datagram {
            from,
            to,
            payload,
            sent_at: now,
            deliver_at: at,
        };
        if duplicate {
            let at2 = self.arrival(now, &link);
            let copy = Datagram {
                deliver_at: at2,
                ..datagram.clone()
            };
            self.stats.duplicated += 1;
            self.log(now, NetEventKind::Duplicated, from, to, copy.payload.len());
            self.enqueue(datagram);
            self.enqueue(copy);
            Fate::Duplicated
        } else {
            self.enqueue(datagram);
            Fate::Scheduled
        }
    }

    /// When the earliest datagram in flight is due, if any.
    pub fn next_delivery(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse(q)| q.at)
    }

    /// The earliest datagram due at or before `now`, in due-time order (ties in send order).
    pub fn poll_delivery(&mut self, now: Instant) -> Option<Datagram> {
        if self.next_delivery()? > now {
            return None;
        }
        let Reverse(q) = self.queue.pop()?;
        self.stats.delivered += 1;
        self.log(
            now,
            NetEventKind::Delivered,
            q.datagram.from,
            q.datagram.to,
            q.datagram.payload.len(),
        );
        Some(q.datagram)
    }

    /// Datagrams scheduled and not yet delivered.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    pub fn stats(&self) -> NetStats {
        self.stats
    }

    /// When a datagram sent at `now` on `link` arrives. Always draws the same number of
    /// random values, so one datagram's fate does not shift the stream for the next.
    fn arrival(&mut self, now: Instant, link: &LinkConfig) -> Instant {
        let jitter = self.rng.duration_up_to(link.jitter);
        let held = if self.rng.chance(probability(link.reorder)) {
            link.reorder_delay
        } else {
            Duration::ZERO
        };
        now + link.delay + jitter + held
    }

    fn enqueue(&mut self, datagram: Datagram) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.queue.push(Reverse(Queued {
            at: datagram.deliver_at,
            seq,
            datagram,
        }));
    }

    fn log(
        &mut self,
        at: Instant,
        kind: NetEventKind,
        from: SocketAddr,
        to: SocketAddr,
        len: usize,
    ) {
        if let Some(events) = &mut self.events {
            events.push(NetEvent {
                at,
                kind,
                from,
                to,
                len,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn drain(net: &mut Network, until: Instant) -> Vec<Datagram> {
        let mut out = Vec::new();
        while let Some(d) = net.poll_delivery(until) {
            out.push(d);
        }
        out
    }

    #[test]
    fn delivers_after_the_delay_and_not_before() {
        let t0 = Instant::now();
        let mut net = Network::new(1);
        net.set_default_link(LinkConfig::with_delay_only(Duration::from_millis(20)));
        assert_eq!(net.send(t0, addr(1), addr(2), &b"hi"[..]), Fate::Scheduled);
        assert_eq!(net.next_delivery(), Some(t0 + Duration::from_millis(20)));
        assert_eq!(net.poll_delivery(t0 + Duration::from_millis(19)), None);
        let d = net
            .poll_delivery(t0 + Duration::from_millis(20))
            .expect("due");
        assert_eq!(
            (d.from, d.to, &d.payload[..]),
            (addr(1), addr(2), &b"hi"[..])
        );
        assert_eq!(d.sent_at, t0);
        assert_eq!(net.next_delivery(), None);
        assert_eq!(
            net.stats(),
            NetStats {
                sent: 1,
                dropped: 0,
                duplicated: 0,
                delivered: 1
            }
        );
    }

    #[test]
    fn deliveries_come_in_time_order_across_links() {
        let t0 = Instant::now();
        let mut net = Network::new(1);
        net.set_link(
            addr(1),
            addr(2),
            LinkConfig::with_delay_only(Duration::from_millis(50)),
        );
        net.set_link(
            addr(3),
            addr(2),
            LinkConfig::with_delay_only(Duration::from_millis(5)),
        );
        net.send(t0, addr(1), addr(2), &b"slow"[..]);
        net.send(
            t0 + Duration::from_millis(1),
            addr(3),
            addr(2),
            &b"fast"[..],
        );
        let got = drain(&mut net, t0 + Duration::from_secs(1));
        let payloads: Vec<&[u8]> = got.iter().map(|d| &d.payload[..]).collect();
        assert_eq!(payloads, vec![&b"fast"[..], &b"slow"[..]]);
        assert!(got.windows(2).all(|w| w[0].deliver_at <= w[1].deliver_at));
    }

    #[test]
    fn equal_due_times_keep_send_order() {
        let t0 = Instant::now();
        let mut net = Network::new(3);
        for i in 0..10u8 {
            net.send(t0, addr(1), addr(2), vec![i]);
        }
        let got: Vec<u8> = drain(&mut net, t0 + Duration::from_secs(1))
            .iter()
            .map(|d| d.payload[0])
            .collect();
        assert_eq!(got, (0..10).collect::<Vec<u8>>());
    }

    #[test]
    fn loss_rate_is_close_to_configured() {
        let t0 = Instant::now();
        let mut net = Network::new(2024);
        net.set_default_link(LinkConfig::lan().loss(0.2));
        let n = 20_000;
        for i in 0..n {
            net.send(t0 + Duration::from_micros(i), addr(1), addr(2), &b"x"[..]);
        }
        let s = net.stats();
        let rate = s.dropped as f64 / n as f64;
        // 20k Bernoulli(0.2) trials: sd ~= 0.0028, so +-0.015 is > 5 sd.
        assert!((0.185..0.215).contains(&rate), "loss rate {rate}");
        assert_eq!(net.in_flight() as u64, s.sent - s.dropped);
        drain(&mut net, t0 + Duration::from_secs(10));
        assert_eq!(net.stats().delivered, s.sent - s.dropped);
    }

    #[test]
    fn no_loss_and_total_loss_are_exact() {
        let t0 = Instant::now();
        let mut net = Network::new(5);
        net.set_link(addr(1), addr(2), LinkConfig::down());
        for _ in 0..100 {
            assert_eq!(net.send(t0, addr(1), addr(2), &b"x"[..]), Fate::Dropped);
            assert_eq!(net.send(t0, addr(2), addr(1), &b"x"[..]), Fate::Scheduled);
        }
        assert_eq!(net.stats().dropped, 100);
        assert_eq!(net.in_flight(), 100);
    }

    #[test]
    fn jitter_reorders_closely_spaced_datagrams() {
        let t0 = Instant::now();
        let mut net = Network::new(11);
        net.set_default_link(LinkConfig::lan().jitter(Duration::from_millis(20)));
        for i in 0..100u8 {
            net.send(
                t0 + Duration::from_millis(i as u64),
                addr(1),
                addr(2),
                vec![i],
            );
        }
        let got: Vec<u8> = drain(&mut net, t0 + Duration::from_secs(1))
            .iter()
            .map(|d| d.payload[0])
            .collect();
        assert_eq!(got.len(), 100);
        let inversions = got.windows(2).filter(|w| w[0] > w[1]).count();
        assert!(inversions > 0, "20 ms jitter on 1 ms spacing must reorder");
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            (0..100).collect::<Vec<u8>>(),
            "nothing lost or invented"
        );
    }

    #[test]
    fn without_jitter_order_is_preserved() {
        let t0 = Instant::now();
        let mut net = Network::new(11);
        net.set_default_link(LinkConfig::lan());
        for i in 0..100u8 {
            net.send(
                t0 + Duration::from_millis(i as u64),
                addr(1),
                addr(2),
                vec![i],
            );
        }
        let got: Vec<u8> = drain(&mut net, t0 + Duration::from_secs(1))
            .iter()
            .map(|d| d.payload[0])
            .collect();
        assert_eq!(got, (0..100).collect::<Vec<u8>>());
    }

    #[test]
    fn reorder_holds_some_datagrams_back() {
        let t0 = Instant::now();
        let mut net = Network::new(12);
        net.set_default_link(LinkConfig::lan().reorder(0.3, Duration::from_millis(25)));
        for i in 0..100u8 {
            net.send(
                t0 + Duration::from_millis(i as u64 * 10),
                addr(1),
                addr(2),
                vec![i],
            );
        }
        let got = drain(&mut net, t0 + Duration::from_secs(10));
        let held = got
            .iter()
            .filter(|d| d.deliver_at - d.sent_at == Duration::from_millis(26))
            .count();
        assert!(
            (15..=45).contains(&held),
            "held back {held} of 100 at p=0.3"
        );
        let order: Vec<u8> = got.iter().map(|d| d.payload[0]).collect();
        assert!(
            order.windows(2).any(|w| w[0] > w[1]),
            "a 25 ms hold on 10 ms spacing reorders"
        );
    }

    #[test]
    fn duplicates_arrive_twice_and_are_counted() {
        let t0 = Instant::now();
        let mut net = Network::new(13);
        net.set_default_link(LinkConfig::lan().duplicate(1.0));
        assert_eq!(net.send(t0, addr(1), addr(2), &b"x"[..]), Fate::Duplicated);
        let got = drain(&mut net, t0 + Duration::from_secs(1));
        assert_eq!(got.len(), 2);
        assert_eq!(
            net.stats(),
            NetStats {
                sent: 1,
                dropped: 0,
                duplicated: 1,
                delivered: 2
            }
        );
    }

    fn trace(seed: u64) -> Vec<(Duration, NetEventKind, u16, u16, usize)> {
        // Each run has its own base instant: traces compare as offsets from it.
        let t0 = Instant::now();
        let mut net = Network::new(seed);
        net.record_events(true);
        net.set_default_link(
            LinkConfig::lan()
                .loss(0.1)
                .jitter(Duration::from_millis(15))
                .reorder(0.1, Duration::from_millis(40))
                .duplicate(0.05),
        );
        for i in 0..200u64 {
            let (a, b) = if i % 3 == 0 {
                (addr(1), addr(2))
            } else {
                (addr(2), addr(1))
            };
            net.send(
                t0 + Duration::from_millis(i * 2),
                a,
                b,
                vec![0; i as usize % 7],
            );
        }
        drain(&mut net, t0 + Duration::from_secs(5));
        net.events()
            .iter()
            .map(|e| (e.at - t0, e.kind, e.from.port(), e.to.port(), e.len))
            .collect()
    }

    #[test]
    fn same_seed_same_trace_other_seed_other_trace() {
        let a = trace(77);
        assert!(a.len() > 400);
        assert_eq!(a, trace(77));
        assert_ne!(a, trace(78));
    }

    #[test]
    fn overrides_are_per_direction_and_clearable() {
        let mut net = Network::new(0);
        let slow = LinkConfig::with_delay_only(Duration::from_secs(1));
        net.set_link(addr(1), addr(2), slow);
        assert_eq!(net.link(addr(1), addr(2)), slow);
        assert_eq!(net.link(addr(2), addr(1)), LinkConfig::default());
        net.set_link_both(addr(1), addr(2), LinkConfig::lan());
        assert_eq!(net.link(addr(2), addr(1)), LinkConfig::lan());
        net.clear_link(addr(2), addr(1));
        assert_eq!(net.link(addr(2), addr(1)), LinkConfig::default());
    }
}
