//! The harness of the tier (b) controller tests: the phone under test as a `netsim` node, a
//! far-end `UserAgent` (`simua::SimUa`) beside it, both on the simulation's virtual clock.
//! Each test file builds its `World` from a [`Setup`] and adds the helpers only it needs.

// Each test file is a crate of its own and uses only part of this.
#![allow(dead_code)]

use bytes::Bytes;
use netsim::{LinkConfig, Node, NodeId, Sim};
use phone::dialplan::{DialPlan, DialPlanConfig};
use phone::{AgentConfig, CallIds, MediaAction, Phone, PhoneConfig, Update};
use signaling::{CallEvent, CallHandle, CallSettings, DialOptions, Peer, UaConfig, Uri, UserAgent};
use simua::{addr, Either, SimUa};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};
use wire::{Command, CommandReply, EventBody};

pub const AGENT: NodeId = NodeId(0);
pub const FAR: NodeId = NodeId(1);

/// The agent's `UserAgent` (inside `Phone`) or the far end's: `user` at `me`, calling `peer`.
pub fn ua_config(user: &str, me: SocketAddr, peer: SocketAddr, seed: u64) -> UaConfig {
    UaConfig {
        domain: peer.ip().to_string(),
        user_agent: None,
        ..simua::ua_config(user, me, Peer::udp(peer), seed)
    }
}

/// The phone under test as a node: what it told the page and the media, in order, and every
/// datagram it sent.
pub struct Agent {
    addr: SocketAddr,
    run_prefix: &'static str,
    pub phone: Box<Phone>,
    pub events: Vec<EventBody>,
    pub media: Vec<MediaAction>,
    pub sent: Vec<Bytes>,
    /// What the way in does to each datagram before the phone reads it (a far end that
    /// advertises less, say), if anything.
    pub inbound: Option<fn(Bytes) -> Bytes>,
}

impl Agent {
    /// Moves the phone's pending page events (each checked against the status it carries)
    /// and media actions into the lists.
    pub fn collect(&mut self) {
        while let Some(update) = self.phone.poll_update() {
            assert_status_follows(&update, self.run_prefix);
            self.events.push(update.event);
        }
        while let Some(m) = self.phone.poll_media() {
            self.media.push(m);
        }
    }
}

/// Every update carries the status its event leads to: a call event's view is the one the
/// status lists, an agent-status event's state is the status's, and the status lists calls
/// oldest first.
fn assert_status_follows(update: &Update, run_prefix: &str) {
    match &update.event {
        EventBody::Call { call } | EventBody::Incoming { call } => {
            let listed = update.status.calls.iter().find(|c| c.id == call.id);
            assert_eq!(listed, Some(call), "status after {:?}", update.event);
        }
        EventBody::AgentStatus { agent } => {
            assert_eq!(&update.status.agent, agent, "the status follows the event");
        }
        _ => {}
    }
    let handles: Vec<u64> = update
        .status
        .calls
        .iter()
        .map(|c| CallIds::new(run_prefix).parse(&c.id).expect("our id").0)
        .collect();
    assert!(handles.windows(2).all(|w| w[0] < w[1]), "{handles:?}");
}

impl Node for Agent {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, payload: Bytes) {
        let payload = match self.inbound {
            Some(rewrite) => rewrite(payload),
            None => payload,
        };
        self.phone.handle_datagram(now, Peer::udp(from), payload);
        self.collect();
    }
    fn poll_transmit(&mut self, _now: Instant) -> Option<(SocketAddr, Bytes)> {
        let t = self.phone.poll_transmit()?;
        self.sent.push(t.bytes.clone());
        Some((t.dest.addr, t.bytes))
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.phone.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.phone.handle_timeout(now);
        self.collect();
    }
}

/// How a test's world is made.
pub struct Setup {
    /// The simulation's seed (its network's random draws).
    pub seed: u64,
    pub caps: media::AudioCaps,
    pub agent: AgentConfig,
    pub media_timeout: Option<Duration>,
    /// Names this test process's agent run in call ids.
    pub run_prefix: &'static str,
    /// The agent's RTP addresses at the start (its driver adds one per call).
    pub rtp_ports: &'static [u16],
    /// The far end's SDP, in its answers and its offers.
    pub far_sdp: &'static str,
    pub far_auto_answer: bool,
    /// The far end's session timer (RFC 4028), if it asks for one.
    pub far_session_timer: Option<CallSettings>,
}

