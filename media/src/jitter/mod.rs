//! Adaptive jitter buffer, sans-IO and NetEq-like: RTP frames in as they arrive, one frame
//! (or a concealment instruction) out per pull of the audio clock.
//!
//! # Use
//!
//! ```
//! use media::{JitterBuffer, JitterConfig, Playout, ReceivedFrame};
//! use std::time::{Duration, Instant};
//!
//! let t0 = Instant::now();
//! let mut jb = JitterBuffer::new(JitterConfig::g711()).expect("valid config");
//! // The socket task, for each RTP packet of the negotiated payload type:
//! jb.insert(t0, ReceivedFrame { seq: 7, timestamp: 160, ssrc: 1, marker: true, payload: vec![0xFF; 160] });
//! // The audio clock, once per 20 ms frame:
//! match jb.pull(t0 + Duration::from_millis(20)) {
//!     Playout::Frame { payload, time_scale, .. } => { /* decode, apply time_scale, play */ }
//!     Playout::Conceal { .. } => { /* decoder PLC for one frame */ }
//!     Playout::Recover { next_payload, .. } => { /* FEC from the next packet, else PLC */ }
//!     Playout::Silence => { /* nothing to play yet: write silence */ }
//! }
//! ```
//!
//! - [`JitterBuffer::insert`]`(now, frame)`: a received packet. Sequence numbers and
//!   timestamps are unwrapped (wrap at 65535 and 2^32), duplicates and packets whose turn has
//!   passed are counted and dropped, a new SSRC restarts the stream (the delay estimate is
//!   kept: same network path), and a timestamp jump of more than
//!   [`JitterConfig::resync_after`] restarts the timeline after three packets agree.
//! - [`JitterBuffer::pull`]`(now)` once per frame duration: a [`Playout`]. Each
//!   `Frame`/`Conceal`/`Recover` stands for one frame of audio; `Silence` for one frame of
//!   nothing (buffering at the start, or after [`JitterConfig::max_conceal`] of continuous
//!   concealment, when the buffer re-buffers).
//! - [`JitterBuffer::target_delay`], [`JitterBuffer::current_delay`],
//!   [`JitterBuffer::stats`].
//!
//! Every packet is assumed to carry one frame ([`JitterConfig::frame`]) of audio.
//!
//! # Delay and how it adapts
//!
//! Delays are measured from the *base transit*: the smallest `arrival - timestamp` over the
//! last 10 s ([`drift`]), i.e. from when the packet would have arrived over the fastest
//! recent path. A packet's *relative delay* (how much later than that it came) goes into a
//! histogram with exponential forgetting ([`estimator`]); the target delay is its
//! [`JitterConfig::quantile`] (0.97) plus [`JitterConfig::headroom`] of it (20%), within
//! `min_delay..max_delay`. The current delay is `now - base - timestamp` of the frame being
//! played: how long after its fastest possible arrival it is heard. The [`decision`] keeps
//! it near the target:
//!
//! - [`Adaptation::Frames`] (default): a whole frame is dropped when the delay is 1.25
//!   frames over the target, a concealed frame inserted when it is a quarter frame under.
//!   Pulls are strictly periodic, the audio layer needs no time stretching.
//! - [`Adaptation::TimeStretch`]: each `Frame` carries a [`TimeScale`] hint, up to a quarter
//!   frame per frame, to shrink (accelerate) or stretch (preemptive expand) the decoded
//!   audio, as NetEq does. The audio layer then plays more or less than a frame per pull,
//!   so it keeps a queue of decoded samples, feeds the device from it in its own periods
//!   (5-10 ms callbacks) and calls [`JitterBuffer::pull_with_queue`]`(now, queued)` whenever
//!   the queue holds less than a device period. The buffer accelerates only when the next
//!   packet is already held (a shorter frame brings the next pull forward), and also shrinks
//!   away audio left queued ahead of a frame (pure latency). Whole-frame drop/insert stays
//!   as the last resort (3 frames over, 2 under).
//!
//! The target's floor is [`JitterConfig::min_delay`] until the first loss, then
//! [`JitterConfig::min_delay_after_loss`] (Opus: one frame, so in-band FEC has the next
//! packet in hand; a clean network does not pay for it). The first loss itself is concealed;
//! the raised target then inserts one concealed frame to grow the delay.
//!
//! With pulls on a device clock and packets decoded whole, the delay can only take values
//! on the device's period grid: frame mode reaches the target within one frame (it sits in
//! `target..target + frame`), time-stretch mode within one device period.
//!
//! Clock drift needs nothing more: a fast sender's timestamps outrun our clock, the base
//! transit falls, the delay grows and is shrunk back; a slow one the other way round.
//!
//! # Missing packets
//!
//! If the due packet is missing but a later one is held, the frame is lost (or late): the
//! buffer answers `Recover` when the next packet is there (Opus in-band FEC), else
//! `Conceal`, and moves on. If nothing at all is held (underrun) it answers `Conceal` but
//! the timeline waits (NetEq's expand): a late packet then still plays, one frame later,
//! and a lost one is skipped once the next arrives without concealing twice.
//!
//! The submodules, one job each: [`config`], [`seq`] (unwrapping, duplicates), [`store`]
//! (timestamp-ordered packets), [`estimator`] (delay histogram), [`drift`] (base transit,
//! drift estimate), [`decision`] (what to do with the due packet), [`stats`].

