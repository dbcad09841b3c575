//! The agent's own tones, generated in code: the ringtone of an incoming call, the
//! call-waiting beep and the ringback of an outbound call the network leaves silent.
//!
//! A [`ToneGen`] is sans-IO: it counts samples, so its cadence (on/off) follows how much
//! audio was taken from it, not a clock. Edges are ramped (5 ms) so bursts do not click.

use std::f32::consts::TAU;

/// Which tone (and so which cadence, frequencies and level).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Incoming call: 440 + 480 Hz, 1 s on, 2 s off; -14 dBFS peak, -20 dBFS RMS.
    Ring,
    /// A second call arrives during a call: 440 Hz, 300 ms, every 10 s; -20 dBFS peak,
    /// -23 dBFS RMS (mixed into the call's audio).
    CallWaiting,
    /// Our outbound call rings and the network sends no early media: 425 Hz, 1 s on, 4 s
    /// off; -16 dBFS peak, -19 dBFS RMS.
    Ringback,
}

/// A tone's shape: one burst of `freqs` (each at `amplitude`, full scale 1.0), then silence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cadence {
    /// Frequencies summed during the burst, Hz.
    pub freqs: &'static [f32],
    /// Peak amplitude of each frequency.
    pub amplitude: f32,
    /// Burst length, ms.
    pub on_ms: u32,
    /// Silence after it, ms.
    pub off_ms: u32,
}

impl Tone {
    /// The tone's cadence.
    pub fn cadence(self) -> Cadence {
        match self {
            Tone::Ring => Cadence {
                freqs: &[440.0, 480.0],
                amplitude: 0.1,
                on_ms: 1000,
                off_ms: 2000,
            },
            Tone::CallWaiting => Cadence {
                freqs: &[440.0],
                amplitude: 0.1,
                on_ms: 300,
                off_ms: 9700,
            },
            Tone::Ringback => Cadence {
                freqs: &[425.0],
                amplitude: 0.16,
                on_ms: 1000,
                off_ms: 4000,
            },
        }
    }

    /// `ring`, `call_waiting` or `ringback` (logs).
    pub fn name(self) -> &'static str {
        match self {
            Tone::Ring => "ring",
            Tone::CallWaiting => "call_waiting",
            Tone::Ringback => "ringback",
        }
    }
}

/// Length of the fade in and out of each burst.
const RAMP_MS: u32 = 5;

/// Generates a [`Tone`] at a fixed rate, starting with a burst.
#[derive(Debug, Clone)]
pub struct ToneGen {
    tone: Tone,
    cadence: Cadence,
    rate: u32,
    /// Position in the cadence's period, in samples.
    pos: u64,
    on: u64,
    period: u64,
    ramp: u64,
    /// Phase of each frequency, radians.
    phases: Vec<f32>,
}

impl ToneGen {
    /// `tone` at `rate` Hz (rates of 8 kHz and up).
    pub fn new(tone: Tone, rate: u32) -> ToneGen {
        let cadence = tone.cadence();
        let samples = |ms: u32| u64::from(rate) * u64::from(ms) / 1000;
        ToneGen {
            tone,
            cadence,
            rate,
            pos: 0,
            on: samples(cadence.on_ms),
            period: samples(cadence.on_ms + cadence.off_ms).max(1),
            ramp: samples(RAMP_MS).max(1),
            phases: vec![0.0; cadence.freqs.len()],
        }
    }

    /// Which tone this is.
    pub fn tone(&self) -> Tone {
        self.tone
    }

    /// Its rate, Hz.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Adds the next `out.len()` samples of the tone to `out` (clamped to full scale).
    pub fn mix_into(&mut self, out: &mut [f32]) {
        for s in out.iter_mut() {
            *s = (*s + self.next_sample()).clamp(-1.0, 1.0);
        }
    }

    /// Replaces `out` with the next `out.len()` samples of the tone.
    pub fn fill(&mut self, out: &mut [f32]) {
        out.fill(0.0);
        self.mix_into(out);
    }

