//! Robustness: deterministic pseudo-random inputs into every parser and sans-IO core of the
//! DTMF and RTCP modules (and the RTP header parser they sit behind). Nothing may panic;
//! whatever parses must survive a write/parse round trip.

use std::time::{Duration, Instant, SystemTime};

use media::RtpPacket;
use media::{
    parse_compound, write_compound, Bye, NtpTime, ReceiverReport, ReceptionStats, ReportBlock,
    RtcpConfig, RtcpPacket, RtcpSession, Sdes, SenderReport,
};
use media::{Digit, DtmfConfig, DtmfReceiver, DtmfSender, TelephoneEvent};

/// xorshift64*: small, deterministic, good enough to shake parsers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn bytes_below(&mut self, n: u64) -> Vec<u8> {
        let len = self.below(n) as usize;
        self.bytes(len)
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// A valid compound packet to mutate.
fn seed_compound(rng: &mut Rng) -> Vec<u8> {
    let block = |rng: &mut Rng| ReportBlock {
        ssrc: rng.next() as u32,
        fraction_lost: rng.next() as u8,
        cumulative_lost: (rng.next() as i32) >> 8,
        extended_highest_seq: rng.next() as u32,
        jitter: rng.next() as u32,
        lsr: rng.next() as u32,
        dlsr: rng.next() as u32,
    };
    let n = rng.below(3) as usize;
    let first = if rng.below(2) == 0 {
        RtcpPacket::SenderReport(SenderReport {
            ssrc: rng.next() as u32,
            ntp: NtpTime(rng.next()),
            rtp_timestamp: rng.next() as u32,
            packet_count: rng.next() as u32,
            octet_count: rng.next() as u32,
            reports: (0..n).map(|_| block(rng)).collect(),
        })
    } else {
        RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: rng.next() as u32,
            reports: (0..n).map(|_| block(rng)).collect(),
        })
    };
    let cname: String = (0..rng.below(20))
        .map(|i| (b'a' + i as u8) as char)
        .collect();
    let mut packets = vec![
        first,
        RtcpPacket::Sdes(Sdes::cname(rng.next() as u32, &cname)),
    ];
    if rng.below(2) == 0 {
        let reason = rng.bytes_below(12);
        packets.push(RtcpPacket::Bye(Bye {
            sources: vec![rng.next() as u32],
            reason: Some(reason),
        }));
    }
    let mut out = Vec::new();
    write_compound(&packets, &mut out);
    out
}

fn mutate(rng: &mut Rng, mut b: Vec<u8>) -> Vec<u8> {
    for _ in 0..=rng.below(4) {
        match rng.below(5) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len() as u64) as usize;
                b[i] ^= 1 << rng.below(8);
            }
            1 if !b.is_empty() => {
                let i = rng.below(b.len() as u64) as usize;
                b[i] = rng.next() as u8;
            }
            2 => {
                let n = rng.below(b.len() as u64 + 1) as usize;
                b.truncate(n);
            }
            3 => {
                let extra = rng.bytes_below(8);
                b.extend(extra);
            }
            _ if b.len() >= 4 => {
                // Corrupt a length field or the first byte's flags/count.
                let i = if rng.below(2) == 0 { 3 } else { 0 };
                b[i] = rng.next() as u8;
            }
            _ => {}
        }
    }
    b
}

fn inputs(seed: u64, count: usize) -> impl Iterator<Item = Vec<u8>> {
    let mut rng = Rng(seed);
    (0..count).map(move |i| match i % 3 {
        0 => {
            let len = rng.below(120) as usize;
            rng.bytes(len)
        }
        1 => {
            // Random bytes behind a plausible header (V=2, an RTCP type, a length).
            let len = 4 + 4 * rng.below(20) as usize;
            let mut b = rng.bytes(len);
            b[0] = 0x80 | (b[0] & 0x3F);
            b[1] = 200 + rng.below(8) as u8;
            b[2] = 0;
            b[3] = rng.below(24) as u8;
            b
        }
        _ => {
            let seed = seed_compound(&mut rng);
            mutate(&mut rng, seed)
        }
    })
}

#[test]
fn rtcp_parser_never_panics_and_round_trips() {
    let mut parsed = 0;
    for input in inputs(0x5EED_0001, 60_000) {
        if let Ok(packets) = parse_compound(&input) {
            parsed += 1;
            let mut out = Vec::new();
            write_compound(&packets, &mut out);
            let again = parse_compound(&out).expect("our own output parses");
            assert_eq!(again, packets, "input {input:02x?}");
        }
    }
    // The mutated valid packets make sure the happy path is exercised too.
    assert!(parsed > 2_500, "only {parsed} inputs parsed");
}

#[test]
fn rtp_parser_never_panics() {
    for input in inputs(0x5EED_0002, 30_000) {
        let _ = RtpPacket::parse(&input);
    }
}

