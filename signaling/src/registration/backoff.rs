//! When to try again after a failed registration: capped exponential backoff with jitter.
//!
//! | failure                                  | wait                                        |
//! |------------------------------------------|---------------------------------------------|
//! | no answer / transport error              | `base` doubling, capped at `max_unreachable` |
//! | 5xx, 408, 480 (the PBX answered)         | `base` doubling, capped at `max`; a Retry-After wins |
//! | terminal (wrong password, 403, 404, ...) | `terminal`, every time                       |
//!
//! Why the short cap when nothing answers: each attempt already spends 64*T1 (32 s)
//! retransmitting before it times out, so the registrar sees at most one request every
//! few seconds either way, and a registrar that comes back after a restart hears one of
//! our retransmissions within T2 (4 s), or the next attempt within `max_unreachable`.
//! Every wait is spread by ±20% so that a room of phones does not retry in lockstep.

use super::RegistrationError;
use rand::Rng;
use std::time::Duration;

/// Retry timing; the defaults suit a PBX on a LAN or a hosted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// First wait after a failure. Default 2 s.
    pub base: Duration,
    /// Cap when the PBX answered with a transient error. Default 5 min.
    pub max: Duration,
    /// Cap when nothing answered (timeouts, transport errors). Default 4 s.
    pub max_unreachable: Duration,
    /// Wait after a terminal error (wrong password, 403, 404...): one slow attempt, so that
    /// a fix on the PBX side is noticed without hammering it (fail2ban counts failed
    /// logins). Default 10 min.
    pub terminal: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(2),
            max: Duration::from_secs(300),
            max_unreachable: Duration::from_secs(4),
            terminal: Duration::from_secs(600),
        }
    }
}

/// Relative spread applied to every wait.
const JITTER: f64 = 0.2;

impl RetryPolicy {
    /// The wait before attempt number `failures + 1`, where `failures` counts consecutive
    /// failed attempts including this one (so 1 gives about `base`).
    pub fn delay<R: Rng + ?Sized>(
        &self,
        error: &RegistrationError,
        failures: u32,
        rng: &mut R,
    ) -> Duration {
        if error.is_terminal() {
            return jitter(self.terminal, rng);
        }
        if let RegistrationError::Unavailable {
            retry_after: Some(after),
            ..
        } = error
        {
            // The PBX said when; honour it (and never hammer on a Retry-After of 0).
            return (*after).max(Duration::from_secs(1));
        }
        let cap = if error.is_unreachable() {
            self.max_unreachable
        } else {
            self.max
        };
        let exp = failures.saturating_sub(1).min(16);
        let wait = self.base.saturating_mul(1 << exp).min(cap);
        jitter(wait, rng)
    }
}

fn jitter<R: Rng + ?Sized>(wait: Duration, rng: &mut R) -> Duration {
    let factor = 1.0 - JITTER + 2.0 * JITTER * rng.random::<f64>();
    wait.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn unavailable(retry_after: Option<Duration>) -> RegistrationError {
        RegistrationError::Unavailable {
            registrar: "pbx".into(),
            status: 503,
            reason: "Service Unavailable".into(),
            retry_after,
        }
    }

    #[test]
    fn doubles_from_base_to_the_cap_within_the_jitter() {
        let policy = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(3);
        let table = [
            (1, 2.0),
            (2, 4.0),
            (3, 8.0),
            (4, 16.0),
            (8, 256.0),
            (9, 300.0),
            (40, 300.0),
        ];
        for (failures, nominal) in table {
            for _ in 0..50 {
                let d = policy
                    .delay(&unavailable(None), failures, &mut rng)
                    .as_secs_f64();
                assert!(
                    d >= nominal * 0.8 - 1e-9 && d <= nominal * 1.2 + 1e-9,
                    "{failures}: {d}"
                );
            }
        }
    }

    #[test]
    fn unreachable_caps_short_terminal_waits_long_retry_after_wins() {
        let policy = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(4);
        let silent = RegistrationError::NoAnswer {
            registrar: "pbx".into(),
        };
        for failures in 1..30 {
            assert!(policy.delay(&silent, failures, &mut rng) <= Duration::from_millis(4800));
        }
        let wrong = RegistrationError::WrongPassword {
            user: "1001".into(),
            domain: "pbx".into(),
        };
        assert!(policy.delay(&wrong, 1, &mut rng) >= Duration::from_secs(480));
        let after = unavailable(Some(Duration::from_secs(42)));
        assert_eq!(policy.delay(&after, 5, &mut rng), Duration::from_secs(42));
    }
}
