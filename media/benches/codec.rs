//! Per-frame cost of the codecs the stream uses: one 20 ms mono frame encoded / decoded
//! (Opus at 48 kHz, 960 samples, default settings: auto bitrate, FEC on, DTX off; G.722 at
//! 16 kHz, 320 samples; PCMU at 8 kHz, 160 samples), and the 48k -> 8k conversion for the
//! WAV sink.
//!
//! `cargo bench -p media --bench codec`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use media::device::{FilterPhase, RateConverter};
use media::Codec;
use media::{decoder, encoder, OpusSettings};

/// Speech-like test signal, 1 s at `rate`.
fn voice(rate: u32) -> Vec<i16> {
    media::test_support::voice(rate, 0, rate as usize)
}

fn bench_codec(c: &mut Criterion, codec: Codec) {
    let rate = codec.sample_rate();
    let frame = (rate / 50) as usize;
    let pcm = voice(rate);
    let frames: Vec<&[i16]> = pcm.chunks_exact(frame).collect();
    let settings = OpusSettings::default();

    let packets = media::test_support::encode_all(
        encoder(codec, &settings).unwrap().as_mut(),
        frames.iter().copied(),
    );

    let mut g = c.benchmark_group(format!("codec/{}", codec.name()));
    g.throughput(Throughput::Elements(1));
    let mut enc = encoder(codec, &settings).unwrap();
    let mut out = Vec::with_capacity(4000);
    let mut i = 0;
    g.bench_function("encode_20ms", |b| {
        b.iter(|| {
            out.clear();
            enc.encode(black_box(frames[i % frames.len()]), &mut out)
                .unwrap();
            i += 1;
            black_box(out.len())
        })
    });
    let mut dec = decoder(codec).unwrap();
    let mut pcm_out = Vec::with_capacity(6000);
    let mut i = 0;
    g.bench_function("decode_20ms", |b| {
        b.iter(|| {
            pcm_out.clear();
            dec.decode(black_box(&packets[i % packets.len()]), &mut pcm_out)
                .unwrap();
            i += 1;
            black_box(pcm_out.len())
        })
    });
    // The first frame of a loss, after speech: where Opus's neural PLC runs.
    let mut dec = decoder(codec).unwrap();
    let mut i = 0;
    g.bench_function("decode_then_conceal_20ms", |b| {
        b.iter(|| {
            pcm_out.clear();
            dec.decode(&packets[i % packets.len()], &mut pcm_out)
                .unwrap();
            dec.conceal(black_box(frame), &mut pcm_out);
            i += 1;
            black_box(pcm_out.len())
        })
    });
    let mut dec = decoder(codec).unwrap();
    g.bench_function("conceal_20ms", |b| {
        b.iter(|| {
            pcm_out.clear();
            dec.conceal(black_box(frame), &mut pcm_out);
            black_box(pcm_out.len())
        })
    });
    g.finish();
}

fn codecs(c: &mut Criterion) {
    bench_codec(c, Codec::Opus);
    bench_codec(c, Codec::G722);
    bench_codec(c, Codec::Pcmu);

    let pcm = voice(48_000);
    // What an Opus call's 8 kHz WAV sink does: i16 -> f32, the FIR converter, f32 -> i16.
    // The minimum-phase filter (what runs) beside the linear-phase one as the baseline: same
    // length, so the same work is expected.
    let mut g = c.benchmark_group("resample");
    g.throughput(Throughput::Elements(1));
    for (name, phase) in [
        ("48k_to_8k_20ms", FilterPhase::Minimum),
        ("48k_to_8k_20ms_linear_phase", FilterPhase::Linear),
    ] {
        let mut r = RateConverter::with_phase(48_000, 8000, phase).unwrap();
        let mut scratch = Vec::with_capacity(960);
        let mut out: Vec<i16> = Vec::with_capacity(200);
        let mut i = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                scratch.clear();
                let frame = black_box(&pcm[(i % 50) * 960..][..960]);
                scratch.extend(frame.iter().map(|&s| f32::from(s) / 32768.0));
                r.process(&scratch, |o| {
                    out.extend(o.iter().map(|&s| (s * 32768.0).round() as i16))
                });
                i += 1;
                black_box(out.len())
            })
        });
    }
    g.finish();
}

/// What the Opus encode figure depends on: FEC copies (made once the far end reports loss:
/// LBRR is a second SILK encode), FEC turned off, and the signal (a steady tone is cheaper
/// than voice). `codec/opus/encode_20ms` is voice on a clean network: FEC on, no copies.
fn opus_variants(c: &mut Criterion) {
    let voice = voice(48_000);
    let tone: Vec<i16> = (0..48_000)
        .map(|i| ((std::f64::consts::TAU * 440.0 * i as f64 / 48_000.0).sin() * 8000.0) as i16)
        .collect();
    let mut g = c.benchmark_group("codec/opus_variants");
    g.throughput(Throughput::Elements(1));
    for (name, signal, fec, expected_loss) in [
        ("encode_20ms_voice_fec_copies_10pct", &voice, true, 10),
        ("encode_20ms_voice_fec_off", &voice, false, 0),
        ("encode_20ms_tone_fec_copies_10pct", &tone, true, 10),
        ("encode_20ms_tone_fec_off", &tone, false, 0),
    ] {
        let settings = OpusSettings {
            fec,
            ..OpusSettings::default()
        };
        let mut enc = encoder(Codec::Opus, &settings).unwrap();
        enc.set_expected_loss(expected_loss);
        let mut out = Vec::with_capacity(4000);
        let mut i = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                enc.encode(black_box(&signal[(i % 50) * 960..][..960]), &mut out)
                    .unwrap();
                i += 1;
                black_box(out.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, codecs, opus_variants);
criterion_main!(benches);