    /// Whether the next sample is in a burst.
    pub fn is_on(&self) -> bool {
        self.pos < self.on
    }

    fn next_sample(&mut self) -> f32 {
        let pos = self.pos;
        self.pos = (self.pos + 1) % self.period;
        if pos >= self.on {
            // Silence: restart the phases so every burst starts the same way.
            self.phases.iter_mut().for_each(|p| *p = 0.0);
            return 0.0;
        }
        let edge = pos.min(self.on - 1 - pos);
        let gain = if edge < self.ramp {
            edge as f32 / self.ramp as f32
        } else {
            1.0
        };
        let mut v = 0.0;
        for (p, f) in self.phases.iter_mut().zip(self.cadence.freqs) {
            v += p.sin();
            *p = (*p + TAU * f / self.rate as f32) % TAU;
        }
        v * self.cadence.amplitude * gain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rms(s: &[f32]) -> f32 {
        (s.iter().map(|v| v * v).sum::<f32>() / s.len() as f32).sqrt()
    }

    #[test]
    fn the_ringtone_is_one_second_on_two_off() {
        let rate = 8000;
        let mut g = ToneGen::new(Tone::Ring, rate);
        let mut three = vec![0.0; 3 * rate as usize];
        g.fill(&mut three);
        let sec = |n: usize| &three[n * rate as usize..(n + 1) * rate as usize];
        assert!(rms(sec(0)) > 0.09, "{}", rms(sec(0)));
        assert_eq!(rms(sec(1)), 0.0);
        assert_eq!(rms(sec(2)), 0.0);
        // The next period starts with a burst again.
        assert!(g.is_on());
        let mut next = vec![0.0; rate as usize / 2];
        g.fill(&mut next);
        assert!(rms(&next) > 0.09);
        // Never beyond full scale, and modest: two tones at 0.1 peak.
        assert!(three.iter().all(|v| v.abs() <= 0.2));
    }

    #[test]
    fn bursts_fade_in_and_out() {
        let mut g = ToneGen::new(Tone::Ringback, 8000);
        let mut s = vec![0.0; 8000];
        g.fill(&mut s);
        assert_eq!(s[0], 0.0);
        assert!(s[..8].iter().all(|v| v.abs() < 0.05));
        assert!(s[7992..].iter().all(|v| v.abs() < 0.05));
    }

    #[test]
    fn the_call_waiting_beep_is_short_and_rare() {
        let rate = 8000u32;
        let mut g = ToneGen::new(Tone::CallWaiting, rate);
        let mut s = vec![0.0; 10 * rate as usize];
        g.fill(&mut s);
        let loud = s.chunks(80).filter(|c| rms(c) > 0.01).count();
        // 300 ms of 10 s, in 10 ms blocks.
        assert!((29..=30).contains(&loud), "{loud}");
        assert!(rms(&s[..2400]) > 0.06);
    }

    #[test]
    fn mixing_adds_to_what_is_there() {
        let mut g = ToneGen::new(Tone::Ringback, 48_000);
        let mut s = vec![0.5; 4800];
        g.mix_into(&mut s);
        assert!(s.iter().any(|v| *v > 0.6) && s.iter().any(|v| *v < 0.4));
        assert!(s.iter().all(|v| (-1.0..=1.0).contains(v)));
    }

    #[test]
    fn the_tone_is_at_its_frequency() {
        let rate = 48_000;
        let mut g = ToneGen::new(Tone::Ringback, rate);
        let mut s = vec![0.0; rate as usize / 2];
        g.fill(&mut s);
        // Zero crossings over 0.5 s of 425 Hz: about 425.
        let crossings = s
            .windows(2)
            .filter(|w| (w[0] <= 0.0) != (w[1] <= 0.0))
            .count();
        assert!((420..=430).contains(&crossings), "{crossings}");
    }
}