pub mod config;
mod decision;
mod drift;
mod estimator;
mod seq;
pub mod stats;
mod store;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

pub use config::{Adaptation, ConfigError, JitterConfig};
pub use decision::TimeScale;
pub use stats::JitterStats;

use decision::{decide, Decision};
use drift::BaseTransit;
use estimator::DelayHistogram;
use seq::{Seen, SeenWindow, Unwrapper};
use store::{PacketStore, Stored};

/// An RTP packet of the stream's audio payload type, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedFrame {
    /// RTP sequence number.
    pub seq: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// RTP SSRC.
    pub ssrc: u32,
    /// RTP marker bit.
    pub marker: bool,
    /// The payload, as sent.
    pub payload: Vec<u8>,
}

/// What happened to an inserted packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Held for playout.
    Stored,
    /// Seen before: dropped.
    Duplicate,
    /// Its turn has passed: dropped (its delay still counts towards the target).
    Late,
    /// Off the timeline (timestamp jump not yet confirmed): dropped.
    Outlier,
}

/// One frame of output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playout {
    /// Decode and play `payload`, shrunk or stretched as `time_scale` says.
    Frame {
        /// Its sequence number.
        seq: u16,
        /// Its RTP timestamp.
        timestamp: u32,
        /// Its marker bit.
        marker: bool,
        /// The payload to decode.
        payload: Vec<u8>,
        /// How to shrink or stretch it.
        time_scale: TimeScale,
    },
    /// Run the decoder's packet-loss concealment for one frame. `timestamp`: the missing
    /// frame's, or for an underrun or a deliberate insert the frame still awaited.
    Conceal {
        /// The timestamp of the frame concealed.
        timestamp: u32,
    },
    /// The frame at `timestamp` is missing but the next packet is held: recover it from the
    /// next packet's in-band FEC (Opus), or conceal. The next packet is still played next.
    Recover {
        /// The missing frame's timestamp.
        timestamp: u32,
        /// The next packet's sequence number.
        next_seq: u16,
        /// The next packet's payload (carrying the FEC).
        next_payload: Vec<u8>,
    },
    /// Nothing to play (buffering): output silence.
    Silence,
}

impl Playout {
    /// The time-scale hint (Normal except on some `Frame`s in time-stretch mode).
    pub fn time_scale(&self) -> TimeScale {
        match self {
            Playout::Frame { time_scale, .. } => *time_scale,
            _ => TimeScale::Normal,
        }
    }
}

