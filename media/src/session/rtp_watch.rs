//! The media timeout, sans-IO: how long the far end's RTP has been missing while both sides
//! should be sending, and when to say so.
//!
//! Only RTP counts, not RTCP: a far end whose RTCP still arrives while its audio does not
//! (a half-broken path, a PBX relaying only reports) leaves the agent hearing nothing, and
//! that is what the timeout is for. Comfort noise and telephone-events are RTP and count,
//! so a far end in DTX or with silence suppression that sends its comfort-noise updates
//! keeps the call.
//!
//! Silence is expected, and never reported, while either side holds the other (anything but
//! sendrecv both ways), and the wait starts afresh at every new negotiation (an answer after
//! early media, a resume, a new address): the far end needs a moment to start sending.

use std::time::{Duration, Instant};

use crate::negotiate::{Direction, Negotiated};

/// See the module docs.
#[derive(Debug, Clone)]
pub(super) struct RtpWatch {
    /// `None`: off.
    timeout: Option<Duration>,
    /// Whether RTP is expected now (sendrecv both ways).
    expecting: bool,
    /// The last RTP, or the start of the wait.
    since: Instant,
    /// When the silence is next reported.
    due: Instant,
}

/// Whether the far end should be sending to us under `neg`.
fn expects_rtp(neg: &Negotiated) -> bool {
    neg.local_direction == Direction::SendRecv
        && neg.remote_direction == Direction::SendRecv
        && neg.remote_rtp.is_some()
}

impl RtpWatch {
    pub(super) fn new(now: Instant, neg: &Negotiated) -> Self {
        RtpWatch {
            timeout: None,
            expecting: expects_rtp(neg),
            since: now,
            due: now,
        }
    }

    /// Sets the timeout (`None`: off); the wait starts at `now`.
    pub(super) fn set_timeout(&mut self, now: Instant, timeout: Option<Duration>) {
        self.timeout = timeout.filter(|t| !t.is_zero());
        self.restart(now);
    }

    /// A new negotiation: the wait starts afresh at `now`, if RTP is expected at all.
    pub(super) fn on_update(&mut self, now: Instant, neg: &Negotiated) {
        self.expecting = expects_rtp(neg);
        self.restart(now);
    }

    /// An RTP packet from the far end arrived at `now`.
    pub(super) fn on_rtp(&mut self, now: Instant) {
        self.restart(now);
    }

    fn restart(&mut self, now: Instant) {
        self.since = now;
        if let Some(t) = self.timeout {
            self.due = now + t;
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) has something to say.
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        (self.expecting && self.timeout.is_some()).then_some(self.due)
    }

    /// How long the far end has been silent, when the timeout ran out by `now`; then again
    /// after each further timeout of silence (the owner may not act on the first report,
    /// e.g. while a call is still ringing with early media).
    pub(super) fn handle_timeout(&mut self, now: Instant) -> Option<Duration> {
        let timeout = self.timeout?;
        if !self.expecting || now < self.due {
            return None;
        }
        // A late wake-up (a suspended process) reports once, not once per missed period.
        while self.due <= now {
            self.due += timeout;
        }
        Some(now.saturating_duration_since(self.since))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::negotiate::Codec;

    fn neg(local: Direction, remote: Direction) -> Negotiated {
        Negotiated {
            local_direction: local,
            remote_direction: remote,
            ..crate::test_support::negotiated("10.0.0.2:5000".parse().expect("addr"), Codec::Pcmu)
        }
    }

    const T: Duration = Duration::from_secs(30);

    fn watch(t0: Instant, n: &Negotiated) -> RtpWatch {
        let mut w = RtpWatch::new(t0, n);
        w.set_timeout(t0, Some(T));
        w
    }

    #[test]
    fn silence_is_reported_after_the_timeout_and_again_after_each_more() {
        let t0 = Instant::now();
        let mut w = watch(t0, &neg(Direction::SendRecv, Direction::SendRecv));
        w.on_rtp(t0 + Duration::from_secs(5));
        assert_eq!(w.poll_timeout(), Some(t0 + Duration::from_secs(35)));
        assert_eq!(w.handle_timeout(t0 + Duration::from_secs(34)), None);
        assert_eq!(w.handle_timeout(t0 + Duration::from_secs(35)), Some(T));
        assert_eq!(w.poll_timeout(), Some(t0 + Duration::from_secs(65)));
        assert_eq!(w.handle_timeout(t0 + Duration::from_secs(40)), None);
        assert_eq!(w.handle_timeout(t0 + Duration::from_secs(65)), Some(2 * T));
    }

    #[test]
    fn each_packet_restarts_the_wait() {
        let t0 = Instant::now();
        let mut w = watch(t0, &neg(Direction::SendRecv, Direction::SendRecv));
        for s in (1..200).step_by(20) {
            let at = t0 + Duration::from_secs(s);
            assert_eq!(w.handle_timeout(at), None);
            w.on_rtp(at);
        }
        assert_eq!(w.poll_timeout(), Some(t0 + Duration::from_secs(181) + T));
    }

    #[test]
    fn a_late_wake_up_reports_once() {
        let t0 = Instant::now();
        let mut w = watch(t0, &neg(Direction::SendRecv, Direction::SendRecv));
        let late = t0 + Duration::from_secs(100);
        assert_eq!(w.handle_timeout(late), Some(Duration::from_secs(100)));
        assert_eq!(w.handle_timeout(late), None);
        assert_eq!(w.poll_timeout(), Some(t0 + 4 * T));
    }

    #[test]
    fn holds_either_way_expect_no_rtp() {
        let t0 = Instant::now();
        let held = [
            (Direction::SendOnly, Direction::RecvOnly), // we hold
            (Direction::Inactive, Direction::Inactive), // both hold
            (Direction::RecvOnly, Direction::SendOnly), // the far end holds us (sendonly)
            (Direction::SendRecv, Direction::Inactive), // the far end holds us (inactive)
        ];
        for (local, remote) in held {
            let mut w = watch(t0, &neg(local, remote));
            assert_eq!(w.poll_timeout(), None, "{local:?}/{remote:?}");
            assert_eq!(w.handle_timeout(t0 + 10 * T), None, "{local:?}/{remote:?}");
        }
        let mut w = watch(t0, &neg(Direction::SendRecv, Direction::SendRecv));
        w.on_update(t0 + T, &neg(Direction::SendOnly, Direction::RecvOnly));
        assert_eq!(w.handle_timeout(t0 + 5 * T), None);
        // Resumed: the wait starts at the resume, not at the last packet before the hold.
        let resumed = t0 + 6 * T;
        w.on_update(resumed, &neg(Direction::SendRecv, Direction::SendRecv));
        assert_eq!(w.poll_timeout(), Some(resumed + T));
        assert_eq!(w.handle_timeout(resumed + T), Some(T));
    }

    #[test]
    fn off_when_zero_or_none() {
        let t0 = Instant::now();
        let n = neg(Direction::SendRecv, Direction::SendRecv);
        for timeout in [None, Some(Duration::ZERO)] {
            let mut w = RtpWatch::new(t0, &n);
            w.set_timeout(t0, timeout);
            assert_eq!(w.poll_timeout(), None);
            assert_eq!(w.handle_timeout(t0 + 100 * T), None);
        }
    }

    #[test]
    fn no_remote_address_expects_no_rtp() {
        let t0 = Instant::now();
        let n = Negotiated {
            remote_rtp: None,
            ..neg(Direction::SendRecv, Direction::SendRecv)
        };
        let mut w = watch(t0, &n);
        assert_eq!(w.handle_timeout(t0 + 10 * T), None);
    }
}
