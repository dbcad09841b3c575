//! The agent's availability, sans-IO: what it chose (available, away, Do Not Disturb), the
//! state its calls impose (on a call, then after-call work for a while after an answered
//! call), and whether an incoming call is turned away. Time is an argument: the wrap-up's
//! end is a deadline the controller reports in its `poll_timeout`.

use crate::wallclock::rfc3339;
use std::time::{Duration, Instant, SystemTime};
use wire::{AgentState, AgentStatus, ChosenState};

/// The disposition codes offered when the config names none.
pub const DEFAULT_DISPOSITIONS: [&str; 5] = [
    "Resolved",
    "Follow-up needed",
    "Escalated",
    "Wrong number",
    "Voicemail",
];

/// The agent's availability policies (`[agent]` in the config) and its choice at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    /// After-call work after an answered call; zero: none.
    pub wrapup: Duration,
    /// What an incoming call gets while the agent is not available and nothing forwards it:
    /// 486 Busy Here or 480 Temporarily Unavailable.
    pub unavailable_response: u16,
    /// Where incoming calls go (302) while the agent is not available: a dial string.
    pub forward_to: Option<String>,
    /// The disposition codes the page offers.
    pub dispositions: Vec<String>,
    /// The state chosen at start (kept from the last run).
    pub chosen: ChosenState,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            wrapup: Duration::from_secs(30),
            unavailable_response: 486,
            forward_to: None,
            dispositions: DEFAULT_DISPOSITIONS.map(str::to_owned).to_vec(),
            chosen: ChosenState::Available,
        }
    }
}

/// After-call work under way.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wrapup {
    ends: Instant,
    ends_wall: SystemTime,
    call_id: String,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Availability {
    config: AgentConfig,
    chosen: ChosenState,
    /// A call is live.
    on_call: bool,
    wrapup: Option<Wrapup>,
    state: AgentState,
    since: SystemTime,
    /// Something the page sees changed since [`Availability::poll_change`] last answered.
    changed: bool,
}

impl Availability {
    pub fn new(config: AgentConfig, wall: SystemTime) -> Self {
        Availability {
            chosen: config.chosen,
            state: config.chosen.into(),
            config,
            on_call: false,
            wrapup: None,
            since: wall,
            changed: false,
        }
    }

    /// The status document's `agent`.
    pub fn status(&self) -> AgentStatus {
        AgentStatus {
            state: self.state,
            chosen: self.chosen,
            since: rfc3339(self.since),
            wrapup_ends_at: self.wrapup.as_ref().map(|w| rfc3339(w.ends_wall)),
            wrapup_call_id: self.wrapup.as_ref().map(|w| w.call_id.clone()),
            dispositions: self.config.dispositions.clone(),
        }
    }

    /// The new status when anything in it changed since the last call.
    pub fn poll_change(&mut self) -> Option<AgentStatus> {
        std::mem::take(&mut self.changed).then(|| self.status())
    }

