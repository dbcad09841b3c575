//! Streaming sample-rate conversion between codec rates for the call's own audio path
//! (Opus 48 kHz <-> the 8 kHz of sources and WAV sinks): integer ratios only, by a
//! windowed-sinc FIR (polyphase for interpolation). Small and allocation-free after
//! construction for frames up to the size seen first; `device::RateConverter` (rubato) is
//! what sound devices use.

/// FIR length per unit of ratio: 32 taps per low-rate sample period.
const TAPS_PER_RATIO: usize = 32;

/// Converts a mono stream from one rate to another whose ratio is an integer either way
/// (48000 -> 8000, 8000 -> 48000, equal rates). Keeps filter state across calls.
#[derive(Debug, Clone)]
pub struct Resampler {
    from: u32,
    to: u32,
    kind: Kind,
    /// Filter taps at the high rate (gain 1 at DC).
    taps: Vec<f32>,
    /// Input history: the last samples, oldest first.
    hist: Vec<f32>,
    /// Decimation phase: input samples until the next output.
    phase: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pass,
    Down(usize),
    Up(usize),
}

impl Resampler {
    /// `None` unless one rate is a whole multiple of the other.
    pub fn new(from: u32, to: u32) -> Option<Resampler> {
        if from == 0 || to == 0 {
            return None;
        }
        let kind = if from == to {
            Kind::Pass
        } else if from > to && from / to * to == from {
            Kind::Down((from / to) as usize)
        } else if to > from && to / from * from == to {
            Kind::Up((to / from) as usize)
        } else {
            return None;
        };
        let (taps, hist) = match kind {
            Kind::Pass => (Vec::new(), Vec::new()),
            Kind::Down(r) | Kind::Up(r) => {
                let taps = lowpass(TAPS_PER_RATIO * r, 0.45 / r as f64);
                let keep = match kind {
                    Kind::Down(_) => taps.len() - 1,
                    _ => taps.len().div_ceil(r),
                };
                (taps, vec![0.0; keep])
            }
        };
        Some(Resampler {
            from,
            to,
            kind,
            taps,
            hist,
            phase: 0,
        })
    }

    pub fn from_rate(&self) -> u32 {
        self.from
    }

    pub fn to_rate(&self) -> u32 {
        self.to
    }

    /// Convert `input`, appending to `out`. Output lengths over a stream are exact:
    /// 960 samples 48k -> 8k give 160, 160 samples 8k -> 48k give 960.
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        match self.kind {
            Kind::Pass => out.extend_from_slice(input),
            Kind::Down(r) => {
                let n = self.taps.len();
                let keep = n - 1;
                self.hist.extend(input.iter().map(|&s| s as f32));
                // hist[i + keep] is input sample i; an output is due at each phase 0.
                let mut i = self.phase;
                while i < input.len() {
                    let window = &self.hist[i + keep + 1 - n..=i + keep];
                    out.push(to_i16(dot(window, &self.taps)));
                    i += r;
                }
                self.phase = i - input.len();
                let drop = self.hist.len() - keep;
                self.hist.drain(..drop);
            }
            Kind::Up(r) => {
                let keep = self.hist.len();
                let n = self.taps.len();
                for &s in input {
                    self.hist.rotate_left(1);
                    self.hist[keep - 1] = s as f32;
                    for p in 0..r {
                        // y = r * sum_j taps[p + j r] * x[now - j]
                        let mut acc = 0.0f32;
                        let mut j = 0;
                        while p + j * r < n {
                            acc += self.taps[p + j * r] * self.hist[keep - 1 - j];
                            j += 1;
                        }
                        out.push(to_i16(acc * r as f32));
                    }
                }
            }
        }
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn to_i16(x: f32) -> i16 {
    x.round().clamp(-32768.0, 32767.0) as i16
}

/// Blackman-windowed sinc low-pass of `n` taps, cutoff `fc` (fraction of the sample rate),
/// normalised to unity DC gain. Taps are symmetric, so their order does not matter.
fn lowpass(n: usize, fc: f64) -> Vec<f32> {
    use std::f64::consts::{PI, TAU};
    let m = (n - 1) as f64;
    let mut h: Vec<f64> = (0..n)
        .map(|i| {
            let x = i as f64 - m / 2.0;
            let sinc = if x == 0.0 {
                2.0 * fc
            } else {
                (TAU * fc * x).sin() / (PI * x)
            };
            let w =
                0.42 - 0.5 * (TAU * i as f64 / m).cos() + 0.08 * (2.0 * TAU * i as f64 / m).cos();
            sinc * w
        })
        .collect();
    let sum: f64 = h.iter().sum();
    h.iter_mut().for_each(|v| *v /= sum);
    h.into_iter().map(|v| v as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{dominant_frequency, rms_dbfs};

    fn tone(freq: f64, rate: u32, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                ((std::f64::consts::TAU * freq * i as f64 / rate as f64).sin() * 10000.0) as i16
            })
            .collect()
    }

    #[test]
    fn ratios() {
        assert!(Resampler::new(48000, 8000).is_some());
        assert!(Resampler::new(8000, 48000).is_some());
        assert!(Resampler::new(8000, 8000).is_some());
        assert!(Resampler::new(44100, 8000).is_none());
        assert!(Resampler::new(0, 8000).is_none());
    }

    #[test]
    fn down_keeps_in_band_tones_and_removes_what_would_alias() {
        let mut r = Resampler::new(48000, 8000).unwrap();
        let input = tone(1000.0, 48000, 48000);
        let mut out = Vec::new();
        for chunk in input.chunks(960) {
            r.process(chunk, &mut out);
        }
        assert_eq!(out.len(), 8000);
        let f = dominant_frequency(&out[800..], 8000).unwrap();
        assert!((f - 1000.0).abs() < 2.0, "{f}");
        assert!((rms_dbfs(&out[800..]) - rms_dbfs(&input)).abs() < 0.5);
        // 6 kHz would alias to 2 kHz: it must be strongly attenuated.
        let mut r = Resampler::new(48000, 8000).unwrap();
        let mut out = Vec::new();
        r.process(&tone(6000.0, 48000, 9600), &mut out);
        assert!(rms_dbfs(&out[400..]) < rms_dbfs(&tone(6000.0, 48000, 9600)) - 50.0);
    }

    #[test]
    fn odd_chunks_give_the_same_output() {
        let input = tone(700.0, 48000, 4800);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        Resampler::new(48000, 8000).unwrap().process(&input, &mut a);
        let mut r = Resampler::new(48000, 8000).unwrap();
        for chunk in input.chunks(7) {
            r.process(chunk, &mut b);
        }
        assert_eq!(a, b);
    }

    #[test]
    fn up_keeps_the_tone() {
        let mut r = Resampler::new(8000, 48000).unwrap();
        let input = tone(440.0, 8000, 8000);
        let mut out = Vec::new();
        for chunk in input.chunks(160) {
            r.process(chunk, &mut out);
        }
        assert_eq!(out.len(), 48000);
        let f = dominant_frequency(&out[4800..], 48000).unwrap();
        assert!((f - 440.0).abs() < 2.0, "{f}");
        assert!((rms_dbfs(&out[4800..]) - rms_dbfs(&input)).abs() < 0.5);
    }
}
