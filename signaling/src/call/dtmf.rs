//! DTMF by SIP INFO: `application/dtmf-relay` (`Signal=5\r\nDuration=160`) and
//! `application/dtmf` (just the digit), and the queue that paces the digits we send.

use crate::transaction::ClientTransactionId;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Digits waiting to go out by INFO. PBXes and far ends drop or reorder INFOs sent back to
/// back, so one is in flight per dialog: the next digit goes after the previous INFO's 2xx,
/// and not before the previous digit's tone has had its duration. Sans-IO: the user agent
/// says what it sent and what was answered, with the time. (`Tx` names a transaction;
/// generic so the tests can use plain numbers.)
#[derive(Debug, Clone)]
pub(super) struct DtmfQueue<Tx = ClientTransactionId> {
    waiting: VecDeque<(char, u32)>,
    in_flight: Option<(Tx, char)>,
    not_before: Option<Instant>,
}

impl<Tx> Default for DtmfQueue<Tx> {
    fn default() -> Self {
        DtmfQueue {
            waiting: VecDeque::new(),
            in_flight: None,
            not_before: None,
        }
    }
}

impl<Tx: Copy + PartialEq> DtmfQueue<Tx> {
    /// Queues the DTMF keys of `digits` (others are skipped).
    pub fn push(&mut self, digits: &str, duration_ms: u32) {
        self.waiting.extend(
            digits
                .chars()
                .filter(|c| is_dtmf_digit(*c))
                .map(|c| (c, duration_ms)),
        );
    }

    /// The digit that may be sent at `now`, taken off the queue; `sent` must follow.
    pub fn next(&mut self, now: Instant) -> Option<(char, u32)> {
        if self.in_flight.is_some() || self.not_before.is_some_and(|t| t > now) {
            return None;
        }
        self.waiting.pop_front()
    }

    /// `digit` went out in transaction `tx` at `now`.
    pub fn sent(&mut self, tx: Tx, digit: char, duration_ms: u32, now: Instant) {
        self.in_flight = Some((tx, digit));
        self.not_before = Some(now + Duration::from_millis(duration_ms.into()));
    }

    /// The INFO in flight was sent again (with credentials) as `new`.
    pub fn replaced(&mut self, old: Tx, new: Tx) {
        if let Some((tx, _)) = &mut self.in_flight {
            if *tx == old {
                *tx = new;
            }
        }
    }

    /// `tx` got its final answer: true when it was the INFO in flight (now no longer).
    pub fn answered(&mut self, tx: Tx) -> bool {
        if self.in_flight.is_some_and(|(t, _)| t == tx) {
            self.in_flight = None;
            true
        } else {
            false
        }
    }

    /// Drops everything after the in-flight INFO `tx` failed; the digits that did not
    /// arrive, the failed one first.
    pub fn fail(&mut self, failed: Option<char>) -> String {
        self.in_flight = None;
        failed
            .into_iter()
            .chain(self.waiting.drain(..).map(|(c, _)| c))
            .collect()
    }

    /// The digit in flight in `tx`.
    pub fn digit_of(&self, tx: Tx) -> Option<char> {
        self.in_flight.filter(|(t, _)| *t == tx).map(|(_, c)| c)
    }

    /// When a waiting digit may go (None while one is in flight or none waits).
    pub fn deadline(&self) -> Option<Instant> {
        if self.in_flight.is_some() || self.waiting.is_empty() {
            return None;
        }
        self.not_before
    }
}

/// Whether `c` is a DTMF key (RFC 4733 events 0-15).
pub fn is_dtmf_digit(c: char) -> bool {
    matches!(c, '0'..='9' | '*' | '#' | 'A'..='D')
}

