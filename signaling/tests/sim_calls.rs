//! Tier (b): two `UserAgent`s calling each other directly over `netsim`, on a virtual clock:
//! answer and hang-up both ways, cancel, reject, hold by re-INVITE, DTMF by INFO, blind
//! transfer by REFER/NOTIFY, session timers; over lossy links too. Every scenario ends with
//! no call and no transaction left behind.

use bytes::Bytes;
use netsim::{LinkConfig, Node, NodeId, Sim};
use signaling::auth::Password;
use signaling::call::{
    CallEvent, CallHandle, CallSettings, DialOptions, EndKind, UaConfig, UaEvent, UserAgent,
};
use signaling::endpoint::EndpointConfig;
use signaling::message::Uri;
use signaling::net::Peer;
use signaling::transaction::TimerConfig;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
const ANSWER: &str = "v=0\r\no=- 2 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test addresses are valid")
}

struct Phone {
    addr: SocketAddr,
    ua: UserAgent,
    events: Vec<(Instant, CallEvent)>,
    auto_answer: bool,
}

impl Phone {
    fn new(
        user: &str,
        me: SocketAddr,
        peer: SocketAddr,
        seed: u64,
        settings: CallSettings,
    ) -> Self {
        let ua = UserAgent::new(UaConfig {
            endpoint: EndpointConfig {
                registration: None,
                timers: TimerConfig::default(),
                deliver_calls: true,
                seed,
            },
            proxy: Peer::udp(peer),
            user: user.into(),
            domain: me.ip().to_string(),
            display_name: None,
            auth_user: user.into(),
            password: Password::new("unused"),
            local_addr: me,
            user_agent: Some("sim".into()),
            settings,
        });
        Phone {
            addr: me,
            ua,
            events: Vec::new(),
            auto_answer: false,
        }
    }

    fn collect(&mut self, now: Instant) {
        while let Some(event) = self.ua.poll_event() {
            if let UaEvent::Call(event) = event {
                match &event {
                    CallEvent::Incoming { call, .. } if self.auto_answer => {
                        let call = *call;
                        self.events.push((now, event));
                        self.ua
                            .answer(now, call, Bytes::from_static(ANSWER.as_bytes()))
                            .expect("answer");
                        continue;
                    }
                    CallEvent::RemoteReoffer { call, .. } => {
                        let call = *call;
                        self.events.push((now, event));
                        self.ua
                            .answer_reoffer(now, call, Bytes::from_static(ANSWER.as_bytes()))
                            .expect("answer the re-offer");
                        continue;
                    }
                    _ => {}
                }
                self.events.push((now, event));
            }
        }
    }

    fn incoming(&self) -> Option<CallHandle> {
        self.events.iter().find_map(|(_, e)| match e {
            CallEvent::Incoming { call, .. } => Some(*call),
            _ => None,
        })
    }

    fn ended(&self) -> Option<EndKind> {
        self.events.iter().find_map(|(_, e)| match e {
            CallEvent::Ended { reason, .. } => Some(reason.kind),
            _ => None,
        })
    }

    fn answered(&self) -> bool {
        self.events
            .iter()
            .any(|(_, e)| matches!(e, CallEvent::Answered { .. }))
    }

    fn count(&self, pred: impl Fn(&CallEvent) -> bool) -> usize {
        self.events.iter().filter(|(_, e)| pred(e)).count()
    }
}