/// Packets seen before the target may go below `initial_delay`.
const WARMUP_PACKETS: u64 = 50;
/// Timestamp jumps are confirmed by this many packets in a row.
const RESYNC_PACKETS: u32 = 3;
/// Window of the base transit's sliding minimum. Long enough that its minimum holds still
/// under jitter (over 2 s, 100 packets, the minimum of a 40 ms jitter moved by 10-20 ms as
/// packets left the window, and each move dropped or inserted a frame mid-speech), short
/// enough to follow clock drift (100 ppm is 1 ms per 10 s) and route changes.
const BASE_WINDOW: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting until the first held packet has been delayed by the target.
    Buffering,
    Playing,
}

/// The adaptive jitter buffer. See the [module doc](self).
#[derive(Debug, Clone)]
pub struct JitterBuffer {
    cfg: JitterConfig,
    /// Clock ticks (samples) per frame.
    frame: i64,
    epoch: Option<Instant>,
    ssrc: Option<u32>,
    seqs: Unwrapper,
    timestamps: Unwrapper,
    seen: SeenWindow,
    store: PacketStore,
    base: BaseTransit,
    hist: DelayHistogram,
    target: i64,
    /// Lower bound of `target`, in ticks: `min_delay`, then `min_delay_after_loss`.
    floor: i64,
    /// A frame has been lost (the floor was raised).
    loss_seen: bool,
    state: State,
    /// Unwrapped timestamp of the frame due next (`None` before the first playout).
    play_ts: Option<i64>,
    /// Frames concealed in a row with an empty buffer (the timeline waits meanwhile).
    stalled: i64,
    outliers_in_row: u32,
    delay: i64,
    stats: JitterStats,
}

impl JitterBuffer {
    /// A buffer with `cfg`; errors name the setting out of range.
    pub fn new(cfg: JitterConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let rate = cfg.clock_rate as i64;
        let ticks_per_ms = (rate / 1000).max(1);
        let frame = cfg.frame_samples() as i64;
        let max_ticks = to_ticks(cfg.max_delay, rate);
        let window = to_ticks(BASE_WINDOW, rate);
        let floor = to_ticks(cfg.min_delay, rate);
        let target = to_ticks(cfg.initial_delay, rate).clamp(floor, max_ticks);
        Ok(JitterBuffer {
            frame,
            epoch: None,
            ssrc: None,
            seqs: Unwrapper::default(),
            timestamps: Unwrapper::default(),
            seen: SeenWindow::default(),
            store: PacketStore::with_capacity(cfg.max_packets + 1),
            base: BaseTransit::new(window, ticks_per_ms),
            hist: DelayHistogram::new(ticks_per_ms, max_ticks, cfg.forget),
            target,
            floor,
            loss_seen: false,
            state: State::Buffering,
            play_ts: None,
            stalled: 0,
            outliers_in_row: 0,
            delay: 0,
            stats: JitterStats {
                frame: cfg.frame,
                ..JitterStats::default()
            },
            cfg,
        })
    }

    /// Its settings.
    pub fn config(&self) -> &JitterConfig {
        &self.cfg
    }

    /// The delay the buffer aims at (from the fastest recent arrival to playout).
    pub fn target_delay(&self) -> Duration {
        self.duration(self.target)
    }

    /// Whether a frame has been lost (and the target's floor raised to
    /// [`JitterConfig::min_delay_after_loss`]).
    pub fn loss_seen(&self) -> bool {
        self.loss_seen
    }

    /// The delay of the frame due at the last pull, from its fastest possible arrival to the
    /// pull (audio the caller still had queued comes on top).
    pub fn current_delay(&self) -> Duration {
        self.duration(self.delay)
    }

    /// Packets held.
    pub fn buffered(&self) -> usize {
        self.store.len()
    }

    /// Its counters so far.
    pub fn stats(&self) -> JitterStats {
        JitterStats {
            drift_ppm: self.base.drift_ppm(),
            ..self.stats.clone()
        }
    }

