//! Table-driven jitter buffer tests in the style of baresip's `test/jbuf.c`: packet arrival
//! times in, the playout of each 20 ms pull out.
//!
//! Every case uses G.711 framing (20 ms, 160 samples), frame adaptation and a fixed 40 ms
//! target (minimum and maximum delay both 40 ms: the mechanics, not the estimate). Pulls happen at
//! 5, 25, 45 ... ms; a packet and a pull at the same millisecond: the packet first.
//! Expected playouts: `S` silence, `F<seq>` frame, `C` conceal, `R<next seq>` recover.

use std::time::{Duration, Instant};

use media::{JitterBuffer, JitterConfig, JitterStats, Playout, ReceivedFrame};

/// (arrival ms, seq, timestamp, ssrc)
type Arrival = (u64, u16, u32, u32);

fn a(ms: u64, seq: u16) -> Arrival {
    (ms, seq, seq as u32 * 160, 1)
}

/// Packets `seqs` each arriving at its nominal time (seq * 20 ms).
fn nominal(seqs: impl IntoIterator<Item = u16>) -> Vec<Arrival> {
    seqs.into_iter().map(|s| a(s as u64 * 20, s)).collect()
}

fn config() -> JitterConfig {
    let mut c = JitterConfig::g711();
    c.initial_delay = Duration::from_millis(40);
    c.min_delay = Duration::from_millis(40);
    c.max_delay = Duration::from_millis(40);
    c
}

fn run(arrivals: &[Arrival], pulls: usize) -> (String, JitterStats) {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(config()).unwrap();
    let mut arrivals = arrivals.to_vec();
    arrivals.sort_by_key(|x| x.0); // stable: same-ms packets keep their order
    let mut next = arrivals.iter().peekable();
    let mut out = Vec::new();
    for k in 0..pulls as u64 {
        let at = 5 + 20 * k;
        while let Some(&&(ms, seq, timestamp, ssrc)) = next.peek() {
            if ms > at {
                break;
            }
            next.next();
            let frame = ReceivedFrame {
                seq,
                timestamp,
                ssrc,
                marker: false,
                payload: vec![seq as u8; 160],
            };
            jb.insert(t0 + Duration::from_millis(ms), frame);
        }
        out.push(match jb.pull(t0 + Duration::from_millis(at)) {
            Playout::Silence => "S".to_string(),
            Playout::Frame { seq, payload, .. } => {
                assert_eq!(payload[0], seq as u8, "payload travels with its packet");
                format!("F{seq}")
            }
            Playout::Conceal { .. } => "C".to_string(),
            Playout::Recover { next_seq, .. } => format!("R{next_seq}"),
        });
    }
    (out.join(" "), jb.stats())
}

