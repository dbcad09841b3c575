//! The playout ring between the media side and the device callback (sans-IO).
//!
//! The media side writes 20 ms frames on the stream task's timer; the device callback reads
//! on the sound card's clock, in its own period (10 ms, or whatever the server asks for).
//! The two clocks differ a little (drift), the task's timer jitters and a sound server may
//! lose time. A tone must come out at the pitch it went in, so no audio is dropped in blocks
//! at a cap (each such drop is a phase jump: a 660 Hz tone measured 661-677 Hz that way) and
//! every skip keeps the timeline:
//!
//! - [`RingWriter`] keeps the ring's low-water mark (the least audio ahead of the device
//!   just before a frame is written, over half a second) near one request plus a target, by
//!   stretching or shrinking frames by a few samples (linear interpolation, at most 0.2%):
//!   clock drift and a backlog left by a stall melt away without a jump in phase. "Ahead of
//!   the device" counts what is queued plus what is left of the device's last request at
//!   the time of the write (both ends take explicit time): the ring's own fill moves in
//!   whole requests and whole frames, so where the device's requests fall between two
//!   writes would make it jump by a request as the clocks slide, and a target of a few ms
//!   would then underrun. Only frames beyond 400 ms queued (the device stopped reading) are
//!   refused.
//! - [`RingReader`] (the callback's end) plays silence when the audio is late and then skips
//!   exactly as much of the late audio, so what follows stays on its original timeline (a
//!   gap, not a delay that shifts the phase of everything after). A long silence means the
//!   writer stopped (call held, ended): the reader then waits for a new prefill. The other
//!   way round, when the device loses time (its server underran and moved on, seen as a
//!   backlog that stays above request + target for a quarter second), the reader skips that
//!   much at once. It starts on the freshest audio. It never locks, allocates or logs: it
//!   only moves samples and returns counts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

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
    /// What the ring keeps beyond the device's next request: the writer aims the low-water
    /// mark at request + target. A late write lowers the mark, so lateness already seen is
    /// covered on top; the target is the cushion beyond it.
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
    /// For a device callback of `callback_ms`. Short callbacks (10 ms: PulseAudio's, on a
    /// machine that keeps up) keep 3 ms beyond the request (write-to-speaker 18.5 ms at
    /// p95); longer ones (ALSA's 20 ms, PulseAudio's after it lost time: a loaded machine,
    /// whose writer is late by more and more often) keep 10 ms.
    pub(crate) fn for_callback(callback_ms: u32) -> RingTuning {
        RingTuning {
            target_ms: if callback_ms <= 10 { 3 } else { 10 },
            hysteresis_ms: 2,
            prefill_ms: callback_ms + 20,
            max_gap_ms: 200,
            // The reader measures at its requests, which can fall just after a 20 ms write:
            // a frame more than the writer's aim before a backlog counts as lost time.
            max_excess_ms: 35,
            max_backlog_ms: 400,
        }
    }
}

fn samples(rate: u32, ms: u32) -> usize {
    (u64::from(rate) * u64::from(ms) / 1000) as usize
}

/// What the reader tells the writer: when the audio it last took runs out at the device's
/// pace (ns after `origin`), and the size of that request. Written by the callback, read by
/// the writer, both lock-free; a torn pair only nudges one window's low-water mark.
struct ReadClock {
    origin: Instant,
    runs_out_ns: AtomicU64,
    request: AtomicU64,
    /// Times playout started (first, and again after the writer stopped).
    starts: AtomicU64,
}

impl ReadClock {
    fn since_origin(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.origin).as_nanos() as u64
    }
}

/// The two ends of one playout ring, sharing the reader's clock.
pub(crate) fn ring_ends<P, C>(
    prod: P,
    cons: C,
    rate: u32,
    tuning: RingTuning,
    now: Instant,
) -> (RingWriter<P>, RingReader<C>)
where
    P: Producer<Item = f32>,
    C: Consumer<Item = f32>,
{
    let clock = Arc::new(ReadClock {
        origin: now,
        runs_out_ns: AtomicU64::new(0),
        request: AtomicU64::new(0),
        starts: AtomicU64::new(0),
    });
    (
        RingWriter::new(prod, rate, tuning, clock.clone()),
        RingReader::new(cons, rate, tuning, clock),
    )
}

/// What one [`RingWriter::write`] did, for the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WriteReport {
    /// Samples refused (backlog beyond `max_backlog_ms`, or the ring full).
    pub dropped: usize,
    /// Samples added (+) or removed (-) by the drift correction.
    pub corrected: i64,
    /// Samples left out to settle the fill once playout started (a stale prefill).
    pub skipped: usize,
}

/// The media side's end: writes frames, corrects drift.
pub(crate) struct RingWriter<P> {
    prod: P,
    target: usize,
    hysteresis: usize,
    max_backlog: usize,
    rate: u32,
    clock: Arc<ReadClock>,
    /// Least audio seen ahead of the device before a write in this window, and the largest
    /// request seen in it.
    low: usize,
    request: usize,
    /// The reader's starts seen; the first window after a start settles the fill at once.
    starts_seen: u64,
    settling: bool,
    /// Samples still to leave out of the next frames (the settling's cut).
    trim: usize,
    frames: u32,
    /// Samples to add (+) or remove (-) per 1000 written until the next decision.
    per_mille: i64,
    /// What the last window asked for.
    last_wanted: i64,
    /// Fractional correction carried from frame to frame (thousandths of a sample).
    carry: i64,
    stretched: Vec<f32>,
}

