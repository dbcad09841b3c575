//! A click timed from mouth to ear, for latency benches and QA: [`Probe::fire`] makes the
//! next frame a source reads carry a short tone burst; the sink that plays it notes when its
//! onset comes out. Built in code (`SourceSpec::Probe`, `SinkSpec::Probe`), never parsed.
//!
//! Times are those of the audio, not of the calls: a source frame read at `t` holds what
//! was captured over the frame before `t`, so the burst's first sample was "spoken" at
//! `t - frame`; a sink frame written at `t` starts playing at `t`.

use std::f64::consts::TAU;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::device::{f32_to_i16, i16_to_f32};

/// Burst: 10 ms of 1 kHz starting at its peak (a sharp onset), -6 dBFS.
const BURST_MS: u32 = 10;
const BURST_HZ: f64 = 1000.0;
const BURST_PEAK: f64 = 16384.0;
/// A sample this loud (-18 dBFS) is the onset; codec noise and ringing stay far below.
const ONSET: u16 = 4096;

#[derive(Debug, Default)]
struct State {
    armed: bool,
    /// Samples of the burst still to send, and the rate they were made at.
    left: usize,
    done: usize,
    spoken: Option<Instant>,
    heard: Option<Instant>,
}

/// One click at a time, shared by a source and a sink; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Probe(Arc<Mutex<State>>);

impl PartialEq for Probe {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Probe {}

impl Probe {
    /// A probe not fired yet.
    pub fn new() -> Probe {
        Probe::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next frame read starts with a burst; the last result is forgotten.
    pub fn fire(&self) {
        let mut s = self.state();
        *s = State {
            armed: true,
            ..State::default()
        };
    }

    /// Mouth-to-ear delay of the last burst, once its onset has been played.
    pub fn delay(&self) -> Option<Duration> {
        let s = self.state();
        Some(s.heard?.saturating_duration_since(s.spoken?))
    }

    /// Source side: fills `out` (`rate` Hz) with silence or the burst, read at `now`.
    pub(crate) fn read(&self, now: Instant, rate: u32, out: &mut [f32]) {
        out.fill(0.0);
        let mut s = self.state();
        if s.armed {
            s.armed = false;
            s.left = (rate * BURST_MS / 1000) as usize;
            s.done = 0;
            s.spoken = Some(now.checked_sub(samples(out.len(), rate)).unwrap_or(now));
        }
        let step = TAU * BURST_HZ / rate.max(1) as f64;
        for o in out.iter_mut() {
            if s.left == 0 {
                break;
            }
            *o = i16_to_f32(((s.done as f64 * step).cos() * BURST_PEAK) as i16);
            s.done += 1;
            s.left -= 1;
        }
    }

    /// Sink side: `samples` (`rate` Hz) start playing at `now`.
    pub(crate) fn write(&self, now: Instant, rate: u32, samples: &[f32]) {
        let mut s = self.state();
        if s.spoken.is_none() || s.heard.is_some() {
            return;
        }
        if let Some(k) = samples
            .iter()
            .position(|&x| f32_to_i16(x).unsigned_abs() >= ONSET)
        {
            s.heard = Some(now + self::samples(k, rate));
        }
    }
}

fn samples(n: usize, rate: u32) -> Duration {
    Duration::from_nanos(n as u64 * 1_000_000_000 / rate.max(1) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_the_onset_from_the_frames_capture_to_its_playout() {
        let p = Probe::new();
        let t0 = Instant::now();
        let mut frame = vec![0.0f32; 160];
        p.read(t0, 8000, &mut frame);
        assert!(frame.iter().all(|&s| s == 0.0), "not fired: silence");
        p.fire();
        p.read(t0 + Duration::from_millis(20), 8000, &mut frame);
        assert!(frame[0] > 0.48 && frame[80..].iter().all(|&s| s == 0.0));
        // Played 50 ms later, 2 samples (0.25 ms) into a frame: 20 + 50 + 0.25 ms.
        assert_eq!(p.delay(), None);
        let mut heard = vec![0.0f32; 160];
        heard[2..].copy_from_slice(&frame[..158]);
        p.write(t0 + Duration::from_millis(70), 8000, &heard);
        assert_eq!(p.delay(), Some(Duration::from_micros(70_250)));
        // A second write does not move it; fire starts over.
        p.write(t0 + Duration::from_millis(90), 8000, &heard);
        assert_eq!(p.delay(), Some(Duration::from_micros(70_250)));
        p.fire();
        assert_eq!(p.delay(), None);
    }

    #[test]
    fn the_burst_spans_frames_at_48k() {
        let p = Probe::new();
        p.fire();
        let mut a = vec![0.0f32; 240];
        let mut b = vec![0.0f32; 480];
        p.read(Instant::now(), 48000, &mut a);
        p.read(Instant::now(), 48000, &mut b);
        // 10 ms = 480 samples: 240 here, 240 there, then silence.
        assert!(a[0] > 0.48);
        assert!(b[..240].iter().filter(|&&s| s != 0.0).count() > 200);
        assert!(b[240..].iter().all(|&s| s == 0.0));
    }
}
