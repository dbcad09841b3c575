//! Jitter buffer simulations on a virtual clock: RTP over a `netsim` link (delay, jitter,
//! loss, reorder), a sender whose clock may drift, and a device clock pulling every 20 ms,
//! with an audio layer that honours time-scale hints when the buffer gives them.
//!
//! "Delay" below is what the buffer adds: when a frame starts playing minus when its packet
//! would have arrived over the link's fixed delay (send time + `LinkConfig::delay`). Run
//! with `--nocapture` to see each scenario's figures.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use media::{
    Adaptation, JitterBuffer, JitterConfig, JitterStats, Playout, ReceivedFrame, TimeScale,
};
use media::{RtpHeader, RtpPacket};
use netsim::{LinkConfig, Network};

struct Scenario {
    name: &'static str,
    cfg: JitterConfig,
    link: LinkConfig,
    duration: Duration,
    /// Sender clock against ours: +100 sends 100 ppm fast.
    sender_ppm: f64,
    seed: u64,
    /// Frames played before this are left out of the delay figures.
    warmup: Duration,
}

impl Scenario {
    fn new(name: &'static str, adaptation: Adaptation, link: LinkConfig) -> Self {
        Scenario {
            name,
            cfg: JitterConfig::g711().adaptation(adaptation),
            link,
            duration: Duration::from_secs(60),
            sender_ppm: 0.0,
            seed: 1,
            warmup: Duration::from_secs(5),
        }
    }
}

#[derive(Debug)]
struct Report {
    sent: u64,
    stats: JitterStats,
    /// (when played, seconds since start; added delay, ms) per frame after warm-up.
    delays: Vec<(f64, f64)>,
    /// Network jitter (arrival - send - fixed delay) of each delivered packet, ms.
    jitter: Vec<f64>,
    target_ms: f64,
}

fn percentile(v: &[f64], q: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0), |(s, n), x| (s + x, n + 1));
    s / n as f64
}

impl Report {
    fn mean_delay(&self) -> f64 {
        mean(self.delays.iter().map(|d| d.1))
    }
    fn mean_delay_between(&self, from_s: f64, to_s: f64) -> f64 {
        mean(
            self.delays
                .iter()
                .filter(|d| d.0 >= from_s && d.0 < to_s)
                .map(|d| d.1),
        )
    }
    fn max_delay(&self) -> f64 {
        self.delays.iter().map(|d| d.1).fold(0.0, f64::max)
    }
    fn jitter_p95(&self) -> f64 {
        percentile(&self.jitter, 0.95)
    }
    fn late_ratio(&self) -> f64 {
        self.stats.late_dropped as f64 / self.sent as f64
    }
    fn print(&self, name: &str) {
        let s = &self.stats;
        eprintln!(
            "{name}: sent {} | jitter p95 {:.1} ms | delay mean {:.1} max {:.1} ms, target {:.1} ms | \
             late {} ({:.2}%) concealed {} recovered {} underruns {} | accel {} ({} smp) expand {} ({} smp) \
             dropped {} inserted {} | reordered {} dup {} | drift {:?} ppm",
            self.sent,
            self.jitter_p95(),
            self.mean_delay(),
            self.max_delay(),
            self.target_ms,
            s.late_dropped,
            self.late_ratio() * 100.0,
            s.concealed,
            s.recovered,
            s.underruns,
            s.accelerated,
            s.accelerated_samples,
            s.expanded,
            s.expanded_samples,
            s.frames_dropped,
            s.frames_inserted,
            s.reordered,
            s.duplicates,
            s.drift_ppm.map(|p| (p * 10.0).round() / 10.0),
        );
    }
}

