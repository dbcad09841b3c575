//! One way to wait for something a peer does: look at it every `every` until `within` has
//! passed. Peers run in other processes, so polling what they write (logs, ports, tables) is
//! the only signal there is; the deadlines are generous because tests share a loaded machine.

use std::fmt;
use std::thread;
use std::time::{Duration, Instant};

use crate::TestbedError;

/// A [`wait_until`] that ran out of time: what it waited for and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedOut {
    pub what: String,
    pub waited: Duration,
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "timed out after {:?} waiting for {}",
            self.waited, self.what
        )
    }
}

impl std::error::Error for TimedOut {}

impl From<TimedOut> for TestbedError {
    fn from(t: TimedOut) -> Self {
        TestbedError::Timeout {
            what: t.what,
            waited: t.waited,
            detail: String::new(),
        }
    }
}

/// Calls `check` until it returns `Ok(Some(value))` (then returns the value), returns
/// `Err` (then returns that error at once), or `within` has passed since the first call
/// (then [`TimedOut`] naming `what`, converted into `E`). `check` runs at least once, and once
/// more at the deadline, so a condition that holds by then is never reported as a timeout.
///
/// ```
/// use std::time::Duration;
/// let mut n = 0;
/// let three = testbed::wait_until("n to reach 3", Duration::from_secs(5), Duration::from_millis(1), || {
///     n += 1;
///     Ok::<_, testbed::TimedOut>((n == 3).then_some(n))
/// });
/// assert_eq!(three, Ok(3));
/// ```
pub fn wait_until<T, E: From<TimedOut>>(
    what: &str,
    within: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<Option<T>, E>,
) -> Result<T, E> {
    let deadline = Instant::now() + within;
    loop {
        let now = Instant::now();
        if let Some(value) = check()? {
            return Ok(value);
        }
        if now >= deadline {
            return Err(TimedOut {
                what: what.to_string(),
                waited: within,
            }
            .into());
        }
        thread::sleep(every.min(deadline - now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_the_first_error() {
        let mut calls = 0;
        let r: Result<(), TestbedError> =
            wait_until("never", Duration::from_secs(60), Duration::ZERO, || {
                calls += 1;
                Err(TestbedError::NoFreePort)
            });
        assert!(matches!(r, Err(TestbedError::NoFreePort)));
        assert_eq!(calls, 1);
    }

    #[test]
    fn names_what_it_waited_for() {
        let r: Result<(), TimedOut> =
            wait_until("nothing", Duration::ZERO, Duration::ZERO, || Ok(None));
        let e = r.unwrap_err();
        assert_eq!(e.what, "nothing");
        assert_eq!(e.to_string(), "timed out after 0ns waiting for nothing");
    }
}