    /// A packet arrived at `now`.
    pub fn insert(&mut self, now: Instant, p: ReceivedFrame) -> Inserted {
        let t = self.ticks(now);
        self.stats.packets += 1;
        if self.ssrc != Some(p.ssrc) {
            if self.ssrc.is_some() {
                self.reset_stream();
            }
            self.ssrc = Some(p.ssrc);
        }
        let seq = self.seqs.seq(p.seq);
        match self.seen.mark(seq) {
            Seen::Duplicate => {
                self.stats.duplicates += 1;
                return Inserted::Duplicate;
            }
            Seen::TooOld => {
                self.stats.late_dropped += 1;
                return Inserted::Late;
            }
            Seen::New { reordered } => self.stats.reordered += reordered as u64,
        }
        let ts = self.timestamps.timestamp(p.timestamp);
        let transit = t - ts;
        if let Some(base) = self.base.base() {
            if (transit - base).abs() > to_ticks(self.cfg.resync_after, self.rate()) {
                self.outliers_in_row += 1;
                if self.outliers_in_row < RESYNC_PACKETS {
                    self.stats.outliers += 1;
                    return Inserted::Outlier;
                }
                self.restart_timeline();
            } else {
                self.outliers_in_row = 0;
            }
        }
        self.base.update(t, transit);
        let base = self.base.base().unwrap_or(transit);
        self.hist.add(transit - base);
        self.update_target();
        if self.play_ts.is_some_and(|play| ts < play - self.frame / 2) {
            self.stats.late_dropped += 1;
            return Inserted::Late;
        }
        let stored = Stored {
            ts,
            seq: p.seq,
            timestamp: p.timestamp,
            marker: p.marker,
            payload: p.payload,
        };
        if !self.store.insert(stored) {
            self.stats.duplicates += 1;
            return Inserted::Duplicate;
        }
        if self.store.len() > self.cfg.max_packets {
            self.store.pop_front();
            self.stats.overflow += 1;
        }
        Inserted::Stored
    }

    /// The audio clock wants the next frame at `now` (the device clock's reading).
    pub fn pull(&mut self, now: Instant) -> Playout {
        self.pull_with_queue(now, 0)
    }

    /// [`pull`](Self::pull) for an audio layer that keeps decoded audio queued ahead of the
    /// device ([`Adaptation::TimeStretch`]): `queued` samples (of the RTP clock) will play
    /// before the returned frame. It is latency the buffer then shrinks away.
    pub fn pull_with_queue(&mut self, now: Instant, queued: u32) -> Playout {
        let queued = queued as i64;
        let t = self.ticks(now);
        let base = self.base.base().unwrap_or(0);
        if self.state == State::Buffering {
            let Some(front) = self.store.front().map(|p| p.ts) else {
                return self.silence();
            };
            self.delay = t - base - front;
            if self.delay < self.target {
                return self.silence();
            }
            self.state = State::Playing;
            self.play_ts = Some(front);
            self.stalled = 0;
        }
        let mut play = self.play_ts.unwrap_or(0);
        let half = self.frame / 2;
        let Some(front) = self.store.front().map(|p| p.ts) else {
            // Underrun: conceal, the timeline waits for the packet.
            self.delay = t - base - play;
            self.stalled += 1;
            if self.stalled * self.frame > to_ticks(self.cfg.max_conceal, self.rate()) {
                self.state = State::Buffering;
                return self.silence();
            }
            self.stats.concealed += 1;
            self.stats.underruns += 1;
            return Playout::Conceal {
                timestamp: play as u32,
            };
        };
        if front > play + half && self.stalled > 0 {
            // The frames concealed while the buffer was empty stand in for the hole.
            play = (play + self.stalled * self.frame).min(front);
            self.on_loss();
        }
        self.stalled = 0;
        if front > play + half {
            // A hole: lost or late. Conceal it and move on.
            self.on_loss();
            self.stats.concealed += 1;
            self.delay = t - base - play;
            self.play_ts = Some(play + self.frame);
            return match self.store.front() {
                Some(next) if next.ts <= play + self.frame + half => {
                    self.stats.recovered += 1;
                    Playout::Recover {
                        timestamp: play as u32,
                        next_seq: next.seq,
                        next_payload: next.payload.clone(),
                    }
                }
                _ => Playout::Conceal {
                    timestamp: play as u32,
                },
            };
        }
        // The due packet is here (realign on its timestamp).
        self.delay = t - base - front;
        let err = self.delay - self.target;
        let next_ready = self
            .store
            .second()
            .is_some_and(|n| n.ts <= front + self.frame + half);
        let time_scale = match decide(self.cfg.adaptation, err, self.frame, queued, next_ready) {
            Decision::Insert => {
                self.stats.frames_inserted += 1;
                self.play_ts = Some(front);
                return Playout::Conceal {
                    timestamp: front as u32,
                };
            }
            Decision::DropThenPlay => {
                self.store.pop_front();
                self.stats.frames_dropped += 1;
                TimeScale::Normal
            }
            Decision::Play(ts) => ts,
        };
        match time_scale {
            TimeScale::Accelerate { samples } => {
                self.stats.accelerated += 1;
                self.stats.accelerated_samples += samples as u64;
            }
            TimeScale::Expand { samples } => {
                self.stats.expanded += 1;
                self.stats.expanded_samples += samples as u64;
            }
            TimeScale::Normal => {}
        }
        let p = self
            .store
            .pop_front()
            .expect("front exists, and after a drop next_ready said a second one does");
        self.play_ts = Some(p.ts + self.frame);
        self.stats.played += 1;
        Playout::Frame {
            seq: p.seq,
            timestamp: p.timestamp,
            marker: p.marker,
            payload: p.payload,
            time_scale,
        }
    }