    /// When the wrap-up ends, if one runs.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.wrapup.as_ref().map(|w| w.ends)
    }

    /// The agent picks a state. Available ends a wrap-up at once; away or DND during one
    /// take effect when it ends.
    pub fn choose(&mut self, now: Instant, wall: SystemTime, choice: ChosenState) {
        if choice != self.chosen {
            self.chosen = choice;
            self.changed = true;
        }
        if choice == ChosenState::Available && self.wrapup.take().is_some() {
            self.changed = true;
        }
        self.settle(now, wall);
    }

    /// Brings the state up to `now`: `live` says whether any call is live; `last_ended` is
    /// the call that ended most recently since the last look, with whether it was answered.
    pub fn observe(
        &mut self,
        now: Instant,
        wall: SystemTime,
        live: bool,
        last_ended: Option<(String, bool)>,
    ) {
        if live && !self.on_call {
            self.on_call = true;
            // A call placed during wrap-up ends it: the next wrap-up follows that call.
            self.wrapup = None;
        } else if !live && self.on_call {
            self.on_call = false;
            if let Some((call_id, true)) = last_ended {
                if !self.config.wrapup.is_zero() {
                    self.wrapup = Some(Wrapup {
                        ends: now + self.config.wrapup,
                        ends_wall: wall + self.config.wrapup,
                        call_id,
                    });
                    self.changed = true;
                }
            }
        }
        self.settle(now, wall);
    }

    /// Why an incoming call is turned away now (`away`, `dnd` or `after_call_work`), or
    /// `None` when it may ring. Call [`Availability::observe`] first.
    pub fn turns_away(&self) -> Option<AgentState> {
        match self.state {
            AgentState::Away | AgentState::Dnd | AgentState::AfterCallWork => Some(self.state),
            AgentState::Available | AgentState::OnCall => None,
        }
    }

    pub fn forward_to(&self) -> Option<&str> {
        self.config.forward_to.as_deref()
    }

    pub fn unavailable_response(&self) -> u16 {
        self.config.unavailable_response
    }

    /// Ends a wrap-up that is due, and derives the state.
    fn settle(&mut self, now: Instant, wall: SystemTime) {
        if self.wrapup.as_ref().is_some_and(|w| w.ends <= now) {
            self.wrapup = None;
            self.changed = true;
        }
        let state = if self.on_call {
            AgentState::OnCall
        } else if self.wrapup.is_some() {
            AgentState::AfterCallWork
        } else {
            self.chosen.into()
        };
        if state != self.state {
            self.state = state;
            self.since = wall;
            self.changed = true;
        }
    }
}

