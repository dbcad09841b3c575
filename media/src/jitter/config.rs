//! [`JitterConfig`]: clock rate, frame duration and the knobs of the delay policy.

use std::time::Duration;

/// How the buffer may change the playout delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Adaptation {
    /// Whole frames only: drop one frame to shrink the delay, conceal one extra frame to
    /// grow it. Works with any audio layer (pull strictly once per frame).
    #[default]
    Frames,
    /// Time-scale hints ([`TimeScale`](super::TimeScale)): the audio layer shrinks or
    /// stretches decoded frames (WSOLA, as NetEq's accelerate / preemptive expand), keeps
    /// the result in a queue and pulls with
    /// [`pull_with_queue`](super::JitterBuffer::pull_with_queue) (see the module doc).
    /// Whole-frame drop/insert stays as a last resort.
    TimeStretch,
}

/// Configuration of a [`JitterBuffer`](super::JitterBuffer).
#[derive(Debug, Clone, PartialEq)]
pub struct JitterConfig {
    /// RTP clock rate in Hz: 8000 for G.711, 48000 for Opus.
    pub clock_rate: u32,
    /// Duration of one packet and of one pull (10, 20, 30, 40, 60 ms...).
    pub frame: Duration,
    /// Least target while the histogram has too few packets to be trusted (the first 50).
    pub initial_delay: Duration,
    /// Lower bound of the target delay.
    pub min_delay: Duration,
    /// Lower bound of the target once a packet has been lost (raised from `min_delay` at
    /// the first loss, for the rest of the stream). Opus sets one frame: in-band FEC rebuilds
    /// a lost frame from the next packet, which must then be in hand; a clean network never
    /// pays for it.
    pub min_delay_after_loss: Duration,
    /// Upper bound of the target delay (and range of the delay histogram).
    pub max_delay: Duration,
    /// Quantile of the relative arrival delay the target covers (NetEq: 0.95-0.97). 0.97:
    /// under 40 ms of jitter 0.95 left 2.5-4% of packets late, each a concealed frame.
    pub quantile: f64,
    /// Extra delay on top of the quantile, as a fraction of it (0.2: target = 1.2 x q97), so
    /// a clean network gets no extra delay and a jittery one a proportional safety margin.
    pub headroom: f64,
    /// Per-packet forgetting factor of the delay histogram (NetEq: 0.9993, a memory of
    /// ~1400 packets); the first `1 / (1 - forget)` packets are averaged plainly.
    pub forget: f64,
    /// How delay changes are made.
    pub adaptation: Adaptation,
    /// After this much continuous concealment (buffer empty) the buffer answers
    /// [`Playout::Silence`](super::Playout::Silence) instead of asking for more PLC.
    pub max_conceal: Duration,
    /// Packets held at most; the oldest is dropped beyond (counted in `overflow`).
    pub max_packets: usize,
    /// A packet whose arrival is off its timeline by more than this (timestamp jump) is
    /// dropped; three in a row restart the timeline.
    pub resync_after: Duration,
}

impl JitterConfig {
    /// Defaults for `clock_rate` Hz and `frame_ms` ms frames.
    pub fn new(clock_rate: u32, frame_ms: u32) -> Self {
        JitterConfig {
            clock_rate,
            frame: Duration::from_millis(frame_ms as u64),
            ..JitterConfig::default()
        }
    }

    /// G.711: 8 kHz, 20 ms.
    pub fn g711() -> Self {
        JitterConfig::new(8000, 20)
    }

    /// Opus: 48 kHz (RTP clock), 20 ms.
    pub fn opus() -> Self {
        JitterConfig::new(48000, 20)
    }

    /// These settings with adaptation `a`.
    pub fn adaptation(mut self, a: Adaptation) -> Self {
        self.adaptation = a;
        self
    }

    /// Samples (clock ticks) in one frame.
    pub fn frame_samples(&self) -> u32 {
        (self.frame.as_nanos() * self.clock_rate as u128 / 1_000_000_000) as u32
    }

