//! The ring on a virtual clock: a writer of 20 ms frames on a jittery timer against a device
//! callback of another period and clock; what comes out must be the tone that went in.

use super::*;
use crate::test_support::dominant_frequency;
use ringbuf::traits::Split;
use ringbuf::{HeapCons, HeapProd, HeapRb};
use std::time::{Duration, Instant};

const RATE: u32 = 48_000;
const TONE: f64 = 660.0;
const FRAME: usize = 960;

fn ring(callback_ms: u32, now: Instant) -> (RingWriter<HeapProd<f32>>, RingReader<HeapCons<f32>>) {
    let tuning = RingTuning::for_callback(callback_ms);
    let (p, c) = HeapRb::<f32>::new(RATE as usize / 2).split();
    ring_ends(p, c, RATE, tuning, now)
}

/// Reads `n` samples into a vector (the sequence tests: the time is not what they test).
fn read(r: &mut RingReader<HeapCons<f32>>, n: usize) -> (Vec<f32>, ReadReport) {
    let mut out = Vec::new();
    let report = r.read(Instant::now(), n, |c| out.extend_from_slice(c));
    (out, report)
}

#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    dropped: usize,
    corrected: i64,
    silence: usize,
    skipped: usize,
    underruns: usize,
    /// Backlogs cut because the device lost time.
    lost_time: usize,
    /// Audio waiting when the run ended, ms.
    buffered_ms: f64,
}

/// How the simulated world behaves.
#[derive(Debug, Clone, Copy)]
struct World {
    /// Device callback period, ms of device time.
    callback_ms: u32,
    /// The device clock runs this many parts per million fast (negative: slow).
    device_ppm: i32,
    /// The writer's timer is late by up to this, uniformly (ms).
    jitter_ms: f64,
    /// Every this many frames the writer stalls this long (its next frames then come in a
    /// burst: the stream's clock is absolute).
    stall_every: usize,
    stall_ms: f64,
    /// The device starts asking this late (a sound server waking up).
    start_ms: f64,
    /// Every this many callbacks the device loses this much time (the server underran on
    /// its side and moved on): it asks again later, without catching up.
    device_gap_every: usize,
    device_gap_ms: f64,
    seconds: f64,
}

const CALM: World = World {
    callback_ms: 10,
    device_ppm: 0,
    jitter_ms: 4.0,
    stall_every: 0,
    stall_ms: 0.0,
    start_ms: 0.0,
    device_gap_every: 0,
    device_gap_ms: 0.0,
    seconds: 10.0,
};

/// Runs the ring in `world`: the writer writes a continuous 660 Hz tone; returns what the
/// device played.
fn run(world: World) -> (Vec<i16>, Totals) {
    let start = Instant::now();
    let at = |t: f64| start + Duration::from_secs_f64(t);
    let (mut w, mut r) = ring(world.callback_ms, start);
    let mut totals = Totals::default();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let device_rate = f64::from(RATE) * (1.0 + f64::from(world.device_ppm) / 1e6);
    let period = (RATE * world.callback_ms / 1000) as usize;
    let write_at = |k: usize, r: f64| {
        let stalled = world.stall_every > 0 && k > 0 && k.is_multiple_of(world.stall_every);
        let stall = if stalled { world.stall_ms } else { 0.0 };
        k as f64 * 0.020 + (r * world.jitter_ms + stall) / 1000.0
    };
    let mut played = Vec::new();
    let (mut written, mut k, mut m) = (0usize, 0usize, 0usize);
    let mut next_write = write_at(0, random());
    while next_write < world.seconds {
        let gaps = match world.device_gap_every {
            0 => 0.0,
            n => (m / n) as f64 * world.device_gap_ms,
        };
        let next_read =
            (world.start_ms + gaps) / 1000.0 + (m + 1) as f64 * period as f64 / device_rate;
        if next_write <= next_read {
            let frame: Vec<f32> = (written..written + FRAME)
                .map(|i| {
                    let t = i as f64 / f64::from(RATE);
                    (0.5 * (std::f64::consts::TAU * TONE * t).sin()) as f32
                })
                .collect();
            let report = w.write(at(next_write), &frame);
            totals.dropped += report.dropped;
            totals.corrected += report.corrected;
            totals.skipped += report.skipped;
            written += FRAME;
            k += 1;
            next_write = write_at(k, random()).max(next_write);
        } else {
            let report = r.read(at(next_read), period, |c| {
                played.extend(c.iter().map(|&v| (v * 32767.0) as i16))
            });
            totals.silence += report.silence;
            totals.skipped += report.skipped;
            totals.underruns += usize::from(report.silence > 0);
            totals.lost_time += usize::from(report.device_lost_time);
            m += 1;
        }
    }
    totals.buffered_ms = w.buffered() as f64 * 1000.0 / f64::from(RATE);
    (played, totals)
}

