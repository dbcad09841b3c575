//! Sample conversions off the audio thread: rate (a short polyphase windowed-sinc FIR, every
//! buffer allocated at construction) and `f32` <-> `i16`.
//!
//! The rate converter is exact for any pair of rates (the ratio is reduced to `up / down`,
//! 8k -> 48k is 6/1, 44.1k -> 48k is 160/147) and streams sample by sample: an output comes
//! out as soon as the input it needs is in, so the only delay is the filter's. The filter is
//! the minimum-phase version of a windowed sinc (made once, at construction, by the cepstral
//! method): same magnitude response, energy up front, so a click comes out after 0.34 ms at
//! 8 kHz instead of the linear-phase filter's [`HALF_TAPS`] samples (1.24 ms). Why a
//! streaming FIR: a resampler working on 20 ms chunks (an FFT one) adds 10 ms, half the
//! mouth-to-ear engine budget.

use std::time::Duration;

use super::{frame_len, DeviceError};

/// Half the filter's length, in samples of the lower of the two rates: its delay. Shorter
/// widens the transition band (more droop near 4 kHz for 8 kHz audio, more aliasing).
const HALF_TAPS: usize = 10;
/// Cutoff as a fraction of the lower rate's Nyquist frequency, for telephone rates (8 kHz:
/// 3.6 kHz, so the band's top, 3.4 kHz, droops under 4 dB).
const CUTOFF_NARROW: f64 = 0.9;
/// The same for wideband rates (16 kHz: 6.8 kHz). Wideband codecs carry 50-7000 Hz (G.722's
/// nominal band); above that is mostly the coder's noise. This puts the stopband (-40 dB) at
/// the Nyquist frequency, so nothing images or aliases across it: at 0.9 the filter was only
/// 22 dB down there. PESQ of G.722 speech played out: +0.015 (docs/benchmarks.md).
const CUTOFF_WIDE: f64 = 0.85;

/// The filter's cutoff for a conversion whose lower rate is `low`.
fn cutoff(low: f64) -> f64 {
    if low >= 16_000.0 {
        CUTOFF_WIDE
    } else {
        CUTOFF_NARROW
    }
}
/// Kaiser window shape: about 50 dB of stopband.
const KAISER_BETA: f64 = 5.0;

/// The phase of the converter's low-pass filter; both have the same magnitude response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterPhase {
    /// Symmetric taps: every frequency delayed alike, by half the filter ([`HALF_TAPS`]
    /// samples of the lower rate).
    Linear,
    /// The same magnitudes with the energy as early as it can be: a click comes out after
    /// a fraction of the linear filter's delay; low frequencies are delayed a little less
    /// than those near the cutoff, which an ear does not notice in speech.
    Minimum,
}

/// Converts a mono stream from one rate to another. Input of any length goes in; each
/// [`process`](Self::process) hands out every output sample that input completes. Allocates
/// only in [`new`](Self::new). Equal rates pass samples straight through.
pub struct RateConverter {
    from: u32,
    to: u32,
    /// The ratio `to / from` reduced: `up` phases, `down` upsampled steps per output.
    up: usize,
    down: usize,
    /// Coefficients per phase (`taps` of them, oldest input first).
    taps: usize,
    coefs: Vec<f32>,
    /// The last `taps` inputs, stored twice so the window is one contiguous slice.
    hist: Vec<f32>,
    head: usize,
    /// Phase of the next output relative to the newest input, in upsampled steps.
    pos: usize,
    /// Filter delay, in upsampled samples: where its energy sits ([`energy_centroid`]).
    centre: f64,
    /// Input handled per batch of output (20 ms), and that batch's buffer.
    chunk_in: usize,
    out_buf: Vec<f32>,
}

impl std::fmt::Debug for RateConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateConverter")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("taps", &self.taps)
            .finish()
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Modified Bessel function of the first kind, order 0 (for the Kaiser window).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, q) = (1.0, 1.0, x * x / 4.0);
    for k in 1..50 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-12 {
            break;
        }
    }
    sum
}

