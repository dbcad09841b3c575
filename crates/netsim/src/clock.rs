//! The virtual clock: simulated time that only moves when the simulation says so.

use std::time::{Duration, Instant};

/// Virtual time. Starts at a fixed base `Instant` and moves forward only through
/// [`Clock::advance`] / [`Clock::advance_to`], never by itself, so a run is independent of
/// the host's speed.
///
/// The base is a real `Instant` because sans-IO cores take `std::time::Instant`; compare
/// runs through [`Clock::elapsed`] (an offset from the base), never through raw instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    base: Instant,
    now: Instant,
}

impl Clock {
    /// A clock whose base is the host's current instant (captured once, then frozen).
    pub fn new() -> Self {
        Clock::with_base(Instant::now())
    }

    /// A clock starting at `base`.
    pub fn with_base(base: Instant) -> Self {
        Clock { base, now: base }
    }

    /// The instant the clock started at.
    pub fn base(&self) -> Instant {
        self.base
    }

    /// The current virtual instant.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Virtual time elapsed since the base: the stable way to record and compare traces.
    pub fn elapsed(&self) -> Duration {
        self.now - self.base
    }

    /// Moves the clock to `t`. Time never runs backwards: an earlier `t` leaves the clock
    /// where it is. Returns the new `now`.
    pub fn advance_to(&mut self, t: Instant) -> Instant {
        if t > self.now {
            self.now = t;
        }
        self.now
    }

    /// Moves the clock forward by `d`. Returns the new `now`.
    pub fn advance(&mut self, d: Duration) -> Instant {
        self.now += d;
        self.now
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_base_and_moves_forward_only() {
        let base = Instant::now();
        let mut c = Clock::with_base(base);
        assert_eq!(c.now(), base);
        assert_eq!(c.elapsed(), Duration::ZERO);

        c.advance(Duration::from_millis(5));
        assert_eq!(c.elapsed(), Duration::from_millis(5));

        c.advance_to(base + Duration::from_secs(1));
        assert_eq!(c.elapsed(), Duration::from_secs(1));

        // Going backwards is ignored.
        c.advance_to(base);
        assert_eq!(c.elapsed(), Duration::from_secs(1));
        assert_eq!(c.base(), base);
    }
}
