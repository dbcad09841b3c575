//! Tier (b): the agent's availability in the call controller, against a far-end `UserAgent`
//! over `netsim` on a virtual clock: calls turned away while away, on Do Not Disturb or in
//! after-call work (486, 480 or 302 to `[agent] forward_to`), recorded as ended calls the page
//! never rings for; wrap-up after an answered call, ended by its deadline or by choosing
//! available.

mod common;

use common::{Setup, World};
use phone::AgentConfig;
use signaling::{CallEvent, CallHandle, EndReason};
use std::time::Duration;
use wire::{AgentState, CallState, CallView, ChosenState, Command, EventBody, Status};

const FAR_SDP: &str = "v=0\r\no=far 7 7 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";

impl World {
    fn new(agent: AgentConfig) -> World {
        World::start(Setup {
            seed: 5,
            caps: media::AudioCaps::default(),
            agent,
            media_timeout: None,
            run_prefix: "r3",
            rtp_ports: &[30000, 30002, 30004, 30006],
            far_sdp: FAR_SDP,
            far_auto_answer: false,
            far_session_timer: None,
        })
    }

    fn status(&self) -> &Status {
        self.agent().phone.status()
    }

    fn choose(&mut self, state: ChosenState) {
        self.command(Command::SetAgentStatus { state })
            .expect("a chosen state is accepted");
    }

    /// How the far end's call `call` ended, if it did.
    fn far_end(&self, call: CallHandle) -> Option<EndReason> {
        self.far_events().into_iter().find_map(|e| match e {
            CallEvent::Ended { call: c, reason } if *c == call => Some(reason.clone()),
            _ => None,
        })
    }

    /// Events from index `from` on.
    fn events_since(&self, from: usize) -> &[EventBody] {
        &self.agent().events[from..]
    }
}

fn config(f: impl FnOnce(&mut AgentConfig)) -> AgentConfig {
    let mut c = AgentConfig::default();
    f(&mut c);
    c
}

/// The call views of `call` events (and whether any `incoming` came).
fn calls_in(events: &[EventBody]) -> (Vec<CallView>, bool) {
    let mut views = Vec::new();
    let mut incoming = false;
    for e in events {
        match e {
            EventBody::Call { call } => views.push(call.clone()),
            EventBody::Incoming { call } => {
                incoming = true;
                views.push(call.clone())
            }
            _ => {}
        }
    }
    (views, incoming)
}

fn agent_states(events: &[EventBody]) -> Vec<AgentState> {
    events
        .iter()
        .filter_map(|e| match e {
            EventBody::AgentStatus { agent } => Some(agent.state),
            _ => None,
        })
        .collect()
}

#[test]
fn on_dnd_a_call_is_rejected_486_and_recorded_ended_without_ringing() {
    let mut w = World::new(AgentConfig::default());
    assert_eq!(w.status().agent.state, AgentState::Available);
    w.choose(ChosenState::Dnd);
    assert_eq!(agent_states(w.events_since(0)), [AgentState::Dnd]);
    assert_eq!(w.status().agent.chosen, ChosenState::Dnd);

    let before = w.agent().events.len();
    let call = w.far_calls_agent();
    w.run(5.0);
    let end = w.far_end(call).expect("the caller's call ended");
    assert_eq!(end.status, Some(486), "{end:?}");

    let (views, incoming) = calls_in(w.events_since(before));
    assert!(!incoming, "nothing rings: {views:?}");
    assert_eq!(views.len(), 1, "one call event: {views:?}");
    let view = &views[0];
    assert_eq!(view.state, CallState::Ended);
    assert_eq!(view.direction, wire::Direction::Inbound);
    assert!(view.ended_at.is_some() && view.answered_at.is_none());
    let reason = view.end_reason.clone().expect("an end reason");
    assert_eq!(reason.code, "unavailable_rejected");
    assert_eq!(reason.message, "rejected: the agent is on Do Not Disturb");
    assert_eq!(reason.sip_status, Some(486));
    assert!(
        w.status().calls.iter().any(|c| c.id == view.id),
        "listed while recent"
    );
    assert!(
        agent_states(w.events_since(before)).is_empty(),
        "a turned-away call is never on_call"
    );
    // Commands on it are refused like on any ended call.
    let err = w
        .command(Command::Answer {
            id: view.id.clone(),
        })
        .unwrap_err();
    assert_eq!(err.kind, wire::CommandErrorKind::InvalidState);
    w.run(40.0);
    assert!(w.agent().phone.ua().is_idle(), "nothing left behind");
}

#[test]
fn away_with_480_configured_rejects_480() {
    let mut w = World::new(config(|c| {
        c.unavailable_response = 480;
        c.chosen = ChosenState::Away;
    }));
    assert_eq!(w.status().agent.state, AgentState::Away, "as kept at start");
    let call = w.far_calls_agent();
    w.run(5.0);
    assert_eq!(w.far_end(call).and_then(|r| r.status), Some(480));
    let (views, incoming) = calls_in(w.events_since(0));
    assert!(!incoming);
    let reason = views[0].end_reason.clone().expect("a reason");
    assert_eq!(
        (reason.code.as_str(), reason.sip_status),
        ("unavailable_rejected", Some(480))
    );
    assert_eq!(reason.message, "rejected: the agent is away");
}