/// The prototype low-pass at the upsampled rate, `n` taps, cutoff `fc` as a fraction of that
/// rate, scaled to a DC gain of `gain`.
fn lowpass(n: usize, fc: f64, gain: f64) -> Vec<f64> {
    let centre = (n as f64 - 1.0) / 2.0;
    let i0_beta = bessel_i0(KAISER_BETA);
    let mut h: Vec<f64> = (0..n)
        .map(|i| {
            let t = i as f64 - centre;
            let x = std::f64::consts::PI * 2.0 * fc * t;
            let sinc = if t == 0.0 { 1.0 } else { x.sin() / x };
            let r = if centre > 0.0 { t / centre } else { 0.0 };
            let w = bessel_i0(KAISER_BETA * (1.0 - r * r).max(0.0).sqrt()) / i0_beta;
            sinc * w
        })
        .collect();
    let sum: f64 = h.iter().sum();
    for v in &mut h {
        *v *= gain / sum;
    }
    h
}

/// Where a filter's energy sits, in taps: `sum(k h[k]^2) / sum(h[k]^2)`. For a symmetric
/// filter that is its centre; for a minimum-phase one it is the delay an ear hears on a click.
fn energy_centroid(h: &[f64]) -> f64 {
    let energy: f64 = h.iter().map(|v| v * v).sum();
    if energy == 0.0 {
        return 0.0;
    }
    h.iter()
        .enumerate()
        .map(|(k, v)| k as f64 * v * v)
        .sum::<f64>()
        / energy
}

/// The minimum-phase filter with `h`'s magnitude response, as long as `h`, by the cepstral
/// method: the log magnitude's cepstrum folded onto its causal half is the cepstrum of the
/// minimum-phase filter. The DFT is padded 16x so the cepstrum's aliasing stays small.
fn minimum_phase(h: &[f64]) -> Vec<f64> {
    let size = (h.len() * 16).next_power_of_two().max(1024);
    let mut buf = vec![(0.0, 0.0); size];
    for (b, &v) in buf.iter_mut().zip(h) {
        b.0 = v;
    }
    fft(&mut buf, false);
    let peak = buf.iter().map(|&(re, im)| re.hypot(im)).fold(0.0, f64::max);
    // The stopband's zeros would make log |H| -inf: floor it far below the stopband (-50 dB).
    let floor = (peak * 1e-8).max(f64::MIN_POSITIVE);
    for b in &mut buf {
        *b = (b.0.hypot(b.1).max(floor).ln(), 0.0);
    }
    fft(&mut buf, true); // the real cepstrum
    let half = size / 2;
    for (k, b) in buf.iter_mut().enumerate() {
        let w = match k {
            0 => 1.0,
            k if k < half => 2.0,
            k if k == half => 1.0,
            _ => 0.0,
        };
        *b = (b.0 * w, 0.0);
    }
    fft(&mut buf, false);
    for b in &mut buf {
        let m = b.0.exp();
        *b = (m * b.1.cos(), m * b.1.sin());
    }
    fft(&mut buf, true);
    let mut out: Vec<f64> = buf[..h.len()].iter().map(|b| b.0).collect();
    // Keep the DC gain exactly the linear filter's (truncation moves it by a hair).
    let (want, got) = (h.iter().sum::<f64>(), out.iter().sum::<f64>());
    if got != 0.0 {
        for v in &mut out {
            *v *= want / got;
        }
    }
    out
}