/// The pitch a listener hears over the last 2 s: the device plays at its true rate.
fn pitch(played: &[i16], world: World) -> f32 {
    let rate = (f64::from(RATE) * (1.0 + f64::from(world.device_ppm) / 1e6)).round() as u32;
    let body = &played[played.len() - 2 * RATE as usize..];
    dominant_frequency(body, rate).expect("silence")
}

/// Runs `world` and checks the tone comes out within `tolerance` Hz.
fn assert_pitch(world: World, tolerance: f32) -> Totals {
    let (played, totals) = run(world);
    let f = pitch(&played, world);
    eprintln!("{world:?}: {f} Hz, {totals:?}");
    assert!(
        (f - TONE as f32).abs() <= tolerance,
        "{f} Hz in {world:?}: {totals:?}"
    );
    totals
}

#[test]
fn a_calm_writer_comes_out_at_the_right_pitch_without_underruns() {
    let t = assert_pitch(CALM, 0.0);
    assert_eq!((t.underruns, t.dropped, t.lost_time), (0, 0, 0), "{t:?}");
}

#[test]
fn a_late_writer_is_absorbed_by_the_target_fill() {
    let t = assert_pitch(
        World {
            jitter_ms: 15.0,
            ..CALM
        },
        0.5,
    );
    assert_eq!((t.underruns, t.dropped), (0, 0), "{t:?}");
}

#[test]
fn device_clock_drift_is_corrected_slowly_and_the_pitch_kept() {
    // The device 0.1% fast (slow): once the ring has drifted out of its band, samples are
    // added (removed) so it stays there, and the heard pitch is the tone's (without the
    // correction it would be 660.66 Hz, or 659.34 Hz).
    let fast = World {
        device_ppm: 1000,
        seconds: 40.0,
        ..CALM
    };
    let t = assert_pitch(fast, 0.0);
    assert!(t.corrected > 0 && t.underruns == 0, "{t:?}");
    let slow = World {
        device_ppm: -1000,
        ..fast
    };
    let t = assert_pitch(slow, 0.0);
    assert!(t.corrected < 0 && t.dropped == 0, "{t:?}");
}

#[test]
fn large_device_requests_do_not_underrun() {
    // PulseAudio asks for two periods at once after a start.
    let t = assert_pitch(
        World {
            callback_ms: 80,
            ..CALM
        },
        0.0,
    );
    assert_eq!(t.underruns, 0, "{t:?}");
}

#[test]
fn a_device_that_starts_late_plays_fresh_audio_not_a_backlog() {
    let t = assert_pitch(
        World {
            start_ms: 1500.0,
            callback_ms: 40,
            ..CALM
        },
        0.0,
    );
    // What waited while the device slept was skipped when playout started.
    assert!(t.skipped + t.dropped >= 1000 * 48, "{t:?}");
    assert!(t.buffered_ms < 100.0, "{t:?}");
}

#[test]
fn writer_stalls_leave_gaps_but_later_audio_keeps_its_phase() {
    let t = assert_pitch(
        World {
            stall_every: 50,
            stall_ms: 45.0,
            ..CALM
        },
        1.0,
    );
    assert!(t.underruns > 0 && t.skipped > 0, "{t:?}");
}

