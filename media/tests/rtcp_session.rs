//! RFC 3550 receiver statistics (Appendix A) and two `RtcpSession`s talking over a simulated
//! link on a virtual clock.

use std::time::{Duration, Instant, SystemTime};

use media::CodecModel;
use media::{parse_compound, ReceptionStats, RtcpConfig, RtcpEvent, RtcpPacket, RtcpSession};

const MS: Duration = Duration::from_millis(1);

#[test]
fn sequence_wrap_loss_and_fraction() {
    let t0 = Instant::now();
    let s0: u16 = 65_500;
    let mut st = ReceptionStats::new(7, s0, 8000, t0);
    let mut dropped = 0;
    for i in 0..200u16 {
        // Lose 10 packets, none of the first two (probation).
        if i % 20 == 10 {
            dropped += 1;
            continue;
        }
        let seq = s0.wrapping_add(i);
        st.update(seq, i as u32 * 160, t0 + MS * 20 * i as u32);
    }
    assert_eq!(dropped, 10);
    // A.1: the first packet only ends probation; the base is the second.
    assert_eq!(st.extended_max(), 65_500 + 199);
    assert_eq!(st.expected(), 199);
    assert_eq!(st.received(), 189);
    assert_eq!(st.cumulative_lost(), 10);
    assert_eq!(st.packets(), 190);
    assert_eq!(st.fraction_lost_now(), (10 * 256 / 199) as u8);
    let b = st.report_block(t0 + Duration::from_secs(4));
    assert_eq!(b.ssrc, 7);
    assert_eq!(
        b.extended_highest_seq,
        0x0001_0000 | (s0.wrapping_add(199) as u32)
    );
    assert_eq!(b.cumulative_lost, 10);
    assert_eq!(b.fraction_lost, 12);
    assert_eq!((b.lsr, b.dlsr), (0, 0), "no SR yet");
    // A new interval without loss.
    for i in 200..300u16 {
        st.update(s0.wrapping_add(i), i as u32 * 160, t0 + MS * 20 * i as u32);
    }
    assert_eq!(st.fraction_lost_now(), 0);
    assert_eq!(st.report_block(t0).cumulative_lost, 10);
}

#[test]
fn duplicates_make_loss_negative_and_reorder_is_not_loss() {
    let t0 = Instant::now();
    let mut st = ReceptionStats::new(1, 100, 8000, t0);
    for seq in [100u16, 101, 102, 104, 103, 105, 105, 105] {
        st.update(seq, 0, t0);
    }
    assert_eq!(st.extended_max(), 105);
    assert_eq!(st.expected(), 5); // 101..=105
    assert_eq!(st.received(), 7);
    assert_eq!(st.cumulative_lost(), -2);
    assert_eq!(st.fraction_lost_now(), 0);
    assert_eq!(st.report_block(t0).cumulative_lost, -2);
}

#[test]
fn a_confirmed_big_jump_restarts_the_sequence() {
    let t0 = Instant::now();
    let mut st = ReceptionStats::new(1, 1000, 8000, t0);
    for seq in 1000..1010u16 {
        st.update(seq, 0, t0);
    }
    assert_eq!(st.expected(), 9);
    // One stray packet far away is not counted...
    assert!(!st.update(30_000, 0, t0));
    assert_eq!(st.extended_max(), 1009);
    // ...but two in a row mean the sender restarted its sequence.
    assert!(!st.update(40_000, 0, t0));
    assert!(st.update(40_001, 0, t0));
    assert_eq!(st.extended_max(), 40_001);
    assert_eq!(st.expected(), 1);
    assert_eq!(st.cumulative_lost(), 0);
}

