//! The playout ring between the media side and the device callback (sans-IO).
//!
//! The media side writes 20 ms frames on the stream task's timer; the device callback reads
//! on the sound card's clock, in its own period (10 ms, or whatever the server asks for).
//! The two clocks differ a little (drift), the task's timer jitters and a sound server may
//! lose time. A tone must come out at the pitch it went in, so no audio is dropped in blocks
//! at a cap (each such drop is a phase jump: a 660 Hz tone measured 661-677 Hz that way) and
//! every skip keeps the timeline:
//!
//! - [`RingWriter`] keeps the ring's low-water mark (the least audio waiting just before a
//!   frame is written, over half a second) near a target, by stretching or shrinking frames
//!   by a few samples (linear interpolation, at most 0.2%): clock drift and a backlog left
//!   by a stall melt away without a jump in phase. Only frames beyond 400 ms queued (the
//!   device stopped reading) are refused.
//! - [`RingReader`] (the callback's end) plays silence when the audio is late and then skips
//!   exactly as much of the late audio, so what follows stays on its original timeline (a
//!   gap, not a delay that shifts the phase of everything after). A long silence means the
//!   writer stopped (call held, ended): the reader then waits for a new prefill. The other
//!   way round, when the device loses time (its server underran and moved on, seen as a
//!   backlog that stays above request + target for a quarter second), the reader skips that
//!   much at once. It starts on the freshest audio. It never locks, allocates or logs: it
//!   only moves samples and returns counts.

use ringbuf::traits::{Consumer, Producer};

/// Frames between two decisions of the drift correction (0.5 s of 20 ms frames).
const WINDOW_FRAMES: u32 = 25;
/// Largest correction, in samples per 1000 written: 0.2% (1.3 Hz on a 660 Hz tone while it
/// lasts; none once the ring sits at its target), well above the drift of sound-card clocks
/// (tens to hundreds of ppm). Bigger gaps are the reader's business (underrun, cut).
const MAX_CORRECTION_PER_MILLE: usize = 2;

/// Sizes of the ring, in ms of audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RingTuning {
    /// The low-water mark the writer aims for: the cushion against a late writer.
    pub target_ms: u32,
    /// No correction while the low-water mark is within this of the target.
    pub hysteresis_ms: u32,
    /// The reader starts (and restarts after the writer stopped) once this much is queued.
    pub prefill_ms: u32,
    /// Silence beyond this means the writer stopped: the reader waits for a new prefill.
    pub max_gap_ms: u32,
    /// A backlog this far above the target (plus the largest recent request) for a quarter
    /// second is cut at once: time the device lost (its server underran and moved on) is
    /// skipped in one step, so the audio after it is back on its timeline.
    pub max_excess_ms: u32,
    /// A frame that would leave more than this queued is dropped (the device stopped reading).
    pub max_backlog_ms: u32,
}

impl RingTuning {
    /// For a device callback of `callback_ms`. The target only covers the writer's
    /// lateness (the stream task's timer): the reader adds the largest request on top.
    pub(crate) fn for_callback(callback_ms: u32) -> RingTuning {
        RingTuning {
            target_ms: 20,
            hysteresis_ms: 5,
            prefill_ms: callback_ms + 20,
            max_gap_ms: 200,
            max_excess_ms: 15,
            max_backlog_ms: 400,
        }
    }
}

fn samples(rate: u32, ms: u32) -> usize {
    (u64::from(rate) * u64::from(ms) / 1000) as usize
}

/// What one [`RingWriter::write`] did, for the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WriteReport {
    /// Samples refused (backlog beyond `max_backlog_ms`, or the ring full).
    pub dropped: usize,
    /// Samples added (+) or removed (-) by the drift correction.
    pub corrected: i64,
}

/// The media side's end: writes frames, corrects drift.
pub(crate) struct RingWriter<P> {
    prod: P,
    target: usize,
    hysteresis: usize,
    max_backlog: usize,
    /// Least audio seen waiting before a write in this window.
    low: usize,
    frames: u32,
    /// Samples to add (+) or remove (-) per 1000 written until the next decision.
    per_mille: i64,
    /// Fractional correction carried from frame to frame (thousandths of a sample).
    carry: i64,
    stretched: Vec<f32>,
}