/// The digit and duration (ms) of an INFO body; None when it is not a DTMF body.
pub fn parse_dtmf_relay(content_type: &str, body: &[u8]) -> Option<(char, u32)> {
    let text = std::str::from_utf8(body).ok()?;
    let ct = content_type.trim().to_ascii_lowercase();
    if ct.starts_with("application/dtmf-relay") {
        let mut digit = None;
        let mut duration = 250;
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            match key.trim().to_ascii_lowercase().as_str() {
                "signal" => digit = signal(value.trim()),
                "duration" => duration = value.trim().parse().unwrap_or(250),
                _ => {}
            }
        }
        digit.map(|d| (d, duration))
    } else if ct.starts_with("application/dtmf") {
        signal(text.trim()).map(|d| (d, 250))
    } else {
        None
    }
}

/// A digit from its text form (`5`, `*`, `#`, `A`) or event number (`10` is `*`, `11` `#`).
fn signal(value: &str) -> Option<char> {
    let mut chars = value.chars();
    let first = chars.next()?;
    if chars.next().is_none() {
        let upper = first.to_ascii_uppercase();
        return is_dtmf_digit(upper).then_some(upper);
    }
    match value.parse::<u8>().ok()? {
        10 => Some('*'),
        11 => Some('#'),
        n @ 12..=15 => Some((b'A' + (n - 12)) as char),
        _ => None,
    }
}

/// The body of an INFO carrying `digit`.
pub fn dtmf_relay_body(digit: char, duration_ms: u32) -> String {
    format!("Signal={digit}\r\nDuration={duration_ms}\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_sends_one_digit_at_a_time_after_the_previous_tone() {
        let t0 = Instant::now();
        let (a, b) = (1u32, 2u32);
        let mut q = DtmfQueue::default();
        q.push("1x2", 160);
        assert_eq!(q.next(t0), Some(('1', 160)));
        q.sent(a, '1', 160, t0);
        assert_eq!(q.next(t0), None, "one INFO in flight");
        assert_eq!(q.deadline(), None);
        assert!(!q.answered(b), "another transaction's answer");
        assert!(q.answered(a));
        let early = t0 + Duration::from_millis(20);
        assert_eq!(q.next(early), None, "the first tone is still playing");
        assert_eq!(q.deadline(), Some(t0 + Duration::from_millis(160)));
        let later = t0 + Duration::from_millis(160);
        assert_eq!(q.next(later), Some(('2', 160)));
        q.sent(b, '2', 160, later);
        assert_eq!(q.next(later + Duration::from_secs(1)), None);
        assert!(q.answered(b));
        assert_eq!(q.deadline(), None, "nothing left");
    }

    #[test]
    fn queue_follows_a_retried_info_and_drops_the_rest_on_failure() {
        let t0 = Instant::now();
        let (a, b) = (1u32, 2u32);
        let mut q = DtmfQueue::default();
        q.push("123#", 100);
        let (digit, ms) = q.next(t0).expect("first digit");
        q.sent(a, digit, ms, t0);
        q.replaced(a, b);
        assert_eq!(q.digit_of(a), None);
        assert_eq!(q.digit_of(b), Some('1'));
        assert!(!q.answered(a));
        assert_eq!(q.fail(q.digit_of(b)), "123#");
        assert_eq!(q.deadline(), None);
        assert_eq!(q.next(t0 + Duration::from_secs(1)), None);
    }

    #[test]
    fn parses_dtmf_relay_and_plain_dtmf() {
        let ct = "application/dtmf-relay";
        assert_eq!(
            parse_dtmf_relay(ct, b"Signal=5\r\nDuration=160\r\n"),
            Some(('5', 160))
        );
        assert_eq!(
            parse_dtmf_relay(ct, b"Signal= #\nDuration= 100"),
            Some(('#', 100))
        );
        assert_eq!(parse_dtmf_relay(ct, b"Signal=11\r\n"), Some(('#', 250)));
        assert_eq!(parse_dtmf_relay(ct, b"Signal=x\r\n"), None);
        assert_eq!(parse_dtmf_relay(ct, b"\xff\xfe"), None);
        assert_eq!(parse_dtmf_relay("application/dtmf", b"7"), Some(('7', 250)));
        assert_eq!(parse_dtmf_relay("text/plain", b"Signal=5"), None);
        assert_eq!(dtmf_relay_body('*', 200), "Signal=*\r\nDuration=200\r\n");
    }
}