/// In-place radix-2 FFT of `(re, im)` pairs (length a power of two); `inverse` also divides
/// by the length. Only run at construction, so plain and clear over fast.
fn fft(x: &mut [(f64, f64)], inverse: bool) {
    let n = x.len();
    debug_assert!(n.is_power_of_two());
    let mut j = 0;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            x.swap(i, j);
        }
    }
    let sign = if inverse { 1.0 } else { -1.0 };
    let twiddle: Vec<(f64, f64)> = (0..n / 2)
        .map(|k| (sign * std::f64::consts::TAU * k as f64 / n as f64).sin_cos())
        .collect();
    let mut len = 2;
    while len <= n {
        let stride = n / len;
        for start in (0..n).step_by(len) {
            for k in 0..len / 2 {
                let (s, c) = twiddle[k * stride];
                let (a, b) = (x[start + k], x[start + k + len / 2]);
                let t = (b.0 * c - b.1 * s, b.0 * s + b.1 * c);
                x[start + k] = (a.0 + t.0, a.1 + t.1);
                x[start + k + len / 2] = (a.0 - t.0, a.1 - t.1);
            }
        }
        len <<= 1;
    }
    if inverse {
        let scale = 1.0 / n as f64;
        for v in x {
            *v = (v.0 * scale, v.1 * scale);
        }
    }
}

impl RateConverter {
    /// A converter with the minimum-phase filter: the same magnitude response as the
    /// linear-phase one, with its energy at the front (see [`latency`](Self::latency)).
    pub fn new(from: u32, to: u32) -> Result<RateConverter, DeviceError> {
        Self::with_phase(from, to, FilterPhase::Minimum)
    }

    /// A converter with the filter's phase chosen: [`FilterPhase::Linear`] is the reference the
    /// tests and benches compare against.
    pub fn with_phase(
        from: u32,
        to: u32,
        phase: FilterPhase,
    ) -> Result<RateConverter, DeviceError> {
        if from == 0 || to == 0 || from > 384_000 || to > 384_000 {
            return Err(DeviceError::Resampler(format!(
                "{from} Hz -> {to} Hz: rates must be within 1-384000 Hz"
            )));
        }
        let chunk_in = frame_len(from).max(1);
        let g = gcd(from, to);
        let (up, down) = ((to / g) as usize, (from / g) as usize);
        if from == to {
            return Ok(RateConverter {
                from,
                to,
                up: 1,
                down: 1,
                taps: 0,
                coefs: Vec::new(),
                hist: Vec::new(),
                head: 0,
                pos: 0,
                centre: 0.0,
                chunk_in,
                out_buf: Vec::new(),
            });
        }
        if up > 4096 {
            // e.g. 44100 -> 47999: the filter bank would be huge; nobody runs such rates.
            return Err(DeviceError::Resampler(format!(
                "{from} Hz -> {to} Hz: the rates share no usable common factor"
            )));
        }
        let low = from.min(to) as f64;
        let upsampled = from as f64 * up as f64;
        let taps = (2.0 * HALF_TAPS as f64 * from as f64 / low).ceil() as usize;
        let n = taps * up;
        let linear = lowpass(n, cutoff(low) * low / 2.0 / upsampled, up as f64);
        let proto = match phase {
            FilterPhase::Linear => linear,
            FilterPhase::Minimum => minimum_phase(&linear),
        };
        // Phase p uses h[p + j * up] against x[i - j]: stored oldest input (j = taps - 1)
        // first, so one phase is a dot product with the history window.
        let mut coefs = vec![0.0f32; n];
        for p in 0..up {
            for m in 0..taps {
                coefs[p * taps + m] = proto[p + (taps - 1 - m) * up] as f32;
            }
        }
        let out_max = (chunk_in * up).div_ceil(down) + 1;
        Ok(RateConverter {
            from,
            to,
            up,
            down,
            taps,
            coefs,
            hist: vec![0.0; 2 * taps],
            head: 0,
            pos: 0,
            centre: energy_centroid(&proto),
            chunk_in,
            out_buf: vec![0.0; out_max],
        })
    }

    /// The input rate.
    pub fn from_rate(&self) -> u32 {
        self.from
    }

    /// The output rate.
    pub fn to_rate(&self) -> u32 {
        self.to
    }

    /// A convenient amount of input to feed at once: 20 ms. Any amount works; output comes
    /// out as soon as its input is in.
    pub fn input_wanted(&self) -> usize {
        self.chunk_in
    }

    /// Most output samples [`input_wanted`](Self::input_wanted) input produces.
    pub fn output_max(&self) -> usize {
        if self.taps == 0 {
            self.chunk_in
        } else {
            self.out_buf.len()
        }
    }

