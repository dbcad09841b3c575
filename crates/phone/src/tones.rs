//! Which of the agent's own tones plays now, from the calls' states (sans-IO; the cadence
//! is the tone generator's, `media::ToneGen`, and the driver routes the tone to a device):
//!
//! - [`Tone::Ring`] while an incoming call rings and no other call is live (on the ring
//!   device);
//! - [`Tone::CallWaiting`] while an incoming call rings during another live call (in the
//!   call's audio, where the agent is listening);
//! - [`Tone::Ringback`] while a call we placed rings (180) and the network sends no early
//!   media (no 183 or 180 with SDP), until it is answered.
//!
//! The tone follows the states, so it stops the moment a call is answered, cancelled,
//! rejected or hung up.

use media::Tone;
use wire::{CallState, Direction};

/// What the policy needs of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallPhase {
    pub direction: Direction,
    pub state: CallState,
    /// Its RTP stream runs (early media, or answered).
    pub media_started: bool,
}

/// The tone for these calls (`None`: silence). Call waiting wins over ringback: the agent
/// must learn of the waiting caller.
pub fn tone_for(calls: impl IntoIterator<Item = CallPhase>) -> Option<Tone> {
    let (mut ringing_in, mut other_live, mut ringback) = (false, false, false);
    for c in calls {
        match (c.direction, c.state) {
            (_, CallState::Ended) => {}
            (Direction::Inbound, CallState::Ringing) => ringing_in = true,
            (Direction::Outbound, CallState::Ringing | CallState::Early) if !c.media_started => {
                other_live = true;
                ringback = true;
            }
            _ => other_live = true,
        }
    }
    match (ringing_in, other_live, ringback) {
        (true, false, _) => Some(Tone::Ring),
        (true, true, _) => Some(Tone::CallWaiting),
        (false, _, true) => Some(Tone::Ringback),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(direction: Direction, state: CallState, media_started: bool) -> CallPhase {
        CallPhase {
            direction,
            state,
            media_started,
        }
    }
    use CallState::*;
    use Direction::*;

    #[test]
    fn an_incoming_call_rings_until_answered_or_gone() {
        assert_eq!(tone_for([]), None);
        assert_eq!(tone_for([call(Inbound, Ringing, false)]), Some(Tone::Ring));
        // Answered, or cancelled / rejected (ended, or gone from the list): silence.
        assert_eq!(tone_for([call(Inbound, Connected, true)]), None);
        assert_eq!(tone_for([call(Inbound, Ended, false)]), None);
        // Two callers at once, no call live: still the ringtone.
        assert_eq!(
            tone_for([call(Inbound, Ringing, false), call(Inbound, Ringing, false)]),
            Some(Tone::Ring)
        );
    }

    #[test]
    fn call_waiting_only_with_a_live_call() {
        for live in [
            call(Inbound, Connected, true),
            call(Outbound, Connected, true),
            call(Inbound, Held, true),
            call(Outbound, Dialing, false),
        ] {
            assert_eq!(
                tone_for([live, call(Inbound, Ringing, false)]),
                Some(Tone::CallWaiting),
                "{live:?}"
            );
        }
        // The live call ended: the waiting call rings as any other.
        assert_eq!(
            tone_for([call(Inbound, Ended, true), call(Inbound, Ringing, false)]),
            Some(Tone::Ring)
        );
        // The waiting call answered: no tone.
        assert_eq!(
            tone_for([call(Inbound, Held, true), call(Inbound, Connected, true)]),
            None
        );
    }

    #[test]
    fn ringback_only_without_early_media() {
        assert_eq!(tone_for([call(Outbound, Dialing, false)]), None);
        // 180 without SDP.
        assert_eq!(
            tone_for([call(Outbound, Ringing, false)]),
            Some(Tone::Ringback)
        );
        // 183 without SDP: still no media of the network's.
        assert_eq!(
            tone_for([call(Outbound, Early, false)]),
            Some(Tone::Ringback)
        );
        // Early media (a 183 or 180 with SDP started the stream): the network's own tone.
        assert_eq!(tone_for([call(Outbound, Early, true)]), None);
        // Answered.
        assert_eq!(tone_for([call(Outbound, Connected, true)]), None);
        // Held call beside it: ringback still.
        assert_eq!(
            tone_for([call(Inbound, Held, true), call(Outbound, Ringing, false)]),
            Some(Tone::Ringback)
        );
        // A caller waiting meanwhile: call waiting wins.
        assert_eq!(
            tone_for([
                call(Outbound, Ringing, false),
                call(Inbound, Ringing, false)
            ]),
            Some(Tone::CallWaiting)
        );
    }
}