    /// Checks the values a buffer cannot work with.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1000..=384_000).contains(&self.clock_rate) {
            return Err(ConfigError::ClockRate(self.clock_rate));
        }
        let ms = self.frame.as_secs_f64() * 1000.0;
        if !(2.5..=120.0).contains(&ms) || self.frame_samples() == 0 {
            return Err(ConfigError::Frame(self.frame));
        }
        if !(0.5..1.0).contains(&self.quantile) {
            return Err(ConfigError::Quantile(self.quantile));
        }
        if !(0.9..1.0).contains(&self.forget) {
            return Err(ConfigError::Forget(self.forget));
        }
        if !(0.0..=4.0).contains(&self.headroom) {
            return Err(ConfigError::Headroom(self.headroom));
        }
        if self.min_delay > self.max_delay
            || self.min_delay_after_loss > self.max_delay
            || self.max_delay > Duration::from_secs(10)
        {
            return Err(ConfigError::DelayBounds {
                min: self.min_delay,
                max: self.max_delay,
            });
        }
        if self.max_packets < 2 {
            return Err(ConfigError::MaxPackets(self.max_packets));
        }
        Ok(())
    }
}

impl Default for JitterConfig {
    /// G.711 at 20 ms, 60 ms initial target, 0-1000 ms bounds, q95 + 20%, frame adaptation.
    fn default() -> Self {
        JitterConfig {
            clock_rate: 8000,
            frame: Duration::from_millis(20),
            initial_delay: Duration::from_millis(60),
            min_delay: Duration::ZERO,
            min_delay_after_loss: Duration::ZERO,
            max_delay: Duration::from_millis(1000),
            quantile: 0.97,
            headroom: 0.2,
            forget: 0.9993,
            adaptation: Adaptation::Frames,
            max_conceal: Duration::from_millis(200),
            max_packets: 250,
            resync_after: Duration::from_secs(3),
        }
    }
}

/// A configuration value out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("clock rate {0} Hz is out of range (1000-384000)")]
    ClockRate(u32),
    #[error("frame duration {0:?} is out of range (2.5-120 ms)")]
    Frame(Duration),
    #[error("quantile {0} is out of range [0.5, 1)")]
    Quantile(f64),
    #[error("forgetting factor {0} is out of range [0.9, 1)")]
    Forget(f64),
    #[error("headroom {0} is out of range [0, 4]")]
    Headroom(f64),
    #[error("delay bounds {min:?}..{max:?} are inverted or above 10 s")]
    DelayBounds { min: Duration, max: Duration },
    #[error("max_packets {0} must be at least 2")]
    MaxPackets(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_frames_count_samples() {
        for (rate, ms, samples) in [(8000, 20, 160), (48000, 20, 960), (8000, 10, 80)] {
            let c = JitterConfig::new(rate, ms);
            assert_eq!(c.validate(), Ok(()));
            assert_eq!(c.frame_samples(), samples);
        }
        for ms in [10, 20, 30, 40, 60] {
            assert_eq!(JitterConfig::opus().frame_samples() / 20 * ms, 48 * ms);
            assert_eq!(JitterConfig::new(48000, ms).validate(), Ok(()));
        }
    }

    #[test]
    fn bad_values_are_typed_errors() {
        assert_eq!(
            JitterConfig::new(0, 20).validate(),
            Err(ConfigError::ClockRate(0))
        );
        assert!(matches!(
            JitterConfig::new(8000, 0).validate(),
            Err(ConfigError::Frame(_))
        ));
        let mut c = JitterConfig::g711();
        c.quantile = 1.0;
        assert!(matches!(c.validate(), Err(ConfigError::Quantile(_))));
        let mut c = JitterConfig::g711();
        c.min_delay = Duration::from_secs(2);
        assert!(matches!(c.validate(), Err(ConfigError::DelayBounds { .. })));
        let mut c = JitterConfig::opus();
        c.min_delay_after_loss = Duration::from_secs(2);
        assert!(matches!(c.validate(), Err(ConfigError::DelayBounds { .. })));
    }
}