#[test]
fn jitter_follows_rfc3550_a8() {
    let t0 = Instant::now();
    // Perfectly paced: zero jitter.
    let mut st = ReceptionStats::new(1, 0, 8000, t0);
    for i in 0..100u16 {
        st.update(i, 5_000 + i as u32 * 160, t0 + MS * 20 * i as u32);
    }
    assert_eq!(st.jitter(), 0);

    // Every other packet 10 ms late: |D| = 80 ticks each time, J -> 80 (10 ms).
    let mut st = ReceptionStats::new(1, 0, 8000, t0);
    let mut j = 0.0f64;
    let mut prev_transit: Option<i64> = None;
    for i in 0..400u32 {
        let late = if i % 2 == 1 { 10 } else { 0 };
        let arrival_ms = 20 * i + late;
        let ts = (u32::MAX - 1000).wrapping_add(i * 160); // RTP timestamps wrap, too
        st.update(i as u16, ts, t0 + MS * arrival_ms);
        // Reference recurrence: J += (|D| - J) / 16.
        let transit = arrival_ms as i64 * 8 - (i as i64 * 160);
        if let Some(p) = prev_transit {
            j += ((transit - p).abs() as f64 - j) / 16.0;
        }
        prev_transit = Some(transit);
    }
    assert!(
        (st.jitter() as f64 - j).abs() <= 1.0,
        "{} vs {j}",
        st.jitter()
    );
    assert!((st.jitter_ms() - 10.0).abs() < 0.1, "{}", st.jitter_ms());
}

/// A datagram on its way: (deliver at, to B?, bytes or RTP (seq, ts)).
enum Payload {
    Rtp { ssrc: u32, seq: u16, ts: u32 },
    Rtcp(Vec<u8>),
}

struct Link {
    delay: Duration,
    /// Drop every n-th RTP packet A → B (0: none).
    drop_every: u32,
}

struct Sim {
    t0: Instant,
    a: RtcpSession,
    b: RtcpSession,
    /// (when, to_b, payload)
    flight: Vec<(Instant, bool, Payload)>,
    /// RTCP datagrams sent by each side: (ms, bytes).
    sent_a: Vec<(u64, Vec<u8>)>,
    sent_b: Vec<(u64, Vec<u8>)>,
    events_a: Vec<RtcpEvent>,
    events_b: Vec<RtcpEvent>,
}

impl Sim {
    fn new() -> Sim {
        let t0 = Instant::now();
        let wall = SystemTime::now();
        let mut ca = RtcpConfig::new(0xAAAA_0001, "a@example.com", 8000);
        ca.codec = CodecModel::G711 { plc: true };
        let cb = RtcpConfig::new(0xBBBB_0002, "b@example.com", 8000);
        Sim {
            t0,
            // B's wall clock is off by an hour: RTT must not care.
            a: RtcpSession::new(ca, t0, wall),
            b: RtcpSession::new(cb, t0, wall + Duration::from_secs(3600)),
            flight: Vec::new(),
            sent_a: Vec::new(),
            sent_b: Vec::new(),
            events_a: Vec::new(),
            events_b: Vec::new(),
        }
    }

    fn run(&mut self, secs: u64, link: &Link, b_sends: bool) {
        let mut rtp_count = 0u32;
        let (mut seq_a, mut seq_b) = (65_000u16, 10u16); // A's sequence wraps
        for ms in 0..secs * 1000 {
            let now = self.t0 + MS * ms as u32;
            if ms.rem_euclid(20) == 0 {
                let ts = (ms * 8) as u32;
                self.a.on_rtp_sent(now, seq_a, ts, 160);
                rtp_count += 1;
                if link.drop_every == 0 || rtp_count.rem_euclid(link.drop_every) != 0 {
                    self.flight.push((
                        now + link.delay,
                        true,
                        Payload::Rtp {
                            ssrc: 0xAAAA_0001,
                            seq: seq_a,
                            ts,
                        },
                    ));
                }
                seq_a = seq_a.wrapping_add(1);
                if b_sends {
                    self.b.on_rtp_sent(now, seq_b, ts, 160);
                    self.flight.push((
                        now + link.delay,
                        false,
                        Payload::Rtp {
                            ssrc: 0xBBBB_0002,
                            seq: seq_b,
                            ts,
                        },
                    ));
                    seq_b = seq_b.wrapping_add(1);
                }
            }
            if let Some(out) = self.a.poll_transmit(now) {
                self.sent_a.push((ms, out.clone()));
                self.flight
                    .push((now + link.delay, true, Payload::Rtcp(out)));
            }
            if let Some(out) = self.b.poll_transmit(now) {
                self.sent_b.push((ms, out.clone()));
                self.flight
                    .push((now + link.delay, false, Payload::Rtcp(out)));
            }
            let (due, rest): (Vec<_>, Vec<_>) =
                self.flight.drain(..).partition(|(at, _, _)| *at <= now);
            self.flight = rest;
            for (_, to_b, p) in due {
                let side = if to_b { &mut self.b } else { &mut self.a };
                match p {
                    Payload::Rtp { ssrc, seq, ts } => side.on_rtp_received(now, ssrc, seq, ts, 160),
                    Payload::Rtcp(bytes) => side.handle_rtcp(now, &bytes).unwrap(),
                }
            }
            while let Some(e) = self.a.poll_event() {
                self.events_a.push(e);
            }
            while let Some(e) = self.b.poll_event() {
                self.events_b.push(e);
            }
        }
    }
}

