//! What a link does to the datagrams crossing it.

use std::time::Duration;

/// The behaviour of one direction of a link (or of the whole network by default).
///
/// Each datagram is independently:
/// - lost with probability `loss`;
/// - otherwise delivered after `delay` plus a uniform random extra in `[0, jitter]` (jitter
///   alone reorders datagrams sent closer together than the jitter);
/// - with probability `reorder`, held back a further `reorder_delay` (so it arrives after
///   datagrams sent later, even on a link without jitter);
/// - with probability `duplicate`, delivered twice (each copy with its own delay).
///
/// Probabilities outside `[0, 1]` are clamped (NaN counts as 0) when the config is used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConfig {
    pub loss: f64,
    pub delay: Duration,
    pub jitter: Duration,
    pub reorder: f64,
    pub reorder_delay: Duration,
    pub duplicate: f64,
}

impl LinkConfig {
    /// No loss, no jitter, `delay` one way.
    pub const fn with_delay_only(delay: Duration) -> Self {
        LinkConfig {
            loss: 0.0,
            delay,
            jitter: Duration::ZERO,
            reorder: 0.0,
            reorder_delay: Duration::ZERO,
            duplicate: 0.0,
        }
    }

    /// A clean LAN: 1 ms, nothing lost.
    pub const fn lan() -> Self {
        LinkConfig::with_delay_only(Duration::from_millis(1))
    }

    /// A cut cable: everything is lost.
    pub const fn down() -> Self {
        LinkConfig {
            loss: 1.0,
            ..LinkConfig::lan()
        }
    }

    pub fn loss(mut self, p: f64) -> Self {
        self.loss = p;
        self
    }
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
    pub fn jitter(mut self, d: Duration) -> Self {
        self.jitter = d;
        self
    }
    /// Holds back a fraction `p` of datagrams by an extra `by`.
    pub fn reorder(mut self, p: f64, by: Duration) -> Self {
        self.reorder = p;
        self.reorder_delay = by;
        self
    }
    pub fn duplicate(mut self, p: f64) -> Self {
        self.duplicate = p;
        self
    }
}

impl Default for LinkConfig {
    /// 10 ms one way, nothing lost: a link that is fine but not instantaneous, so two nodes
    /// answering each other always let virtual time move.
    fn default() -> Self {
        LinkConfig::with_delay_only(Duration::from_millis(10))
    }
}

/// Clamps a probability into `[0, 1]`; NaN becomes 0 so a bad config cannot poison a run.
pub(crate) fn probability(p: f64) -> f64 {
    if p.is_nan() {
        0.0
    } else {
        p.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_set_fields() {
        let c = LinkConfig::lan()
            .loss(0.1)
            .jitter(Duration::from_millis(2))
            .reorder(0.05, Duration::from_millis(30))
            .duplicate(0.01);
        assert_eq!(c.delay, Duration::from_millis(1));
        assert_eq!(c.loss, 0.1);
        assert_eq!(c.jitter, Duration::from_millis(2));
        assert_eq!(c.reorder, 0.05);
        assert_eq!(c.reorder_delay, Duration::from_millis(30));
        assert_eq!(c.duplicate, 0.01);
        assert_eq!(LinkConfig::down().loss, 1.0);
    }

    #[test]
    fn probabilities_are_clamped() {
        assert_eq!(probability(f64::NAN), 0.0);
        assert_eq!(probability(-1.0), 0.0);
        assert_eq!(probability(2.0), 1.0);
        assert_eq!(probability(0.25), 0.25);
    }
}
