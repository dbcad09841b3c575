//! Deterministic simulated network and virtual clock for protocol tests (tier (b)).
//!
//! Sans-IO nodes ([`Node`]) exchange datagrams over a [`Network`] that delays, jitters,
//! reorders, duplicates and drops them according to per-link [`LinkConfig`]s, on a
//! [`Clock`] that only moves when [`Sim::run_until`] jumps it to the next event. Everything
//! random comes from one seeded generator, so a seed replays a run exactly.
//!
//! ```
//! use netsim::{LinkConfig, Network};
//! use std::time::{Duration, Instant};
//!
//! let t0 = Instant::now();
//! let (a, b) = ("10.0.0.1:5060".parse().unwrap(), "10.0.0.2:5060".parse().unwrap());
//! let mut net = Network::new(42);
//! net.set_default_link(LinkConfig::lan().loss(0.1).jitter(Duration::from_millis(3)));
//! net.send(t0, a, b, &b"REGISTER ..."[..]);
//! if let Some(at) = net.next_delivery() {
//!     let d = net.poll_delivery(at).unwrap();
//!     assert_eq!(d.to, b);
//! }
//! ```

mod clock;
mod link;
mod network;
mod rng;
mod sim;

pub use clock::Clock;
pub use link::LinkConfig;
pub use network::{Datagram, Fate, NetEvent, NetEventKind, NetStats, Network};
pub use rng::SimRng;
pub use sim::{
    Node, NodeId, RunOutcome, Sim, SimStats, TimelineEvent, DEFAULT_MAX_STEPS,
    DEFAULT_MAX_STEPS_PER_INSTANT,
};
