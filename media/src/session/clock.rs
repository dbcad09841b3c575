//! When the stream hands its next frame to the sink (sans-IO, explicit time).
//!
//! Pulling on a timer of arbitrary phase makes each packet wait for the next pull: up to a
//! whole frame, half of one on average. This clock starts on the task's timer and, when the
//! first packet of a timeline lands, moves to just after it: from then on each packet
//! (landing a frame after the last on a clean network) is pulled [`PLAY_MARGIN`] after it
//! lands. Jitter beyond the margin is the jitter buffer's business.
//!
//! Moving the clock earlier hands the sink one extra frame once per timeline, while it still
//! plays silence: harmless, and it keeps the rhythm simple.

use std::time::{Duration, Instant};

/// How long after a packet's expected landing it is pulled: covers the sender's timer
/// (tokio's millisecond wheel) and the scheduler on a clean network.
pub(super) const PLAY_MARGIN: Duration = Duration::from_millis(2);

#[derive(Debug)]
pub(super) struct PlayClock {
    frame: Duration,
    next: Instant,
    aligned: bool,
}

impl PlayClock {
    pub(super) fn new(now: Instant, frame: Duration) -> PlayClock {
        PlayClock {
            frame,
            next: now + frame,
            aligned: false,
        }
    }

    /// When the next frame is due at the sink.
    pub(super) fn due(&self) -> Instant {
        self.next
    }

    /// An audio packet landed at `now`; the first of a timeline sets the phase.
    pub(super) fn on_packet(&mut self, now: Instant) {
        if !self.aligned {
            self.aligned = true;
            self.next = now + PLAY_MARGIN;
        }
    }

    /// A new timeline (codec or packet time change): align on its first packet again.
    pub(super) fn realign(&mut self, frame: Duration) {
        self.frame = frame;
        self.aligned = false;
    }

    /// The frame due has been handed over; returns when it was due.
    pub(super) fn advance(&mut self) -> Instant {
        let at = self.next;
        self.next += self.frame;
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jitter::ReceivedFrame;
    use crate::{JitterBuffer, JitterConfig, Playout};

    const MS: fn(u64) -> Duration = Duration::from_millis;

    /// Packets sent every 20 ms land 13 ms into the clock's period; how long each waits in
    /// a G.711 jitter buffer (no target delay) before it is played.
    fn waits(align: bool) -> Vec<Duration> {
        let t0 = Instant::now();
        let mut clock = PlayClock::new(t0, MS(20));
        let mut cfg = JitterConfig::new(8000, 20);
        cfg.initial_delay = Duration::ZERO;
        cfg.min_delay = Duration::ZERO;
        let mut jb = JitterBuffer::new(cfg).unwrap();
        let mut landed = Vec::new();
        let mut waits = Vec::new();
        for n in 0..20u16 {
            let land = t0 + MS(13) + MS(20) * n as u32;
            while clock.due() <= land {
                let at = clock.advance();
                if let Playout::Frame { seq, .. } = jb.pull(at) {
                    waits.push(at - landed[seq as usize]);
                }
            }
            if align {
                clock.on_packet(land);
            }
            landed.push(land);
            jb.insert(
                land,
                ReceivedFrame {
                    seq: n,
                    timestamp: n as u32 * 160,
                    ssrc: 1,
                    marker: n == 0,
                    payload: vec![0xff; 160],
                },
            );
        }
        waits
    }

    #[test]
    fn a_fixed_tick_makes_packets_wait_for_it() {
        let w = waits(false);
        assert!(w.len() >= 15, "{w:?}");
        assert!(w.iter().all(|&d| d == MS(7)), "{w:?}");
    }

    #[test]
    fn aligned_packets_wait_only_the_margin() {
        let w = waits(true);
        assert!(w.len() >= 15, "{w:?}");
        assert!(w.iter().all(|&d| d == PLAY_MARGIN), "{w:?}");
    }

    #[test]
    fn realign_follows_the_next_timeline_once() {
        let t0 = Instant::now();
        let mut c = PlayClock::new(t0, MS(20));
        assert_eq!(c.due(), t0 + MS(20));
        c.on_packet(t0 + MS(5));
        assert_eq!(c.due(), t0 + MS(5) + PLAY_MARGIN);
        // Later packets do not move it.
        c.on_packet(t0 + MS(6));
        assert_eq!(c.advance(), t0 + MS(5) + PLAY_MARGIN);
        assert_eq!(c.due(), t0 + MS(25) + PLAY_MARGIN);
        c.realign(MS(40));
        c.on_packet(t0 + MS(30));
        assert_eq!(c.advance(), t0 + MS(30) + PLAY_MARGIN);
        assert_eq!(c.due(), t0 + MS(70) + PLAY_MARGIN);
    }
}
