//! The adaptive jitter buffer fed whatever the network delivers: reordered, duplicated,
//! late, jumping, wrapping and foreign (new SSRC) packets, with the audio clock pulling
//! frames in between.
//!
//! Input: byte 0 picks the codec clock and the adaptation mode, then 8-byte records:
//! - arrival time since the previous packet, in 0.1 ms (u16);
//! - the sequence number's step from the previous packet (i8);
//! - the timestamp's step from the previous packet, in samples (i16);
//! - flags: bit 0 marker, bit 1 new SSRC, bits 2-3 pulls before this packet, bits 4-5 the
//!   payload length (0-3 bytes);
//! - a payload byte, and a queue depth for `pull_with_queue`, in frames (u8).
//!
//! Properties: nothing panics; the buffer never holds more than `max_packets`; it never
//! plays a frame more often than it was stored (no duplicated audio).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use std::time::{Duration, Instant};
// All the crate paths this target uses, in one place.
use media::{Adaptation, Inserted};
use media::{JitterBuffer, JitterConfig, Playout, ReceivedFrame};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, records)) = data.split_first() else {
        return;
    };
    let cfg = if mode & 1 == 0 {
        JitterConfig::g711()
    } else {
        JitterConfig::opus()
    };
    let cfg = cfg.adaptation(if mode & 2 == 0 {
        Adaptation::Frames
    } else {
        Adaptation::TimeStretch
    });
    let frame = cfg.frame;
    let frame_samples = cfg.frame_samples();
    let max_packets = cfg.max_packets;
    let mut buffer = JitterBuffer::new(cfg).expect("the built-in configs are valid");

    // (seq, timestamp) -> times stored minus times played.
    let mut held: HashMap<(u16, u32), i64> = HashMap::new();
    let start = Instant::now();
    let mut arrival = start;
    let mut clock = start;
    let mut seq: u16 = 0xFFF0; // near the wrap
    let mut timestamp: u32 = 0xFFFF_0000;
    let mut ssrc: u32 = 1;
    for r in records.chunks_exact(8) {
        arrival += Duration::from_micros(u16::from_be_bytes([r[0], r[1]]) as u64 * 100);
        seq = seq.wrapping_add(r[2] as i8 as i16 as u16);
        timestamp = timestamp.wrapping_add(i16::from_be_bytes([r[3], r[4]]) as i32 as u32);
        let flags = r[5];
        if flags & 2 != 0 {
            ssrc = ssrc.wrapping_add(1);
        }
        // The audio clock pulls one frame per frame time, up to the packet's arrival.
        let pulls = (flags >> 2) & 3;
        let queued = r[7] as u32 * frame_samples;
        for _ in 0..pulls {
            if clock + frame > arrival {
                break;
            }
            clock += frame;
            if mode & 2 == 0 {
                played(&mut held, buffer.pull(clock));
            } else {
                played(&mut held, buffer.pull_with_queue(clock, queued));
            }
        }
        let len = ((flags >> 4) & 3) as usize;
        let inserted = buffer.insert(
            arrival,
            ReceivedFrame {
                seq,
                timestamp,
                ssrc,
                marker: flags & 1 != 0,
                payload: vec![r[6]; len],
            },
        );
        if inserted == Inserted::Stored {
            *held.entry((seq, timestamp)).or_default() += 1;
        }
        assert!(
            buffer.buffered() <= max_packets,
            "the buffer outgrew its bound"
        );
        let _ = buffer.stats();
        let _ = buffer.target_delay();
        let _ = buffer.current_delay();
    }
    // Drain: the clock runs on for a second after the last packet.
    for _ in 0..(Duration::from_secs(1).as_micros() / frame.as_micros().max(1)) {
        clock = clock.max(arrival) + frame;
        played(&mut held, buffer.pull(clock));
    }
});

/// Counts a played frame against the times it was stored.
fn played(held: &mut HashMap<(u16, u32), i64>, playout: Playout) {
    if let Playout::Frame { seq, timestamp, .. } = playout {
        let n = held.entry((seq, timestamp)).or_default();
        *n -= 1;
        assert!(
            *n >= 0,
            "frame {seq}/{timestamp} played more often than stored"
        );
    }
}
