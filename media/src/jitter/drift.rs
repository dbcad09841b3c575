//! Drift compensation: the base transit time (the fastest recent path), which clock drift
//! and route changes move, and an estimate of the drift itself.
//!
//! A packet's transit is `arrival - timestamp` in clock ticks: network delay plus an offset
//! between the two clocks. Its minimum over a sliding window (10 s; NetEq's relative delay
//! takes 2 s, which moves under jitter) is the base the buffer measures delays from, so when the sender's clock runs fast
//! or slow against ours the base follows (the transit shrinks or grows by the drift) and the
//! buffer's delay, measured from the base, grows or shrinks: the playout decision then
//! accelerates / drops, or stretches / inserts, to bring it back to the target. The slope of
//! the base over minutes is the drift, reported in the stats.

use std::collections::VecDeque;

/// Sub-windows of the sliding minimum.
const SLOTS: i64 = 8;
/// Long-term segments for the drift estimate: 10 s each, the last 30 (5 minutes).
const SEGMENT_MS: i64 = 10_000;
const SEGMENTS: usize = 30;

#[derive(Debug, Clone)]
pub(crate) struct BaseTransit {
    slot_ticks: i64,
    /// (slot index of arrival time, min transit in it), oldest first, at most `SLOTS`.
    slots: VecDeque<(i64, i64)>,
    base: Option<i64>,
    segment_ticks: i64,
    /// Current segment: (index, min transit).
    segment: Option<(i64, i64)>,
    /// Closed segments: (middle of the segment in ticks, min transit).
    history: VecDeque<(i64, i64)>,
    drift_ppm: Option<f64>,
}

impl BaseTransit {
    /// `window_ticks`: length of the sliding minimum; `ticks_per_ms` to size the segments.
    pub(crate) fn new(window_ticks: i64, ticks_per_ms: i64) -> Self {
        BaseTransit {
            slot_ticks: (window_ticks / SLOTS).max(1),
            slots: VecDeque::with_capacity(SLOTS as usize + 1),
            base: None,
            segment_ticks: SEGMENT_MS * ticks_per_ms.max(1),
            segment: None,
            history: VecDeque::with_capacity(SEGMENTS + 1),
            drift_ppm: None,
        }
    }

    /// A packet with `transit` arrived at `arrival` (ticks since the buffer's epoch).
    pub(crate) fn update(&mut self, arrival: i64, transit: i64) {
        let slot = arrival.div_euclid(self.slot_ticks);
        match self.slots.back_mut() {
            Some((s, m)) if *s == slot => *m = (*m).min(transit),
            _ => self.slots.push_back((slot, transit)),
        }
        while self.slots.front().is_some_and(|(s, _)| *s <= slot - SLOTS) {
            self.slots.pop_front();
        }
        self.base = self.slots.iter().map(|(_, m)| *m).min();
        self.track_drift(arrival, transit);
    }

    /// The minimum transit over the window (`None` before the first packet).
    pub(crate) fn base(&self) -> Option<i64> {
        self.base
    }

    /// Sender clock against ours, in parts per million (positive: the sender runs fast),
    /// once a minute of segments has been seen.
    pub(crate) fn drift_ppm(&self) -> Option<f64> {
        self.drift_ppm
    }

    pub(crate) fn reset(&mut self) {
        self.slots.clear();
        self.base = None;
        self.segment = None;
        self.history.clear();
        self.drift_ppm = None;
    }

    fn track_drift(&mut self, arrival: i64, transit: i64) {
        let seg = arrival.div_euclid(self.segment_ticks);
        match &mut self.segment {
            Some((s, m)) if *s == seg => *m = (*m).min(transit),
            Some((s, m)) => {
                let closed = (*s * self.segment_ticks + self.segment_ticks / 2, *m);
                self.segment = Some((seg, transit));
                self.history.push_back(closed);
                if self.history.len() > SEGMENTS {
                    self.history.pop_front();
                }
                self.drift_ppm = slope(&self.history).map(|s| -s * 1e6);
            }
            None => self.segment = Some((seg, transit)),
        }
    }
}

/// Least-squares slope of y over x, with at least 6 points.
fn slope(points: &VecDeque<(i64, i64)>) -> Option<f64> {
    if points.len() < 6 {
        return None;
    }
    let n = points.len() as f64;
    let (x0, y0) = points[0];
    let (mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0);
    for &(x, y) in points {
        let (x, y) = ((x - x0) as f64, (y - y0) as f64);
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
    }
    let d = n * sxx - sx * sx;
    (d > 0.0).then(|| (n * sxy - sx * sy) / d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_is_the_minimum_of_the_window() {
        // 8 kHz: 2 s window = 16000 ticks, slots of 2000.
        let mut b = BaseTransit::new(16000, 8);
        b.update(0, 500);
        b.update(160, 400);
        b.update(320, 900);
        assert_eq!(b.base(), Some(400));
        // 2 s later the 400 has left the window.
        b.update(16_000 + 2000, 700);
        assert_eq!(b.base(), Some(700));
    }

    #[test]
    fn drift_of_a_fast_sender_is_measured() {
        // Sender 100 ppm fast: its timestamps gain 0.8 ticks per 8000, so transit falls.
        let mut b = BaseTransit::new(16000, 8);
        for k in 0..(8 * 60 * 50) {
            let ts = k * 160;
            let arrival = (ts as f64 / 1.0001) as i64;
            b.update(arrival, arrival - ts);
        }
        let ppm = b.drift_ppm().expect("8 minutes of segments");
        assert!((ppm - 100.0).abs() < 5.0, "{ppm}");
    }
}
