//! `RtpSession` on `netsim`'s virtual clock: two sessions (or a session and a scripted far
//! end) over a link that loses, reorders or duplicates; the far end changing its SSRC,
//! wrapping its sequence number and timestamp, or never sending RTCP. Each run ends by
//! closing the sessions and running the network dry: nothing may be left to send or to
//! report, and no timer may keep running.

use std::collections::{BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use media::test_support::dominant_frequency;
use media::Digit;
use media::{parse_compound, RtcpPacket};
use media::{Codec, Negotiated, RtpStats, StreamEvent};
use media::{Port, RtpSession};
use media::{RtpHeader, RtpPacket, RtpSender};
use media::{Source, SourceSpec};
use netsim::{LinkConfig, Node, NodeId, RunOutcome, Sim};

const A: &str = "10.0.0.1:4000";
const B: &str = "10.0.0.2:5000";
const FRAME: Duration = Duration::from_millis(20);

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a literal address")
}

/// PCMU, rtcp-mux (one address per node), telephone-event 101.
fn negotiated(remote: SocketAddr) -> Negotiated {
    Negotiated {
        rtcp_mux: true,
        remote_rtcp: None,
        ..media::test_support::negotiated(remote, Codec::Pcmu)
    }
}

/// A session with the driver's two clocks (send and play) and a tone source, keeping what
/// it played and reported.
struct Talker {
    session: RtpSession,
    source: Source,
    next_tick: Instant,
    closed: bool,
    frame: Vec<i16>,
    heard: Vec<i16>,
    events: Vec<StreamEvent>,
}

/// A far end that sends prepared RTP at set times and never RTCP.
struct Scripted {
    to: SocketAddr,
    script: VecDeque<(Instant, Vec<u8>)>,
    outbox: VecDeque<Vec<u8>>,
    rtp: Vec<RtpHeader>,
    rtcp: Vec<Vec<RtcpPacket>>,
}

enum Role {
    Talker(Box<Talker>),
    Scripted(Scripted),
}

struct Endpoint {
    addr: SocketAddr,
    role: Role,
    /// Sequence numbers of the RTP received, extended by the node (for expected loss).
    seqs: BTreeSet<u64>,
    last_ext: Option<u64>,
    /// RTP datagrams received while open, copies included.
    rtp_received: u64,
}

impl Endpoint {
    fn talker(t0: Instant, at: &str, peer: &str, sender: RtpSender) -> Endpoint {
        let session = RtpSession::new(t0, SystemTime::now(), negotiated(addr(peer)), false, sender);
        Endpoint::new(
            at,
            Role::Talker(Box::new(Talker {
                session,
                source: SourceSpec::Tone(440.0).open_at(8000).expect("a tone opens"),
                next_tick: t0 + FRAME,
                closed: false,
                frame: Vec::new(),
                heard: Vec::new(),
                events: Vec::new(),
            })),
        )
    }

    fn scripted(at: &str, peer: &str, script: Vec<(Instant, Vec<u8>)>) -> Endpoint {
        Endpoint::new(
            at,
            Role::Scripted(Scripted {
                to: addr(peer),
                script: script.into(),
                outbox: VecDeque::new(),
                rtp: Vec::new(),
                rtcp: Vec::new(),
            }),
        )
    }

    fn new(at: &str, role: Role) -> Endpoint {
        Endpoint {
            addr: addr(at),
            role,
            seqs: BTreeSet::new(),
            last_ext: None,
            rtp_received: 0,
        }
    }

    fn t(&self) -> &Talker {
        match &self.role {
            Role::Talker(t) => t,
            Role::Scripted(_) => panic!("not a talker"),
        }
    }

    fn t_mut(&mut self) -> &mut Talker {
        match &mut self.role {
            Role::Talker(t) => t,
            Role::Scripted(_) => panic!("not a talker"),
        }
    }

    fn s(&self) -> &Scripted {
        match &self.role {
            Role::Scripted(s) => s,
            Role::Talker(_) => panic!("not scripted"),
        }
    }

    /// RTP packets the sender sent that never arrived, between the first and the last
    /// that did (what RFC 3550 A.3 can know).
    fn expected_lost(&self) -> u64 {
        match (self.seqs.first(), self.seqs.last()) {
            (Some(first), Some(last)) => last - first + 1 - self.seqs.len() as u64,
            _ => 0,
        }
    }

