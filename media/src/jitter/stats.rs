//! [`JitterStats`]: what the buffer did, for logs, RTCP XR and tests.

use std::time::Duration;

/// Counters since the buffer was created (an SSRC change resets the stream, not these).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JitterStats {
    /// Packets handed to `insert`.
    pub packets: u64,
    /// Packets seen before (same sequence number or timestamp).
    pub duplicates: u64,
    /// Packets that arrived after one with a higher sequence number.
    pub reordered: u64,
    /// Packets that arrived after their turn had passed (dropped).
    pub late_dropped: u64,
    /// Packets dropped because the buffer was full.
    pub overflow: u64,
    /// Packets dropped as off the timeline (timestamp jump; see `resync_after`).
    pub outliers: u64,
    /// Stream restarts: SSRC changes and timeline resyncs.
    pub resets: u64,
    /// Frames returned as `Playout::Frame`.
    pub played: u64,
    /// Frames concealed because their packet was missing (lost or late), including
    /// `recovered` and underruns.
    pub concealed: u64,
    /// Of `concealed`: the next packet was there (`Playout::Recover`).
    pub recovered: u64,
    /// Of `concealed`: the buffer was empty (the timeline waited for the packet).
    pub underruns: u64,
    /// Frames returned as `Playout::Silence` (buffering, or concealment gave up).
    pub silence: u64,
    /// Accelerate hints given, and their total in samples.
    pub accelerated: u64,
    /// See `accelerated`.
    pub accelerated_samples: u64,
    /// Preemptive-expand hints given, and their total in samples.
    pub expanded: u64,
    /// See `expanded`.
    pub expanded_samples: u64,
    /// Whole frames dropped to shrink the delay.
    pub frames_dropped: u64,
    /// Whole frames concealed on purpose to grow the delay (not in `concealed`).
    pub frames_inserted: u64,
    /// Sender clock against ours (positive: sender fast), once estimated.
    pub drift_ppm: Option<f64>,
    /// Duration of one frame, to turn counts into time.
    pub frame: Duration,
}

impl JitterStats {
    /// Audio time concealed (loss, lateness, underrun; not deliberate inserts).
    pub fn concealed_time(&self) -> Duration {
        self.frame * self.concealed.min(u32::MAX as u64) as u32
    }

    /// Fraction of received (non-duplicate) packets that came too late to play.
    pub fn late_ratio(&self) -> f64 {
        let n = self.packets.saturating_sub(self.duplicates);
        if n == 0 {
            0.0
        } else {
            self.late_dropped as f64 / n as f64
        }
    }
}
