//! Every RFC 3261 §17 transaction timer as one enum variant, and one table of deadlines per
//! transaction: the next wake-up is the minimum of the table, so "which timers are running"
//! is a single array that tests can read.

use std::time::{Duration, Instant};

/// The transaction timers (RFC 3261 §17, Table 4; RFC 6026 §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// INVITE client: request retransmission (unreliable only), doubling without cap.
    A,
    /// INVITE client: transaction timeout (64*T1) while Calling.
    B,
    /// INVITE client: wait for response retransmissions in Completed.
    D,
    /// Non-INVITE client: request retransmission (unreliable only), doubling up to T2.
    E,
    /// Non-INVITE client: transaction timeout (64*T1).
    F,
    /// Non-INVITE client: wait for response retransmissions in Completed (T4).
    K,
    /// INVITE server: final response retransmission (unreliable only), doubling up to T2.
    G,
    /// INVITE server: wait for the ACK (64*T1).
    H,
    /// INVITE server: absorb ACK retransmissions in Confirmed (T4).
    I,
    /// Non-INVITE server: absorb request retransmissions in Completed (64*T1).
    J,
    /// INVITE server: send 100 Trying if the TU has not answered within 200 ms (§17.2.1).
    Trying,
    /// INVITE server (RFC 6026): absorb INVITE retransmissions after a 2xx (64*T1).
    L,
    /// INVITE client (RFC 6026): accept 2xx retransmissions and forks after a 2xx (64*T1).
    M,
}

impl Timer {
    const COUNT: usize = 13;
    const ALL: [Timer; Timer::COUNT] = [
        Timer::A,
        Timer::B,
        Timer::D,
        Timer::E,
        Timer::F,
        Timer::K,
        Timer::G,
        Timer::H,
        Timer::I,
        Timer::J,
        Timer::Trying,
        Timer::L,
        Timer::M,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// The deadlines of one transaction's timers; `None` means stopped.
#[derive(Debug, Clone, Default)]
pub struct TimerTable {
    deadlines: [Option<Instant>; Timer::COUNT],
}

impl TimerTable {
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer.index()] = Some(at);
    }

    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer.index()]
    }

    pub fn stop(&mut self, timer: Timer) {
        self.deadlines[timer.index()] = None;
    }

    pub fn stop_all(&mut self) {
        self.deadlines = [None; Timer::COUNT];
    }

    /// The earliest running deadline.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Stops and returns the earliest timer that is due at `now`, so a caller can fire the
    /// due timers one by one in deadline order.
    pub fn pop_expired(&mut self, now: Instant) -> Option<Timer> {
        let (timer, _) = Timer::ALL
            .iter()
            .filter_map(|&t| self.get(t).map(|at| (t, at)))
            .filter(|&(_, at)| at <= now)
            .min_by_key(|&(_, at)| at)?;
        self.stop(timer);
        Some(timer)
    }
}

/// RFC 3261 timer constants (§17.1.1.1, Table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate; the base of every retransmission and timeout. Default 500 ms.
    pub t1: Duration,
    /// Cap of non-INVITE request and INVITE response retransmission intervals. Default 4 s.
    pub t2: Duration,
    /// How long the network may hold a message. Default 5 s.
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl TimerConfig {
    /// 64*T1: Timers B, F, H, J, L, M.
    pub fn timeout(&self) -> Duration {
        self.t1 * 64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_timeout_is_the_minimum_and_pop_goes_in_deadline_order() {
        let t0 = Instant::now();
        let mut table = TimerTable::default();
        assert_eq!(table.next_timeout(), None);
        table.set(Timer::F, t0 + Duration::from_secs(32));
        table.set(Timer::E, t0 + Duration::from_millis(500));
        table.set(Timer::K, t0 + Duration::from_millis(100));
        assert_eq!(table.next_timeout(), Some(t0 + Duration::from_millis(100)));
        assert_eq!(table.pop_expired(t0), None);
        let late = t0 + Duration::from_secs(1);
        assert_eq!(table.pop_expired(late), Some(Timer::K));
        assert_eq!(table.pop_expired(late), Some(Timer::E));
        assert_eq!(table.pop_expired(late), None);
        assert_eq!(table.next_timeout(), Some(t0 + Duration::from_secs(32)));
        table.stop_all();
        assert_eq!(table.next_timeout(), None);
    }

    #[test]
    fn timer_indices_cover_the_table() {
        for (i, t) in Timer::ALL.iter().enumerate() {
            assert_eq!(t.index(), i);
        }
    }
}
