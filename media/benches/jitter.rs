//! Cost of the jitter buffer per 20 ms frame: one `insert` plus one `pull`, in steady state
//! (packets with up to 40 ms of pseudo-random jitter, so some arrive reordered and the
//! estimator and decision work as they would on a real network). The codec is not included.
//!
//! `cargo bench -p media --bench jitter`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use media::{Adaptation, JitterBuffer, JitterConfig, Playout, ReceivedFrame};

/// A steady stream: packet k sent every 20 ms, arriving with up to 40 ms of jitter
/// (xorshift), pulled on a 20 ms device clock.
struct Feed {
    jb: JitterBuffer,
    t0: Instant,
    k: u64,
    rng: u64,
    frame: u32,
    payload_len: usize,
}

impl Feed {
    fn new(cfg: JitterConfig, payload_len: usize) -> Self {
        let frame = cfg.frame_samples();
        let mut f = Feed {
            jb: JitterBuffer::new(cfg).expect("valid"),
            t0: Instant::now(),
            k: 0,
            rng: 0x9E37_79B9_7F4A_7C15,
            frame,
            payload_len,
        };
        // Warm up: estimator past its start, buffer at its target.
        for _ in 0..3000 {
            f.step();
        }
        f
    }

    fn step(&mut self) -> Playout {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let jitter = Duration::from_micros(self.rng % 40_000);
        let k = self.k;
        self.k += 1;
        let arrival = self.t0 + Duration::from_millis(20 * k) + jitter;
        self.jb.insert(
            arrival,
            ReceivedFrame {
                seq: k as u16,
                timestamp: (k as u32).wrapping_mul(self.frame),
                ssrc: 7,
                marker: false,
                payload: vec![0xD5; self.payload_len],
            },
        );
        self.jb.pull(self.t0 + Duration::from_millis(20 * k + 10))
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("jitter_insert_pull_20ms");
    let cases = [
        ("g711_frames", JitterConfig::g711(), 160),
        (
            "g711_timestretch",
            JitterConfig::g711().adaptation(Adaptation::TimeStretch),
            160,
        ),
        ("opus48k_frames", JitterConfig::opus(), 80),
    ];
    for (name, cfg, len) in cases {
        let mut feed = Feed::new(cfg, len);
        g.bench_function(name, |b| b.iter(|| black_box(feed.step())));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
