//! RFC 4733 telephone-event (DTMF over RTP): a sans-IO sender and receiver.
//!
//! Payload (RFC 4733 §2.3), 4 bytes:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     event     |E|R| volume    |          duration             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! # Sender ([`DtmfSender`])
//!
//! `start(digit, duration_ms, now)` queues a digit; `poll(now)` hands out each packet when it
//! is due; `poll_timeout()` says when to call again. For one event:
//!
//! - the first packet is due at the event start with duration 0 ticks (the marker bit set),
//!   then one update every `interval` with the duration so far (RFC 4733 §2.5.1.2);
//! - every packet of the event carries the same RTP timestamp (the event start); the packet
//!   gives it as [`DtmfPacket::timestamp_offset`], clock ticks since the sender's epoch (the
//!   `now` given to [`DtmfSender::new`]), which the stream adds to the RTP timestamp it had at
//!   that epoch (see [`DtmfPacket::rtp_timestamp`]);
//! - the end packet (E bit, final duration) is sent three times, one `interval` apart
//!   (§2.5.1.4);
//! - an event longer than 0xFFFF ticks (8.2 s at 8 kHz, 1.37 s at 48 kHz) is split into
//!   segments (§2.5.1.3): the segment that fills up is reported with duration 0xFFFF, the next
//!   one starts at a timestamp 0xFFFF ticks later, without the marker bit;
//! - queued digits follow back to back, `gap` after the previous digit's last end packet,
//!   so timestamps of successive events never overlap.
//!
//! While [`DtmfSender::is_active`] the stream should not send audio for the same time span
//! (§2.5.1.1 allows either; sending both makes the far end hear double tones).
//!
//! # Receiver ([`DtmfReceiver`])
//!
//! Reports each digit **once, when its event ends** (first end packet), with its duration:
//! this is what a PBX or IVR consuming our events wants, and it lets retransmitted end packets
//! be dropped by timestamp. An event whose end packets are all lost is reported when the next
//! event starts, or by [`DtmfReceiver::handle_timeout`] after [`DtmfReceiver::END_TIMEOUT`]
//! without packets, with the last duration seen. A lost start packet does not matter: any
//! packet with a new timestamp starts an event (the marker bit is not required). Timestamps
//! compare in wrapping (serial number) arithmetic, so events across the 2^32 wrap work.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Volume we send: -10 dBm0 (RFC 4733 §2.3.4 "volume" is the power level in -dBm0, 0..=63;
/// typical DTMF generators use -10 dBm0 or thereabouts).
pub const DEFAULT_VOLUME: u8 = 10;

/// Longest duration one segment can report.
const MAX_SEGMENT: u32 = 0xFFFF;

/// A DTMF key: `0-9`, `*`, `#`, `A-D` (events 0-15, RFC 4733 §3.2 Table 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digit(u8);

impl Digit {
    /// From the key character (`a-d` accepted as `A-D`).
    pub fn from_char(c: char) -> Option<Digit> {
        let code = match c {
            '0'..='9' => c as u8 - b'0',
            '*' => 10,
            '#' => 11,
            'A'..='D' => c as u8 - b'A' + 12,
            'a'..='d' => c as u8 - b'a' + 12,
            _ => return None,
        };
        Some(Digit(code))
    }

    /// From the RFC 4733 event code (0-15).
    pub fn from_event(code: u8) -> Option<Digit> {
        (code <= 15).then_some(Digit(code))
    }

    /// RFC 4733 event code.
    pub fn event(self) -> u8 {
        self.0
    }

    /// The key character (`A-D` in upper case).
    pub fn as_char(self) -> char {
        match self.0 {
            0..=9 => (b'0' + self.0) as char,
            10 => '*',
            11 => '#',
            _ => (b'A' + self.0 - 12) as char,
        }
    }
}

impl std::fmt::Display for Digit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// Why a telephone-event payload or a sender request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DtmfError {
    /// A payload that is not 4 bytes (its length).
    #[error(
        "telephone-event payload of {0} bytes (expected 4; multi-event packets are not supported)"
    )]
    Length(usize),
    /// An event code other than 0-15 (the code).
    #[error("telephone-event code {0} is not a DTMF digit (0-15)")]
    NotDtmf(u8),
    /// A key other than 0-9, *, #, A-D (the key).
    #[error("{0:?} is not a DTMF key (0-9, *, #, A-D)")]
    BadKey(char),
    /// A telephone-event clock rate of zero or out of range.
    #[error("clock rate {0} Hz is not usable for telephone-event")]
    ClockRate(u32),
    /// An update interval outside 5-500 ms.
    #[error("packet interval must be between 5 and 500 ms")]
    Interval,
    /// A shortest tone of zero or longer than the longest.
    #[error("minimum tone duration must be above zero and at most the maximum")]
    DurationBounds,
}

