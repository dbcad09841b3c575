//! Tier (b): two `UserAgent`s calling each other directly over `netsim`, on a virtual clock:
//! answer and hang-up both ways, cancel, reject, hold by re-INVITE, DTMF by INFO, blind
//! transfer by REFER/NOTIFY, session timers; over lossy links too. Every scenario ends with
//! no call and no transaction left behind.

use bytes::Bytes;
use netsim::LinkConfig;
use signaling::Uri;
use signaling::{CallEvent, CallSettings, EndKind};
use simua::{Duo, SimUa, ALICE, BOB, OFFER};
use std::time::{Duration, Instant};

/// Alice and bob on UDP over `link`, with `settings` for session timers.
fn world(seed: u64, link: LinkConfig, settings: CallSettings) -> Duo {
    Duo::new(seed, link, false, |config| config.settings = settings)
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
        let mut w = world(seed, link, no_timer());
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
        w.assert_idle(format!("seed {seed}"));
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
        let mut w = world(seed, link, no_timer());
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
        w.assert_idle(format!("seed {seed}"));
    }
}

#[test]
fn callee_rejects_busy() {
    let mut w = world(7, LinkConfig::lan(), no_timer());
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
    w.assert_idle("seed 7");
}

#[test]
fn callee_redirects_with_a_contact() {
    let mut w = world(9, LinkConfig::lan(), no_timer());
    w.dial();
    w.run(2.0);
    let bob_call = w.bob().incoming().expect("ringing");
    let target = Uri::parse("sip:2000@pbx.test").expect("a valid URI");
    w.with(BOB, |now, ua| ua.redirect(now, bob_call, &target))
        .expect("redirect");
    w.run(5.0);
    let alice_end = w.alice().events.iter().find_map(|(_, e)| match e {
        CallEvent::Ended { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(alice_end.expect("alice's call ended").status, Some(302));
    assert_eq!(w.bob().ended(), Some(EndKind::Transferred));
    // Only a ringing call can be redirected.
    assert!(w
        .with(BOB, |now, ua| ua.redirect(now, bob_call, &target))
        .is_err());
    w.assert_idle("seed 9");
}

#[test]
fn hold_by_reinvite_dtmf_by_info_and_caller_hangs_up() {
    let mut w = world(8, LinkConfig::lan(), no_timer());
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
    w.assert_idle("seed 8");
}

#[test]
fn blind_transfer_reports_progress_and_ends_the_transferors_leg() {
    let mut w = world(9, LinkConfig::lan(), no_timer());
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
    w.assert_idle("seed 9");
}

#[test]
fn session_timer_keeps_a_long_call_up_and_expires_a_silent_peer() {
    let settings = CallSettings {
        session_expires: 90,
        min_se: 90,
    };
    let mut w = world(10, LinkConfig::lan(), settings);
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
fn received_digits(phone: &SimUa) -> Vec<(Instant, char)> {
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
        let mut w = world(seed, LinkConfig::lan().loss(0.2), no_timer());
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
        w.assert_idle(format!("seed {seed}"));
    }
}

#[test]
fn dtmf_digits_do_not_overlap_and_the_rest_is_dropped_when_the_far_end_goes_away() {
    let mut w = world(11, LinkConfig::lan(), no_timer());
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

/// Alice's ACK of bob's 200 is lost, and her hold re-INVITE reaches bob before his next 200
/// retransmission: bob takes it as the ACK and answers the re-offer, instead of a 491 that
/// would leave alice's hold failing until the ACK is sent again.
#[test]
fn a_reinvite_overtaking_a_lost_ack_is_taken_as_its_ack() {
    let mut w = world(31, LinkConfig::lan(), no_timer());
    let (a, b) = (simua::addr("10.0.0.1:5060"), simua::addr("10.0.0.2:5060"));
    let call = w.dial();
    w.run(1.0);
    let bob_call = w.bob().incoming().expect("ringing");
    // Everything alice sends is lost until her ACK has gone.
    w.sim
        .network_mut()
        .set_link(a, b, LinkConfig::lan().loss(1.0));
    w.with(BOB, |now, ua| {
        ua.answer(now, bob_call, Bytes::from_static(OFFER.as_bytes()))
    })
    .expect("answer");
    w.run(0.1);
    assert!(w.alice().answered(), "alice got the 200 and sent her ACK");
    w.sim.network_mut().clear_link(a, b);
    let hold = OFFER.replace("RTP/AVP 0\r\n", "RTP/AVP 0\r\na=sendonly\r\n");
    w.with(ALICE, |now, ua| {
        ua.reinvite(now, call, Bytes::from(hold.clone()))
    })
    .expect("reinvite");
    w.run(0.2); // before bob's first 200 retransmission (T1)
    assert!(w.bob().answered(), "bob took the re-INVITE as the ACK");
    assert_eq!(
        w.bob()
            .count(|e| matches!(e, CallEvent::RemoteReoffer { .. })),
        1
    );
    w.run(3.0);
    assert_eq!(
        w.alice()
            .count(|e| matches!(e, CallEvent::ReofferAccepted { .. })),
        1,
        "{:?}",
        w.alice().events
    );
    w.with(ALICE, |now, ua| ua.hangup(now, call))
        .expect("hangup");
    w.run(5.0);
    assert_eq!(w.bob().ended(), Some(EndKind::RemoteHangup));
    w.assert_idle("seed 31");
}

/// Both sides re-INVITE at once (glare): each gets 491. Each tries once more after the wait
/// of RFC 3261 §14.1 (the caller 2.1-4 s, the callee 0-2 s), so one offer gets through
/// without the application asking again, and the other is then taken normally.
#[test]
fn after_glare_each_side_tries_its_reinvite_once_more() {
    for seed in 40..46 {
        let mut w = world(seed, LinkConfig::lan(), no_timer());
        w.bob().auto_answer = true;
        let call = w.dial();
        w.run(3.0);
        let bob_call = w.bob().incoming().expect("the call");
        let hold = OFFER.replace("RTP/AVP 0\r\n", "RTP/AVP 0\r\na=sendonly\r\n");
        w.with(ALICE, |now, ua| {
            ua.reinvite(now, call, Bytes::from(hold.clone()))
        })
        .expect("alice's reinvite");
        w.with(BOB, |now, ua| {
            ua.reinvite(now, bob_call, Bytes::from(hold.clone()))
        })
        .expect("bob's reinvite");
        w.run(10.0);
        let accepted = |ua: &SimUa| ua.count(|e| matches!(e, CallEvent::ReofferAccepted { .. }));
        let rejected = |ua: &SimUa| ua.count(|e| matches!(e, CallEvent::ReofferRejected { .. }));
        let (alice_ok, bob_ok) = (accepted(w.alice()), accepted(w.bob()));
        // The callee's shorter wait wins; its offer is answered, and the caller's retry
        // then goes through too (or is refused once if it crossed the callee's again).
        assert_eq!(bob_ok, 1, "seed {seed}: {:?}", w.bob().events);
        assert_eq!(
            alice_ok + rejected(w.alice()),
            1,
            "seed {seed}: {:?}",
            w.alice().events
        );
        w.with(ALICE, |now, ua| ua.hangup(now, call))
            .expect("hangup");
        w.run(5.0);
        w.assert_idle(format!("seed {seed}"));
    }
}
