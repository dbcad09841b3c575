//! Tier (b): the call controller against a far-end `UserAgent` over `netsim`, on a virtual
//! clock: page commands in, SIP across the simulated network, media actions and page events
//! out. Checks what the page relies on: states in order, media started with the far end's
//! address, hold, and that refused commands change nothing.

use bytes::Bytes;
use netsim::{LinkConfig, Node, NodeId, Sim};
use phone::dialplan::{DialPlan, DialPlanConfig};
use phone::{MediaAction, Phone, PhoneConfig};
use signaling::auth::Password;
use signaling::call::{CallEvent, CallSettings, UaConfig, UaEvent, UserAgent};
use signaling::endpoint::EndpointConfig;
use signaling::net::Peer;
use signaling::transaction::TimerConfig;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};
use wire::{CallState, Command, CommandErrorKind, CommandReply, EventBody};

const FAR_SDP_SENDRECV: &str = "v=0\r\no=far 7 7 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

fn ua(user: &str, me: SocketAddr, peer: SocketAddr, seed: u64) -> UserAgent {
    UserAgent::new(UaConfig {
        endpoint: EndpointConfig {
            registration: None,
            timers: TimerConfig::default(),
            deliver_calls: true,
            seed,
        },
        proxy: Peer::udp(peer),
        user: user.into(),
        domain: peer.ip().to_string(),
        display_name: None,
        auth_user: user.into(),
        password: Password::new("unused"),
        local_addr: me,
        user_agent: None,
        settings: CallSettings {
            session_expires: 0,
            min_se: 90,
        },
    })
}

enum Party {
    Agent {
        phone: Box<Phone>,
        events: Vec<EventBody>,
        media: Vec<MediaAction>,
    },
    Far {
        ua: Box<UserAgent>,
        events: Vec<CallEvent>,
        auto_answer: bool,
        /// The far end's SDP (answers and re-offer answers).
        sdp: &'static str,
    },
}

impl Party {
    fn collect(&mut self, now: Instant) {
        match self {
            Party::Agent {
                phone,
                events,
                media,
            } => {
                while let Some(update) = phone.poll_update() {
                    assert_status_follows(&update);
                    events.push(update.event);
                }
                while let Some(m) = phone.poll_media() {
                    media.push(m);
                }
            }
            Party::Far {
                ua,
                events,
                auto_answer,
                sdp: far_sdp,
            } => {
                while let Some(UaEvent::Call(e)) = ua.poll_event() {
                    match &e {
                        CallEvent::Incoming { call, .. } if *auto_answer => {
                            ua.answer(now, *call, Bytes::from_static(far_sdp.as_bytes()))
                                .expect("far end answers");
                        }
                        CallEvent::RemoteReoffer { call, offer } => {
                            // Answer hold with recvonly, anything else with sendrecv.
                            let held = offer
                                .as_ref()
                                .is_some_and(|o| String::from_utf8_lossy(o).contains("a=sendonly"));
                            let sdp = if held {
                                far_sdp.replace("a=sendrecv", "a=recvonly")
                            } else {
                                far_sdp.to_string()
                            };
                            ua.answer_reoffer(now, *call, Bytes::from(sdp))
                                .expect("answer re-offer");
                        }
                        _ => {}
                    }
                    events.push(e);
                }
            }
        }
    }
}

/// Every update carries the status its event leads to: a call event's view is the one the
/// status lists, and the status lists calls oldest first.
fn assert_status_follows(update: &phone::Update) {
    if let EventBody::Call { call } | EventBody::Incoming { call } = &update.event {
        let listed = update.status.calls.iter().find(|c| c.id == call.id);
        assert_eq!(listed, Some(call), "status after {:?}", update.event);
    }
    let handles: Vec<u64> = update
        .status
        .calls
        .iter()
        .map(|c| phone::parse_call_id(&c.id).expect("our id").0)
        .collect();
    assert!(handles.windows(2).all(|w| w[0] < w[1]), "{handles:?}");
}

struct Node2 {
    addr: SocketAddr,
    party: Party,
}