impl<P: Producer<Item = f32>> RingWriter<P> {
    fn new(prod: P, rate: u32, tuning: RingTuning, clock: Arc<ReadClock>) -> RingWriter<P> {
        RingWriter {
            prod,
            target: samples(rate, tuning.target_ms),
            hysteresis: samples(rate, tuning.hysteresis_ms),
            max_backlog: samples(rate, tuning.max_backlog_ms),
            rate,
            clock,
            low: usize::MAX,
            request: 0,
            starts_seen: 0,
            settling: false,
            trim: 0,
            frames: 0,
            per_mille: 0,
            last_wanted: 0,
            carry: 0,
            stretched: Vec::with_capacity(samples(rate, 40)),
        }
    }

    /// Samples waiting for the device now.
    pub(crate) fn buffered(&self) -> usize {
        self.prod.occupied_len()
    }

    /// Queues `frame` at `now`, stretched or shrunk by the drift correction.
    pub(crate) fn write(&mut self, now: Instant, frame: &[f32]) -> WriteReport {
        if frame.is_empty() {
            return WriteReport::default();
        }
        let waiting = self.prod.occupied_len();
        self.observe(now, waiting);
        let mut trimmed = 0;
        let frame = if self.trim > 0 {
            trimmed = self.trim.min(frame.len() - 1);
            self.trim -= trimmed;
            &frame[trimmed..]
        } else {
            frame
        };
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
                skipped: trimmed,
            };
        }
        let pushed = self.prod.push_slice(out);
        WriteReport {
            dropped: out.len() - pushed,
            corrected,
            skipped: trimmed,
        }
    }

    /// Takes the audio ahead of the device before a write (queued, plus what is left of the
    /// device's last request at `now`); every window, sets the correction from the window's
    /// low-water mark against the largest request plus the target.
    fn observe(&mut self, now: Instant, waiting: usize) {
        let starts = self.clock.starts.load(Ordering::Relaxed);
        if starts != self.starts_seen {
            // Playout (re)started on its prefill: a window of its own, then settle.
            self.starts_seen = starts;
            self.settling = true;
            self.low = usize::MAX;
            self.request = 0;
            self.frames = 0;
            self.per_mille = 0;
            self.last_wanted = 0;
        }
        let runs_out = self.clock.runs_out_ns.load(Ordering::Relaxed);
        let left_ns = runs_out.saturating_sub(self.clock.since_origin(now));
        let left = (u128::from(left_ns) * u128::from(self.rate) / 1_000_000_000) as usize;
        self.low = self.low.min(waiting + left);
        let request = self.clock.request.load(Ordering::Relaxed) as usize;
        self.request = self.request.max(request);
        self.frames += 1;
        if self.frames < WINDOW_FRAMES {
            return;
        }
        let low = std::mem::replace(&mut self.low, usize::MAX);
        let request = std::mem::replace(&mut self.request, 0);
        self.frames = 0;
        if request == 0 {
            // The device has not asked for anything yet: nothing to aim at.
            self.per_mille = 0;
            return;
        }
        let error = low as i64 - (request + self.target) as i64;
        let band = self.hysteresis as i64;
        if std::mem::take(&mut self.settling) {
            // The prefill had to cover the wait for the next frame wherever the device's
            // first request fell; what the first window shows beyond the target is cut at
            // once (one jump, as playout starts) rather than melted at 0.2% for seconds.
            if error > band {
                self.trim = error as usize;
            }
            return;
        }
        // Proportional beyond the band, the full correction from two bands' width beyond:
        // drift is held well below the reader's cut threshold (`max_excess_ms`).
        let full = (2 * band).max(1);
        let max = MAX_CORRECTION_PER_MILLE as i64;
        let size = |beyond: i64| (beyond * max / full).clamp(1, max);
        // Half the band below the target: running short risks an underrun, long only costs
        // a little delay.
        let wanted = if error > band {
            -size(error - band)
        } else if error < -band / 2 {
            size(-error - band / 2)
        } else {
            0
        };
        // Drift moves the mark window after window; a stall (a late writer, a busy machine)
        // dips it in one window and is the reader's business (silence, then the late audio
        // skipped). So a correction starts only when two windows in a row ask for it.
        let confirmed = wanted.signum() == self.last_wanted.signum();
        self.last_wanted = wanted;
        self.per_mille = if confirmed { wanted } else { 0 };
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
    /// Whether this read cut a backlog that stayed far above the target: the device lost
    /// time (its server underran on its side and moved on).
    pub device_lost_time: bool,
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
    rate: u32,
    clock: Arc<ReadClock>,
    /// Least audio waiting at the start of a request in this window, and samples read in it.
    low: usize,
    seen: usize,
}

impl<C: Consumer<Item = f32>> RingReader<C> {
    fn new(cons: C, rate: u32, tuning: RingTuning, clock: Arc<ReadClock>) -> RingReader<C> {
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
            rate,
            clock,
            low: usize::MAX,
            seen: 0,
        }
    }

    /// Produces the next `total` samples (the device's request at `now`), in pieces, through
    /// `emit`.
    pub(crate) fn read(
        &mut self,
        now: Instant,
        total: usize,
        mut emit: impl FnMut(&[f32]),
    ) -> ReadReport {
        let mut report = ReadReport::default();
        let lasts_ns = total as u64 * 1_000_000_000 / u64::from(self.rate.max(1));
        let runs_out = self.clock.since_origin(now) + lasts_ns;
        self.clock.runs_out_ns.store(runs_out, Ordering::Relaxed);
        if self.playing {
            // Not the requests of a start: a server asks for its whole buffer then (two
            // periods), which playout does not have to be ready for again.
            self.clock.request.store(total as u64, Ordering::Relaxed);
        }
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
            self.clock.starts.fetch_add(1, Ordering::Relaxed);
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
            report.device_lost_time = true;
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