#[test]
fn with_forward_to_a_call_is_redirected_to_the_target_at_the_pbx() {
    let mut w = World::new(config(|c| {
        c.forward_to = Some("2000".into());
        c.chosen = ChosenState::Dnd;
    }));
    let call = w.far_calls_agent();
    w.run(5.0);
    assert_eq!(w.far_end(call).and_then(|r| r.status), Some(302));
    let redirect = w
        .agent()
        .sent
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .find(|m| m.starts_with("SIP/2.0 302"))
        .expect("a 302 was sent");
    assert!(
        redirect.contains("Contact: <sip:2000@10.0.0.2:5060>"),
        "{redirect}"
    );
    let (views, incoming) = calls_in(w.events_since(0));
    assert!(!incoming);
    let reason = views[0].end_reason.clone().expect("a reason");
    assert_eq!(
        (reason.code.as_str(), reason.sip_status),
        ("forwarded", Some(302))
    );
    assert_eq!(
        reason.message,
        "forwarded to 2000: the agent is on Do Not Disturb"
    );
}

/// The far end calls, the agent answers, the far end hangs up: the answered call's id.
fn answered_call(w: &mut World) -> String {
    let before = w.agent().events.len();
    let call = w.far_calls_agent();
    w.run(1.0);
    let (views, incoming) = calls_in(w.events_since(before));
    assert!(incoming, "it rings: {views:?}");
    let id = views[0].id.clone();
    w.command(Command::Answer { id: id.clone() })
        .expect("answer");
    w.run(1.0);
    assert_eq!(w.status().agent.state, AgentState::OnCall);
    w.far_hangs_up(call);
    w.run(1.0);
    id
}

#[test]
fn after_an_answered_call_wrapup_turns_calls_away_until_its_deadline() {
    let mut w = World::new(config(|c| c.wrapup = Duration::from_secs(20)));
    let id = answered_call(&mut w);
    let agent = w.status().agent.clone();
    assert_eq!(agent.state, AgentState::AfterCallWork);
    assert_eq!(agent.chosen, ChosenState::Available);
    assert_eq!(agent.wrapup_call_id.as_deref(), Some(id.as_str()));
    assert!(agent.wrapup_ends_at.is_some());
    assert_eq!(
        agent_states(w.events_since(0)),
        [AgentState::OnCall, AgentState::AfterCallWork]
    );

    let before = w.agent().events.len();
    let refused = w.far_calls_agent();
    w.run(2.0);
    assert_eq!(w.far_end(refused).and_then(|r| r.status), Some(486));
    let (views, incoming) = calls_in(w.events_since(before));
    assert!(!incoming);
    assert_eq!(
        views[0].end_reason.as_ref().map(|r| r.message.as_str()),
        Some("rejected: the agent is in after-call work")
    );

    // The deadline (reported in poll_timeout) ends it with no input at all.
    w.run(20.0);
    assert_eq!(w.status().agent.state, AgentState::Available);
    assert_eq!(w.status().agent.wrapup_ends_at, None);
    let before = w.agent().events.len();
    let accepted = w.far_calls_agent();
    w.run(1.0);
    assert!(calls_in(w.events_since(before)).1, "it rings again");
    assert!(w.far_end(accepted).is_none());
}

#[test]
fn choosing_available_ends_wrapup_at_once_and_unanswered_calls_have_none() {
    let mut w = World::new(config(|c| c.wrapup = Duration::from_secs(60)));
    answered_call(&mut w);
    assert_eq!(w.status().agent.state, AgentState::AfterCallWork);
    w.choose(ChosenState::Available);
    assert_eq!(w.status().agent.state, AgentState::Available);
    assert_eq!(w.status().agent.wrapup_ends_at, None);

    // A call the caller gives up on before it is answered: no wrap-up.
    let before = w.agent().events.len();
    let call = w.far_calls_agent();
    w.run(1.0);
    assert!(calls_in(w.events_since(before)).1);
    w.far_hangs_up(call);
    w.run(2.0);
    assert_eq!(w.status().agent.state, AgentState::Available);
}

#[test]
fn zero_wrapup_seconds_disables_wrapup() {
    let mut w = World::new(config(|c| c.wrapup = Duration::ZERO));
    answered_call(&mut w);
    assert_eq!(w.status().agent.state, AgentState::Available);
}

#[test]
fn on_a_call_a_second_call_still_rings_as_call_waiting_even_on_dnd() {
    let mut w = World::new(AgentConfig::default());
    let first = w.far_calls_agent();
    w.run(1.0);
    let (views, _) = calls_in(w.events_since(0));
    w.command(Command::Answer {
        id: views[0].id.clone(),
    })
    .expect("answer");
    w.choose(ChosenState::Dnd);
    assert_eq!(w.status().agent.state, AgentState::OnCall);
    assert_eq!(w.status().agent.chosen, ChosenState::Dnd);
    let before = w.agent().events.len();
    let _second = w.far_calls_agent();
    w.run(1.0);
    assert!(calls_in(w.events_since(before)).1, "call waiting rings");
    let _ = first;
}