impl Node for Node2 {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, payload: Bytes) {
        match &mut self.party {
            Party::Agent { phone, .. } => phone.handle_datagram(now, Peer::udp(from), &payload),
            Party::Far { ua, .. } => ua.handle_datagram(now, Peer::udp(from), &payload),
        }
        self.party.collect(now);
    }
    fn poll_transmit(&mut self, _now: Instant) -> Option<(SocketAddr, Bytes)> {
        let t = match &mut self.party {
            Party::Agent { phone, .. } => phone.poll_transmit(),
            Party::Far { ua, .. } => ua.poll_transmit(),
        }?;
        Some((t.dest.addr, t.bytes))
    }
    fn poll_timeout(&self) -> Option<Instant> {
        match &self.party {
            Party::Agent { phone, .. } => phone.poll_timeout(),
            Party::Far { ua, .. } => ua.poll_timeout(),
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        match &mut self.party {
            Party::Agent { phone, .. } => phone.handle_timeout(now),
            Party::Far { ua, .. } => ua.handle_timeout(now),
        }
        self.party.collect(now);
    }
}

const AGENT: NodeId = NodeId(0);
/// Names this test process's agent run in call ids.
const RUN_PREFIX: &str = "r7";

struct World {
    sim: Sim<Node2>,
}

impl World {
    fn new(auto_answer: bool) -> World {
        World::with_far_sdp(auto_answer, FAR_SDP_SENDRECV)
    }

    fn with_far_sdp(auto_answer: bool, far_sdp: &'static str) -> World {
        let (a, f) = (addr("10.0.0.1:5060"), addr("10.0.0.2:5060"));
        let mut sim = Sim::new(3);
        sim.network_mut().set_default_link(LinkConfig::lan());
        let now = sim.now();
        let dial_plan = DialPlan::new(DialPlanConfig::default()).expect("default plan");
        let mut phone = Phone::new(
            ua("1001", a, f, 1),
            PhoneConfig {
                caps: media::AudioCaps::default(),
                auto_answer: false,
                call_waiting: true,
                domain: "10.0.0.2:5060".into(),
                registrar: phone::RegistrarView {
                    aor: "sip:1001@10.0.0.2".into(),
                    server: "10.0.0.2:5060".into(),
                    transport: "udp".into(),
                },
            },
            dial_plan,
            now,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_738_314_902),
            RUN_PREFIX,
        );
        phone.add_rtp_address(addr("10.0.0.1:30000"));
        phone.add_rtp_address(addr("10.0.0.1:30002"));
        sim.add_node(Node2 {
            addr: a,
            party: Party::Agent {
                phone: Box::new(phone),
                events: Vec::new(),
                media: Vec::new(),
            },
        });
        sim.add_node(Node2 {
            addr: f,
            party: Party::Far {
                ua: Box::new(ua("far", f, a, 2)),
                events: Vec::new(),
                auto_answer,
                sdp: far_sdp,
            },
        });
        World { sim }
    }

    fn command(&mut self, command: Command) -> Result<CommandReply, wire::CommandError> {
        let now = self.sim.now();
        let node = self.sim.node_mut(AGENT);
        let Party::Agent { phone, .. } = &mut node.party else {
            unreachable!()
        };
        let r = phone.command(now, command);
        node.party.collect(now);
        r
    }

    fn phone_mut(&mut self) -> &mut Phone {
        match &mut self.sim.node_mut(AGENT).party {
            Party::Agent { phone, .. } => phone,
            Party::Far { .. } => unreachable!(),
        }
    }

    /// Moves the agent's pending events and media actions into the collected lists.
    fn collect(&mut self) {
        let now = self.sim.now();
        self.sim.node_mut(AGENT).party.collect(now);
    }

    fn far_events(&self) -> &Vec<CallEvent> {
        match &self.sim.node(NodeId(1)).party {
            Party::Far { events, .. } => events,
            Party::Agent { .. } => unreachable!(),
        }
    }

    fn agent(&self) -> (&Phone, &Vec<EventBody>, &Vec<MediaAction>) {
        match &self.sim.node(AGENT).party {
            Party::Agent {
                phone,
                events,
                media,
            } => (phone, events, media),
            Party::Far { .. } => unreachable!(),
        }
    }

    fn run(&mut self, secs: f64) {
        let _ = self.sim.run_for(Duration::from_secs_f64(secs), |_| false);
    }

    fn state_of(&self, id: &str) -> Option<CallState> {
        self.agent()
            .0
            .status()
            .calls
            .iter()
            .find(|c| c.id == id)
            .cloned()
            .map(|c| c.state)
    }
}

fn call_states(events: &[EventBody]) -> Vec<CallState> {
    events
        .iter()
        .filter_map(|e| match e {
            EventBody::Call { call } | EventBody::Incoming { call } => Some(call.state),
            _ => None,
        })
        .collect()
}

