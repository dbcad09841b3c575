//! Two user agents calling each other directly: alice at 10.0.0.1, bob at 10.0.0.2.

use crate::ua::{ua_config, Gate, Open, SimUa};
use crate::{addr, OFFER};
use bytes::Bytes;
use netsim::{LinkConfig, NodeId, Sim};
use signaling::Peer;
use signaling::Uri;
use signaling::{CallHandle, DialOptions, UaConfig, UserAgent};
use std::time::{Duration, Instant};

/// Alice's node.
pub const ALICE: NodeId = NodeId(0);
/// Bob's node.
pub const BOB: NodeId = NodeId(1);

/// Alice and bob on one network; `G` is what may stand in front of either.
pub struct Duo<G: Gate = Open> {
    /// The simulation (nodes [`ALICE`] and [`BOB`]).
    pub sim: Sim<SimUa<G>>,
}

impl<G: Gate> Duo<G> {
    /// Alice and bob over `link`, both on UDP, or both on TCP when `tcp`; `adjust` changes
    /// each one's configuration (alice's first) before it starts.
    pub fn new(
        seed: u64,
        link: LinkConfig,
        tcp: bool,
        mut adjust: impl FnMut(&mut UaConfig),
    ) -> Self {
        let (a, b) = (addr("10.0.0.1:5060"), addr("10.0.0.2:5060"));
        let peer = |to| if tcp { Peer::tcp(to) } else { Peer::udp(to) };
        let mut sim = Sim::new(seed);
        sim.network_mut().set_default_link(link);
        for (user, me, to, seed) in [("alice", a, b, seed), ("bob", b, a, seed + 1000)] {
            let mut config = ua_config(user, me, peer(to), seed);
            adjust(&mut config);
            sim.add_node(SimUa::new(config));
        }
        Duo { sim }
    }

    /// Alice's node.
    pub fn alice(&mut self) -> &mut SimUa<G> {
        self.sim.node_mut(ALICE)
    }

    /// Bob's node.
    pub fn bob(&mut self) -> &mut SimUa<G> {
        self.sim.node_mut(BOB)
    }

    /// Runs `f` on `id`'s user agent now, recording what it reported.
    pub fn with<R>(&mut self, id: NodeId, f: impl FnOnce(Instant, &mut UserAgent) -> R) -> R {
        let now = self.sim.now();
        self.sim.node_mut(id).with(now, f)
    }

    /// Alice calls bob with [`OFFER`].
    ///
    /// # Panics
    /// When alice refuses to dial.
    pub fn dial(&mut self) -> CallHandle {
        self.with(ALICE, |now, ua| {
            ua.dial(
                now,
                Uri::parse("sip:bob@10.0.0.2:5060").expect("a valid URI"),
                Bytes::from_static(OFFER.as_bytes()),
                DialOptions::default(),
            )
            .expect("dial")
        })
    }

    /// Lets `secs` of virtual time pass.
    pub fn run(&mut self, secs: f64) {
        let _ = self.sim.run_for(Duration::from_secs_f64(secs), |_| false);
    }

    /// Lets a minute pass (every timer of a finished call fires in it), then asserts nothing
    /// is left on either side.
    pub fn assert_idle(&mut self, what: impl std::fmt::Display) {
        self.run(60.0);
        for id in [ALICE, BOB] {
            self.sim.node(id).assert_idle(&what);
        }
    }
}