#[test]
fn rtcp_session_survives_junk_and_random_rtp() {
    let mut rng = Rng(0x5EED_0003);
    let t0 = Instant::now();
    let mut s = RtcpSession::new(RtcpConfig::new(42, "fuzz", 8000), t0, SystemTime::now());
    let mut now = t0;
    let mut junk = inputs(0x5EED_0004, 20_000);
    for _ in 0..20_000 {
        now += Duration::from_micros(rng.below(50_000));
        match rng.below(4) {
            0 => {
                let _ = s.handle_rtcp(now, &junk.next().unwrap());
            }
            1 => s.on_rtp_received(
                now,
                rng.below(3) as u32,
                rng.next() as u16,
                rng.next() as u32,
                rng.below(2000) as usize,
            ),
            2 => s.on_rtp_sent(now, rng.next() as u16, rng.next() as u32, 160),
            _ => {
                if let Some(out) = s.poll_transmit(now) {
                    parse_compound(&out).expect("our reports parse");
                }
                let q = s.stats();
                assert!((1.0..=4.5).contains(&q.mos), "{q:?}");
                assert!(q.fraction_lost.is_finite() && q.jitter_ms.is_finite());
            }
        }
        while s.poll_event().is_some() {}
    }
    let _ = s.bye(now, Some("done"));
}

#[test]
fn reception_stats_survive_any_sequence() {
    let mut rng = Rng(0x5EED_0005);
    let t0 = Instant::now();
    for _ in 0..200 {
        let mut st = ReceptionStats::new(1, rng.next() as u16, 48_000, t0);
        let mut now = t0;
        for _ in 0..500 {
            now += Duration::from_micros(rng.below(100_000));
            // Mostly in order with jumps, duplicates and wild values.
            let seq = match rng.below(4) {
                0 => rng.next() as u16,
                _ => (st.extended_max() as u16).wrapping_add(rng.below(5) as u16),
            };
            st.update(seq, rng.next() as u32, now);
            if rng.below(50) == 0 {
                st.on_sender_report(NtpTime(rng.next()), now);
            }
            if rng.below(20) == 0 {
                let b = st.report_block(now);
                assert!((-0x80_0000..=0x7F_FFFF).contains(&b.cumulative_lost));
            }
            let _ = (st.fraction_lost_now(), st.jitter_ms(), st.expected());
        }
    }
}

#[test]
fn dtmf_parser_and_receiver_never_panic() {
    let mut rng = Rng(0x5EED_0006);
    let t0 = Instant::now();
    let mut rx = DtmfReceiver::new(8000).unwrap();
    let mut now = t0;
    let mut ts = rng.next() as u32;
    for i in 0..100_000 {
        now += Duration::from_micros(rng.below(30_000));
        let payload = if i & 1 == 0 {
            rng.bytes_below(8)
        } else {
            // Valid-looking: a DTMF code, random flags and duration.
            vec![
                rng.below(17) as u8,
                rng.next() as u8,
                rng.next() as u8,
                rng.next() as u8,
            ]
        };
        if rng.below(10) == 0 {
            ts = ts.wrapping_add(rng.next() as u32 % 5000);
        }
        if rng.below(50) == 0 {
            ts = rng.next() as u32; // wild jumps, including backwards
        }
        if let Ok(ev) = TelephoneEvent::parse(&payload) {
            assert_eq!(
                TelephoneEvent::parse(&ev.to_bytes()),
                Ok(TelephoneEvent {
                    volume: ev.volume,
                    ..ev
                })
            );
        }
        let _ = rx.handle(now, ts, &payload);
        if rng.below(100) == 0 {
            rx.handle_timeout(now);
        }
        while let Some(d) = rx.poll_digit() {
            assert!(d.digit.event() <= 15);
        }
    }
}

#[test]
fn dtmf_sender_survives_random_use() {
    let mut rng = Rng(0x5EED_0007);
    for _ in 0..50 {
        let t0 = Instant::now();
        let rate = [8000, 16_000, 48_000][rng.below(3) as usize];
        let cfg = DtmfConfig::new(rate, 5 + rng.below(100) as u32);
        let mut s = DtmfSender::new(cfg, t0).unwrap();
        let mut now = t0;
        let mut ends = 0;
        let mut started = 0;
        for _ in 0..2_000 {
            now += Duration::from_micros(rng.below(200_000));
            if rng.below(20) == 0 {
                let d = Digit::from_event(rng.below(16) as u8).unwrap();
                s.start(d, rng.next() as u32 % 20_000, now);
                started += 1;
            }
            while let Some(p) = s.poll(now) {
                ends += p.end as usize;
                assert_eq!(p.payload[1] & 0x3F, 10);
            }
            if let Some(t) = s.poll_timeout() {
                assert!(t <= now + Duration::from_secs(1));
            }
        }
        // Drain: every digit ends with three end packets.
        for _ in 0..100_000 {
            if s.is_idle() {
                break;
            }
            now += Duration::from_millis(10);
            while let Some(p) = s.poll(now) {
                ends += p.end as usize;
            }
        }
        assert!(s.is_idle());
        assert_eq!(ends, 3 * started);
    }
}