    fn note_seq(&mut self, seq: u16) {
        let ext = match self.last_ext {
            None => seq as u64 + (1 << 16),
            Some(last) => {
                let delta = seq.wrapping_sub(last as u16) as i16 as i64;
                (last as i64 + delta) as u64
            }
        };
        self.last_ext = Some(self.last_ext.map_or(ext, |l| l.max(ext)));
        self.seqs.insert(ext);
    }

    fn close(&mut self, now: Instant) {
        let t = self.t_mut();
        t.session.close(now);
        t.closed = true;
        t.drain_events();
    }

    fn final_stats(&self) -> RtpStats {
        let stopped: Vec<_> = self
            .t()
            .events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::Stopped(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(stopped.len(), 1, "one Stopped event");
        stopped[0].clone()
    }

    fn digits(&self) -> String {
        self.t()
            .events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::Digit(d) => Some(d.digit.as_char()),
                _ => None,
            })
            .collect()
    }

    fn quality_reports(&self) -> usize {
        self.t()
            .events
            .iter()
            .filter(|e| matches!(e, StreamEvent::Quality(_)))
            .count()
    }
}

impl Talker {
    fn drain_events(&mut self) {
        while let Some(e) = self.session.poll_event() {
            self.events.push(e);
        }
    }
}

impl Node for Endpoint {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, payload: Bytes) {
        let is_rtcp = payload.len() >= 8 && (200..=204).contains(&payload[1]);
        let closed = matches!(&self.role, Role::Talker(t) if t.closed);
        if !is_rtcp && !closed {
            self.rtp_received += 1;
            if let Ok(p) = RtpPacket::parse(&payload) {
                self.note_seq(p.header.sequence);
            }
        }
        match &mut self.role {
            Role::Talker(t) => {
                t.session
                    .handle_datagram(now, from, Port::Rtp, &payload, false);
                t.drain_events();
            }
            Role::Scripted(s) => {
                if is_rtcp {
                    s.rtcp
                        .push(parse_compound(&payload).expect("our RTCP parses"));
                } else if let Ok(p) = RtpPacket::parse(&payload) {
                    s.rtp.push(p.header);
                }
            }
        }
    }

    fn poll_transmit(&mut self, _now: Instant) -> Option<(SocketAddr, Bytes)> {
        match &mut self.role {
            Role::Talker(t) => t.session.poll_transmit().map(|tx| {
                assert_eq!(tx.port, Port::Rtp, "rtcp-mux: one port");
                (tx.to, Bytes::from(tx.payload))
            }),
            Role::Scripted(s) => s.outbox.pop_front().map(|p| (s.to, Bytes::from(p))),
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match &self.role {
            Role::Talker(t) if t.closed => t.session.poll_timeout(),
            Role::Talker(t) => [
                Some(t.next_tick),
                Some(t.session.play_due()),
                t.session.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min(),
            Role::Scripted(s) => s.script.front().map(|(at, _)| *at),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        match &mut self.role {
            Role::Talker(t) => {
                if t.closed {
                    return;
                }
                if t.next_tick <= now {
                    if let Some(samples) = t.session.handle_tick(now) {
                        t.frame.resize(samples, 0);
                        t.source.read(&mut t.frame);
                        t.session.handle_audio(now, &t.frame);
                    }
                    t.next_tick += FRAME;
                }
                let mut out = Vec::new();
                while t.session.play_due() <= now {
                    t.session.play_frame(&mut out);
                    t.heard.extend_from_slice(&out);
                }
                if t.session.poll_timeout().is_some_and(|at| at <= now) {
                    t.session.handle_timeout(now);
                }
                t.drain_events();
            }
            Role::Scripted(s) => {
                while s.script.front().is_some_and(|(at, _)| *at <= now) {
                    if let Some((_, p)) = s.script.pop_front() {
                        s.outbox.push_back(p);
                    }
                }
            }
        }
    }
}

/// Two talkers, A and B, over `link` both ways.
fn pair(seed: u64, link: LinkConfig) -> (Sim<Endpoint>, NodeId, NodeId) {
    let mut sim = Sim::new(seed);
    let t0 = sim.now();
    sim.network_mut().set_default_link(link);
    let a = sim.add_node(Endpoint::talker(
        t0,
        A,
        B,
        RtpSender::starting_at(0xA, 1000, 50_000),
    ));
    let b = sim.add_node(Endpoint::talker(
        t0,
        B,
        A,
        RtpSender::starting_at(0xB, 2000, 90_000),
    ));
    (sim, a, b)
}

fn run(sim: &mut Sim<Endpoint>, d: Duration) {
    assert_eq!(sim.run_for(d, |_| false), RunOutcome::Deadline);
}

/// Closes every talker and runs the network dry: each says BYE and reports its final
/// figures once; afterwards nothing is left to send or report and no timer runs.
fn finish(sim: &mut Sim<Endpoint>) {
    let now = sim.now();
    let ids: Vec<NodeId> = (0..sim.nodes().len()).map(NodeId).collect();
    for &id in &ids {
        if matches!(sim.node(id).role, Role::Talker(_)) {
            sim.node_mut(id).close(now);
        }
    }
    let outcome = sim.run_until_idle(now + Duration::from_secs(60));
    assert_eq!(outcome, RunOutcome::Idle, "a timer still runs");
    for &id in &ids {
        let node = sim.node_mut(id);
        assert_eq!(node.poll_timeout(), None);
        assert!(node.poll_transmit(now).is_none(), "nothing left to send");
        if let Role::Talker(t) = &mut node.role {
            assert_eq!(t.session.poll_event(), None, "nothing left to report");
            assert!(matches!(t.events.last(), Some(StreamEvent::Stopped(_))));
            // Closed: input is ignored, nothing comes out.
            t.session.handle_timeout(now + Duration::from_secs(100));
            assert!(t.session.poll_transmit().is_none());
        }
    }
    assert_eq!(sim.network().in_flight(), 0);
}

/// The far end heard the tone (after the first half second).
fn hears_the_tone(heard: &[i16]) {
    let tail = &heard[4000..];
    let f = dominant_frequency(tail, 8000).expect("audio");
    assert!((f - 440.0).abs() < 10.0, "{f} Hz");
}

#[test]
fn a_clean_call_carries_audio_and_reports_both_ways() {
    let (mut sim, a, b) = pair(1, LinkConfig::lan().delay(Duration::from_millis(30)));
    run(&mut sim, Duration::from_secs(12));
    hears_the_tone(&sim.node(b).t().heard);
    hears_the_tone(&sim.node(a).t().heard);
    finish(&mut sim);
    for id in [a, b] {
        let st = sim.node(id).final_stats();
        assert_eq!((st.lost, st.late, st.dropped), (0, 0, 0), "{st:?}");
        assert!(
            st.packets_sent >= 590 && st.packets_received >= 590,
            "{st:?}"
        );
        assert!(st.rtcp_received >= 2, "reports came: {st:?}");
        let rtt = st.rtt_ms.expect("an RTT from the far end's reports");
        assert!((55.0..=65.0).contains(&rtt), "60 ms round trip: {rtt}");
        assert!(st.mos > 4.0, "{st:?}");
        assert!(st.latched);
        assert!(sim.node(id).quality_reports() >= 2);
    }
}

#[test]
fn loss_is_counted_and_concealed() {
    let (mut sim, a, b) = pair(2, LinkConfig::lan().loss(0.05));
    run(&mut sim, Duration::from_secs(10));
    hears_the_tone(&sim.node(b).t().heard);
    finish(&mut sim);
    let expected = sim.node(b).expected_lost();
    let st = sim.node(b).final_stats();
    assert!(expected > 0);
    assert_eq!(st.lost, expected, "{st:?}");
    assert!(st.concealed_ms >= 20 * expected, "{st:?}");
    assert!(st.mos < sim.node(a).final_stats().mos + 1.0);
    assert!(st.mos < 4.4, "loss lowers the MOS: {st:?}");
}

#[test]
fn reordered_packets_are_not_loss() {
    let link = LinkConfig::lan().reorder(0.1, Duration::from_millis(15));
    let (mut sim, _a, b) = pair(3, link);
    run(&mut sim, Duration::from_secs(10));
    hears_the_tone(&sim.node(b).t().heard);
    finish(&mut sim);
    let st = sim.node(b).final_stats();
    assert_eq!(st.lost, 0, "{st:?}");
    assert_eq!(st.dropped, 0, "{st:?}");
}

#[test]
fn duplicates_are_played_once_and_not_loss() {
    let link = LinkConfig::with_delay_only(Duration::from_millis(1)).duplicate(0.1);
    let (mut sim, a, b) = pair(4, link);
    run(&mut sim, Duration::from_secs(10));
    hears_the_tone(&sim.node(b).t().heard);
    finish(&mut sim);
    let node = sim.node(b);
    let copies = node.rtp_received - node.seqs.len() as u64;
    let st = node.final_stats();
    assert!(copies > 0, "{st:?}");
    assert_eq!(st.packets_received, node.rtp_received);
    assert!(st.packets_received <= sim.node(a).final_stats().packets_sent + copies);
    assert_eq!(st.late, copies, "each copy set aside: {st:?}");
    assert_eq!(st.lost, 0, "{st:?}");
}

#[test]
fn digits_are_paced_and_reported_once_over_a_bad_link() {
    let link = LinkConfig::lan()
        .duplicate(0.2)
        .reorder(0.1, Duration::from_millis(10))
        .jitter(Duration::from_millis(5));
    let (mut sim, a, b) = pair(5, link);
    run(&mut sim, Duration::from_millis(500));
    let digits: Vec<Digit> = "12#".chars().filter_map(Digit::from_char).collect();
    sim.node_mut(a).t_mut().session.send_dtmf(digits);
    run(&mut sim, Duration::from_secs(3));
    assert_eq!(sim.node(b).digits(), "12#");
    finish(&mut sim);
    assert_eq!(sim.node(a).final_stats().digits_sent, 3);
    assert_eq!(sim.node(b).final_stats().digits_received, 3);
}

/// 20 ms PCMU packets from `sender`, `n` of them from `start`, with the frames in `skip`
/// left out (lost).
fn script(sender: &mut RtpSender, start: Instant, n: u32, skip: &[u32]) -> Vec<(Instant, Vec<u8>)> {
    let mut out = Vec::new();
    for i in 0..n {
        let mut pkt = Vec::new();
        // A 1 kHz square-ish wave in PCMU (0x80/0x00 are loud, opposite signs).
        let payload: Vec<u8> = (0..160)
            .map(|k| if k % 8 < 4 { 0x80 } else { 0x00 })
            .collect();
        sender.packet(0, &payload, 160, &mut pkt);
        if !skip.contains(&i) {
            out.push((start + FRAME * i, pkt));
        }
    }
    out
}

/// Our session (A) and a scripted far end (B) sending `script`.
fn against_script(seed: u64, script: Vec<(Instant, Vec<u8>)>) -> (Sim<Endpoint>, NodeId, NodeId) {
    let mut sim = Sim::new(seed);
    let t0 = sim.now();
    sim.network_mut().set_default_link(LinkConfig::lan());
    let a = sim.add_node(Endpoint::talker(
        t0,
        A,
        B,
        RtpSender::starting_at(0xA, 65_500, u32::MAX - 16_000),
    ));
    let b = sim.add_node(Endpoint::scripted(B, A, script));
    (sim, a, b)
}

#[test]
fn a_new_ssrc_is_a_new_stream_not_loss() {
    let mut first = RtpSender::starting_at(0x1111, 100, 1_000);
    let mut second = RtpSender::starting_at(0x2222, 40_000, 3_000_000_000);
    let (mut sim, a, b) = against_script(6, Vec::new());
    let start = sim.now() + FRAME;
    let mut s = script(&mut first, start, 100, &[]);
    s.extend(script(&mut second, start + FRAME * 100, 100, &[]));
    if let Role::Scripted(sc) = &mut sim.node_mut(b).role {
        sc.script = s.into();
    }
    run(&mut sim, Duration::from_secs(5));
    // The audio after the change plays.
    // Seconds 2.5 to 3.5: the second source.
    let after = &sim.node(a).t().heard[20_000..28_000];
    let f = dominant_frequency(after, 8000).expect("audio");
    assert!((f - 1000.0).abs() < 20.0, "{f} Hz");
    finish(&mut sim);
    let st = sim.node(a).final_stats();
    assert_eq!(
        (st.packets_received, st.lost, st.late),
        (200, 0, 0),
        "{st:?}"
    );
}

#[test]
fn sequence_and_timestamp_wrap_both_ways() {
    // The far end's sequence number and timestamp wrap mid-call; one packet after the wrap
    // is lost.
    let mut far = RtpSender::starting_at(0x3333, 65_480, u32::MAX - 50 * 160);
    let (mut sim, a, b) = against_script(7, Vec::new());
    let s = script(&mut far, sim.now() + FRAME, 150, &[80]);
    if let Role::Scripted(sc) = &mut sim.node_mut(b).role {
        sc.script = s.into();
    }
    run(&mut sim, Duration::from_secs(4));
    // Seconds 1.5 to 2.5: after both wraps and the loss.
    let f = dominant_frequency(&sim.node(a).t().heard[12_000..20_000], 8000);
    assert!(f.is_some_and(|f| (f - 1000.0).abs() < 20.0), "{f:?}");
    finish(&mut sim);
    let st = sim.node(a).final_stats();
    assert_eq!(
        (st.packets_received, st.lost, st.late),
        (149, 1, 0),
        "{st:?}"
    );
    // Ours wrapped too (65500 + ~200 packets, timestamp from 2^32 - 16000): one
    // sequence space, 160 ticks a packet, across both wraps.
    let rtp = &sim.node(b).s().rtp;
    assert!(rtp.len() > 150);
    for w in rtp.windows(2) {
        assert_eq!(w[1].sequence, w[0].sequence.wrapping_add(1));
        assert_eq!(w[1].timestamp, w[0].timestamp.wrapping_add(160));
    }
    assert!(rtp.iter().any(|h| h.sequence == 0) && rtp.iter().any(|h| h.timestamp < 160));
}

#[test]
fn an_rtcp_silent_far_end_still_gets_reports_and_the_call_its_figures() {
    let mut far = RtpSender::starting_at(0x4444, 7, 7);
    let (mut sim, a, b) = against_script(8, Vec::new());
    let s = script(&mut far, sim.now() + FRAME, 1000, &[]);
    if let Role::Scripted(sc) = &mut sim.node_mut(b).role {
        sc.script = s.into();
    }
    run(&mut sim, Duration::from_secs(20));
    let reports = &sim.node(b).s().rtcp;
    assert!(reports.len() >= 3, "about every 5 s: {}", reports.len());
    for r in reports {
        let RtcpPacket::SenderReport(sr) = &r[0] else {
            panic!("we send, so an SR: {r:?}")
        };
        assert_eq!(sr.ssrc, 0xA);
        assert!(sr.reports.iter().any(|b| b.ssrc == 0x4444 && b.lsr == 0));
    }
    assert!(sim.node(a).quality_reports() >= 3);
    finish(&mut sim);
    let st = sim.node(a).final_stats();
    assert_eq!(st.rtt_ms, None, "no reports from the far end, no RTT");
    assert_eq!((st.rtcp_received, st.lost), (0, 0), "{st:?}");
    assert!(st.mos > 4.0, "{st:?}");
    assert!(matches!(
        sim.node(b).s().rtcp.last().and_then(|r| r.last()),
        Some(RtcpPacket::Bye(_))
    ));
}

#[test]
fn two_lost_frames_are_repeated_and_faded_then_full_level_plays_again() {
    // Full-level PCMU (0x80 decodes to 32124), eight frames, the fourth and fifth lost.
    let mut sender = RtpSender::starting_at(0xF00D, 1_000, 80_000);
    let (mut sim, a, b) = against_script(9, Vec::new());
    let start = sim.now() + FRAME;
    let script: Vec<(Instant, Vec<u8>)> = (0..8u32)
        .filter_map(|i| {
            let mut pkt = Vec::new();
            sender.packet(0, &[0x80; 160], 160, &mut pkt);
            (i != 3 && i != 4).then_some((start + FRAME * i, pkt))
        })
        .collect();
    if let Role::Scripted(sc) = &mut sim.node_mut(b).role {
        sc.script = script.into();
    }
    run(&mut sim, Duration::from_secs(1));
    let heard = sim.node(a).t().heard.clone();
    let first = heard
        .iter()
        .position(|&s| s == 32124)
        .expect("audio played");
    let full = |s: &[i16]| s.iter().all(|&x| x == 32124);
    assert!(full(&heard[first..first + 3 * 160]));
    // The repeat-and-fade of the last frame: it starts at the level and falls.
    let gap = &heard[first + 3 * 160..first + 5 * 160];
    assert!(gap.windows(2).all(|w| w[1] <= w[0]), "fading");
    assert!(
        gap[0] > 32000 && gap[319] < 32124 / 2,
        "{} {}",
        gap[0],
        gap[319]
    );
    assert!(full(&heard[first + 5 * 160..first + 8 * 160]));
    finish(&mut sim);
    let st = sim.node(a).final_stats();
    assert_eq!(st.lost, 2, "{st:?}");
    assert!(st.concealed_ms >= 40, "{st:?}");
}

/// How long each `MediaTimeout` said the far end had been silent, in order.
fn timeouts(node: &Endpoint) -> Vec<Duration> {
    node.t()
        .events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::MediaTimeout { silent } => Some(*silent),
            _ => None,
        })
        .collect()
}