/// One decoded event block (RFC 4733 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (0-255; 0-15 are DTMF).
    pub event: u8,
    /// E bit: this is (a retransmission of) the final packet of the event.
    pub end: bool,
    /// Power level in -dBm0 (0-63).
    pub volume: u8,
    /// Duration so far, in RTP clock ticks.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parse a 4-byte payload. Never panics; the R bit is ignored as the RFC asks.
    pub fn parse(payload: &[u8]) -> Result<TelephoneEvent, DtmfError> {
        let b: [u8; 4] = payload
            .try_into()
            .map_err(|_| DtmfError::Length(payload.len()))?;
        Ok(TelephoneEvent {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3F,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// The 4 payload bytes (R bit zero, volume masked to 6 bits).
    pub fn to_bytes(&self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (if self.end { 0x80 } else { 0 }) | (self.volume & 0x3F),
            d[0],
            d[1],
        ]
    }

    /// The DTMF digit, if the code is one.
    pub fn digit(&self) -> Result<Digit, DtmfError> {
        Digit::from_event(self.event).ok_or(DtmfError::NotDtmf(self.event))
    }
}

/// Sender settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfConfig {
    /// RTP clock rate of the negotiated telephone-event format (8000 or 48000 usually; it
    /// must match the audio codec's clock, RFC 4733 §2.1).
    pub clock_rate: u32,
    /// Time between updates and between end retransmissions (50 ms per RFC 4733 §2.5.1.2's
    /// suggestion, or the audio ptime).
    pub interval: Duration,
    /// Silence between the last end packet of one digit and the start of the next.
    pub gap: Duration,
    /// Volume field, -dBm0.
    pub volume: u8,
    /// Shortest and longest tone accepted by [`DtmfSender::start`] (clamped).
    pub min_duration: Duration,
    /// See `min_duration`.
    pub max_duration: Duration,
}

impl Default for DtmfConfig {
    fn default() -> Self {
        DtmfConfig {
            clock_rate: 8000,
            interval: Duration::from_millis(50),
            gap: Duration::from_millis(50),
            volume: DEFAULT_VOLUME,
            min_duration: Duration::from_millis(40),
            max_duration: Duration::from_secs(10),
        }
    }
}

impl DtmfConfig {
    /// Defaults with the given clock rate and update interval.
    pub fn new(clock_rate: u32, interval_ms: u32) -> Self {
        DtmfConfig {
            clock_rate,
            interval: Duration::from_millis(interval_ms as u64),
            ..Default::default()
        }
    }

    fn validate(&self) -> Result<(), DtmfError> {
        if !(1000..=192_000).contains(&self.clock_rate) {
            return Err(DtmfError::ClockRate(self.clock_rate));
        }
        if self.interval < Duration::from_millis(5) || self.interval > Duration::from_millis(500) {
            return Err(DtmfError::Interval);
        }
        if self.min_duration > self.max_duration || self.min_duration.is_zero() {
            return Err(DtmfError::DurationBounds);
        }
        Ok(())
    }
}

/// One telephone-event packet for the stream to send (payload type: the negotiated
/// telephone-event one; sequence numbers: the stream's, shared with audio).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPacket {
    /// RFC 4733 payload.
    pub payload: [u8; 4],
    /// RTP marker bit (first packet of the event only).
    pub marker: bool,
    /// RTP timestamp of the event (segment) start, as clock ticks since the sender's epoch
    /// (wrapping).
    pub timestamp_offset: u32,
    /// E bit (also true on the two retransmissions).
    pub end: bool,
    /// The digit.
    pub digit: Digit,
    /// Duration field, ticks.
    pub duration: u16,
}

impl DtmfPacket {
    /// The RTP timestamp, given the stream's RTP timestamp at the sender's epoch.
    pub fn rtp_timestamp(&self, timestamp_at_epoch: u32) -> u32 {
        timestamp_at_epoch.wrapping_add(self.timestamp_offset)
    }
}

