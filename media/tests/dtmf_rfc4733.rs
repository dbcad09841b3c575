//! RFC 4733 sender and receiver: packet patterns, loopback, loss, reorder, wrap, garbage.

use std::time::{Duration, Instant};

use media::{
    Digit, DtmfConfig, DtmfError, DtmfPacket, DtmfReceiver, DtmfSender, ReceivedDigit,
    TelephoneEvent,
};

const MS: Duration = Duration::from_millis(1);

/// (ms since the sender's epoch, packet) for everything the sender emits in `until_ms`,
/// polling every millisecond.
fn run(sender: &mut DtmfSender, t0: Instant, until_ms: u64) -> Vec<(u64, DtmfPacket)> {
    let mut out = Vec::new();
    for ms in 0..=until_ms {
        let now = t0 + MS * ms as u32;
        while let Some(p) = sender.poll(now) {
            out.push((ms, p));
        }
    }
    out
}

fn digit(c: char) -> Digit {
    Digit::from_char(c).unwrap()
}

/// (ms, marker, end, duration, timestamp offset) rows.
type Row = (u64, bool, bool, u16, u32);

fn rows(packets: &[(u64, DtmfPacket)]) -> Vec<Row> {
    packets
        .iter()
        .map(|(ms, p)| (*ms, p.marker, p.end, p.duration, p.timestamp_offset))
        .collect()
}