    /// Delay the filter adds, in output samples (rounded): where a click's energy comes out.
    pub fn delay(&self) -> usize {
        (self.centre / self.down as f64).round() as usize
    }

    /// Delay the filter adds: where a click's energy comes out (its energy centroid; for the
    /// linear-phase filter that is its centre).
    pub fn latency(&self) -> Duration {
        let upsampled = self.from as f64 * self.up as f64;
        Duration::from_secs_f64(self.centre / upsampled)
    }

    /// Input samples held back from the output: none (the delay is the filter's, see
    /// [`delay`](Self::delay)).
    pub fn pending_input(&self) -> usize {
        0
    }

    /// Feeds `input`; `out` receives the output it completes, in one or more pieces.
    pub fn process(&mut self, input: &[f32], mut out: impl FnMut(&[f32])) {
        if self.taps == 0 {
            if !input.is_empty() {
                out(input);
            }
            return;
        }
        for piece in input.chunks(self.chunk_in) {
            let mut written = 0;
            for &x in piece {
                let t = self.taps;
                self.hist[self.head] = x;
                self.hist[self.head + t] = x;
                self.head = (self.head + 1) % t;
                // The window, oldest first, ending with `x`.
                let window = &self.hist[self.head..self.head + t];
                while self.pos < self.up {
                    let c = &self.coefs[self.pos * t..(self.pos + 1) * t];
                    self.out_buf[written] = dot(c, window);
                    written += 1;
                    self.pos += self.down;
                }
                self.pos -= self.up;
            }
            if written > 0 {
                out(&self.out_buf[..written]);
            }
        }
    }

    /// Forgets the filter's history (silence before the next input).
    pub fn reset(&mut self) {
        self.hist.fill(0.0);
        self.head = 0;
        self.pos = 0;
    }
}