fn run(sc: &Scenario) -> Report {
    let t0 = Instant::now();
    let (tx, rx): (SocketAddr, SocketAddr) = (
        "10.0.0.1:4000".parse().unwrap(),
        "10.0.0.2:4000".parse().unwrap(),
    );
    let mut net = Network::new(sc.seed);
    net.set_default_link(sc.link);
    let mut jb = JitterBuffer::new(sc.cfg.clone()).unwrap();
    let rate = sc.cfg.clock_rate as f64;
    let frame = sc.cfg.frame_samples();
    let frame_ns = sc.cfg.frame.as_nanos() as f64;
    let stretch = sc.cfg.adaptation == Adaptation::TimeStretch;
    let (seq0, ts0, ssrc) = (65_000u16, u32::MAX - 100 * frame, 0x1234_5678);
    let send_at = |k: u64| {
        t0 + Duration::from_nanos((k as f64 * frame_ns / (1.0 + sc.sender_ppm * 1e-6)) as u64)
    };
    // The device clock starts at an odd phase against the sender's.
    // The device asks for a frame per tick in frame mode; an audio layer that stretches
    // keeps a queue and feeds a device with 5 ms periods (a quarter frame), like a real
    // sound card callback.
    let chunk = if stretch { frame / 4 } else { frame };
    let tick_ns = frame_ns * chunk as f64 / frame as f64;
    let tick_at = |j: u64| t0 + Duration::from_nanos(7_300_000 + (j as f64 * tick_ns) as u64);
    let end = t0 + sc.duration;

    let mut report = Report {
        sent: 0,
        stats: JitterStats::default(),
        delays: Vec::new(),
        jitter: Vec::new(),
        target_ms: 0.0,
    };
    let mut sent_times: Vec<Instant> = Vec::new();
    let (mut k, mut j) = (0u64, 0u64);
    // Samples the audio layer has decoded but not yet handed to the device.
    let mut queued: u32 = 0;
    let mut buf = Vec::new();
    loop {
        let next_send = send_at(k);
        let next_tick = tick_at(j);
        let next_net = net.next_delivery();
        let now = [Some(next_send), Some(next_tick), next_net]
            .into_iter()
            .flatten()
            .min()
            .unwrap();
        if now >= end {
            break;
        }
        if now == next_send {
            buf.clear();
            RtpHeader {
                marker: k == 0,
                payload_type: 0,
                sequence: seq0.wrapping_add(k as u16),
                timestamp: ts0.wrapping_add((k as u32).wrapping_mul(frame)),
                ssrc,
            }
            .write(&mut buf);
            buf.extend_from_slice(&vec![0xFF; frame as usize]);
            net.send(now, tx, rx, buf.clone());
            sent_times.push(now);
            report.sent += 1;
            k += 1;
        } else if Some(now) == next_net {
            let d = net.poll_delivery(now).expect("due");
            report.jitter.push(
                (d.deliver_at - d.sent_at).as_secs_f64() * 1e3 - sc.link.delay.as_secs_f64() * 1e3,
            );
            let p = RtpPacket::parse(&d.payload).expect("we built it");
            jb.insert(
                now,
                ReceivedFrame {
                    seq: p.header.sequence,
                    timestamp: p.header.timestamp,
                    ssrc: p.header.ssrc,
                    marker: p.header.marker,
                    payload: p.payload.to_vec(),
                },
            );
        } else {
            // Device tick: it needs one chunk; the audio layer pulls until it has one.
            while queued < chunk || !stretch {
                // Heard once what the audio layer still holds has played.
                let start = now + Duration::from_nanos((queued as f64 / rate * 1e9) as u64);
                let out = jb.pull_with_queue(now, queued);
                if let Playout::Frame { seq, .. } = &out {
                    let idx = seq.wrapping_sub(seq0) as usize;
                    let ideal = sent_times[idx] + sc.link.delay;
                    if start - t0 >= sc.warmup {
                        report.delays.push((
                            (start - t0).as_secs_f64(),
                            start.saturating_duration_since(ideal).as_secs_f64() * 1e3,
                        ));
                    }
                }
                if !stretch {
                    break;
                }
                queued += match out.time_scale() {
                    TimeScale::Normal => frame,
                    TimeScale::Accelerate { samples } => frame - samples,
                    TimeScale::Expand { samples } => frame + samples,
                };
            }
            queued = queued.saturating_sub(chunk);
            j += 1;
        }
    }
    report.stats = jb.stats();
    report.target_ms = jb.target_delay().as_secs_f64() * 1e3;
    report.print(sc.name);
    report
}

const MODES: [Adaptation; 2] = [Adaptation::Frames, Adaptation::TimeStretch];

#[test]
fn clean_network_adds_at_most_one_frame() {
    for mode in MODES {
        let sc = Scenario::new(
            "clean",
            mode,
            LinkConfig::with_delay_only(Duration::from_millis(30)),
        );
        let r = run(&sc);
        assert!(
            r.max_delay() <= 20.0,
            "{mode:?}: max delay {:.1} ms",
            r.max_delay()
        );
        assert_eq!(r.stats.concealed, 0, "{mode:?}");
        assert_eq!(r.stats.late_dropped, 0, "{mode:?}");
    }
}

