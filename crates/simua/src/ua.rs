//! A `UserAgent` as a netsim node: it records what it reports, answers calls and re-offers
//! when told to, and may sit behind a [`Gate`] (a far end that challenges, drops, ...).

use bytes::Bytes;
use netsim::Node;
use signaling::EndpointConfig;
use signaling::Password;
use signaling::TimerConfig;
use signaling::{CallEvent, CallHandle, CallSettings, EndKind, UaConfig, UaEvent, UserAgent};
use signaling::{Peer, TransportKind};
use std::net::SocketAddr;
use std::time::Instant;

/// A user agent's configuration for a simulation: `user` at `me`, sending everything to
/// `proxy`, default timers, session timers off, a password nobody checks. Tests change the
/// fields they care about (`UaConfig { password, ..ua_config(..) }`).
pub fn ua_config(user: &str, me: SocketAddr, proxy: Peer, seed: u64) -> UaConfig {
    UaConfig {
        endpoint: EndpointConfig {
            registration: None,
            timers: TimerConfig::default(),
            deliver_calls: true,
            seed,
        },
        proxy,
        user: user.into(),
        domain: me.ip().to_string(),
        display_name: None,
        auth_user: user.into(),
        password: Password::new("unused"),
        local_addr: me,
        user_agent: Some("sim".into()),
        settings: CallSettings {
            session_expires: 0,
            min_se: 90,
        },
    }
}

/// Something in front of a user agent that sees each datagram first: it lets it through
/// or answers it itself.
pub trait Gate {
    /// Whether the datagram goes on to the user agent.
    fn pass(&mut self, from: SocketAddr, payload: &[u8]) -> bool;
    /// An answer of its own to send, with its destination.
    fn poll_transmit(&mut self) -> Option<(SocketAddr, Bytes)>;
}

/// No gate: the type of [`SimUa::gate`] for a user agent that faces the network directly.
pub enum Open {}

impl Gate for Open {
    fn pass(&mut self, _from: SocketAddr, _payload: &[u8]) -> bool {
        match *self {}
    }
    fn poll_transmit(&mut self) -> Option<(SocketAddr, Bytes)> {
        match *self {}
    }
}

/// A user agent on the simulated network.
pub struct SimUa<G = Open> {
    /// The core under test; call it through [`SimUa::with`] so its events are recorded.
    pub ua: UserAgent,
    /// Every call event it reported, with when.
    pub events: Vec<(Instant, CallEvent)>,
    /// Answers incoming calls at once with [`SimUa::answer`].
    pub auto_answer: bool,
    /// Answers re-offers at once with [`SimUa::answer`] (on unless a test answers by hand).
    pub answer_reoffers: bool,
    /// The SDP it answers calls and re-offers with. A re-offer putting it on hold
    /// (`a=sendonly`) is answered with its `a=sendrecv` turned into `a=recvonly`.
    pub answer: Bytes,
    /// What sees its datagrams first, if anything.
    pub gate: Option<G>,
    addr: SocketAddr,
    transport: TransportKind,
}

impl<G: Gate> SimUa<G> {
    /// A user agent listening on `config.local_addr`, on the proxy's transport.
    pub fn new(config: UaConfig) -> Self {
        SimUa {
            addr: config.local_addr,
            transport: config.proxy.transport,
            ua: UserAgent::new(config),
            events: Vec::new(),
            auto_answer: false,
            answer_reoffers: true,
            answer: Bytes::from_static(crate::ANSWER.as_bytes()),
            gate: None,
        }
    }

    /// Runs `f` on the user agent at `now`, then records what it reported.
    pub fn with<R>(&mut self, now: Instant, f: impl FnOnce(Instant, &mut UserAgent) -> R) -> R {
        let r = f(now, &mut self.ua);
        self.collect(now);
        r
    }

    /// Records the user agent's events, answering calls and re-offers as configured.
    ///
    /// # Panics
    /// When the user agent refuses an answer it asked for: a bug the test is there to find.
    pub fn collect(&mut self, now: Instant) {
        while let Some(event) = self.ua.poll_event() {
            let UaEvent::Call(event) = event else {
                continue;
            };
            match &event {
                CallEvent::Incoming { call, .. } if self.auto_answer => {
                    self.ua
                        .answer(now, *call, self.answer.clone())
                        .expect("answer");
                }
                CallEvent::SessionRefreshNeeded { call } => {
                    // As an application would: the same offer again. Refused only while
                    // another offer is under way, which refreshes the session itself.
                    let offer = Bytes::from_static(crate::OFFER.as_bytes());
                    let _ = self.ua.reinvite(now, *call, offer);
                }
                CallEvent::RemoteReoffer { call, offer } if self.answer_reoffers => {
                    let answer = self.answer_to(offer.as_deref());
                    self.ua
                        .answer_reoffer(now, *call, answer)
                        .expect("answer the re-offer");
                }
                _ => {}
            }
            self.events.push((now, event));
        }
    }

    fn answer_to(&self, offer: Option<&[u8]>) -> Bytes {
        let held = offer.is_some_and(|o| o.windows(10).any(|w| w == b"a=sendonly"));
        if !held {
            return self.answer.clone();
        }
        let answer = String::from_utf8_lossy(&self.answer).replace("a=sendrecv", "a=recvonly");
        Bytes::from(answer)
    }

    /// The first incoming call.
    pub fn incoming(&self) -> Option<CallHandle> {
        self.events.iter().find_map(|(_, e)| match e {
            CallEvent::Incoming { call, .. } => Some(*call),
            _ => None,
        })
    }

    /// How the first call that ended did.
    pub fn ended(&self) -> Option<EndKind> {
        self.events.iter().find_map(|(_, e)| match e {
            CallEvent::Ended { reason, .. } => Some(reason.kind),
            _ => None,
        })
    }

    /// Whether a call it placed was answered.
    pub fn answered(&self) -> bool {
        self.count(|e| matches!(e, CallEvent::Answered { .. })) > 0
    }

    /// How many events match `pred`.
    pub fn count(&self, pred: impl Fn(&CallEvent) -> bool) -> usize {
        self.events.iter().filter(|(_, e)| pred(e)).count()
    }

    /// The events without their times (for messages).
    pub fn event_list(&self) -> Vec<&CallEvent> {
        self.events.iter().map(|(_, e)| e).collect()
    }

    /// Asserts no call, transaction or timer is left (`what` names the scenario).
    pub fn assert_idle(&self, what: impl std::fmt::Display) {
        assert!(
            self.ua.is_idle(),
            "{what}: {} has calls or transactions left: {:?}",
            self.addr,
            self.ua.active_calls().collect::<Vec<_>>()
        );
    }
}

impl<G: Gate> Node for SimUa<G> {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, payload: Bytes) {
        if let Some(gate) = &mut self.gate {
            if !gate.pass(from, &payload) {
                return;
            }
        }
        let source = Peer {
            transport: self.transport,
            addr: from,
        };
        self.ua.handle_datagram(now, source, payload);
        self.collect(now);
    }
    fn poll_transmit(&mut self, _now: Instant) -> Option<(SocketAddr, Bytes)> {
        if let Some(out) = self.gate.as_mut().and_then(Gate::poll_transmit) {
            return Some(out);
        }
        let t = self.ua.poll_transmit()?;
        Some((t.dest.addr, t.bytes))
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.ua.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.ua.handle_timeout(now);
        self.collect(now);
    }
}
