//! Tier (b): the call controller against a far-end `UserAgent` over `netsim`, on a virtual
//! clock: page commands in, SIP across the simulated network, media actions and page events
//! out. Checks what the page relies on: states in order, media started with the far end's
//! address, hold, and that refused commands change nothing.

mod common;

use bytes::Bytes;
use common::{Setup, World, AGENT, FAR};
use phone::MediaAction;
use signaling::{CallEvent, CallSettings};
use simua::addr;
use std::time::Duration;
use wire::{CallState, CallView, Command, CommandErrorKind, CommandReply, EventBody};

const FAR_SDP_SENDRECV: &str = "v=0\r\no=far 7 7 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

/// Names this test process's agent run in call ids.
const RUN_PREFIX: &str = "r7";

impl World {
    fn new(auto_answer: bool) -> World {
        World::with_far_sdp(auto_answer, FAR_SDP_SENDRECV)
    }

    fn with_far_sdp(auto_answer: bool, far_sdp: &'static str) -> World {
        World::with_caps(auto_answer, far_sdp, media::AudioCaps::default())
    }

    fn with_caps(auto_answer: bool, far_sdp: &'static str, caps: media::AudioCaps) -> World {
        World::start(Setup {
            seed: 3,
            caps,
            agent: phone::AgentConfig::default(),
            media_timeout: Some(MEDIA_TIMEOUT),
            run_prefix: RUN_PREFIX,
            rtp_ports: &[30000, 30002],
            far_sdp,
            far_auto_answer: auto_answer,
            far_session_timer: None,
        })
    }

    /// The call `id` as the page's status lists it.
    fn view(&self, id: &str) -> Option<CallView> {
        let calls = &self.agent().phone.status().calls;
        calls.iter().find(|c| c.id == id).cloned()
    }