#[test]
fn jitter_40ms_late_under_1pct_delay_near_p95() {
    for mode in MODES {
        for seed in [1, 2, 3] {
            let mut sc = Scenario::new(
                "jitter 40 ms",
                mode,
                LinkConfig::with_delay_only(Duration::from_millis(30))
                    .jitter(Duration::from_millis(40)),
            );
            sc.seed = seed;
            let r = run(&sc);
            let (p95, d) = (r.jitter_p95(), r.mean_delay());
            assert!(
                r.late_ratio() < 0.01,
                "{mode:?} seed {seed}: late {:.2}%",
                r.late_ratio() * 100.0
            );
            assert!(
                (d - p95).abs() <= 20.0,
                "{mode:?} seed {seed}: mean delay {d:.1} ms, jitter p95 {p95:.1} ms"
            );
        }
    }
}

#[test]
fn loss_5pct_is_concealed_without_extra_delay() {
    for mode in MODES {
        let sc = Scenario::new(
            "loss 5%",
            mode,
            LinkConfig::with_delay_only(Duration::from_millis(30)).loss(0.05),
        );
        let r = run(&sc);
        let lost = r.sent - r.stats.packets;
        assert_eq!(r.stats.late_dropped, 0, "{mode:?}");
        // Every lost packet is concealed once (give or take the last in flight).
        assert!(
            r.stats.concealed.abs_diff(lost) <= 2,
            "{mode:?}: lost {lost}, concealed {}",
            r.stats.concealed
        );
        assert!(
            r.max_delay() <= 20.0,
            "{mode:?}: max delay {:.1}",
            r.max_delay()
        );
    }
}

#[test]
fn reorder_is_absorbed() {
    for mode in MODES {
        let sc = Scenario::new(
            "reorder 5% by 30 ms",
            mode,
            LinkConfig::with_delay_only(Duration::from_millis(30))
                .jitter(Duration::from_millis(5))
                .reorder(0.05, Duration::from_millis(30)),
        );
        let r = run(&sc);
        assert!(
            r.stats.reordered > r.sent / 50,
            "{mode:?}: the link reorders"
        );
        assert!(
            r.late_ratio() < 0.01,
            "{mode:?}: late {:.2}%",
            r.late_ratio() * 100.0
        );
        // No more than the link plus the reorder's depth: the buffer waits for a reordered
        // packet, not longer.
        assert!(
            r.mean_delay() < 30.0 + 30.0,
            "{mode:?}: mean delay {:.1}",
            r.mean_delay()
        );
    }
}

#[test]
fn drift_100ppm_over_10_minutes_is_absorbed() {
    for mode in MODES {
        for ppm in [100.0, -100.0] {
            let mut sc = Scenario::new(
                "drift",
                mode,
                LinkConfig::with_delay_only(Duration::from_millis(30))
                    .jitter(Duration::from_millis(10)),
            );
            sc.duration = Duration::from_secs(600);
            sc.sender_ppm = ppm;
            let r = run(&sc);
            let s = &r.stats;
            eprintln!(
                "  {mode:?} {ppm:+} ppm: delay first minute {:.1} ms, last minute {:.1} ms",
                r.mean_delay_between(5.0, 65.0),
                r.mean_delay_between(540.0, 600.0)
            );
            // 100 ppm over 10 minutes is 60 ms of audio: 3 frames to drop or insert, or
            // ~480 samples of time stretching.
            let growth = r.mean_delay_between(540.0, 600.0) - r.mean_delay_between(5.0, 65.0);
            assert!(
                growth.abs() < 10.0,
                "{mode:?} {ppm} ppm: delay moved {growth:.1} ms"
            );
            // A few underruns come from the jitter's tail, not from the drift.
            assert!(
                s.concealed <= 8,
                "{mode:?} {ppm} ppm: concealed {}",
                s.concealed
            );
            assert!(
                s.late_dropped <= 3,
                "{mode:?} {ppm} ppm: late {}",
                s.late_dropped
            );
            match mode {
                Adaptation::Frames => assert!(s.frames_dropped + s.frames_inserted <= 6),
                Adaptation::TimeStretch => assert_eq!(s.frames_dropped + s.frames_inserted, 0),
            }
            let est = s.drift_ppm.expect("10 minutes give a drift estimate");
            assert!(
                (est - ppm).abs() < 25.0,
                "{mode:?}: drift estimated {est:.1} ppm for {ppm}"
            );
        }
    }
}