#[test]
fn playout_table() {
    let wrap_seq = |k: u16| 65534u16.wrapping_add(k);
    let wrap_ts = |k: u32| (u32::MAX - 159).wrapping_add(k * 160);
    let mut ssrc_change = nominal(0..=3);
    ssrc_change.extend((0..6).map(|j| (80 + 20 * j as u64, 1000 + j, 50_000 + j as u32 * 160, 2)));

    let cases: Vec<(&str, Vec<Arrival>, &str)> = vec![
        ("in order", nominal(0..8), "S S F0 F1 F2 F3 F4 F5"),
        (
            "reorder by one",
            [a(0, 0), a(20, 1), a(40, 3), a(41, 2)]
                .into_iter()
                .chain(nominal(4..8))
                .collect(),
            "S S F0 F1 F2 F3 F4 F5",
        ),
        (
            "duplicate",
            [a(0, 0), a(20, 1), a(21, 1), a(22, 0)]
                .into_iter()
                .chain(nominal(2..8))
                .collect(),
            "S S F0 F1 F2 F3 F4 F5",
        ),
        (
            "one loss: recovered from the next packet",
            nominal((0..8).filter(|&s| s != 2)),
            "S S F0 F1 R3 F3 F4 F5",
        ),
        (
            "two losses: conceal, then recover",
            nominal((0..8).filter(|&s| s != 2 && s != 3)),
            "S S F0 F1 C R4 F4 F5",
        ),
        (
            "late packet dropped",
            nominal((0..8).filter(|&s| s != 2))
                .into_iter()
                .chain([a(95, 2)])
                .collect(),
            "S S F0 F1 R3 F3 F4 F5",
        ),
        (
            "late packet with an empty buffer still plays (timeline waits)",
            nominal((0..8).filter(|&s| s != 2 && s != 3))
                .into_iter()
                .chain([a(70, 2), a(71, 3)])
                .collect(),
            // 85: seq 2 arrived at 70 (delay 45 ms) ... wait-free: plays on time.
            "S S F0 F1 F2 F3 F4 F5",
        ),
        (
            "burst after a stall: underruns, then catch up by dropping frames",
            [a(0, 0), a(20, 1)]
                .into_iter()
                .chain((2..=5).map(|s| a(130, s)))
                .chain([a(130, 6), a(140, 7), a(160, 8), a(180, 9)])
                .collect(),
            "S S F0 F1 C C C F3 F5 F6 F7",
        ),
        (
            "sequence wraps at 65535, timestamp at 2^32",
            (0..8)
                .map(|k| (20 * k as u64, wrap_seq(k), wrap_ts(k as u32), 1))
                .collect(),
            "S S F65534 F65535 F0 F1 F2 F3",
        ),
        (
            "loss across the wrap",
            (0..8)
                .filter(|&k| k != 2)
                .map(|k| (20 * k as u64, wrap_seq(k), wrap_ts(k as u32), 1))
                .collect(),
            "S S F65534 F65535 R1 F1 F2 F3",
        ),
        (
            "SSRC change: new stream, buffered afresh",
            ssrc_change,
            "S S F0 F1 S S F1000 F1001 F1002",
        ),
    ];
    let mut failures = Vec::new();
    for (name, arrivals, want) in &cases {
        let pulls = want.split(' ').count();
        let (got, _) = run(arrivals, pulls);
        if got != *want {
            failures.push(format!("{name}:\n  want {want}\n  got  {got}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn stats_count_what_happened() {
    let (_, s) = run(
        &[
            a(0, 0),
            a(20, 1),
            a(21, 1),
            a(40, 3),
            a(41, 2),
            a(60, 4),
            a(61, 0),
        ],
        6,
    );
    assert_eq!(s.packets, 7);
    assert_eq!(s.duplicates, 2); // seq 1 again, and seq 0 again after it played
    assert_eq!(s.reordered, 1);
    assert_eq!(s.played, 4);

    let late = nominal((0..8).filter(|&s| s != 2))
        .into_iter()
        .chain([a(95, 2)])
        .collect::<Vec<_>>();
    let (_, s) = run(&late, 8);
    assert_eq!((s.late_dropped, s.concealed, s.recovered), (1, 1, 1));

    let burst: Vec<Arrival> = [a(0, 0), a(20, 1)]
        .into_iter()
        .chain((2..=5).map(|s| a(130, s)))
        .chain([a(130, 6), a(140, 7), a(160, 8), a(180, 9)])
        .collect();
    let (_, s) = run(&burst, 11);
    assert_eq!((s.underruns, s.frames_dropped, s.played), (3, 2, 6));
    assert_eq!(s.concealed_time(), Duration::from_millis(60));
}

#[test]
fn long_silence_rebuffers_and_resumes() {
    // Talk, 1 s of nothing (the sender's clock runs on, as after hold), talk again.
    let mut arr = nominal(0..5);
    arr.extend(nominal(55..62));
    let (got, s) = run(&arr, 63);
    let got: Vec<&str> = got.split(' ').collect();
    assert_eq!(&got[..7], ["S", "S", "F0", "F1", "F2", "F3", "F4"]);
    // 200 ms of concealment (max_conceal), then silence while nothing comes.
    assert_eq!(&got[7..17], ["C"; 10]);
    assert!(got[17..57].iter().all(|p| *p == "S"), "{got:?}");
    // Seq 55 arrives at 1100 ms and is buffered 40 ms again.
    assert_eq!(&got[57..], ["F55", "F56", "F57", "F58", "F59", "F60"]);
    assert_eq!(s.resets, 0);
}

#[test]
fn timestamp_jump_resyncs_after_three_packets() {
    let mut arr = nominal(0..6);
    // The sender restarts its timeline (same SSRC, sequence continues).
    arr.extend((6..16).map(|s| (s as u64 * 20, s, 1_000_000 + s as u32 * 160, 1)));
    let (got, s) = run(&arr, 14);
    assert_eq!(s.outliers, 2);
    assert_eq!(s.resets, 1);
    let got: Vec<&str> = got.split(' ').collect();
    assert_eq!(&got[..8], ["S", "S", "F0", "F1", "F2", "F3", "F4", "F5"]);
    assert!(got.contains(&"F9"), "{got:?}");
}
