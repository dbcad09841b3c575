//! How far the echo canceller's reference is held back (sans-IO: fed the canceller's own
//! delay estimates, one a second).
//!
//! WebRTC's AEC2 finds the playout-to-microphone delay by itself (delay-agnostic mode) but
//! only cancels an echo that comes back within about 150 ms of the reference: measured with
//! a speech-like signal, 36 dB removed at 60 and 120 ms, 4 dB at 180 ms, nothing at 240 to
//! 320 ms, while its estimate of the delay stays right. A desktop's device path (playout
//! ring, sound server, capture ring, resamplers) easily adds up to 250-350 ms. So the
//! reference goes through a delay line first, and the line follows the canceller's
//! estimate of what is left: whatever remains past [`TARGET_MS`] is taken up by the line.

/// The delay left to the canceller once the line has taken up the rest.
pub const TARGET_MS: i32 = 40;
/// A remaining delay above this is moved into the line (not lower: every resize costs AEC2
/// seconds of reconvergence, and it still removes 36 dB at 120 ms)...
const TOO_LATE_MS: i32 = 130;
/// ...and below this (the echo may now come before the reference) the line gives some back.
const TOO_EARLY_MS: i32 = 10;
/// The longest line: a second of audio.
pub const MAX_LEAD_MS: i32 = 1000;
/// After a change, estimates (one a second) are ignored until one is nearer the delay the
/// change should leave than the one that caused it, at most this many. WebRTC's delay figure
/// is the median of a window of seconds, so for a while it still describes the old line.
const SETTLE_ESTIMATES: u32 = 12;

/// The line's length policy.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Lead {
    lead_ms: i32,
    settling: u32,
    /// While settling: the remaining delay that caused the change, and the one expected now.
    before_ms: i32,
    expected_ms: i32,
}

impl Lead {
    /// How long the line is now, ms.
    pub fn ms(&self) -> i32 {
        self.lead_ms
    }

    /// Whether the estimates describe the line as it is (none pending after a change).
    pub fn settled(&self) -> bool {
        self.settling == 0
    }

    /// Takes the canceller's delay estimate for the last interval (`None`: none yet) and
    /// returns the new line length in ms if it changes.
    pub fn on_estimate(&mut self, remaining_ms: Option<i32>) -> Option<i32> {
        let remaining = remaining_ms?;
        if self.settling > 0 {
            let fresh = (remaining - self.expected_ms).abs() < (remaining - self.before_ms).abs();
            self.settling -= 1;
            if !fresh && self.settling > 0 {
                return None;
            }
            self.settling = 0;
        }
        let too_late = remaining > TOO_LATE_MS;
        let too_early = remaining < TOO_EARLY_MS && self.lead_ms > 0;
        if !(too_late || too_early) {
            return None;
        }
        let next = (self.lead_ms + remaining - TARGET_MS).clamp(0, MAX_LEAD_MS);
        if next == self.lead_ms {
            return None;
        }
        self.before_ms = remaining;
        self.expected_ms = remaining - (next - self.lead_ms);
        self.lead_ms = next;
        self.settling = SETTLE_ESTIMATES;
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stale estimates (the delay before the change) for as long as they are ignored.
    fn stale(l: &mut Lead, remaining: i32) {
        for _ in 0..SETTLE_ESTIMATES - 1 {
            assert!(!l.settled());
            assert_eq!(l.on_estimate(Some(remaining)), None);
        }
    }

    #[test]
    fn a_long_delay_is_moved_into_the_line_and_then_left_alone() {
        let mut l = Lead::default();
        assert_eq!(l.on_estimate(None), None);
        assert_eq!(l.on_estimate(Some(60)), None, "in range: nothing to do");
        assert_eq!(l.on_estimate(Some(280)), Some(240));
        // The figures right after the change still describe the old line.
        assert_eq!(l.on_estimate(Some(280)), None);
        assert_eq!(l.on_estimate(Some(284)), None);
        assert!(!l.settled());
        // The first one that describes the new line ends the wait.
        assert_eq!(l.on_estimate(Some(44)), None);
        assert!(l.settled());
        assert_eq!(l.on_estimate(Some(44)), None);
        assert_eq!(l.ms(), 240);
    }

    #[test]
    fn a_wait_that_never_sees_the_change_ends() {
        let mut l = Lead::default();
        assert_eq!(l.on_estimate(Some(280)), Some(240));
        stale(&mut l, 280);
        // Still 280 after the longest wait: the line grows again.
        assert_eq!(l.on_estimate(Some(280)), Some(480));
    }

    #[test]
    fn the_line_gives_back_when_the_echo_comes_sooner() {
        let mut l = Lead::default();
        assert_eq!(l.on_estimate(Some(300)), Some(260));
        assert_eq!(l.on_estimate(Some(40)), None);
        assert!(l.settled());
        // The path got 200 ms shorter: the echo now comes before the reference.
        assert_eq!(l.on_estimate(Some(0)), Some(220));
        for _ in 0..100 {
            l.on_estimate(Some(0));
        }
        assert_eq!(l.ms(), 0, "never below zero");
    }

    #[test]
    fn the_line_is_bounded() {
        let mut l = Lead::default();
        for _ in 0..100 {
            l.on_estimate(Some(5000));
        }
        assert_eq!(l.ms(), MAX_LEAD_MS);
    }
}
