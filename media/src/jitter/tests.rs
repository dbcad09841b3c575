//! On explicit time: the after-loss floor (a clean network plays each frame as it lands,
//! the first loss raises the target by a frame, the next loss finds the next packet in
//! hand), and the target following jitter from the first packets.

use std::time::{Duration, Instant};

use super::*;

const FRAME: Duration = Duration::from_millis(20);

fn opus_floor() -> JitterConfig {
    JitterConfig {
        initial_delay: Duration::ZERO,
        min_delay: Duration::ZERO,
        min_delay_after_loss: FRAME,
        ..JitterConfig::opus()
    }
}

fn frame(seq: u16) -> ReceivedFrame {
    ReceivedFrame {
        seq,
        timestamp: u32::from(seq) * 960,
        ssrc: 9,
        marker: false,
        payload: vec![seq as u8],
    }
}

/// Packets land every 20 ms except `lost`; each slot is pulled 2 ms after its landing.
fn run(
    jb: &mut JitterBuffer,
    t0: Instant,
    slots: std::ops::Range<u16>,
    lost: &[u16],
) -> Vec<Playout> {
    slots
        .map(|n| {
            let at = t0 + FRAME * u32::from(n);
            if !lost.contains(&n) {
                jb.insert(at, frame(n));
            }
            jb.pull(at + Duration::from_millis(2))
        })
        .collect()
}

#[test]
fn a_clean_network_pays_no_fec_frame() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(opus_floor()).unwrap();
    let out = run(&mut jb, t0, 0..200, &[]);
    assert!(out.iter().all(|p| matches!(p, Playout::Frame { .. })));
    assert!(!jb.loss_seen());
    assert_eq!(jb.target_delay(), Duration::ZERO);
    assert_eq!(jb.current_delay(), Duration::from_millis(2));
}

#[test]
fn the_first_loss_raises_the_floor_and_the_next_is_recoverable() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(opus_floor()).unwrap();
    run(&mut jb, t0, 0..100, &[]);
    // Packet 100 lost: nothing held at its turn, so plain concealment (no FEC possible).
    let out = run(&mut jb, t0, 100..103, &[100]);
    assert!(matches!(out[0], Playout::Conceal { .. }), "{:?}", out[0]);
    assert!(jb.loss_seen());
    assert_eq!(jb.target_delay(), FRAME);
    // When 101 lands the delay grows by one inserted frame; 101 plays a frame later.
    assert!(matches!(out[1], Playout::Conceal { .. }), "{:?}", out[1]);
    assert!(
        matches!(out[2], Playout::Frame { seq: 101, .. }),
        "{:?}",
        out[2]
    );
    assert_eq!(jb.stats().frames_inserted, 1);
    let out = run(&mut jb, t0, 103..150, &[]);
    assert!(out.iter().all(|p| matches!(p, Playout::Frame { .. })));
    assert_eq!(jb.current_delay(), FRAME + Duration::from_millis(2));
    // Packet 160 lost: its successor is in hand at its turn.
    let out = run(&mut jb, t0, 150..170, &[160]);
    let recovered: Vec<_> = out
        .iter()
        .filter_map(|p| match p {
            Playout::Recover { next_seq, .. } => Some(*next_seq),
            _ => None,
        })
        .collect();
    assert_eq!(recovered, [161]);
    assert_eq!(jb.target_delay(), FRAME, "the floor stays");
}

/// Packets every 20 ms, every fourth one `late_ms` late.
fn jittery(jb: &mut JitterBuffer, t0: Instant, slots: std::ops::Range<u16>, late_ms: u64) {
    for n in slots {
        let late = if n % 4 == 3 { late_ms } else { 0 };
        jb.insert(
            t0 + FRAME * u32::from(n) + Duration::from_millis(late),
            frame(n),
        );
    }
}

#[test]
fn the_target_follows_jitter_from_the_first_packets() {
    // A quarter of the packets 40 ms late, from the start: within the first 20 packets
    // (well before the 50 of the warm-up) the target covers them, with its headroom.
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(opus_floor()).unwrap();
    jittery(&mut jb, t0, 0..20, 40);
    assert!(
        jb.target_delay() >= Duration::from_millis(40),
        "{:?}",
        jb.target_delay()
    );
}

#[test]
fn initial_delay_is_the_least_target_during_the_warm_up_only() {
    let t0 = Instant::now();
    let cfg = JitterConfig {
        initial_delay: Duration::from_millis(60),
        ..opus_floor()
    };
    let mut jb = JitterBuffer::new(cfg).unwrap();
    jittery(&mut jb, t0, 0..20, 0);
    assert_eq!(jb.target_delay(), Duration::from_millis(60));
    // After the warm-up a clean network's target is the histogram's: nothing.
    jittery(&mut jb, t0, 20..60, 0);
    assert_eq!(jb.target_delay(), Duration::ZERO);
}