/// Dot product in eight lanes: a plain iterator sum is one serial chain of additions, which
/// the compiler may not reorder into SIMD.
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for ((l, x), y) in lanes.iter_mut().zip(x).zip(y) {
            *l += x * y;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// `i16` sample to `f32` in [-1, 1).
#[inline]
pub fn i16_to_f32(s: i16) -> f32 {
    f32::from(s) / 32768.0
}

/// `f32` sample to `i16`, clipped.
#[inline]
pub fn f32_to_i16(s: f32) -> i16 {
    (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::dominant_frequency;

    fn sine(freq: f64, rate: u32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((std::f64::consts::TAU * freq * i as f64 / rate as f64).sin() * 0.5) as f32)
            .collect()
    }

    fn convert(from: u32, to: u32, input: &[f32], pieces: usize) -> Vec<f32> {
        convert_with(FilterPhase::Minimum, from, to, input, pieces)
    }

    fn convert_with(
        phase: FilterPhase,
        from: u32,
        to: u32,
        input: &[f32],
        pieces: usize,
    ) -> Vec<f32> {
        let mut c = RateConverter::with_phase(from, to, phase).unwrap();
        let mut out = Vec::new();
        for piece in input.chunks(pieces) {
            c.process(piece, |o| out.extend_from_slice(o));
        }
        out
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len() as f64).sqrt()
    }

    /// Gain in dB of a tone at `freq` through `from -> to` (steady state only).
    fn gain_db(phase: FilterPhase, from: u32, to: u32, freq: f64) -> f64 {
        let out = convert_with(phase, from, to, &sine(freq, from, from as usize / 2), 997);
        let steady = &out[out.len() / 4..];
        20.0 * (rms(steady) / (0.5 / 2f64.sqrt())).log10()
    }

    #[test]
    fn down_and_up_keep_the_tone_and_the_length() {
        for (from, to, freq) in [
            (48000, 8000, 1000.0),
            (8000, 48000, 440.0),
            (44100, 8000, 1000.0),
            (8000, 44100, 1000.0),
            (16000, 48000, 3000.0),
            (44100, 48000, 1000.0),
            (48000, 44100, 3000.0),
        ] {
            // Odd piece sizes: any input length works.
            let out = convert(from, to, &sine(freq, from, from as usize), 333);
            assert_eq!(out.len(), to as usize, "{from}->{to}");
            let pcm: Vec<i16> = out[to as usize / 4..]
                .iter()
                .map(|&s| f32_to_i16(s))
                .collect();
            let f = dominant_frequency(&pcm, to).unwrap();
            assert!((f64::from(f) - freq).abs() < 2.0, "{from}->{to}: {f}");
        }
    }

    /// Speech band kept flat, what cannot be carried at 8 kHz kept out: both phases, the
    /// minimum-phase filter must not lose anything the linear one has.
    #[test]
    fn passes_the_voice_band_and_stops_what_would_alias() {
        for phase in [FilterPhase::Minimum, FilterPhase::Linear] {
            for (from, to) in [(8000, 48000), (48000, 8000), (44100, 8000)] {
                for freq in [300.0, 1000.0, 2000.0, 3000.0] {
                    let g = gain_db(phase, from, to, freq);
                    assert!(g.abs() < 1.0, "{phase:?} {from}->{to} {freq} Hz: {g:.2} dB");
                }
            }
            // 3.4 kHz (the telephone band's top) droops a little, by design of a short filter.
            let g = gain_db(phase, 48000, 8000, 3400.0);
            assert!((-4.0..0.5).contains(&g), "{phase:?} 3.4 kHz: {g:.2} dB");
            // 6 kHz at 48 kHz would fold onto 2 kHz at 8 kHz.
            let g = gain_db(phase, 48000, 8000, 6000.0);
            assert!(g < -40.0, "{phase:?} 6 kHz into 8 kHz: {g:.1} dB");
            // 8 kHz -> 48 kHz: the image of 1 kHz at 7 kHz stays out.
            let out = convert_with(phase, 8000, 48000, &sine(1000.0, 8000, 8000), 160);
            let steady = &out[12000..];
            let image = goertzel(steady, 48000, 7000.0);
            let tone = goertzel(steady, 48000, 1000.0);
            let db = 20.0 * (image / tone).log10();
            assert!(db < -40.0, "{phase:?} 7 kHz image: {db:.1} dB");
        }
    }

    /// Wideband (G.722's 16 kHz): the band up to 6 kHz flat, 7 kHz carried, and nothing
    /// crosses 8 kHz either way: from the microphone, 8.2 kHz does not fold onto 7.8 kHz; to
    /// the speaker, 7.8 kHz has no image at 8.2 kHz.
    #[test]
    fn wideband_carries_7_khz_and_stops_at_8() {
        for phase in [FilterPhase::Minimum, FilterPhase::Linear] {
            for (from, to) in [(16000, 48000), (48000, 16000)] {
                for freq in [300.0, 1000.0, 3000.0, 6000.0] {
                    let g = gain_db(phase, from, to, freq);
                    assert!(g.abs() < 1.0, "{phase:?} {from}->{to} {freq} Hz: {g:.2} dB");
                }
                let g = gain_db(phase, from, to, 7000.0);
                assert!(
                    (-12.0..-3.0).contains(&g),
                    "{phase:?} {from}->{to} 7 kHz: {g:.2} dB"
                );
            }
            let g = gain_db(phase, 48000, 16000, 8200.0);
            assert!(g < -35.0, "{phase:?} 8.2 kHz into 16 kHz: {g:.1} dB");
            let out = convert_with(phase, 16000, 48000, &sine(7800.0, 16000, 16000), 320);
            let steady = &out[24000..];
            let image = goertzel(steady, 48000, 8200.0)
                / goertzel(&sine(8200.0, 48000, 24000), 48000, 8200.0);
            let db = 20.0 * image.log10();
            assert!(db < -35.0, "{phase:?} 8.2 kHz image of 7.8 kHz: {db:.1} dB");
        }
    }

    fn goertzel(x: &[f32], rate: u32, freq: f64) -> f64 {
        let w = std::f64::consts::TAU * freq / rate as f64;
        let (mut s1, mut s2) = (0.0, 0.0);
        for &v in x {
            let s = f64::from(v) + 2.0 * w.cos() * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2).sqrt()
    }

    /// Where a click's energy comes out, in output samples after the click.
    fn click_energy_at(phase: FilterPhase, from: u32, to: u32) -> f64 {
        let mut input = vec![0.0f32; from as usize / 10];
        input[from as usize / 50] = 1.0; // at 20 ms
        let out = convert_with(phase, from, to, &input, 160);
        let energy: f64 = out.iter().map(|&v| f64::from(v).powi(2)).sum();
        let centroid = out
            .iter()
            .enumerate()
            .map(|(k, &v)| k as f64 * f64::from(v).powi(2))
            .sum::<f64>()
            / energy;
        centroid - f64::from(to) / 50.0
    }

    /// A click's energy comes out where [`RateConverter::latency`] says, and that is short:
    /// for the minimum-phase filter well under the linear one's half-filter delay.
    #[test]
    fn the_measured_delay_is_the_stated_one_and_short() {
        for phase in [FilterPhase::Minimum, FilterPhase::Linear] {
            for (from, to) in [(8000, 48000), (48000, 8000), (44100, 48000), (48000, 44100)] {
                let c = RateConverter::with_phase(from, to, phase).unwrap();
                let measured = click_energy_at(phase, from, to);
                let stated = c.latency().as_secs_f64() * f64::from(to);
                assert!(
                    (measured - stated).abs() <= 1.0,
                    "{phase:?} {from}->{to}: {measured:.2} vs {stated:.2} samples"
                );
                assert!(
                    c.delay().abs_diff(stated.round() as usize) == 0,
                    "{phase:?} {from}->{to}: delay() {} vs {stated:.2}",
                    c.delay()
                );
                let ms = c.latency().as_secs_f64() * 1000.0;
                assert!(ms < 1.5, "{phase:?} {from}->{to}: {ms} ms");
            }
        }
        // Linear: 10 samples at 8 kHz, less half a 48 kHz sample.
        let linear = RateConverter::with_phase(8000, 48000, FilterPhase::Linear).unwrap();
        assert_eq!(linear.latency().as_micros(), 1239);
        for (from, to) in [(8000, 48000), (48000, 8000)] {
            let min = RateConverter::new(from, to)
                .unwrap()
                .latency()
                .as_secs_f64()
                * 1000.0;
            assert!(min < 0.6, "{from}->{to}: {min:.3} ms");
        }
    }

    #[test]
    fn equal_rates_pass_through() {
        let input = sine(1000.0, 48000, 48000);
        assert_eq!(convert(48000, 48000, &input, 100), input);
        assert_eq!(RateConverter::new(8000, 8000).unwrap().delay(), 0);
    }

    #[test]
    fn output_sizes_and_reset() {
        let mut c = RateConverter::new(48000, 8000).unwrap();
        assert_eq!(c.input_wanted(), 960);
        assert!(c.output_max() >= 160);
        let mut n = 0;
        c.process(&[0.5; 960], |o| n += o.len());
        assert_eq!(n, 160, "20 ms in, 20 ms out: nothing held back");
        c.reset();
        let mut first = Vec::new();
        c.process(&[0.0; 6], |o| first.extend_from_slice(o));
        assert_eq!(first, [0.0], "history forgotten");
        assert_eq!(RateConverter::new(8000, 48000).unwrap().input_wanted(), 160);
    }

    #[test]
    fn bad_rates_are_errors() {
        for (from, to) in [(0, 8000), (8000, 0), (8000, 1_000_000)] {
            assert!(RateConverter::new(from, to).is_err(), "{from}->{to}");
        }
    }

    #[test]
    fn sample_conversion_clips() {
        assert_eq!(f32_to_i16(2.0), 32767);
        assert_eq!(f32_to_i16(-2.0), -32768);
        assert_eq!(f32_to_i16(i16_to_f32(1234)), 1234);
        assert_eq!(f32_to_i16(i16_to_f32(-32768)), -32768);
    }
}