impl<P: Producer<Item = f32>> RingWriter<P> {
    pub(crate) fn new(prod: P, rate: u32, tuning: RingTuning) -> RingWriter<P> {
        RingWriter {
            prod,
            target: samples(rate, tuning.target_ms),
            hysteresis: samples(rate, tuning.hysteresis_ms),
            max_backlog: samples(rate, tuning.max_backlog_ms),
            low: usize::MAX,
            frames: 0,
            per_mille: 0,
            carry: 0,
            stretched: Vec::with_capacity(samples(rate, 40)),
        }
    }

    /// Samples waiting for the device now.
    pub(crate) fn buffered(&self) -> usize {
        self.prod.occupied_len()
    }

    /// Queues `frame`, stretched or shrunk by the drift correction.
    pub(crate) fn write(&mut self, frame: &[f32]) -> WriteReport {
        if frame.is_empty() {
            return WriteReport::default();
        }
        let waiting = self.prod.occupied_len();
        self.observe(waiting);
        // How many samples this frame gains or loses: per_mille of its length, the fraction
        // carried over so the average rate is exact.
        let wanted = self.per_mille * frame.len() as i64 + self.carry;
        let delta = (wanted / 1000).clamp(1 - frame.len() as i64, frame.len() as i64);
        self.carry = wanted - delta * 1000;
        let out: &[f32] = if delta == 0 || frame.len() < 2 {
            frame
        } else {
            stretch(
                frame,
                (frame.len() as i64 + delta) as usize,
                &mut self.stretched,
            );
            &self.stretched
        };
        let corrected = out.len() as i64 - frame.len() as i64;
        if waiting + out.len() > self.max_backlog {
            return WriteReport {
                dropped: out.len(),
                corrected: 0,
            };
        }
        let pushed = self.prod.push_slice(out);
        WriteReport {
            dropped: out.len() - pushed,
            corrected,
        }
    }

    /// Takes the fill seen before a write; every window, sets the correction from the
    /// window's low-water mark.
    fn observe(&mut self, waiting: usize) {
        self.low = self.low.min(waiting);
        self.frames += 1;
        if self.frames < WINDOW_FRAMES {
            return;
        }
        let low = std::mem::replace(&mut self.low, usize::MAX);
        self.frames = 0;
        let error = low as i64 - self.target as i64;
        let band = self.hysteresis as i64;
        // Proportional beyond the band, the full correction from two bands' width beyond:
        // drift is held below the reader's cut threshold (`max_excess_ms`, three bands).
        let full = (2 * band).max(1);
        let max = MAX_CORRECTION_PER_MILLE as i64;
        let size = |beyond: i64| (beyond * max / full).clamp(1, max);
        // Half the band below the target: running short risks an underrun, long only costs
        // a little delay.
        self.per_mille = if error > band {
            -size(error - band)
        } else if error < -band / 2 {
            size(-error - band / 2)
        } else {
            0
        };
    }
}

/// Resamples `input` to `len` samples by linear interpolation, first and last samples kept
/// (so consecutive frames join without a step).
fn stretch(input: &[f32], len: usize, out: &mut Vec<f32>) {
    out.clear();
    let last = input.len() - 1;
    if len < 2 {
        out.extend(input.iter().take(len));
        return;
    }
    let step = last as f64 / (len - 1) as f64;
    for j in 0..len {
        let x = j as f64 * step;
        let i = (x as usize).min(last);
        let frac = (x - i as f64) as f32;
        let a = input[i];
        let b = input[(i + 1).min(last)];
        out.push(a + (b - a) * frac);
    }
}

/// What one [`RingReader::read`] did, for the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ReadReport {
    /// Silence played because the audio was late (not counted before playout starts).
    pub silence: usize,
    /// Audio skipped: late audio after an underrun (to stay on the timeline), a stale
    /// backlog when playout starts or when it stays far above the target.
    pub skipped: usize,
}

