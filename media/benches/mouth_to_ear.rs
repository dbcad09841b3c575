//! Mouth-to-ear delay on loopback: two real `AudioStream`s on 127.0.0.1 sending to each
//! other, the sender's source a [`Probe`] click, the receiver's sink timing its onset
//! (`media::probe`). For each codec, calls start with the receiver's frame clock at every
//! 2 ms phase offset from the sender's (a real call's phase is arbitrary), a few clicks
//! per call. The probe stands in for the shared devices on both ends: it captures at 48 kHz
//! and is played at 48 kHz, through the same conversions as a device call (none for Opus,
//! 48k -> 8k and 8k -> 48k for G.711). Prints p50/p95, the budget (frame and codec
//! algorithmic delay; device buffering is none: the probe sink times the write) and what the
//! engine adds beyond it: jitter buffer, play clock margin, timers, converters.
//!
//! `cargo bench -p media --bench mouth_to_ear`

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use media::device::RateConverter;
use media::Probe;
use media::{AudioStream, Codec, Direction, Negotiated, OpusSettings, SinkSpec, SourceSpec};

const PHASES_MS: u64 = 10; // offsets 0, 2, ..., 18 ms
const CLICKS_PER_CALL: usize = 6;
const GOAL_MS: f64 = 5.0;

fn negotiated(codec: Codec, pt: u8, to: std::net::SocketAddr) -> Negotiated {
    Negotiated {
        remote_rtp: Some(to),
        codec,
        payload_type: pt,
        telephone_event: None,
        telephone_event_rate: 8000,
        rtcp_mux: true,
        remote_rtcp: Some(to),
        ptime_ms: 20,
        local_direction: Direction::SendRecv,
        remote_direction: Direction::SendRecv,
        opus: OpusSettings::default(),
        srtp: None,
    }
}

/// One call: `b` starts `phase` after `a`; `a` clicks, `b` hears. Delays in ms.
async fn call(codec: Codec, pt: u8, phase: Duration) -> Vec<f64> {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let (a, b) = (
        AudioStream::bind(ip).await.unwrap(),
        AudioStream::bind(ip).await.unwrap(),
    );
    let (aa, ba) = (a.local_addr(), b.local_addr());
    let probe = Probe::new();
    let ha = a.start(
        negotiated(codec, pt, ba),
        SourceSpec::Probe(probe.clone()),
        SinkSpec::Null,
    );
    tokio::time::sleep(phase).await;
    let hb = b.start(
        negotiated(codec, pt, aa),
        SourceSpec::Silence,
        SinkSpec::Probe(probe.clone()),
    );
    // Let both sides settle (first packets, jitter buffer start).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut out = Vec::new();
    for _ in 0..CLICKS_PER_CALL {
        probe.fire();
        tokio::time::sleep(Duration::from_millis(250)).await;
        match probe.delay() {
            Some(d) => out.push(d.as_secs_f64() * 1000.0),
            None => eprintln!("{codec}: a click was not heard within 250 ms"),
        }
    }
    ha.stop();
    hb.stop();
    ha.stopped().await;
    hb.stopped().await;
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this as a smoke test.
    let quick = !std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if let Ok(l) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at start: {}", l.trim());
    }
    println!(
        "{:<6} {:>4} {:>8} {:>8} {:>8} {:>7} {:>7} {:>9} {:>9} {:>9}",
        "codec", "n", "min", "p50", "p95", "frame", "codec", "eng p50", "eng p95", "(convert)"
    );
    for (codec, pt) in [(Codec::Pcmu, 0u8), (Codec::Opus, 111)] {
        let mut all = Vec::new();
        let phases = if quick { 1 } else { PHASES_MS };
        for k in 0..phases {
            let phase = Duration::from_millis(2 * k);
            let delays = rt.block_on(call(codec, pt, phase));
            if std::env::var_os("M2E_VERBOSE").is_some() {
                eprintln!("{codec} phase {phase:?}: {delays:.2?}");
            }
            all.extend(delays);
        }
        all.sort_by(f64::total_cmp);
        if all.is_empty() {
            println!("{codec}: no click heard");
            continue;
        }
        // The budget: what a perfect engine would still take. Everything else is engine,
        // including the jitter buffer and the rate converters.
        let frame = 20.0;
        let algorithmic = match codec {
            // 2.5 ms lookahead + 4 ms delay compensation (RFC 6716 §2).
            Codec::Opus => 6.5,
            Codec::Pcmu | Codec::Pcma => 0.0,
            // The QMF pair: 23 samples at 16 kHz.
            Codec::G722 => 1.4,
        };
        // Shown for the breakdown only (it is inside "engine"): the device-rate conversions.
        let rate = codec.sample_rate();
        let convert: f64 = [(48000, rate), (rate, 48000)]
            .iter()
            .map(|&(from, to)| {
                RateConverter::new(from, to)
                    .unwrap()
                    .latency()
                    .as_secs_f64()
            })
            .sum::<f64>()
            * 1000.0;
        let budget = frame + algorithmic;
        let (p50, p95) = (percentile(&all, 0.5), percentile(&all, 0.95));
        let verdict = |e: f64| if e <= GOAL_MS { "met" } else { "not met" };
        println!(
            "{:<6} {:>4} {:>8.2} {:>8.2} {:>8.2} {:>7.1} {:>7.1} {:>9.2} {:>9.2} {:>9.2}  5 ms goal: p50 {}, p95 {}",
            codec.name(),
            all.len(),
            all[0],
            p50,
            p95,
            frame,
            algorithmic,
            p50 - budget,
            p95 - budget,
            convert,
            verdict(p50 - budget),
            verdict(p95 - budget),
        );
    }
    if let Ok(l) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at end: {}", l.trim());
    }
}