    fn state_of(&self, id: &str) -> Option<CallState> {
        self.view(id).map(|c| c.state)
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

/// The far end's datagrams with UPDATE taken out of their Allow: a far end that refreshes
/// sessions by re-INVITE only.
fn without_update(datagram: Bytes) -> Bytes {
    Bytes::from(String::from_utf8_lossy(&datagram).replace(", UPDATE", ""))
}

/// RFC 4028 with a far end that takes no UPDATE: the agent (the refresher) re-offers by
/// re-INVITE, and the far end's answer moves its media to a new port. The agent reads that
/// answer and sends its audio there; the session stays up past its first interval.
#[test]
fn a_session_refresh_by_reinvite_moves_the_media_where_the_far_end_answers() {
    let mut w = World::start(Setup {
        seed: 3,
        caps: media::AudioCaps::default(),
        agent: phone::AgentConfig::default(),
        media_timeout: None,
        run_prefix: RUN_PREFIX,
        rtp_ports: &[30000, 30002],
        far_sdp: FAR_SDP_SENDRECV,
        far_auto_answer: true,
        far_session_timer: Some(CallSettings {
            session_expires: 90,
            min_se: 90,
        }),
    });
    w.sim.node_mut(AGENT).left_mut().inbound = Some(without_update);
    let CommandReply::Created { id } = w.command(Command::Dial { to: "1002".into() }).unwrap()
    else {
        panic!("dial creates a call")
    };
    w.run(2.0);
    assert_eq!(w.state_of(&id), Some(CallState::Connected));
    let moved = FAR_SDP_SENDRECV.replace("m=audio 40000", "m=audio 40010");
    w.sim.node_mut(FAR).right_mut().answer = Bytes::from(moved);

    // The refresh is due at half the interval (45 s).
    w.run(50.0);
    let sent: Vec<String> = w
        .agent()
        .sent
        .iter()
        .map(|d| String::from_utf8_lossy(d).into_owned())
        .collect();
    let invites: Vec<&String> = sent.iter().filter(|m| m.starts_with("INVITE ")).collect();
    assert_eq!(
        invites.len(),
        2,
        "the call's INVITE and the refresh: {invites:#?}"
    );
    assert!(invites[1].contains("Session-Expires: 90"), "{}", invites[1]);
    assert!(
        !sent.iter().any(|m| m.starts_with("UPDATE ")),
        "the far end takes no UPDATE"
    );
    let remotes: Vec<_> = w
        .agent()
        .media
        .iter()
        .filter_map(|m| match m {
            MediaAction::Start { negotiated, .. } | MediaAction::Update { negotiated, .. } => {
                negotiated.remote_rtp
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        remotes,
        [addr("10.0.0.2:40000"), addr("10.0.0.2:40010")],
        "media started, then moved by the refresh's answer"
    );
    assert_eq!(w.state_of(&id), Some(CallState::Connected));

    // Refreshed on both sides: still up after the first 90 s.
    w.run(60.0);
    assert_eq!(w.state_of(&id), Some(CallState::Connected));
    assert!(
        !w.far_events()
            .iter()
            .any(|e| matches!(e, CallEvent::Ended { .. })),
        "{:?}",
        w.far_events()
    );
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
    let media = &w.agent().media;
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
        .media
        .iter()
        .any(|m| matches!(m, MediaAction::Mute { muted: true, .. })));

    w.command(Command::Hangup { id: id.clone() })
        .expect("hangup");
    w.run(2.0);
    assert_eq!(w.state_of(&id), Some(CallState::Ended));
    let agent = w.agent();
    let (phone, events, media) = (&agent.phone, &agent.events, &agent.media);
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
    assert!(w.agent().phone.status().calls.len() == 1);
    w.command(Command::Hangup { id: id.clone() })
        .expect("cancel");
    w.run(40.0);
    assert_eq!(w.state_of(&id), Some(CallState::Ended));
    assert!(w.agent().phone.ua().is_idle(), "nothing left behind");
}

const FAR_SDP_NO_EVENTS: &str = "v=0\r\no=far 7 7 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";

fn connected_call(w: &mut World) -> (String, signaling::CallHandle) {
    let CommandReply::Created { id } = w.command(Command::Dial { to: "1002".into() }).unwrap()
    else {
        panic!("dial creates a call")
    };
    w.run(2.0);
    assert_eq!(w.state_of(&id), Some(CallState::Connected));
    (
        id.clone(),
        phone::CallIds::new(RUN_PREFIX).parse(&id).unwrap(),
    )
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
    assert!(w.agent().media.contains(&MediaAction::SendDtmf {
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
        .media
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
    let events = &w.agent().events;
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
    let view = w.view(&id).unwrap();
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
    let view = w.view(&id).unwrap();
    assert_eq!(view.state, CallState::Ended);
    assert_eq!(view.quality.map(|q| q.packets_sent), Some(400));
    assert!(matches!(
        w.agent().events.last(),
        Some(EventBody::CallQuality { last: true, .. })
    ));
}

/// The media timeout the phone under test is configured with.
const MEDIA_TIMEOUT: Duration = Duration::from_secs(30);

const FAR_SDP_SENDONLY: &str = "v=0\r\no=far 7 8 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n";

impl World {
    /// The stream of `call` reports the far end silent for the media timeout.
    fn media_timeout(&mut self, call: signaling::CallHandle) {
        let now = self.sim.now();
        let agent = self.sim.node_mut(common::AGENT).left_mut();
        agent.phone.media_timeout(now, call, MEDIA_TIMEOUT);
        agent.collect();
    }

    /// The far end's handle of its (first) call.
    fn far_call(&self) -> signaling::CallHandle {
        self.sim
            .node(FAR)
            .right()
            .incoming()
            .expect("the far end has the call")
    }
}

#[test]
fn under_mandatory_srtp_a_clear_answer_ends_the_call_with_a_bye_and_words() {
    let caps = media::AudioCaps {
        srtp: media::SrtpMode::Mandatory,
        ..media::AudioCaps::default()
    };
    let mut w = World::with_caps(true, FAR_SDP_SENDRECV, caps);
    let CommandReply::Created { id } = w
        .command(Command::Dial { to: "1002".into() })
        .expect("dial")
    else {
        panic!("dial creates a call")
    };
    w.run(2.0);
    let view = w.view(&id).expect("listed while recent");
    assert_eq!(view.state, CallState::Ended);
    assert!(!view.encrypted);
    let reason = view.end_reason.expect("a reason");
    assert_eq!(reason.code, "incompatible");
    assert_eq!(
        reason.message,
        "encryption required but the far end's answer has no usable SRTP key: it has no a=crypto line"
    );
    // No media ever started, and the far end got our BYE.
    assert!(!w
        .agent()
        .media
        .iter()
        .any(|m| matches!(m, MediaAction::Start { .. })));
    assert_eq!(
        w.sim.node(FAR).right().ended(),
        Some(signaling::EndKind::RemoteHangup)
    );
    w.run(40.0);
    assert!(w.agent().phone.ua().is_idle(), "nothing left behind");
}

#[test]
fn a_silent_far_end_ends_the_call_with_network_and_a_bye() {
    let mut w = World::new(true);
    let (id, handle) = connected_call(&mut w);
    assert!(
        w.agent().media.iter().any(|m| matches!(
            m,
            MediaAction::Start { media_timeout: Some(t), .. } if *t == MEDIA_TIMEOUT
        )),
        "the stream is told the configured timeout: {:?}",
        w.agent().media
    );
    w.media_timeout(handle);
    let view = w.view(&id).expect("listed while recent");
    assert_eq!(view.state, CallState::Ended);
    let reason = view.end_reason.expect("a reason");
    assert_eq!(reason.code, "network");
    assert_eq!(
        reason.message,
        "no audio from the other party for 30 s: the connection was lost"
    );
    assert_eq!(reason.sip_status, None);
    assert!(matches!(
        w.agent().media.last(),
        Some(MediaAction::Stop { call, .. }) if *call == handle
    ));
    w.run(2.0);
    // The far end got our BYE: for it, the other side hung up.
    assert_eq!(
        w.sim.node(FAR).right().ended(),
        Some(signaling::EndKind::RemoteHangup)
    );
    // A late second report about the ended call changes nothing.
    w.media_timeout(handle);
    assert_eq!(w.view(&id).unwrap().end_reason.unwrap().code, "network");
    w.run(40.0);
    assert!(w.agent().phone.ua().is_idle(), "nothing left behind");
    w.sim
        .node(FAR)
        .right()
        .assert_idle("after the media timeout");
}

#[test]
fn held_or_unanswered_calls_do_not_time_out() {
    // Ringing: early media may be silent.
    let mut w = World::new(false);
    let CommandReply::Created { id } = w.command(Command::Dial { to: "1002".into() }).unwrap()
    else {
        panic!("dial creates a call")
    };
    w.run(1.0);
    let handle = phone::CallIds::new(RUN_PREFIX).parse(&id).unwrap();
    w.media_timeout(handle);
    assert_eq!(w.state_of(&id), Some(CallState::Ringing));

    // Held by us, and while the hold is under way.
    let mut w = World::new(true);
    let (id, handle) = connected_call(&mut w);
    w.command(Command::Hold { id: id.clone() }).expect("hold");
    w.media_timeout(handle);
    assert_eq!(w.state_of(&id), Some(CallState::Connected), "hold pending");
    w.run(2.0);
    assert_eq!(w.state_of(&id), Some(CallState::Held));
    w.media_timeout(handle);
    assert_eq!(w.state_of(&id), Some(CallState::Held));

    // Held by the far end (sendonly): we hear nothing, as expected.
    w.command(Command::Resume { id: id.clone() })
        .expect("resume");
    w.run(2.0);
    assert_eq!(w.state_of(&id), Some(CallState::Connected));
    let far = w.far_call();
    w.far_reinvites(far, Bytes::from_static(FAR_SDP_SENDONLY.as_bytes()));
    w.run(2.0);
    assert!(w.view(&id).unwrap().on_hold_by_remote);
    w.media_timeout(handle);
    let view = w.view(&id).unwrap();
    assert_eq!((view.state, view.end_reason), (CallState::Connected, None));

    // Taken off hold, the silence counts again.
    // A newer version of the far end's session (RFC 3264 §8).
    let sdp = FAR_SDP_SENDRECV.replace("o=far 7 7", "o=far 7 9");
    w.far_reinvites(far, Bytes::from(sdp));
    w.run(2.0);
    assert!(!w.view(&id).unwrap().on_hold_by_remote);
    w.media_timeout(handle);
    assert_eq!(w.state_of(&id), Some(CallState::Ended));
}

impl World {
    /// The far end calls the agent (a second call of the far end's if one is live); the
    /// agent gets a fresh RTP address for it, as its driver would.
    fn far_dials(&mut self) -> signaling::CallHandle {
        let port = 31_000 + 2 * self.agent().phone.status().calls.len() as u16;
        self.phone_mut()
            .add_rtp_address(addr(&format!("10.0.0.1:{port}")));
        self.far_calls_agent_offering(Bytes::from_static(FAR_SDP_SENDRECV.as_bytes()))
    }

    /// The far end sends a re-INVITE on `call` offering `sdp`.
    fn far_reinvites(&mut self, call: signaling::CallHandle, sdp: Bytes) {
        let now = self.sim.now();
        self.sim
            .node_mut(FAR)
            .right_mut()
            .with(now, |now, ua| ua.reinvite(now, call, sdp))
            .expect("the far end's re-INVITE");
    }

    fn tone(&self) -> Option<media::Tone> {
        self.agent().phone.tone()
    }

    /// The id of the agent's call that is `state`.
    fn call_in(&self, state: CallState) -> String {
        let calls = &self.agent().phone.status().calls;
        calls
            .iter()
            .find(|c| c.state == state)
            .map(|c| c.id.clone())
            .unwrap_or_else(|| {
                panic!(
                    "no call {state:?} in {calls:?}; the far end saw {:?}",
                    self.far_events()
                )
            })
    }
}

#[test]
fn the_agents_tone_follows_its_calls() {
    use media::Tone;
    let mut w = World::new(false);
    assert_eq!(w.tone(), None);

    // Our call rings at the far end, which sends 180 without SDP: ringback until the answer.
    let CommandReply::Created { id } = w.command(Command::Dial { to: "1002".into() }).unwrap()
    else {
        panic!("dial creates a call")
    };
    assert_eq!(w.tone(), None, "nothing heard back yet");
    w.run(1.0);
    assert_eq!(w.state_of(&id), Some(CallState::Ringing));
    assert_eq!(w.tone(), Some(Tone::Ringback));
    let far = w.far_call();
    let now = w.sim.now();
    w.sim
        .node_mut(FAR)
        .right_mut()
        .with(now, |now, ua| {
            ua.answer(now, far, Bytes::from_static(FAR_SDP_SENDRECV.as_bytes()))
        })
        .expect("the far end answers");
    w.run(1.0);
    assert_eq!(w.state_of(&id), Some(CallState::Connected));
    assert_eq!(w.tone(), None, "answered");

    // A second caller during the call: call waiting; answered, silence.
    let second = w.far_dials();
    w.run(1.0);
    let waiting = w.call_in(CallState::Ringing);
    assert_eq!(w.tone(), Some(Tone::CallWaiting));
    w.command(Command::Answer {
        id: waiting.clone(),
    })
    .expect("answer the waiting call");
    assert_eq!(w.tone(), None, "stops with the answer");
    w.run(1.0);
    w.command(Command::Hangup { id: waiting }).expect("hang up");
    w.command(Command::Hangup { id }).expect("hang up");
    // Past the after-call work (30 s), so the next callers ring.
    w.run(32.0);
    let _ = second;

    // Alone: the ringtone; the caller cancels: silence.
    let third = w.far_dials();
    w.run(1.0);
    let ringing = w.call_in(CallState::Ringing);
    assert_eq!(w.tone(), Some(Tone::Ring));
    w.far_hangs_up(third);
    w.run(1.0);
    assert_eq!(w.state_of(&ringing), Some(CallState::Ended));
    assert_eq!(w.tone(), None, "cancelled");
    // An unanswered call leaves no after-call work: the next one rings.

    // Rejected by the agent: silence at once.
    let _fourth = w.far_dials();
    w.run(1.0);
    let ringing = w.call_in(CallState::Ringing);
    assert_eq!(w.tone(), Some(Tone::Ring));
    w.command(Command::Reject { id: ringing }).expect("reject");
    assert_eq!(w.tone(), None, "rejected");
}

const FAR_SDP_SRTP: &str = "v=0\r\no=far 7 7 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 40000 RTP/SAVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";
const FAR_SDP_SRTP_REKEYED: &str = "v=0\r\no=far 7 8 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 40000 RTP/SAVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:d2hhdGV2ZXIgd2hhdGV2ZXIgd2hhdGV2ZXIgMTIz\r\n";

/// The `a=crypto` lines of an SDP body.
fn crypto_of(sdp: &[u8]) -> Vec<media::CryptoAttribute> {
    String::from_utf8_lossy(sdp)
        .lines()
        .filter_map(|l| l.strip_prefix("a=crypto:"))
        .map(|v| media::CryptoAttribute::parse(v).expect("our a=crypto parses"))
        .collect()
}

/// The keys of each media start and update, in order.
fn keys_in_force(w: &World) -> Vec<media::SrtpKeys> {
    w.agent()
        .media
        .iter()
        .filter_map(|m| match m {
            MediaAction::Start { negotiated, .. } | MediaAction::Update { negotiated, .. } => {
                negotiated.srtp.clone()
            }
            _ => None,
        })
        .collect()
}

/// The offers the far end got: the INVITE's, then each re-offer's.
fn offers_seen(w: &World) -> Vec<Bytes> {
    w.far_events()
        .into_iter()
        .filter_map(|e| match e {
            CallEvent::Incoming { offer, .. } | CallEvent::RemoteReoffer { offer, .. } => {
                offer.clone()
            }
            _ => None,
        })
        .collect()
}

#[test]
fn srtp_hold_and_resume_keep_our_key_and_a_far_end_rekey_is_followed() {
    let caps = media::AudioCaps {
        srtp: media::SrtpMode::Mandatory,
        ..media::AudioCaps::default()
    };
    let mut w = World::with_caps(true, FAR_SDP_SRTP, caps);
    let (id, _) = connected_call(&mut w);
    assert!(w.view(&id).unwrap().encrypted);
    let first = keys_in_force(&w)[0].clone();
    // Our INVITE offered a key per suite; the far end took tag 1.
    let invite = crypto_of(&offers_seen(&w)[0]);
    assert_eq!(invite.len(), 2);
    assert_eq!(first.local, invite[0].key);

    w.command(Command::Hold { id: id.clone() }).expect("hold");
    w.run(2.0);
    assert_eq!(w.state_of(&id), Some(CallState::Held));
    w.command(Command::Resume { id: id.clone() })
        .expect("resume");
    w.run(2.0);
    assert_eq!(w.state_of(&id), Some(CallState::Connected));
    // Both re-offers carried only the line in force: tag 1, its suite, our first key.
    let offers = offers_seen(&w);
    assert_eq!(offers.len(), 3, "the INVITE, hold and resume");
    for offer in &offers[1..] {
        assert_eq!(crypto_of(offer), [invite[0].clone()]);
    }
    // The streams were updated with the same keys: nothing re-keyed.
    let keys = keys_in_force(&w);
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|k| *k == first));

    // The far end re-keys in a re-INVITE of its own: our answer has a fresh key, and the
    // stream takes both new keys.
    let far_call = w
        .sim
        .node(FAR)
        .right()
        .incoming()
        .expect("the far end's call");
    w.sim.node_mut(FAR).right_mut().answer = Bytes::from_static(FAR_SDP_SRTP_REKEYED.as_bytes());
    w.far_reinvites(
        far_call,
        Bytes::from_static(FAR_SDP_SRTP_REKEYED.as_bytes()),
    );
    w.run(2.0);
    let answered = w
        .far_events()
        .into_iter()
        .filter_map(|e| match e {
            CallEvent::ReofferAccepted { sdp: Some(sdp), .. } => Some(crypto_of(sdp)),
            _ => None,
        })
        .next_back()
        .expect("our answer");
    assert_eq!(answered.len(), 1);
    assert_ne!(answered[0].key, first.local);
    let rekeyed = keys_in_force(&w).last().cloned().unwrap();
    assert_eq!(rekeyed.local, answered[0].key);
    assert_eq!(
        rekeyed.remote,
        crypto_of(FAR_SDP_SRTP_REKEYED.as_bytes())[0].key
    );
    // Our next hold keeps the new key.
    w.command(Command::Hold { id: id.clone() }).expect("hold");
    w.run(2.0);
    assert_eq!(w.state_of(&id), Some(CallState::Held));
    let hold = crypto_of(offers_seen(&w).last().unwrap());
    assert_eq!(hold, answered);
    assert_eq!(keys_in_force(&w).last(), Some(&rekeyed));
    assert_eq!(w.view(&id).unwrap().end_reason, None);
}