const TIMEOUT: Duration = Duration::from_secs(2);

#[test]
fn a_far_end_that_vanishes_is_reported_after_the_timeout_while_the_other_side_hears_on() {
    let (mut sim, a, b) = pair(
        11,
        LinkConfig::lan()
            .loss(0.2)
            .jitter(Duration::from_millis(20)),
    );
    let t0 = sim.now();
    for id in [a, b] {
        sim.node_mut(id)
            .t_mut()
            .session
            .set_media_timeout(t0, Some(TIMEOUT));
    }
    // 20% loss and jitter: packets still come far more often than every 2 s.
    run(&mut sim, Duration::from_secs(5));
    assert_eq!(timeouts(sim.node(a)), []);
    assert_eq!(timeouts(sim.node(b)), []);
    // B's packets stop reaching A (B vanished, or the path from it broke).
    sim.network_mut()
        .set_link(addr(B), addr(A), LinkConfig::lan().loss(1.0));
    run(&mut sim, Duration::from_millis(1900));
    assert_eq!(timeouts(sim.node(a)), [], "not before the timeout");
    run(&mut sim, Duration::from_millis(2600));
    // Reported at 2 s of silence (from the last packet, so just over 2 s after the cut), and
    // again at 4 s.
    assert_eq!(timeouts(sim.node(a)), [TIMEOUT, 2 * TIMEOUT]);
    assert_eq!(timeouts(sim.node(b)), [], "B still hears A");
    finish(&mut sim);
}