#[test]
fn reports_every_five_seconds_randomized() {
    let mut sim = Sim::new();
    sim.run(
        120,
        &Link {
            delay: 40 * MS,
            drop_every: 0,
        },
        true,
    );
    for sent in [&sim.sent_a, &sim.sent_b] {
        let first = sent[0].0;
        assert!((1250..=3750).contains(&first), "first report at {first} ms");
        let gaps: Vec<u64> = sent.windows(2).map(|w| w[1].0 - w[0].0).collect();
        assert!(gaps.iter().all(|g| (2500..=7500).contains(g)), "{gaps:?}");
        let mean = gaps.iter().sum::<u64>() as f64 / gaps.len() as f64;
        assert!((4000.0..6000.0).contains(&mean), "mean interval {mean}");
        assert!(gaps.windows(2).any(|w| w[0] != w[1]), "randomized");
        // Every report is SR (both send) + SDES CNAME.
        for (_, bytes) in sent.iter() {
            let p = parse_compound(bytes).unwrap();
            assert!(matches!(p[0], RtcpPacket::SenderReport(_)));
            assert!(matches!(p[1], RtcpPacket::Sdes(_)));
        }
    }
}

#[test]
fn clean_call_statistics_rtt_and_mos() {
    let mut sim = Sim::new();
    sim.run(
        30,
        &Link {
            delay: 40 * MS,
            drop_every: 0,
        },
        true,
    );
    let q = sim.a.stats();
    assert_eq!(q.packets_sent, 1500);
    assert!(q.packets_received >= 1497, "{}", q.packets_received);
    assert_eq!(q.lost, 0);
    assert_eq!(q.fraction_lost, 0.0);
    assert!(q.jitter_ms < 0.2, "{}", q.jitter_ms);
    let rtt = q.rtt_ms.expect("RTT from B's report blocks");
    assert!((rtt - 80.0).abs() < 1.0, "rtt {rtt}");
    assert!(q.mos > 4.3, "mos {}", q.mos);
    assert_eq!(q.remote_fraction_lost, Some(0.0));
    assert!(sim.events_a.iter().any(|e| *e
        == RtcpEvent::Cname {
            ssrc: 0xBBBB_0002,
            cname: "b@example.com".into()
        }));
    assert!(sim
        .events_a
        .iter()
        .any(|e| matches!(e, RtcpEvent::Rtt(d) if d.as_millis() == 80 || d.as_millis() == 79)));
    // B's report blocks about A carry LSR (A's SR) and DLSR.
    let (_, last) = sim.sent_b.last().unwrap();
    let RtcpPacket::SenderReport(sr) = &parse_compound(last).unwrap()[0] else {
        panic!("SR expected");
    };
    let block = sr.reports[0];
    assert_eq!(block.ssrc, 0xAAAA_0001);
    assert_ne!(block.lsr, 0);
    assert_eq!(block.cumulative_lost, 0);
    // A's sequence wrapped from 65000: the extended sequence shows a cycle.
    assert!(block.extended_highest_seq > 0x1_0000);
}