/// Samples the reader moves per step (a stack buffer: the callback never allocates).
const READ_CHUNK: usize = 256;

/// The device callback's end: no lock, no allocation, no logging.
pub(crate) struct RingReader<C> {
    cons: C,
    prefill: usize,
    target: usize,
    excess: usize,
    max_gap: usize,
    window: usize,
    playing: bool,
    /// Silence played in place of audio not yet arrived: that much of it is skipped.
    owed: usize,
    /// The largest request seen: playout starts with that much more than the target.
    largest: usize,
    /// The largest request in this window: the ring must hold that much more than the target.
    recent_largest: usize,
    /// Least audio waiting at the start of a request in this window, and samples read in it.
    low: usize,
    seen: usize,
}

impl<C: Consumer<Item = f32>> RingReader<C> {
    pub(crate) fn new(cons: C, rate: u32, tuning: RingTuning) -> RingReader<C> {
        RingReader {
            cons,
            prefill: samples(rate, tuning.prefill_ms),
            target: samples(rate, tuning.target_ms),
            excess: samples(rate, tuning.max_excess_ms),
            max_gap: samples(rate, tuning.max_gap_ms),
            window: samples(rate, 250),
            playing: false,
            owed: 0,
            largest: 0,
            recent_largest: 0,
            low: usize::MAX,
            seen: 0,
        }
    }

    /// Produces the next `total` samples (the device's request), in pieces, through `emit`.
    pub(crate) fn read(&mut self, total: usize, mut emit: impl FnMut(&[f32])) -> ReadReport {
        let mut report = ReadReport::default();
        let mut chunk = [0.0f32; READ_CHUNK];
        self.largest = self.largest.max(total);
        let waiting = self.cons.occupied_len();
        if !self.playing {
            // Wait for a request's worth on top of the prefill, so the first requests
            // do not underrun; then start on the freshest audio.
            let start = self.prefill.max(self.largest + self.target);
            if waiting < start {
                emit_silence(total, &mut chunk, &mut emit);
                return report;
            }
            self.playing = true;
            self.owed = 0;
            self.low = usize::MAX;
            self.seen = 0;
            report.skipped += self.cons.skip(waiting - start);
        }
        self.watch_backlog(waiting, total, &mut report);
        if self.owed > 0 {
            let n = self.cons.skip(self.owed);
            self.owed -= n;
            report.skipped += n;
        }
        let mut done = 0;
        while done < total {
            let n = (total - done).min(READ_CHUNK);
            let got = self.cons.pop_slice(&mut chunk[..n]);
            chunk[got..n].fill(0.0);
            report.silence += n - got;
            emit(&chunk[..n]);
            done += n;
        }
        if report.silence > 0 {
            self.owed += report.silence;
            if self.owed > self.max_gap {
                // The writer stopped: start over with a fresh prefill, nothing owed.
                self.playing = false;
                self.owed = 0;
            }
        }
        report
    }

    /// A backlog that stayed above request + target + excess for a whole window (the device
    /// lost time, started slowly) is cut at once: one jump instead of seconds of extra delay,
    /// and the size of the jump is the time lost, so the phase after it is kept.
    fn watch_backlog(&mut self, waiting: usize, total: usize, report: &mut ReadReport) {
        self.low = self.low.min(waiting);
        self.recent_largest = self.recent_largest.max(total);
        self.seen += total;
        if self.seen < self.window {
            return;
        }
        // Before each request there must be the request plus the target.
        let keep = self.recent_largest + self.target;
        if self.low > keep + self.excess {
            report.skipped += self.cons.skip(self.low - keep);
        }
        self.low = usize::MAX;
        self.recent_largest = 0;
        self.seen = 0;
    }
}

fn emit_silence(total: usize, chunk: &mut [f32; READ_CHUNK], emit: &mut impl FnMut(&[f32])) {
    chunk.fill(0.0);
    let mut done = 0;
    while done < total {
        let n = (total - done).min(READ_CHUNK);
        emit(&chunk[..n]);
        done += n;
    }
}

#[cfg(test)]
mod tests;