/// The agent 1001 at 10.0.0.1 and the far end at 10.0.0.2 (its PBX, as far as the agent
/// knows) on a LAN link.
pub struct World {
    pub sim: Sim<Either<Agent, SimUa>>,
    pub far_sdp: &'static str,
}

impl World {
    pub fn start(setup: Setup) -> World {
        let (a, f) = (addr("10.0.0.1:5060"), addr("10.0.0.2:5060"));
        let mut sim = Sim::new(setup.seed);
        sim.network_mut().set_default_link(LinkConfig::lan());
        let now = sim.now();
        let mut phone = Phone::new(
            UserAgent::new(ua_config("1001", a, f, 1)),
            PhoneConfig {
                caps: setup.caps,
                auto_answer: false,
                call_waiting: true,
                domain: "10.0.0.2:5060".into(),
                registrar: phone::RegistrarView {
                    aor: "sip:1001@10.0.0.2".into(),
                    server: "10.0.0.2:5060".into(),
                    transport: "udp".into(),
                },
                agent: setup.agent,
                media_timeout: setup.media_timeout,
            },
            DialPlan::new(DialPlanConfig::default()).expect("default plan"),
            now,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_738_314_902),
            setup.run_prefix,
        );
        for port in setup.rtp_ports {
            phone.add_rtp_address(addr(&format!("10.0.0.1:{port}")));
        }
        sim.add_node(Either::Left(Agent {
            addr: a,
            run_prefix: setup.run_prefix,
            phone: Box::new(phone),
            events: Vec::new(),
            media: Vec::new(),
            sent: Vec::new(),
            inbound: None,
        }));
        let mut far_config = ua_config("far", f, a, 2);
        if let Some(settings) = setup.far_session_timer {
            far_config.settings = settings;
        }
        let mut far = SimUa::new(far_config);
        far.auto_answer = setup.far_auto_answer;
        far.answer = Bytes::from_static(setup.far_sdp.as_bytes());
        sim.add_node(Either::Right(far));
        World {
            sim,
            far_sdp: setup.far_sdp,
        }
    }

    pub fn agent(&self) -> &Agent {
        self.sim.node(AGENT).left()
    }

    pub fn phone_mut(&mut self) -> &mut Phone {
        &mut self.sim.node_mut(AGENT).left_mut().phone
    }

    /// Moves the agent's pending events and media actions into the collected lists.
    pub fn collect(&mut self) {
        self.sim.node_mut(AGENT).left_mut().collect();
    }

    /// A command from the page, as the bridge hands it over.
    pub fn command(&mut self, command: Command) -> Result<CommandReply, wire::CommandError> {
        let now = self.sim.now();
        let agent = self.sim.node_mut(AGENT).left_mut();
        let r = agent.phone.command(now, command);
        agent.collect();
        r
    }

    /// The far end calls the agent with its SDP.
    pub fn far_calls_agent(&mut self) -> CallHandle {
        self.far_calls_agent_offering(Bytes::from_static(self.far_sdp.as_bytes()))
    }

    /// The far end calls the agent offering `sdp`.
    pub fn far_calls_agent_offering(&mut self, sdp: Bytes) -> CallHandle {
        let now = self.sim.now();
        self.sim.node_mut(FAR).right_mut().with(now, |now, ua| {
            ua.dial(
                now,
                Uri::parse("sip:1001@10.0.0.1:5060").expect("a valid URI"),
                sdp,
                DialOptions::default(),
            )
            .expect("the far end dials")
        })
    }

    pub fn far_hangs_up(&mut self, call: CallHandle) {
        let now = self.sim.now();
        self.sim
            .node_mut(FAR)
            .right_mut()
            .with(now, |now, ua| ua.hangup(now, call))
            .expect("the far end hangs up");
    }

    pub fn far_events(&self) -> Vec<&CallEvent> {
        self.sim.node(FAR).right().event_list()
    }

    pub fn run(&mut self, secs: f64) {
        let _ = self.sim.run_for(Duration::from_secs_f64(secs), |_| false);
    }
}