#[test]
fn five_percent_loss_lowers_mos() {
    let mut clean = Sim::new();
    clean.run(
        30,
        &Link {
            delay: 40 * MS,
            drop_every: 0,
        },
        true,
    );
    let mut lossy = Sim::new();
    lossy.run(
        30,
        &Link {
            delay: 40 * MS,
            drop_every: 20,
        },
        true,
    );
    // B receives A's stream with 5 % loss.
    let qb = lossy.b.stats();
    assert!((70..=76).contains(&qb.lost), "lost {}", qb.lost);
    assert!(
        (qb.fraction_lost - 0.05).abs() < 0.01,
        "{}",
        qb.fraction_lost
    );
    let clean_mos = clean.b.stats().mos;
    assert!(qb.mos < clean_mos - 0.3, "{} vs {clean_mos}", qb.mos);
    // A learns about it from B's report blocks.
    let qa = lossy.a.stats();
    let remote = qa.remote_fraction_lost.unwrap();
    assert!((remote - 0.05).abs() < 0.01, "{remote}");
}

#[test]
fn receive_only_side_sends_receiver_reports_and_bye() {
    let mut sim = Sim::new();
    sim.run(
        20,
        &Link {
            delay: 10 * MS,
            drop_every: 0,
        },
        false,
    );
    for (_, bytes) in &sim.sent_b {
        assert!(matches!(
            parse_compound(bytes).unwrap()[0],
            RtcpPacket::ReceiverReport(_)
        ));
    }
    let q = sim.b.stats();
    assert_eq!(q.packets_sent, 0);
    // A has no RTP from B, so its reports carry no block about B: no RTT on B's side.
    assert!(q.rtt_ms.is_none(), "{q:?}");
    // A gets RTT from B's RR (LSR = A's SR).
    assert!(sim.a.stats().rtt_ms.is_some());

    let now = sim.t0 + Duration::from_secs(21);
    let bye = sim.b.bye(now, Some("call ended"));
    let p = parse_compound(&bye).unwrap();
    assert!(matches!(p.last(), Some(RtcpPacket::Bye(_))));
    sim.a.handle_rtcp(now, &bye).unwrap();
    let mut saw_bye = false;
    while let Some(e) = sim.a.poll_event() {
        saw_bye |= e
            == RtcpEvent::Bye {
                ssrc: 0xBBBB_0002,
                reason: Some("call ended".into()),
            };
    }
    // A has no RTP from B (receive-only B), so any BYE is the far end's.
    assert!(saw_bye);
}

#[test]
fn concealment_and_playout_delay_feed_stats() {
    let t0 = Instant::now();
    let mut s = RtcpSession::new(RtcpConfig::new(1, "x", 8000), t0, SystemTime::now());
    let before = s.stats().mos;
    s.add_concealed(40);
    s.add_concealed(20);
    s.set_playout_delay(Duration::from_millis(400));
    let q = s.stats();
    assert_eq!(q.concealed_ms, 60);
    assert!(q.mos < before - 0.5, "{} vs {before}", q.mos);
    assert!(s.handle_rtcp(t0, &[1, 2, 3]).is_err());
    assert_eq!(s.poll_transmit(t0), None);
    assert!(s.poll_timeout() > t0);
}

#[test]
fn ssrc_change_starts_new_statistics() {
    let t0 = Instant::now();
    let mut s = RtcpSession::new(RtcpConfig::new(1, "x", 8000), t0, SystemTime::now());
    for i in 0..50u16 {
        s.on_rtp_received(t0 + MS * 20 * i as u32, 10, i, i as u32 * 160, 160);
    }
    for i in 0..50u16 {
        s.on_rtp_received(t0 + MS * (1000 + 20 * i as u32), 11, 5000 + i, 0, 160);
    }
    let q = s.stats();
    assert_eq!(q.packets_received, 100);
    assert_eq!(q.lost, 0);
    assert_eq!(s.reception().unwrap().ssrc(), 11);
}
