//! SRTP protect and unprotect of one 20 ms packet (goal: under 2 µs each), per suite, at
//! two payload sizes: PCMU (160 bytes) and Opus at about 51 kbit/s (128 bytes). Unprotect
//! runs on fresh packets (replay protection is on, as in a call).
//!
//! `cargo bench -p media --bench srtp`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use media::{CryptoSuite, KeyMaterial, Srtp, SrtpKeys};

fn rtp(seq: u16, payload: usize) -> Vec<u8> {
    let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend((0..payload).map(|i| i as u8));
    p
}

fn pair(suite: CryptoSuite) -> (Srtp, Srtp) {
    let a = KeyMaterial::generate(suite).unwrap();
    let b = KeyMaterial::generate(suite).unwrap();
    let ours = SrtpKeys {
        suite,
        local: a.clone(),
        remote: b.clone(),
    };
    let theirs = SrtpKeys {
        suite,
        local: b,
        remote: a,
    };
    (Srtp::new(&ours).unwrap(), Srtp::new(&theirs).unwrap())
}

fn bench(c: &mut Criterion) {
    for suite in CryptoSuite::ALL {
        for (name, size) in [("pcmu 160 B", 160), ("opus 128 B", 128)] {
            c.bench_function(&format!("srtp/protect {suite} {name}"), |b| {
                let (mut tx, _) = pair(suite);
                let mut seq = 0u16;
                b.iter(|| {
                    seq = seq.wrapping_add(1);
                    let packet = rtp(seq, size);
                    black_box(tx.protect_rtp(black_box(&packet)).unwrap())
                })
            });
            c.bench_function(&format!("srtp/unprotect {suite} {name}"), |b| {
                b.iter_custom(|iters| {
                    // Fresh contexts every 30 000 packets: sequence numbers never repeat
                    // within one context, so the replay check passes as in a call.
                    let mut total = Duration::ZERO;
                    let mut left = iters;
                    while left > 0 {
                        let n = left.min(30_000);
                        left -= n;
                        let (mut tx, mut rx) = pair(suite);
                        let wire: Vec<Vec<u8>> = (0..n)
                            .map(|i| tx.protect_rtp(&rtp(i as u16, size)).unwrap())
                            .collect();
                        let t = Instant::now();
                        for p in &wire {
                            black_box(rx.unprotect_rtp(black_box(p)).unwrap());
                        }
                        total += t.elapsed();
                    }
                    total
                })
            });
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
