//! Per-frame cost of echo cancellation: one 20 ms frame (48 kHz mono, 960 samples) of far-end
//! audio rendered and one microphone frame cleaned, after the filter has converged on a room
//! echo; beside it the same frame only converted to and from f32 (the floor any processing
//! pays), and the frame through everything the microphone can go through (echo
//! cancellation, noise suppression, automatic gain).
//!
//! `cargo bench -p media --bench aec`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use media::{Processing, VoiceProcessor, AEC_SAMPLE_RATE as SAMPLE_RATE};

fn signal(n: usize) -> Vec<i16> {
    use std::f64::consts::TAU;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(SAMPLE_RATE);
            let v = (TAU * 310.0 * t).sin() + 0.5 * (TAU * 1210.0 * t).sin();
            (v * (TAU * 2.0 * t).sin().abs() * 6000.0) as i16
        })
        .collect()
}

fn bench_aec(c: &mut Criterion) {
    let n = SAMPLE_RATE as usize * 2;
    let far = signal(n);
    let mic: Vec<i16> = (0..n)
        .map(|i| i.checked_sub(2880).map_or(0, |j| far[j] / 2))
        .collect();
    let mut g = c.benchmark_group("aec_20ms_frame");
    let mut frame = vec![0i16; 960];
    let echo_only = Processing {
        echo_cancellation: true,
        ..Processing::default()
    };
    let everything = Processing {
        echo_cancellation: true,
        noise_suppression: true,
        auto_gain: true,
    };
    for (name, what) in [
        ("render+capture", echo_only),
        ("render+capture_with_noise_and_gain", everything),
    ] {
        let mut aec = VoiceProcessor::with(what);
        for (f, m) in far.chunks(960).zip(mic.chunks(960)) {
            aec.render(f);
            aec.capture(&mut m.to_vec());
        }
        let mut i = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                let at = (i % (n / 960)) * 960;
                i += 1;
                aec.render(black_box(&far[at..at + 960]));
                frame.copy_from_slice(&mic[at..at + 960]);
                aec.capture(black_box(&mut frame));
            })
        });
    }
    g.bench_function("f32_round_trip_only", |b| {
        let mut f = vec![0f32; 960];
        b.iter(|| {
            for (o, s) in f.iter_mut().zip(black_box(&mic[..960])) {
                *o = f32::from(*s) / 32768.0;
            }
            for (o, s) in frame.iter_mut().zip(&f) {
                *o = (s * 32768.0) as i16;
            }
            black_box(&frame);
        })
    });
    g.finish();
}

criterion_group!(benches, bench_aec);
criterion_main!(benches);