#[test]
fn dial_answer_hold_resume_hangup() {
    let mut w = World::new(true);
    let CommandReply::Created { id } = w
        .command(Command::Dial {
            to: "+1 (555) 123-4567".into(),
        })
        .expect("dial")
    else {
        panic!("dial creates a call")
    };
    assert!(id.starts_with("r7c"), "ids name the run: {id}");
    assert_eq!(w.state_of(&id), Some(CallState::Dialing));
    w.run(2.0);
    assert_eq!(w.state_of(&id), Some(CallState::Connected));
    let (_, _, media) = w.agent();
    let started = media.iter().find_map(|m| match m {
        MediaAction::Start {
            local, negotiated, ..
        } => Some((*local, negotiated.remote_rtp)),
        _ => None,
    });
    assert_eq!(
        started,
        Some((addr("10.0.0.1:30000"), Some(addr("10.0.0.2:40000"))))
    );

    // Resume before hold is refused and changes nothing.
    let err = w.command(Command::Resume { id: id.clone() }).unwrap_err();
    assert_eq!(err.kind, CommandErrorKind::InvalidState);
    assert_eq!(w.state_of(&id), Some(CallState::Connected));

    w.command(Command::Hold { id: id.clone() }).expect("hold");
    w.run(2.0);
    assert_eq!(w.state_of(&id), Some(CallState::Held));
    w.command(Command::Resume { id: id.clone() })
        .expect("resume");
    w.run(2.0);
    assert_eq!(w.state_of(&id), Some(CallState::Connected));

    w.command(Command::Mute { id: id.clone() }).expect("mute");
    assert!(w
        .agent()
        .2
        .iter()
        .any(|m| matches!(m, MediaAction::Mute { muted: true, .. })));

    w.command(Command::Hangup { id: id.clone() })
        .expect("hangup");
    w.run(2.0);
    assert_eq!(w.state_of(&id), Some(CallState::Ended));
    let (phone, events, media) = w.agent();
    let ended = phone
        .status()
        .calls
        .iter()
        .find(|c| c.id == id)
        .cloned()
        .expect("listed while recent");
    assert_eq!(ended.end_reason.expect("a reason").code, "hangup_local");
    assert!(ended.answered_at.is_some());
    assert_eq!(ended.started_at, "2025-01-31T09:15:02Z");
    assert!(matches!(media.last(), Some(MediaAction::Stop { .. })));
    let states = call_states(events);
    let first_connected = states
        .iter()
        .position(|s| *s == CallState::Connected)
        .expect("connected");
    assert_eq!(states[0], CallState::Dialing);
    assert!(states[..first_connected]
        .iter()
        .all(|s| matches!(s, CallState::Dialing | CallState::Ringing)));
    assert!(states.contains(&CallState::Held));
    assert_eq!(states.last(), Some(&CallState::Ended));

    // Commands on the ended call are refused with a clear reason.
    let err = w.command(Command::Hangup { id }).unwrap_err();
    assert_eq!(err.kind, CommandErrorKind::InvalidState);
}

#[test]
fn refused_commands_change_nothing() {
    let mut w = World::new(false);
    let err = w
        .command(Command::Dial {
            to: "<script>".into(),
        })
        .unwrap_err();
    assert_eq!(err.kind, CommandErrorKind::Undialable);
    assert!(
        err.message.contains("not a phone number"),
        "{}",
        err.message
    );
    let err = w.command(Command::Answer { id: "c99".into() }).unwrap_err();
    assert_eq!(err.kind, CommandErrorKind::UnknownCall);
    let err = w
        .command(Command::Hold {
            id: "nonsense".into(),
        })
        .unwrap_err();
    assert_eq!(err.kind, CommandErrorKind::UnknownCall);

    let CommandReply::Created { id } = w.command(Command::Dial { to: "1002".into() }).unwrap()
    else {
        panic!()
    };
    w.run(1.0);
    assert_eq!(w.state_of(&id), Some(CallState::Ringing));
    for command in [
        Command::Answer { id: id.clone() },
        Command::Hold { id: id.clone() },
        Command::Dtmf {
            id: id.clone(),
            digits: "1".into(),
        },
        Command::Reject { id: id.clone() },
    ] {
        let err = w.command(command.clone()).unwrap_err();
        assert_eq!(err.kind, CommandErrorKind::InvalidState, "{command:?}");
        assert_eq!(w.state_of(&id), Some(CallState::Ringing), "{command:?}");
    }
    assert!(w.agent().0.status().calls.len() == 1);
    w.command(Command::Hangup { id: id.clone() })
        .expect("cancel");
    w.run(40.0);
    assert_eq!(w.state_of(&id), Some(CallState::Ended));
    assert!(w.agent().0.ua().is_idle(), "nothing left behind");
}

