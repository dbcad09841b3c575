//! The delay estimator: a histogram of relative arrival delays with exponential forgetting
//! (NetEq's `DelayManager`), whose upper quantile is the target delay.
//!
//! A packet's relative delay is how much later it arrived than the fastest packet of the
//! last seconds would have put it (see [`super::drift`]); a buffer holding that much audio
//! plays such a packet on time.

/// Histogram of relative delays in 1 ms buckets.
#[derive(Debug, Clone)]
pub(crate) struct DelayHistogram {
    buckets: Vec<f64>,
    bucket_ticks: i64,
    total: f64,
    /// Weight of the next sample; grows by `1 / forget` per sample once warmed up, which is
    /// the same as multiplying every bucket by `forget` (NetEq) but O(1).
    weight: f64,
    forget: f64,
    count: u64,
    warmup: u64,
}

/// Weights are rescaled before they could lose precision.
const RESCALE_ABOVE: f64 = 1e100;

impl DelayHistogram {
    /// `ticks_per_ms` clock ticks per bucket, `max_ticks` range (larger delays go in the last
    /// bucket).
    pub(crate) fn new(ticks_per_ms: i64, max_ticks: i64, forget: f64) -> Self {
        let bucket_ticks = ticks_per_ms.max(1);
        let n = (max_ticks / bucket_ticks + 1).max(1) as usize;
        DelayHistogram {
            buckets: vec![0.0; n],
            bucket_ticks,
            total: 0.0,
            weight: 1.0,
            forget,
            count: 0,
            warmup: (1.0 / (1.0 - forget)).round() as u64,
        }
    }

    pub(crate) fn add(&mut self, relative_ticks: i64) {
        let i = ((relative_ticks.max(0) / self.bucket_ticks) as usize).min(self.buckets.len() - 1);
        if self.count >= self.warmup {
            self.weight /= self.forget;
        }
        self.count += 1;
        self.buckets[i] += self.weight;
        self.total += self.weight;
        if self.weight > RESCALE_ABOVE {
            let k = 1.0 / self.weight;
            self.buckets.iter_mut().for_each(|b| *b *= k);
            self.total *= k;
            self.weight = 1.0;
        }
    }

    /// Samples added so far.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// The lower edge of the bucket where the cumulative weight reaches `q`, in ticks
    /// (0 when empty).
    pub(crate) fn quantile(&self, q: f64) -> i64 {
        if self.count == 0 {
            return 0;
        }
        let threshold = q * self.total;
        let mut acc = 0.0;
        for (i, b) in self.buckets.iter().enumerate() {
            acc += b;
            if acc >= threshold {
                // Bucket 0 holds delays under 1 ms: on a clean network that means none.
                return i as i64 * self.bucket_ticks;
            }
        }
        (self.buckets.len() as i64 - 1) * self.bucket_ticks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_of_uniform_delays() {
        let mut h = DelayHistogram::new(8, 8000, 0.99999); // plain average
        for i in 0..4000 {
            h.add((i % 100) * 8); // 0..99 ms uniformly
        }
        assert_eq!(h.quantile(0.95), 94 * 8);
        assert_eq!(h.quantile(0.5), 49 * 8);
    }

    #[test]
    fn clean_network_gives_zero_and_overflow_clamps() {
        let mut h = DelayHistogram::new(8, 800, 0.99);
        assert_eq!(h.quantile(0.95), 0);
        for _ in 0..100 {
            h.add(0);
        }
        assert_eq!(h.quantile(0.95), 0);
        h.add(1_000_000);
        assert_eq!(h.quantile(1.0 - 1e-9), 800);
    }

    #[test]
    fn old_delays_are_forgotten() {
        let mut h = DelayHistogram::new(8, 8000, 0.99);
        for _ in 0..1000 {
            h.add(80 * 8);
        }
        assert_eq!(h.quantile(0.95), 80 * 8);
        for _ in 0..1000 {
            h.add(10 * 8);
        }
        assert_eq!(h.quantile(0.95), 10 * 8);
        // And rescaling keeps working over a long run.
        for _ in 0..100_000 {
            h.add(20 * 8);
        }
        assert_eq!(h.quantile(0.95), 20 * 8);
    }
}