/// Words naming why a call was turned away, e.g. `the agent is on Do Not Disturb`.
pub(crate) fn why(state: AgentState) -> &'static str {
    match state {
        AgentState::Away => "the agent is away",
        AgentState::Dnd => "the agent is on Do Not Disturb",
        AgentState::AfterCallWork => "the agent is in after-call work",
        AgentState::OnCall => "the agent is on a call",
        AgentState::Available => "the agent is available",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPOCH_WALL: u64 = 1_738_314_902;

    struct Clock {
        start: Instant,
    }

    impl Clock {
        fn at(&self, secs: u64) -> (Instant, SystemTime) {
            let d = Duration::from_secs(secs);
            (
                self.start + d,
                SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_WALL) + d,
            )
        }
    }

    fn machine(wrapup_s: u64, chosen: ChosenState) -> (Availability, Clock) {
        let clock = Clock {
            start: Instant::now(),
        };
        let config = AgentConfig {
            wrapup: Duration::from_secs(wrapup_s),
            chosen,
            ..AgentConfig::default()
        };
        (Availability::new(config, clock.at(0).1), clock)
    }

    #[test]
    fn starts_as_chosen_with_no_event() {
        let (mut a, _) = machine(30, ChosenState::Away);
        assert_eq!(a.status().state, AgentState::Away);
        assert_eq!(a.status().chosen, ChosenState::Away);
        assert_eq!(a.status().since, "2025-01-31T09:15:02Z");
        assert_eq!(a.status().dispositions.len(), 5);
        assert_eq!(a.turns_away(), Some(AgentState::Away));
        assert!(a.poll_change().is_none());
        assert!(a.poll_timeout().is_none());
    }

    #[test]
    fn an_answered_call_is_followed_by_wrapup_until_its_deadline() {
        let (mut a, c) = machine(30, ChosenState::Available);
        let (now, wall) = c.at(10);
        a.observe(now, wall, true, None);
        assert_eq!(a.poll_change().map(|s| s.state), Some(AgentState::OnCall));
        assert_eq!(a.turns_away(), None, "call waiting is the controller's");
        let (now, wall) = c.at(70);
        a.observe(now, wall, false, Some(("r1c1".into(), true)));
        let s = a.poll_change().expect("wrap-up starts");
        assert_eq!(s.state, AgentState::AfterCallWork);
        assert_eq!(s.since, "2025-01-31T09:16:12Z");
        assert_eq!(s.wrapup_ends_at.as_deref(), Some("2025-01-31T09:16:42Z"));
        assert_eq!(s.wrapup_call_id.as_deref(), Some("r1c1"));
        assert_eq!(a.turns_away(), Some(AgentState::AfterCallWork));
        assert_eq!(a.poll_timeout(), Some(c.at(100).0));

        let (now, wall) = c.at(99);
        a.observe(now, wall, false, None);
        assert!(a.poll_change().is_none(), "not yet");
        let (now, wall) = c.at(100);
        a.observe(now, wall, false, None);
        let s = a.poll_change().expect("wrap-up ends");
        assert_eq!(s.state, AgentState::Available);
        assert_eq!((s.wrapup_ends_at, s.wrapup_call_id), (None, None));
        assert!(a.poll_timeout().is_none());
        assert_eq!(a.turns_away(), None);
    }

    #[test]
    fn no_wrapup_after_an_unanswered_call_or_when_disabled() {
        let (mut a, c) = machine(30, ChosenState::Available);
        let (now, wall) = c.at(1);
        a.observe(now, wall, true, None);
        a.observe(now, wall, false, Some(("r1c1".into(), false)));
        assert_eq!(a.status().state, AgentState::Available);

        let (mut a, c) = machine(0, ChosenState::Dnd);
        let (now, wall) = c.at(1);
        a.observe(now, wall, true, None);
        a.observe(now, wall, false, Some(("r1c1".into(), true)));
        assert_eq!(a.status().state, AgentState::Dnd);
        assert!(a.poll_timeout().is_none());
    }

    #[test]
    fn choosing_available_ends_wrapup_at_once_and_away_waits_for_its_end() {
        let (mut a, c) = machine(30, ChosenState::Available);
        let (now, wall) = c.at(1);
        a.observe(now, wall, true, None);
        a.observe(now, wall, false, Some(("r1c1".into(), true)));
        a.poll_change();
        let (now, wall) = c.at(5);
        a.choose(now, wall, ChosenState::Dnd);
        let s = a.poll_change().expect("chosen changed");
        assert_eq!(
            (s.state, s.chosen),
            (AgentState::AfterCallWork, ChosenState::Dnd)
        );
        a.choose(now, wall, ChosenState::Available);
        let s = a.poll_change().expect("wrap-up ended");
        assert_eq!(s.state, AgentState::Available);
        assert_eq!(s.since, "2025-01-31T09:15:07Z");
        assert!(a.poll_timeout().is_none());

        a.observe(now, wall, true, None);
        a.observe(now, wall, false, Some(("r1c2".into(), true)));
        a.choose(now, wall, ChosenState::Away);
        let (now, wall) = c.at(40);
        a.observe(now, wall, false, None);
        assert_eq!(a.status().state, AgentState::Away);
        assert_eq!(a.turns_away(), Some(AgentState::Away));
    }

    #[test]
    fn choosing_the_same_state_changes_nothing() {
        let (mut a, c) = machine(30, ChosenState::Away);
        let (now, wall) = c.at(3);
        a.choose(now, wall, ChosenState::Away);
        assert!(a.poll_change().is_none());
        assert_eq!(a.status().since, "2025-01-31T09:15:02Z");
    }

    #[test]
    fn a_call_during_wrapup_ends_it_and_starts_its_own() {
        let (mut a, c) = machine(30, ChosenState::Available);
        let (now, wall) = c.at(1);
        a.observe(now, wall, true, None);
        a.observe(now, wall, false, Some(("r1c1".into(), true)));
        let (now, wall) = c.at(10);
        a.observe(now, wall, true, None);
        assert_eq!(a.status().state, AgentState::OnCall);
        assert!(a.poll_timeout().is_none());
        let (now, wall) = c.at(20);
        a.observe(now, wall, false, Some(("r1c2".into(), true)));
        assert_eq!(a.status().wrapup_call_id.as_deref(), Some("r1c2"));
        assert_eq!(a.poll_timeout(), Some(c.at(50).0));
    }
}