#[derive(Debug, Clone)]
struct Active {
    digit: Digit,
    /// Event start instant.
    start: Instant,
    /// Event start, ticks since epoch (wrapping).
    start_ticks: u32,
    /// Total tone length in ticks.
    total: u64,
    /// When the tone is over (the end packet is due).
    end_at: Instant,
    /// Ticks at which the current segment starts (relative to the event start).
    segment: u64,
    /// When the next update is due.
    next: Instant,
    /// Marker still to be sent.
    marker: bool,
    /// End packets sent so far (0 until the tone is over).
    ends_sent: u8,
}

/// Sans-IO RFC 4733 sender: see the module docs.
#[derive(Debug, Clone)]
pub struct DtmfSender {
    cfg: DtmfConfig,
    epoch: Instant,
    queue: VecDeque<(Digit, Duration)>,
    active: Option<Active>,
    /// Earliest start of the next event.
    next_start: Instant,
    /// Packets already computed but not yet handed out (segment boundary + update).
    ready: VecDeque<DtmfPacket>,
}

impl DtmfSender {
    /// New sender; `now` is the epoch that [`DtmfPacket::timestamp_offset`] counts from.
    pub fn new(cfg: DtmfConfig, now: Instant) -> Result<Self, DtmfError> {
        cfg.validate()?;
        Ok(DtmfSender {
            cfg,
            epoch: now,
            queue: VecDeque::new(),
            active: None,
            next_start: now,
            ready: VecDeque::new(),
        })
    }

    /// Its settings.
    pub fn config(&self) -> &DtmfConfig {
        &self.cfg
    }

    /// Queue `digit` for `duration_ms` (clamped to the configured bounds). It starts at `now`
    /// if nothing is playing, else after the queued digits and a gap.
    pub fn start(&mut self, digit: Digit, duration_ms: u32, now: Instant) {
        let d = Duration::from_millis(duration_ms as u64)
            .clamp(self.cfg.min_duration, self.cfg.max_duration);
        if self.active.is_none() && self.queue.is_empty() && self.next_start < now {
            self.next_start = now;
        }
        self.queue.push_back((digit, d));
    }

    /// Queue every key of `keys` (e.g. "123#"); refuses the whole string on a bad key.
    pub fn start_str(
        &mut self,
        keys: &str,
        duration_ms: u32,
        now: Instant,
    ) -> Result<(), DtmfError> {
        let digits = keys
            .chars()
            .map(|c| Digit::from_char(c).ok_or(DtmfError::BadKey(c)))
            .collect::<Result<Vec<_>, _>>()?;
        for d in digits {
            self.start(d, duration_ms, now);
        }
        Ok(())
    }

    /// An event is being sent (the stream should hold back audio).
    pub fn is_active(&self) -> bool {
        self.active.is_some() || !self.ready.is_empty()
    }

    /// Nothing playing and nothing queued.
    pub fn is_idle(&self) -> bool {
        !self.is_active() && self.queue.is_empty()
    }

    /// Drop the queued digits (the one playing finishes normally, with its end packets).
    pub fn clear_queue(&mut self) {
        self.queue.clear();
    }

    /// When `poll` next has something to hand out.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.ready.is_empty() {
            return Some(self.epoch); // in the past: due now
        }
        match &self.active {
            Some(a) => Some(a.next),
            None if !self.queue.is_empty() => Some(self.next_start),
            None => None,
        }
    }

    fn ticks(&self, d: Duration) -> u64 {
        (d.as_nanos() * self.cfg.clock_rate as u128 / 1_000_000_000) as u64
    }

    /// The next packet due at `now`, if any. Call until `None`. A late call gets one packet
    /// carrying the duration so far (missed updates are not replayed).
    pub fn poll(&mut self, now: Instant) -> Option<DtmfPacket> {
        if let Some(p) = self.ready.pop_front() {
            return Some(p);
        }
        if self.active.is_none() {
            if now < self.next_start {
                return None;
            }
            let (digit, dur) = self.queue.pop_front()?;
            let start = self.next_start;
            self.active = Some(Active {
                digit,
                start,
                start_ticks: self.ticks(start - self.epoch) as u32,
                total: self.ticks(dur).max(1),
                end_at: start + dur,
                segment: 0,
                next: start,
                marker: true,
                ends_sent: 0,
            });
        }
        let cfg = self.cfg;
        let rate = cfg.clock_rate as u128;
        let a = self.active.as_mut()?;
        if now < a.next {
            return None;
        }
        let tone_over = now >= a.end_at;
        let so_far = if tone_over {
            a.total
        } else {
            let elapsed = now.saturating_duration_since(a.start);
            ((elapsed.as_nanos() * rate / 1_000_000_000) as u64).min(a.total)
        };
        // Segment boundaries crossed since the last update: close each with 0xFFFF.
        while so_far - a.segment > MAX_SEGMENT as u64 {
            self.ready
                .push_back(packet(&cfg, a, MAX_SEGMENT as u16, false));
            a.segment += MAX_SEGMENT as u64;
            a.marker = false;
        }
        let duration = (so_far - a.segment) as u16;
        let p = packet(&cfg, a, duration, tone_over);
        a.marker = false;
        // Next update on the interval grid, skipping missed slots; the end packet is due as
        // soon as the tone is over.
        if a.next <= now {
            let step = cfg.interval.as_nanos();
            let missed = (now - a.next).as_nanos() / step + 1;
            a.next += Duration::from_nanos((missed * step).min(u64::MAX as u128) as u64);
        }
        if tone_over {
            a.ends_sent += 1;
            if a.ends_sent >= 3 {
                self.active = None;
                self.next_start = now + cfg.gap;
            }
        } else if a.next > a.end_at {
            a.next = a.end_at;
        }
        self.ready.push_back(p);
        self.ready.pop_front()
    }
}