impl Node for Phone {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, payload: Bytes) {
        self.ua.handle_datagram(now, Peer::udp(from), &payload);
        self.collect(now);
    }
    fn poll_transmit(&mut self, _now: Instant) -> Option<(SocketAddr, Bytes)> {
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

struct World {
    sim: Sim<Phone>,
}

const ALICE: NodeId = NodeId(0);
const BOB: NodeId = NodeId(1);

impl World {
    fn new(seed: u64, link: LinkConfig, settings: CallSettings) -> Self {
        let (a, b) = (addr("10.0.0.1:5060"), addr("10.0.0.2:5060"));
        let mut sim = Sim::new(seed);
        sim.network_mut().set_default_link(link);
        sim.add_node(Phone::new("alice", a, b, seed, settings));
        sim.add_node(Phone::new("bob", b, a, seed + 1000, settings));
        World { sim }
    }

    fn alice(&mut self) -> &mut Phone {
        self.sim.node_mut(ALICE)
    }

    fn bob(&mut self) -> &mut Phone {
        self.sim.node_mut(BOB)
    }

    fn with<R>(&mut self, id: NodeId, f: impl FnOnce(Instant, &mut UserAgent) -> R) -> R {
        let now = self.sim.now();
        let phone = self.sim.node_mut(id);
        let r = f(now, &mut phone.ua);
        phone.collect(now);
        r
    }

    fn dial(&mut self) -> CallHandle {
        self.with(ALICE, |now, ua| {
            ua.dial(
                now,
                Uri::parse("sip:bob@10.0.0.2:5060").unwrap(),
                Bytes::from_static(OFFER.as_bytes()),
                DialOptions::default(),
            )
            .expect("dial")
        })
    }

    fn run(&mut self, secs: f64) {
        let _ = self.sim.run_for(Duration::from_secs_f64(secs), |_| false);
    }

    fn assert_idle(&mut self, seed: u64) {
        self.run(60.0);
        for id in [ALICE, BOB] {
            let phone = self.sim.node(id);
            assert!(
                phone.ua.is_idle(),
                "seed {seed}: {} has calls or transactions left: {:?}",
                phone.addr,
                phone.ua.active_calls().collect::<Vec<_>>()
            );
        }
    }
}

fn no_timer() -> CallSettings {
    CallSettings {
        session_expires: 0,
        min_se: 90,
    }
}

#[test]
fn answered_call_then_callee_hangs_up_even_over_a_lossy_link() {
    for seed in 1..=10 {
        let link = if seed <= 2 {
            LinkConfig::lan()
        } else {
            LinkConfig::lan().loss(0.2)
        };
        let mut w = World::new(seed, link, no_timer());
        w.bob().auto_answer = true;
        let call = w.dial();
        w.run(40.0);
        assert!(
            w.alice().answered(),
            "seed {seed}: alice saw no answer: {:?}",
            w.alice().events
        );
        assert!(w.bob().answered(), "seed {seed}: bob saw no ACK");
        let (_, first) = &w.alice().events[0];
        assert!(
            matches!(
                first,
                CallEvent::Progress { status: 180, .. } | CallEvent::Answered { .. }
            ),
            "seed {seed}: {first:?}"
        );
        let bob_call = w.bob().incoming().expect("bob got the call");
        w.with(BOB, |now, ua| ua.hangup(now, bob_call))
            .expect("hangup");
        w.run(40.0);
        assert_eq!(
            w.alice().ended(),
            Some(EndKind::RemoteHangup),
            "seed {seed}"
        );
        assert_eq!(w.bob().ended(), Some(EndKind::LocalHangup), "seed {seed}");
        assert!(w.with(ALICE, |_, ua| ua.active_calls().count()) == 0);
        let _ = call;
        w.assert_idle(seed);
    }
}

#[test]
fn caller_cancels_while_ringing() {
    for seed in 1..=6 {
        let link = if seed == 1 {
            LinkConfig::lan()
        } else {
            LinkConfig::lan().loss(0.2)
        };
        let mut w = World::new(seed, link, no_timer());
        let call = w.dial();
        w.run(10.0);
        assert!(
            w.bob().incoming().is_some(),
            "seed {seed}: bob is not ringing"
        );
        w.with(ALICE, |now, ua| ua.hangup(now, call))
            .expect("hangup");
        assert_eq!(w.alice().ended(), Some(EndKind::LocalHangup));
        w.run(40.0);
        assert_eq!(
            w.bob().ended(),
            Some(EndKind::Missed),
            "seed {seed}: {:?}",
            w.bob().events
        );
        assert_eq!(w.alice().count(|e| matches!(e, CallEvent::Ended { .. })), 1);
        w.assert_idle(seed);
    }
}

#[test]
fn callee_rejects_busy() {
    let mut w = World::new(7, LinkConfig::lan(), no_timer());
    w.dial();
    w.run(2.0);
    let bob_call = w.bob().incoming().expect("ringing");
    w.with(BOB, |now, ua| ua.reject(now, bob_call, 486))
        .expect("reject");
    w.run(5.0);
    let alice_end = w.alice().events.iter().find_map(|(_, e)| match e {
        CallEvent::Ended { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    let reason = alice_end.expect("alice's call ended");
    assert_eq!(reason.kind, EndKind::Busy);
    assert_eq!(reason.status, Some(486));
    assert_eq!(w.bob().ended(), Some(EndKind::Rejected));
    // Commands on the ended call are refused and change nothing.
    assert!(w
        .with(BOB, |now, ua| ua.answer(now, bob_call, Bytes::new()))
        .is_err());
    w.assert_idle(7);
}

#[test]
fn hold_by_reinvite_dtmf_by_info_and_caller_hangs_up() {
    let mut w = World::new(8, LinkConfig::lan(), no_timer());
    w.bob().auto_answer = true;
    let call = w.dial();
    w.run(3.0);
    let hold = OFFER.replace("RTP/AVP 0\r\n", "RTP/AVP 0\r\na=sendonly\r\n");
    w.with(ALICE, |now, ua| {
        ua.reinvite(now, call, Bytes::from(hold.clone()))
    })
    .expect("reinvite");
    // A second offer while the first is out is refused without changing anything.
    assert!(w
        .with(ALICE, |now, ua| ua.reinvite(now, call, Bytes::new()))
        .is_err());
    w.run(3.0);
    let offered = w.bob().events.iter().find_map(|(_, e)| match e {
        CallEvent::RemoteReoffer { offer, .. } => offer.clone(),
        _ => None,
    });
    assert_eq!(offered.as_deref(), Some(hold.as_bytes()));
    assert_eq!(
        w.alice()
            .count(|e| matches!(e, CallEvent::ReofferAccepted { .. })),
        1
    );
    w.with(ALICE, |now, ua| ua.send_dtmf_info(now, call, "12#", 160))
        .expect("dtmf");
    w.run(3.0);
    let digits: String = w
        .bob()
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            CallEvent::Dtmf { digit, .. } => Some(*digit),
            _ => None,
        })
        .collect();
    assert_eq!(digits, "12#");
    w.with(ALICE, |now, ua| ua.hangup(now, call))
        .expect("hangup");
    w.run(5.0);
    assert_eq!(w.bob().ended(), Some(EndKind::RemoteHangup));
    w.assert_idle(8);
}

#[test]
fn blind_transfer_reports_progress_and_ends_the_transferors_leg() {
    let mut w = World::new(9, LinkConfig::lan(), no_timer());
    w.bob().auto_answer = true;
    let call = w.dial();
    w.run(3.0);
    let bob_call = w.bob().incoming().expect("bob has the call");
    w.with(ALICE, |now, ua| {
        ua.refer(now, call, Uri::parse("sip:carol@10.0.0.3").unwrap(), None)
    })
    .expect("refer");
    w.run(3.0);
    let requested = w.bob().events.iter().find_map(|(_, e)| match e {
        CallEvent::TransferRequested { target, .. } => Some(target.to_string()),
        _ => None,
    });
    assert_eq!(requested.as_deref(), Some("sip:carol@10.0.0.3"));
    assert!(
        w.alice().count(|e| matches!(
            e,
            CallEvent::TransferProgress {
                status: 100,
                done: false,
                ..
            }
        )) == 1
    );
    w.with(BOB, |now, ua| {
        ua.notify_transfer(now, bob_call, 180, "Ringing")
    });
    w.with(BOB, |now, ua| ua.notify_transfer(now, bob_call, 200, "OK"));
    w.run(5.0);
    assert!(
        w.alice().count(|e| matches!(
            e,
            CallEvent::TransferProgress {
                status: 200,
                done: true,
                ..
            }
        )) == 1
    );
    assert_eq!(w.alice().ended(), Some(EndKind::Transferred));
    assert_eq!(w.bob().ended(), Some(EndKind::RemoteHangup));
    w.assert_idle(9);
}

#[test]
fn session_timer_keeps_a_long_call_up_and_expires_a_silent_peer() {
    let settings = CallSettings {
        session_expires: 90,
        min_se: 90,
    };
    let mut w = World::new(10, LinkConfig::lan(), settings);
    w.bob().auto_answer = true;
    w.dial();
    // Ten minutes of virtual time: refreshes every 45 s keep it alive.
    w.run(600.0);
    assert!(w.alice().ended().is_none(), "{:?}", w.alice().events);
    assert!(w.bob().ended().is_none());
    // Cut the link: the refresher's refresh fails and the other side gives up.
    w.sim.network_mut().set_default_link(LinkConfig::down());
    w.run(200.0);
    assert!(w.alice().ended().is_some());
    assert!(w.bob().ended().is_some(), "bob should expire the session");
}

/// The digits bob received by INFO, in order, with the virtual time each arrived.
fn received_digits(phone: &Phone) -> Vec<(Instant, char)> {
    phone
        .events
        .iter()
        .filter_map(|(at, e)| match e {
            CallEvent::Dtmf { digit, .. } => Some((*at, *digit)),
            _ => None,
        })
        .collect()
}

#[test]
fn dtmf_by_info_arrives_in_order_over_a_lossy_link() {
    for seed in 1..=20 {
        let mut w = World::new(seed, LinkConfig::lan().loss(0.2), no_timer());
        w.bob().auto_answer = true;
        let call = w.dial();
        w.run(40.0);
        assert!(w.alice().answered(), "seed {seed}: no answer");
        w.with(ALICE, |now, ua| ua.send_dtmf_info(now, call, "12", 100))
            .expect("dtmf");
        // Digits typed while others are still going out queue behind them.
        w.with(ALICE, |now, ua| ua.send_dtmf_info(now, call, "3#", 100))
            .expect("dtmf");
        w.run(120.0);
        let digits: String = received_digits(w.bob()).iter().map(|(_, d)| d).collect();
        assert_eq!(digits, "123#", "seed {seed}");
        assert_eq!(
            w.alice()
                .count(|e| matches!(e, CallEvent::DtmfFailed { .. })),
            0,
            "seed {seed}"
        );
        w.with(ALICE, |now, ua| ua.hangup(now, call))
            .expect("hangup");
        w.run(40.0);
        w.assert_idle(seed);
    }
}

#[test]
fn dtmf_digits_do_not_overlap_and_the_rest_is_dropped_when_the_far_end_goes_away() {
    let mut w = World::new(11, LinkConfig::lan(), no_timer());
    w.bob().auto_answer = true;
    let call = w.dial();
    w.run(3.0);
    w.with(ALICE, |now, ua| ua.send_dtmf_info(now, call, "123", 160))
        .expect("dtmf");
    w.run(3.0);
    let got = received_digits(w.bob());
    assert_eq!(got.iter().map(|(_, d)| d).collect::<String>(), "123");
    for pair in got.windows(2) {
        assert!(
            pair[1].0 - pair[0].0 >= Duration::from_millis(160),
            "a digit started before the previous one's 160 ms: {got:?}"
        );
    }
    // The far end disappears: the next INFO times out, the digits after it are dropped.
    w.sim.network_mut().set_default_link(LinkConfig::down());
    w.with(ALICE, |now, ua| ua.send_dtmf_info(now, call, "45", 160))
        .expect("dtmf");
    w.run(60.0);
    let failed: Vec<(u16, String)> = w
        .alice()
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            CallEvent::DtmfFailed { status, digits, .. } => Some((*status, digits.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(failed, [(408, "45".to_owned())]);
    assert_eq!(received_digits(w.bob()).len(), 3);
}