/// A minimal RTCP receiver report (no report blocks) from `ssrc`.
fn receiver_report(ssrc: u32) -> Vec<u8> {
    let mut rr = vec![0x80, 201, 0, 1];
    rr.extend_from_slice(&ssrc.to_be_bytes());
    rr
}

#[test]
fn rtcp_alone_does_not_keep_the_media_alive() {
    let mut far = RtpSender::starting_at(0x5555, 1, 1);
    let (mut sim, a, b) = against_script(12, Vec::new());
    let t0 = sim.now();
    // One second of audio, then only RTCP reports, every 500 ms.
    let mut s = script(&mut far, t0 + FRAME, 50, &[]);
    let audio_end = t0 + FRAME * 50;
    s.extend((1..=12).map(|i| {
        (
            audio_end + Duration::from_millis(500) * i,
            receiver_report(0x5555),
        )
    }));
    if let Role::Scripted(sc) = &mut sim.node_mut(b).role {
        sc.script = s.into();
    }
    sim.node_mut(a)
        .t_mut()
        .session
        .set_media_timeout(t0, Some(TIMEOUT));
    run(&mut sim, Duration::from_secs(6));
    assert_eq!(timeouts(sim.node(a)), [TIMEOUT, 2 * TIMEOUT]);
    finish(&mut sim);
    let st = sim.node(a).final_stats();
    assert!(st.rtcp_received >= 8, "the reports arrived: {st:?}");
    assert_eq!(st.packets_received, 50, "{st:?}");
}