fn packet(cfg: &DtmfConfig, a: &Active, duration: u16, end: bool) -> DtmfPacket {
    let ev = TelephoneEvent {
        event: a.digit.event(),
        end,
        volume: cfg.volume.min(63),
        duration,
    };
    DtmfPacket {
        payload: ev.to_bytes(),
        marker: a.marker,
        timestamp_offset: a.start_ticks.wrapping_add(a.segment as u32),
        end,
        digit: a.digit,
        duration,
    }
}

/// A digit reported by [`DtmfReceiver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedDigit {
    /// The key.
    pub digit: Digit,
    /// RTP timestamp of the event start (first segment).
    pub timestamp: u32,
    /// Total duration in clock ticks (all segments).
    pub duration_ticks: u64,
    /// The same in milliseconds.
    pub duration_ms: u32,
    /// Volume of the last packet, -dBm0.
    pub volume: u8,
    /// No end packet was received (reported on the next event or a timeout).
    pub end_lost: bool,
}

#[derive(Debug, Clone)]
struct Current {
    digit: Digit,
    first_ts: u32,
    /// Timestamp of the current segment.
    seg_ts: u32,
    /// Ticks in previous segments.
    before: u64,
    /// Latest duration of this segment.
    duration: u16,
    volume: u8,
    last_seen: Instant,
}

/// Sans-IO RFC 4733 receiver: see the module docs.
#[derive(Debug, Clone)]
pub struct DtmfReceiver {
    clock_rate: u32,
    current: Option<Current>,
    /// Segment timestamp of the last event reported (retransmitted ends and late updates of
    /// it are dropped, as is anything older).
    last_done: Option<u32>,
    /// Reports waiting for `poll_digit` (at most two per packet: a lost-end event and the
    /// new one).
    out: VecDeque<ReceivedDigit>,
}

impl DtmfReceiver {
    /// How long without packets before an event whose end was lost is reported.
    pub const END_TIMEOUT: Duration = Duration::from_millis(1000);

    /// A receiver for events counted at `clock_rate` (the negotiated telephone-event rate).
    pub fn new(clock_rate: u32) -> Result<Self, DtmfError> {
        if !(1000..=192_000).contains(&clock_rate) {
            return Err(DtmfError::ClockRate(clock_rate));
        }
        Ok(DtmfReceiver {
            clock_rate,
            current: None,
            last_done: None,
            out: VecDeque::new(),
        })
    }