const FAR_SDP_NO_EVENTS: &str = "v=0\r\no=far 7 7 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";

fn connected_call(w: &mut World) -> (String, signaling::call::CallHandle) {
    let CommandReply::Created { id } = w.command(Command::Dial { to: "1002".into() }).unwrap()
    else {
        panic!("dial creates a call")
    };
    w.run(2.0);
    assert_eq!(w.state_of(&id), Some(CallState::Connected));
    (id.clone(), phone::parse_call_id(&id).unwrap())
}

#[test]
fn dtmf_goes_in_the_media_when_negotiated_else_as_info() {
    let mut w = World::new(true);
    let (id, handle) = connected_call(&mut w);
    w.command(Command::Dtmf {
        id: id.clone(),
        digits: "12#".into(),
    })
    .expect("dtmf");
    w.run(1.0);
    assert!(w.agent().2.contains(&MediaAction::SendDtmf {
        call: handle,
        digits: "12#".into()
    }));
    assert!(
        !w.far_events()
            .iter()
            .any(|e| matches!(e, CallEvent::Dtmf { .. })),
        "no INFO when telephone-event was negotiated"
    );

    let mut w = World::with_far_sdp(true, FAR_SDP_NO_EVENTS);
    let (id, _) = connected_call(&mut w);
    w.command(Command::Dtmf {
        id,
        digits: "7".into(),
    })
    .expect("dtmf");
    w.run(1.0);
    assert!(!w
        .agent()
        .2
        .iter()
        .any(|m| matches!(m, MediaAction::SendDtmf { .. })));
    assert!(
        w.far_events()
            .iter()
            .any(|e| matches!(e, CallEvent::Dtmf { digit: '7', .. })),
        "INFO without telephone-event: {:?}",
        w.far_events()
    );
}

#[test]
fn media_digits_and_quality_reach_the_page() {
    let mut w = World::new(true);
    let (id, handle) = connected_call(&mut w);
    w.phone_mut().media_digit(handle, '5');
    let stats = media::RtpStats {
        packets_sent: 250,
        packets_received: 248,
        lost: 2,
        jitter_ms: 1.234,
        rtt_ms: Some(12.06),
        mos: 4.4071,
        dropped: 3,
        rtcp_dropped: 1,
        concealed_ms: 40,
        ..Default::default()
    };
    w.phone_mut().media_quality(handle, &stats, false);
    w.collect();
    let events = &w.agent().1;
    assert!(events.contains(&EventBody::Dtmf {
        call_id: id.clone(),
        digits: "5".into()
    }));
    let quality = events
        .iter()
        .find_map(|e| match e {
            EventBody::CallQuality {
                call_id,
                quality,
                last: false,
            } if *call_id == id => Some(quality.clone()),
            _ => None,
        })
        .expect("a call_quality event");
    assert_eq!(
        (quality.packets_lost, quality.junk, quality.concealed_ms),
        (2, 4, 40)
    );
    assert_eq!(
        (quality.jitter_ms, quality.rtt_ms, quality.mos),
        (1.2, Some(12.1), 4.41)
    );
    let view = w
        .agent()
        .0
        .status()
        .calls
        .iter()
        .find(|c| c.id == id)
        .cloned()
        .unwrap();
    assert_eq!(view.quality, Some(quality));

    // The final figures arrive after the call ended and stay on its record.
    w.command(Command::Hangup { id: id.clone() }).unwrap();
    w.run(2.0);
    let last = media::RtpStats {
        packets_sent: 400,
        ..stats
    };
    w.phone_mut().media_quality(handle, &last, true);
    w.collect();
    let view = w
        .agent()
        .0
        .status()
        .calls
        .iter()
        .find(|c| c.id == id)
        .cloned()
        .unwrap();
    assert_eq!(view.state, CallState::Ended);
    assert_eq!(view.quality.map(|q| q.packets_sent), Some(400));
    assert!(matches!(
        w.agent().1.last(),
        Some(EventBody::CallQuality { last: true, .. })
    ));
}