#[test]
fn packet_pattern_like_rfc4733_section_5() {
    // RFC 4733 §5 shows a digit sent with 50 ms updates at 8 kHz: one timestamp for the
    // event, duration growing by 400, the marker on the first packet, the end packet three
    // times. We also send the very first packet at the start, with duration 0.
    let t0 = Instant::now();
    let mut s = DtmfSender::new(DtmfConfig::default(), t0).unwrap();
    s.start(digit('9'), 200, t0);
    assert!(!s.is_idle());
    let got = run(&mut s, t0, 1000);
    let want: Vec<Row> = vec![
        (0, true, false, 0, 0),
        (50, false, false, 400, 0),
        (100, false, false, 800, 0),
        (150, false, false, 1200, 0),
        (200, false, true, 1600, 0),
        (250, false, true, 1600, 0),
        (300, false, true, 1600, 0),
    ];
    assert_eq!(rows(&got), want);
    // Wire bytes: event 9, volume 10, E bit on the end packets.
    assert_eq!(got[0].1.payload, [9, 10, 0, 0]);
    assert_eq!(got[1].1.payload, [9, 10, 0x01, 0x90]);
    assert_eq!(got[4].1.payload, [9, 0x80 | 10, 0x06, 0x40]);
    assert!(s.is_idle());
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn table_of_configurations() {
    struct Case {
        name: &'static str,
        cfg: DtmfConfig,
        ms: u32,
        /// (ms, duration, end) of every packet.
        want: Vec<(u64, u16, bool)>,
    }
    let cases = [
        Case {
            name: "48 kHz, 20 ms ptime, 100 ms tone",
            cfg: DtmfConfig::new(48_000, 20),
            ms: 100,
            want: vec![
                (0, 0, false),
                (20, 960, false),
                (40, 1920, false),
                (60, 2880, false),
                (80, 3840, false),
                (100, 4800, true),
                (120, 4800, true),
                (140, 4800, true),
            ],
        },
        Case {
            name: "8 kHz, 50 ms, tone not a multiple of the interval",
            cfg: DtmfConfig::new(8_000, 50),
            ms: 120,
            want: vec![
                (0, 0, false),
                (50, 400, false),
                (100, 800, false),
                (120, 960, true),
                (170, 960, true),
                (220, 960, true),
            ],
        },
        Case {
            name: "too short is clamped to 40 ms",
            cfg: DtmfConfig::new(8_000, 20),
            ms: 5,
            want: vec![
                (0, 0, false),
                (20, 160, false),
                (40, 320, true),
                (60, 320, true),
                (80, 320, true),
            ],
        },
    ];
    for c in cases {
        let t0 = Instant::now();
        let mut s = DtmfSender::new(c.cfg, t0).unwrap();
        s.start(digit('#'), c.ms, t0);
        let got: Vec<(u64, u16, bool)> = run(&mut s, t0, 2000)
            .iter()
            .map(|(ms, p)| (*ms, p.duration, p.end))
            .collect();
        assert_eq!(got, c.want, "{}", c.name);
    }
}

#[test]
fn queued_digits_follow_with_a_gap_and_later_timestamps() {
    let t0 = Instant::now();
    let mut s = DtmfSender::new(DtmfConfig::default(), t0).unwrap();
    s.start_str("12", 100, t0).unwrap();
    let got = run(&mut s, t0, 2000);
    let starts: Vec<(u64, char, u32)> = got
        .iter()
        .filter(|(_, p)| p.marker)
        .map(|(ms, p)| (*ms, p.digit.as_char(), p.timestamp_offset))
        .collect();
    // Digit 1: 0..100 ms, ends at 100, 150, 200; gap 50 ms; digit 2 at 250 ms (ts 2000).
    assert_eq!(starts, vec![(0, '1', 0), (250, '2', 2000)]);
    assert_eq!(got.len(), 2 * (2 + 3));
    assert_eq!(
        s.start_str("1x", 100, t0),
        Err(DtmfError::BadKey('x')),
        "a bad key refuses the string"
    );
    // RTP timestamp helper.
    assert_eq!(got[7].1.rtp_timestamp(u32::MAX - 999), 1000);
}

#[test]
fn late_polls_coalesce_updates() {
    let t0 = Instant::now();
    let mut s = DtmfSender::new(DtmfConfig::default(), t0).unwrap();
    s.start(digit('5'), 300, t0);
    assert_eq!(s.poll(t0).unwrap().duration, 0);
    assert_eq!(s.poll(t0), None);
    assert_eq!(s.poll_timeout(), Some(t0 + 50 * MS));
    // Woken 170 ms late: one update with the duration so far.
    let p = s.poll(t0 + 220 * MS).unwrap();
    assert_eq!((p.duration, p.end), (1760, false));
    assert_eq!(s.poll(t0 + 220 * MS), None);
    assert_eq!(s.poll_timeout(), Some(t0 + 250 * MS));
    // Very late: straight to the end packet.
    let p = s.poll(t0 + 900 * MS).unwrap();
    assert_eq!((p.duration, p.end), (2400, true));
}

#[test]
fn rejects_bad_config() {
    let t0 = Instant::now();
    assert_eq!(
        DtmfSender::new(DtmfConfig::new(0, 50), t0).err(),
        Some(DtmfError::ClockRate(0))
    );
    assert_eq!(
        DtmfSender::new(DtmfConfig::new(8000, 0), t0).err(),
        Some(DtmfError::Interval)
    );
    assert!(DtmfReceiver::new(0).is_err());
}

/// Feed packets into a receiver as `(arrival ms, rtp timestamp, payload)`.
fn receive(
    rx: &mut DtmfReceiver,
    t0: Instant,
    packets: &[(u64, u32, [u8; 4])],
) -> Vec<ReceivedDigit> {
    let mut out = Vec::new();
    for (ms, ts, payload) in packets {
        rx.handle(t0 + MS * *ms as u32, *ts, payload).unwrap();
        while let Some(d) = rx.poll_digit() {
            out.push(d);
        }
    }
    out
}

#[test]
fn loopback_reports_each_digit_once_across_timestamp_wrap() {
    for (rate, interval) in [(8000, 50), (48_000, 20)] {
        let t0 = Instant::now();
        let mut s = DtmfSender::new(DtmfConfig::new(rate, interval), t0).unwrap();
        s.start_str("159*#0AD", 120, t0).unwrap();
        let base = u32::MAX - 3000; // wraps during the second digit
        let packets: Vec<(u64, u32, [u8; 4])> = run(&mut s, t0, 5000)
            .iter()
            .map(|(ms, p)| (*ms, p.rtp_timestamp(base), p.payload))
            .collect();
        let mut rx = DtmfReceiver::new(rate).unwrap();
        let got = receive(&mut rx, t0, &packets);
        let keys: String = got.iter().map(|d| d.digit.as_char()).collect();
        assert_eq!(keys, "159*#0AD", "{rate}");
        for d in &got {
            assert_eq!(d.duration_ms, 120);
            assert_eq!(d.duration_ticks, 120 * rate as u64 / 1000);
            assert!(!d.end_lost);
            assert_eq!(d.volume, 10);
        }
        assert_eq!(got[0].timestamp, base);
        rx.handle_timeout(t0 + Duration::from_secs(60));
        assert_eq!(rx.poll_digit(), None);
    }
}

fn p(event: u8, end: bool, duration: u16) -> [u8; 4] {
    TelephoneEvent {
        event,
        end,
        volume: 10,
        duration,
    }
    .to_bytes()
}

#[test]
fn receiver_table() {
    struct Case {
        name: &'static str,
        packets: Vec<(u64, u32, [u8; 4])>,
        /// (key, duration ms, end lost)
        want: Vec<(char, u32, bool)>,
    }
    let cases = [
        Case {
            name: "start packets lost",
            packets: vec![
                (100, 8000, p(3, false, 800)),
                (150, 8000, p(3, true, 1200)),
                (200, 8000, p(3, true, 1200)),
            ],
            want: vec![('3', 150, false)],
        },
        Case {
            name: "only the last end packet arrives",
            packets: vec![(300, 8000, p(4, true, 1600))],
            want: vec![('4', 200, false)],
        },
        Case {
            name: "all end packets lost: reported when the next event starts",
            packets: vec![
                (0, 100, p(1, false, 0)),
                (50, 100, p(1, false, 400)),
                (400, 4000, p(2, false, 0)),
                (450, 4000, p(2, true, 400)),
            ],
            want: vec![('1', 50, true), ('2', 50, false)],
        },
        Case {
            name: "retransmitted ends and a late update are dropped",
            packets: vec![
                (0, 100, p(7, false, 0)),
                (100, 100, p(7, true, 800)),
                (150, 100, p(7, false, 400)),
                (150, 100, p(7, true, 800)),
                (200, 100, p(7, true, 800)),
            ],
            want: vec![('7', 100, false)],
        },
        Case {
            name: "reordered update does not shorten the event",
            packets: vec![
                (0, 100, p(8, false, 800)),
                (10, 100, p(8, false, 400)),
                (1100, 100, p(8, false, 400)),
            ],
            want: vec![],
        },
        Case {
            name: "an older event after a newer one is ignored",
            packets: vec![(0, 5000, p(5, true, 800)), (10, 1000, p(6, true, 800))],
            want: vec![('5', 100, false)],
        },
        Case {
            name: "same digit twice is two events (different timestamps)",
            packets: vec![
                (0, 0, p(0, true, 800)),
                (10, 0, p(0, true, 800)),
                (300, 2400, p(0, true, 800)),
            ],
            want: vec![('0', 100, false), ('0', 100, false)],
        },
        Case {
            name: "timestamps across the wrap",
            packets: vec![
                (0, u32::MAX - 100, p(9, true, 400)),
                (300, 200, p(10, true, 400)),
                (310, u32::MAX - 100, p(9, true, 400)),
            ],
            want: vec![('9', 50, false), ('*', 50, false)],
        },
    ];
    for c in cases {
        let t0 = Instant::now();
        let mut rx = DtmfReceiver::new(8000).unwrap();
        let got: Vec<(char, u32, bool)> = receive(&mut rx, t0, &c.packets)
            .iter()
            .map(|d| (d.digit.as_char(), d.duration_ms, d.end_lost))
            .collect();
        assert_eq!(got, c.want, "{}", c.name);
    }
}

#[test]
fn lost_end_is_reported_after_the_timeout() {
    let t0 = Instant::now();
    let mut rx = DtmfReceiver::new(8000).unwrap();
    rx.handle(t0, 100, &p(11, false, 0)).unwrap();
    rx.handle(t0 + 50 * MS, 100, &p(11, false, 400)).unwrap();
    assert_eq!(rx.poll_digit(), None);
    let deadline = rx.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + 50 * MS + DtmfReceiver::END_TIMEOUT);
    rx.handle_timeout(deadline - MS);
    assert_eq!(rx.poll_digit(), None);
    rx.handle_timeout(deadline);
    let d = rx.poll_digit().unwrap();
    assert_eq!(
        (d.digit.as_char(), d.duration_ms, d.end_lost),
        ('#', 50, true)
    );
    assert_eq!(rx.poll_timeout(), None);
    // Its late end packet is then a duplicate.
    rx.handle(t0 + 2000 * MS, 100, &p(11, true, 800)).unwrap();
    assert_eq!(rx.poll_digit(), None);
}