    /// Feed one telephone-event RTP packet (its header's timestamp and the payload). Digits
    /// completed by it are returned by [`DtmfReceiver::poll_digit`]. Errors leave the state
    /// untouched.
    pub fn handle(
        &mut self,
        now: Instant,
        rtp_timestamp: u32,
        payload: &[u8],
    ) -> Result<(), DtmfError> {
        let ev = TelephoneEvent::parse(payload)?;
        let digit = ev.digit()?;
        if let Some(done) = self.last_done {
            // Same event (retransmitted end, late update) or an older one: drop.
            if !serial_newer(rtp_timestamp, done) {
                return Ok(());
            }
        }
        if let Some(cur) = &mut self.current {
            if rtp_timestamp == cur.seg_ts {
                // A reordered older update must not shorten the event.
                cur.duration = cur.duration.max(ev.duration);
                cur.volume = ev.volume;
                cur.last_seen = now;
                if ev.end {
                    self.finish(false);
                }
                return Ok(());
            }
            if !serial_newer(rtp_timestamp, cur.seg_ts) {
                return Ok(()); // an older event, already superseded
            }
            // Next segment of a long event: same digit, starts where the last one filled.
            let next_seg = cur.seg_ts.wrapping_add(MAX_SEGMENT);
            if digit == cur.digit && rtp_timestamp == next_seg {
                cur.before += MAX_SEGMENT as u64;
                cur.seg_ts = rtp_timestamp;
                cur.duration = ev.duration;
                cur.volume = ev.volume;
                cur.last_seen = now;
                if ev.end {
                    self.finish(false);
                }
                return Ok(());
            }
            // A new event while the previous one never ended: its end packets were lost.
            self.finish(true);
        }
        self.current = Some(Current {
            digit,
            first_ts: rtp_timestamp,
            seg_ts: rtp_timestamp,
            before: 0,
            duration: ev.duration,
            volume: ev.volume,
            last_seen: now,
        });
        if ev.end {
            // Only end packets arrived (or a very short event): report it right away.
            self.finish(false);
        }
        Ok(())
    }

    /// Report an event whose end packets were lost once nothing arrived for
    /// [`Self::END_TIMEOUT`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(cur) = &self.current {
            if now.saturating_duration_since(cur.last_seen) >= Self::END_TIMEOUT {
                self.finish(true);
            }
        }
    }

    /// When to call [`Self::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.current
            .as_ref()
            .map(|c| c.last_seen + Self::END_TIMEOUT)
    }

    /// The next completed digit.
    pub fn poll_digit(&mut self) -> Option<ReceivedDigit> {
        self.out.pop_front()
    }

    fn finish(&mut self, end_lost: bool) {
        if let Some(cur) = self.current.take() {
            let ticks = cur.before + cur.duration as u64;
            self.out.push_back(ReceivedDigit {
                digit: cur.digit,
                timestamp: cur.first_ts,
                duration_ticks: ticks,
                duration_ms: (ticks * 1000 / self.clock_rate as u64) as u32,
                volume: cur.volume,
                end_lost,
            });
            self.last_done = Some(cur.seg_ts);
        }
    }
}

/// `a` is after `b` in 32-bit serial-number arithmetic (RFC 1982).
fn serial_newer(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000_0000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_map_to_events() {
        let table = [
            ('0', 0),
            ('1', 1),
            ('5', 5),
            ('9', 9),
            ('*', 10),
            ('#', 11),
            ('A', 12),
            ('B', 13),
            ('C', 14),
            ('D', 15),
        ];
        for (c, code) in table {
            let d = Digit::from_char(c).unwrap();
            assert_eq!(d.event(), code, "{c}");
            assert_eq!(Digit::from_event(code).unwrap().as_char(), c);
        }
        assert_eq!(Digit::from_char('d').unwrap().event(), 15);
        assert!(Digit::from_char('E').is_none());
        assert!(Digit::from_char('x').is_none());
        assert!(Digit::from_event(16).is_none());
    }

    #[test]
    fn payload_round_trip() {
        // RFC 4733 §2.3 layout: event 9, E=1, volume 7, duration 1600.
        let b = [9, 0x80 | 7, 0x06, 0x40];
        let ev = TelephoneEvent::parse(&b).unwrap();
        assert_eq!(
            ev,
            TelephoneEvent {
                event: 9,
                end: true,
                volume: 7,
                duration: 1600
            }
        );
        assert_eq!(ev.to_bytes(), b);
        // The R bit is ignored on receipt.
        assert_eq!(TelephoneEvent::parse(&[9, 0xC7, 0x06, 0x40]).unwrap(), ev);
        assert_eq!(TelephoneEvent::parse(&[1, 2, 3]), Err(DtmfError::Length(3)));
        assert_eq!(
            TelephoneEvent::parse(&[16, 0, 0, 0]).unwrap().digit(),
            Err(DtmfError::NotDtmf(16))
        );
    }

    #[test]
    fn serial_arithmetic_wraps() {
        assert!(serial_newer(1, 0));
        assert!(serial_newer(5, u32::MAX - 5));
        assert!(!serial_newer(u32::MAX - 5, 5));
        assert!(!serial_newer(7, 7));
    }
}
