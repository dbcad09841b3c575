//! The after-loss floor on explicit time: a clean network plays each frame as it lands,
//! the first loss raises the target by a frame, the next loss finds the next packet in hand.

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