    fn silence(&mut self) -> Playout {
        self.stats.silence += 1;
        Playout::Silence
    }

    /// The target from the histogram, from the first packet on: while it holds fewer than
    /// `WARMUP_PACKETS` the target does not go below `initial_delay`, after that it follows
    /// the histogram alone. (Waiting for the warm-up with a fixed target let the first
    /// second's jitter through as late packets: the first word of a call.)
    fn update_target(&mut self) {
        let q = self.hist.quantile(self.cfg.quantile);
        let with_headroom = q + (q as f64 * self.cfg.headroom) as i64;
        let least = if self.hist.count() < WARMUP_PACKETS {
            self.floor
                .max(to_ticks(self.cfg.initial_delay, self.rate()))
        } else {
            self.floor
        };
        self.target = with_headroom.clamp(least, to_ticks(self.cfg.max_delay, self.rate()));
    }

    /// A frame went missing: from now on the target keeps the after-loss floor.
    fn on_loss(&mut self) {
        if self.loss_seen {
            return;
        }
        self.loss_seen = true;
        self.floor = self
            .floor
            .max(to_ticks(self.cfg.min_delay_after_loss, self.rate()));
        self.target = self.target.max(self.floor);
    }

    /// New SSRC: a new stream (the delay estimate is kept).
    fn reset_stream(&mut self) {
        self.seqs.reset();
        self.timestamps.reset();
        self.seen.reset();
        self.play_ts = None;
        self.restart_timeline();
    }

    /// Timestamps no longer relate to the old timeline: start buffering afresh.
    fn restart_timeline(&mut self) {
        self.stats.resets += 1;
        self.store.clear();
        self.base.reset();
        self.state = State::Buffering;
        self.play_ts = None;
        self.stalled = 0;
        self.outliers_in_row = 0;
    }

    fn rate(&self) -> i64 {
        self.cfg.clock_rate as i64
    }

    fn ticks(&mut self, now: Instant) -> i64 {
        let epoch = *self.epoch.get_or_insert(now);
        let ns = now.saturating_duration_since(epoch).as_nanos();
        (ns * self.cfg.clock_rate as u128 / 1_000_000_000) as i64
    }

    fn duration(&self, ticks: i64) -> Duration {
        Duration::from_nanos(
            (ticks.max(0) as u64).saturating_mul(1_000_000_000) / self.rate() as u64,
        )
    }
}

fn to_ticks(d: Duration, rate: i64) -> i64 {
    (d.as_nanos() * rate as u128 / 1_000_000_000) as i64
}