#[test]
fn a_held_session_waits_without_reporting_and_a_resume_restarts_the_wait() {
    let (mut sim, a, _b) = against_script(13, Vec::new());
    let t0 = sim.now();
    let held = Negotiated {
        local_direction: media::Direction::SendOnly,
        remote_direction: media::Direction::RecvOnly,
        ..negotiated(addr(B))
    };
    let session = &mut sim.node_mut(a).t_mut().session;
    session.set_media_timeout(t0, Some(TIMEOUT));
    session.handle_update(t0, held);
    run(&mut sim, Duration::from_secs(10));
    assert_eq!(timeouts(sim.node(a)), [], "on hold nothing is expected");
    // Held by the far end (it declared sendonly): nothing either.
    let held_by_far = Negotiated {
        local_direction: media::Direction::RecvOnly,
        remote_direction: media::Direction::SendOnly,
        ..negotiated(addr(B))
    };
    let now = sim.now();
    sim.node_mut(a)
        .t_mut()
        .session
        .handle_update(now, held_by_far);
    run(&mut sim, Duration::from_secs(10));
    assert_eq!(timeouts(sim.node(a)), []);
    // Resumed: the wait starts at the resume.
    let now = sim.now();
    sim.node_mut(a)
        .t_mut()
        .session
        .handle_update(now, negotiated(addr(B)));
    run(&mut sim, Duration::from_millis(1990));
    assert_eq!(timeouts(sim.node(a)), []);
    run(&mut sim, Duration::from_millis(20));
    assert_eq!(timeouts(sim.node(a)), [TIMEOUT]);
    finish(&mut sim);
}