#[test]
fn a_device_losing_time_keeps_latency_bounded() {
    // The server underran on its side every 300 ms: audio backs up; the ring cuts it back
    // in steps of about the time lost instead of growing, or dropping whole frames at a cap.
    let t = assert_pitch(
        World {
            device_gap_every: 30,
            device_gap_ms: 30.0,
            ..CALM
        },
        3.0,
    );
    assert!(t.buffered_ms < 150.0, "{t:?}");
    // Each cut is told (the playout steps up its period on it): 33 gaps in 10 s.
    assert!((10..=40).contains(&t.lost_time), "{t:?}");
}

#[test]
fn after_an_underrun_the_late_audio_is_skipped_so_the_timeline_holds() {
    let (mut w, mut r) = ring(10, Instant::now());
    // Sample values are their index in the writer's timeline.
    let ramp = |from: usize, n: usize| (from..from + n).map(|i| i as f32).collect::<Vec<_>>();
    w.write(Instant::now(), &ramp(0, 2400));
    // Starts on the freshest audio: the prefill (30 ms) on top of the request.
    let (out, report) = read(&mut r, 480);
    let first = out[0] as usize;
    assert_eq!(report.silence, 0);
    assert!(out.windows(2).all(|p| p[1] == p[0] + 1.0), "{out:?}");
    // Read past what was written: silence for the rest.
    let left = 2400 - (first + 480);
    let (out, report) = read(&mut r, left + 200);
    assert_eq!(report.silence, 200);
    assert_eq!(out[left - 1] as usize, 2399);
    assert!(out[left..].iter().all(|&v| v == 0.0));
    // The late audio arrives: the 200 samples that silence stood in for are skipped.
    w.write(Instant::now(), &ramp(2400, 960));
    let (out, report) = read(&mut r, 100);
    assert_eq!(report.skipped, 200);
    assert_eq!(out[0] as usize, 2600);
}

#[test]
fn a_writer_that_stops_is_waited_for_again() {
    let (mut w, mut r) = ring(10, Instant::now());
    w.write(Instant::now(), &[0.25; 1440]);
    for _ in 0..3 {
        read(&mut r, 480);
    }
    // Held: nothing comes for a second. Silence, counted while it could still be late.
    let mut silence = 0;
    for _ in 0..100 {
        let (out, report) = read(&mut r, 480);
        assert!(out.iter().all(|&v| v == 0.0));
        silence += report.silence;
    }
    assert!((9600..48000).contains(&silence), "{silence}");
    // Resumed: playout waits for a prefill, and none of the new audio is skipped as late.
    w.write(Instant::now(), &[0.5; 960]);
    let (out, report) = read(&mut r, 480);
    assert_eq!(report, ReadReport::default());
    assert!(out.iter().all(|&v| v == 0.0), "before the prefill");
    w.write(Instant::now(), &[0.5; 480]);
    let (out, report) = read(&mut r, 480);
    assert_eq!(report, ReadReport::default());
    assert!(out.iter().all(|&v| v == 0.5));
}

#[test]
fn stretching_keeps_the_ends_and_the_shape() {
    let input: Vec<f32> = (0..960).map(|i| i as f32).collect();
    let mut out = Vec::new();
    stretch(&input, 962, &mut out);
    assert_eq!(out.len(), 962);
    assert_eq!((out[0], out[961]), (0.0, 959.0));
    assert!(out.windows(2).all(|p| p[1] > p[0]));
    stretch(&input, 958, &mut out);
    assert_eq!(out.len(), 958);
    assert_eq!((out[0], out[957]), (0.0, 959.0));
}

#[test]
fn a_device_that_never_reads_bounds_the_backlog() {
    let (mut w, _r) = ring(10, Instant::now());
    let mut dropped = 0;
    for _ in 0..100 {
        dropped += w.write(Instant::now(), &[0.1; FRAME]).dropped;
    }
    assert!(w.buffered() <= 400 * 48, "{}", w.buffered());
    // All but the 400 ms kept (give or take the drift correction's few samples).
    assert!(dropped >= 100 * FRAME - 400 * 48 - 200, "{dropped}");
}