#[test]
fn long_events_are_segmented_and_reassembled() {
    // 10 s at 8 kHz = 80000 ticks > 0xFFFF: RFC 4733 §2.5.1.3 segments.
    let t0 = Instant::now();
    let mut s = DtmfSender::new(DtmfConfig::default(), t0).unwrap();
    s.start(digit('D'), 10_000, t0);
    let got = run(&mut s, t0, 11_000);
    let full = got
        .iter()
        .find(|(_, p)| p.duration == 0xFFFF)
        .expect("a segment reported full");
    assert!(!full.1.marker && !full.1.end && full.1.timestamp_offset == 0);
    let last = got.last().unwrap().1;
    assert!(last.end);
    assert_eq!(last.timestamp_offset, 0xFFFF);
    assert_eq!(last.duration as u32, 80_000 - 0xFFFF);
    assert_eq!(got.iter().filter(|(_, p)| p.marker).count(), 1);

    let packets: Vec<(u64, u32, [u8; 4])> = got
        .iter()
        .map(|(ms, p)| (*ms, p.rtp_timestamp(u32::MAX - 10_000), p.payload))
        .collect();
    let mut rx = DtmfReceiver::new(8000).unwrap();
    let digits = receive(&mut rx, t0, &packets);
    assert_eq!(digits.len(), 1);
    assert_eq!(digits[0].duration_ticks, 80_000);
    assert_eq!(digits[0].duration_ms, 10_000);
}

#[test]
fn garbage_is_a_typed_error() {
    let t0 = Instant::now();
    let mut rx = DtmfReceiver::new(8000).unwrap();
    assert_eq!(rx.handle(t0, 0, &[]), Err(DtmfError::Length(0)));
    assert_eq!(
        rx.handle(t0, 0, &[1, 2, 3, 4, 5]),
        Err(DtmfError::Length(5))
    );
    assert_eq!(
        rx.handle(t0, 0, &[16, 0x80, 0, 1]),
        Err(DtmfError::NotDtmf(16))
    );
    assert_eq!(
        rx.handle(t0, 0, &[255, 0, 0, 1]),
        Err(DtmfError::NotDtmf(255))
    );
    assert_eq!(rx.poll_digit(), None);
    assert_eq!(rx.poll_timeout(), None, "errors leave no state");
}
