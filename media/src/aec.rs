//! Acoustic echo cancellation for agents on speakers: WebRTC's AEC3 with its high-pass
//! filter, through `sonora` (a pure-Rust port of WebRTC's audio processing).
//!
//! The canceller sees both directions at the device's edge, at 48 kHz mono:
//! [`VoiceProcessor::render`] takes what was played (the far end's voice, as the playout
//! device's callback handed it over: after the playout ring's drift correction, underrun
//! silence and skips) and [`VoiceProcessor::capture`] cleans what the microphone picked up
//! (the agent's voice plus the far end's voice coming back from the speakers).
//!
//! The two are paired sample for sample on the devices' clock: one 10 ms reference frame goes
//! in just before each capture frame. The pairing starts with the newest played sample
//! against the newest captured one ([`VoiceProcessor::align_reference`]) and is kept through
//! the capture side's trims and short reads ([`VoiceProcessor::skip_capture`]). Why at the
//! device's edge and not where the media side writes its frames: between the two, the playout
//! ring's stretching, its underruns and skips, the sound server's lost time and the capture
//! trims move the echo by tens to hundreds of ms at a time, which the canceller cannot follow
//! (paired by the stream's timer, it removed 0.9 dB on the PulseAudio testbed).
//! A capture frame waits briefly for its reference (it comes in the playout callback's
//! bursts); callers may pass any length: the remainder waits in a small buffer, so capture
//! output lags its input by about a frame, plus up to [`MAX_HOLD_MS`] once.
//!
//! The delay between playing a sample and hearing its echo is unknown on a desktop (device
//! buffers, the OS mixer): AEC3 finds it by itself, up to about 500 ms (measured: 61 dB
//! removed at 60, 280 and 400 ms). Unlike AEC2, which this replaced, it keeps the agent's
//! voice when both talk instead of suppressing it (docs/benchmarks.md, "AEC3 against AEC2").
//! Never call it from a device callback: it is too heavy for that thread.

use std::collections::VecDeque;

use crate::device::{f32_to_i16, i16_to_f32};

/// The rate every sample passed in must have.
pub const SAMPLE_RATE: u32 = 48_000;
/// WebRTC's frame: 10 ms at 48 kHz.
pub const FRAME: usize = SAMPLE_RATE as usize / 100;
/// How often the canceller's figures are read: every second of capture.
const ESTIMATE_EVERY_FRAMES: u64 = 100;
/// How often the figures are logged: every 10 readings.
const LOG_EVERY_ESTIMATES: u64 = 10;
/// The reference reaches the media side in the playout device's bursts (20 ms callbacks on
/// PulseAudio); a capture frame waits up to this long for the reference it is paired with
/// (the agent's voice is then that much later, once) before it goes on against silence.
pub const MAX_HOLD_MS: i32 = 60;
/// Reference kept when nothing is captured against it.
const MAX_QUEUED_MS: i32 = 200;

/// What the canceller reports about the echo it sees.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AecStats {
    /// Echo return loss enhancement (how much of the echo it removed), dB.
    pub erle_db: Option<f64>,
    /// The playout-to-microphone delay it estimated, ms.
    pub delay_ms: Option<i32>,
}

/// What the microphone's audio goes through, besides the high-pass filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Processing {
    /// Remove what the speaker plays (AEC3).
    pub echo_cancellation: bool,
    /// Take steady background noise out (fans, an open office's hum): WebRTC's noise
    /// suppressor at its moderate level.
    pub noise_suppression: bool,
    /// Bring a quiet or far-off voice up to a steady level (WebRTC's AGC2, adaptive digital
    /// gain with a limiter).
    pub auto_gain: bool,
}

/// One device pair's voice processing: the echo canceller, and what else [`Processing`]
/// asks for. See the module documentation.
pub struct VoiceProcessor {
    apm: Box<sonora::AudioProcessing>,
    /// Whether capture frames wait for their reference (only the echo canceller needs it).
    paired: bool,
    capture_in: Vec<f32>,
    capture_out: Vec<f32>,
    /// One frame on its way into the canceller, and its copy (it reads one slice and writes
    /// another).
    frame: Vec<f32>,
    frame_in: Vec<f32>,
    /// The reference on its way to the canceller: one frame of it goes in just before each
    /// capture frame, so the two stay paired sample for sample.
    line: VecDeque<f32>,
    /// Reference samples that go with captured audio that was left out (a trimmed capture
    /// backlog) but have not come yet: dropped when they come, so the pairing holds.
    owed: usize,
    /// Capture frames processed: the canceller's clock for reading its estimates.
    captured: u64,
    last: AecStats,
}

impl VoiceProcessor {
    /// An echo canceller at [`SAMPLE_RATE`], mono.
    pub fn echo_canceller() -> Self {
        Self::with(Processing {
            echo_cancellation: true,
            ..Processing::default()
        })
    }

    /// The processing `what` asks for, at [`SAMPLE_RATE`], mono.
    pub fn with(what: Processing) -> Self {
        use sonora::config::{
            EchoCanceller, GainController2, HighPassFilter, NoiseSuppression, NoiseSuppressionLevel,
        };
        let config = sonora::Config {
            echo_canceller: what.echo_cancellation.then(EchoCanceller::default),
            high_pass_filter: Some(HighPassFilter::default()),
            noise_suppression: what.noise_suppression.then(|| NoiseSuppression {
                level: NoiseSuppressionLevel::Moderate,
                ..NoiseSuppression::default()
            }),
            gain_controller2: what.auto_gain.then(|| GainController2 {
                adaptive_digital: Some(Default::default()),
                ..GainController2::default()
            }),
            ..Default::default()
        };
        let stream = sonora::StreamConfig::new(SAMPLE_RATE, 1);
        let apm = sonora::AudioProcessing::builder()
            .config(config)
            .capture_config(stream)
            .render_config(stream)
            .build();
        VoiceProcessor {
            apm: Box::new(apm),
            paired: what.echo_cancellation,
            capture_in: Vec::with_capacity(2 * FRAME),
            capture_out: Vec::with_capacity(2 * FRAME),
            frame: vec![0.0; FRAME],
            frame_in: vec![0.0; FRAME],
            line: VecDeque::new(),
            owed: 0,
            captured: 0,
            last: AecStats::default(),
        }
    }

    /// Feeds what was played (48 kHz mono), in order and without gaps: ideally what the
    /// device was handed, so the pairing with the microphone follows the device's clock.
    pub fn render(&mut self, pcm: &[i16]) {
        self.render_f32(pcm.iter().map(|&s| i16_to_f32(s)));
    }

    /// [`render`](Self::render) for samples already in `f32` (full scale ±1.0).
    pub fn render_f32(&mut self, pcm: impl IntoIterator<Item = f32>) {
        let mut pcm = pcm.into_iter();
        while self.owed > 0 && pcm.next().is_some() {
            self.owed -= 1;
        }
        self.line.extend(pcm);
        // A reference that nobody captures against (the microphone stopped) is let go.
        let most = samples(MAX_QUEUED_MS);
        if self.line.len() > most {
            let extra = self.line.len() - most;
            self.line.drain(..extra);
        }
    }

    /// The captured audio moved against the device's timeline by `samples` (48 kHz): > 0,
    /// that much was left out (a trimmed backlog); < 0, that much silence was made up. The
    /// reference moves as much, so what follows stays paired with what it echoes.
    pub fn skip_capture(&mut self, samples: i64) {
        if samples > 0 {
            let n = usize::try_from(samples).unwrap_or(usize::MAX);
            let gone = n.min(self.line.len());
            self.line.drain(..gone);
            self.owed = self.owed.saturating_add(n - gone).min(SAMPLE_RATE as usize);
        } else {
            let mut n = usize::try_from(samples.unsigned_abs()).unwrap_or(usize::MAX);
            let paid = n.min(self.owed);
            self.owed -= paid;
            n -= paid;
            for _ in 0..n.min(SAMPLE_RATE as usize) {
                self.line.push_front(0.0);
            }
        }
    }

    /// Forgets the reference (the devices restarted, or it piled up unread): pairing starts
    /// over with what is fed next.
    pub fn restart_reference(&mut self) {
        self.line.clear();
        self.owed = 0;
    }

    /// Pairs the reference fed so far with the microphone: the newest reference sample goes
    /// with the newest captured one, which comes `capture_backlog` samples after the next
    /// capture frame starts (what waits in the capture buffers). Call right after
    /// [`restart_reference`](Self::restart_reference) and rendering what was played.
    pub fn align_reference(&mut self, capture_backlog: usize) {
        // Captured samples held here wait for their reference too.
        let want = capture_backlog + self.capture_in.len();
        if self.line.len() > want {
            let extra = self.line.len() - want;
            self.line.drain(..extra);
        } else {
            for _ in self.line.len()..want {
                self.line.push_front(0.0);
            }
        }
        self.owed = 0;
    }

    /// One reference frame for the next capture frame (silence where none came in time).
    fn feed_reference(&mut self) {
        let have = self.line.len().min(FRAME);
        if !self.paired {
            // No echo canceller: nothing needs what was played.
            self.line.drain(..have);
            return;
        }
        for (d, s) in self.frame.iter_mut().zip(self.line.drain(..have)) {
            *d = s;
        }
        // Nothing came for longer than the capture may wait: the playout lost that time (a
        // sound server that underran plays silence and moves on), so silence it is, and
        // what comes next is not held against this frame.
        self.frame[have..].fill(0.0);
        // An error means a wrong frame size, which the chunking rules out; the frame is then
        // simply not seen as echo reference.
        self.frame_in.copy_from_slice(&self.frame);
        let _ = self
            .apm
            .process_render_f32(&[&self.frame_in], &mut [&mut self.frame]);
    }

    /// [`capture_f32`](Self::capture_f32) for integer samples.
    pub fn capture(&mut self, pcm: &mut [i16]) {
        let mut f: Vec<f32> = pcm.iter().map(|&s| i16_to_f32(s)).collect();
        self.capture_f32(&mut f);
        for (o, s) in pcm.iter_mut().zip(f) {
            *o = f32_to_i16(s);
        }
    }

    /// Replaces the microphone's samples (48 kHz mono, full scale ±1.0) with the
    /// echo-cancelled ones, in place. The first call returns up to one frame of silence
    /// while the first frame fills.
    pub fn capture_f32(&mut self, pcm: &mut [f32]) {
        self.capture_in.extend_from_slice(pcm);
        let most_held = FRAME + samples(MAX_HOLD_MS);
        let mut whole = 0;
        while self.capture_in.len() - whole >= FRAME {
            // Wait (briefly) for the reference this frame is paired with.
            if self.paired && self.line.len() < FRAME && self.capture_in.len() - whole < most_held {
                break;
            }
            let start = whole;
            whole += FRAME;
            self.feed_reference();
            let mic = &self.capture_in[start..start + FRAME];
            if self
                .apm
                .process_capture_f32(&[mic], &mut [&mut self.frame])
                .is_err()
            {
                // Pass the microphone through rather than drop the agent's voice.
                self.frame
                    .copy_from_slice(&self.capture_in[start..start + FRAME]);
            }
            self.capture_out.extend_from_slice(&self.frame);
            self.captured += 1;
            if self.captured.is_multiple_of(ESTIMATE_EVERY_FRAMES) {
                self.estimate();
            }
        }
        self.capture_in.drain(..whole);
        // Output what is ready; pad the start with silence until the first frame is out.
        let ready = self.capture_out.len().min(pcm.len());
        let silence = pcm.len() - ready;
        pcm[..silence].fill(0.0);
        for (out, s) in pcm[silence..]
            .iter_mut()
            .zip(self.capture_out.drain(..ready))
        {
            *out = s;
        }
    }

    /// The figures as of the last estimate (once a second of capture).
    pub fn stats(&self) -> AecStats {
        self.last
    }

    /// Reads the canceller's figures, and logs them now and then.
    fn estimate(&mut self) {
        let s = self.apm.statistics();
        self.last = AecStats {
            erle_db: s.echo_return_loss_enhancement,
            delay_ms: s.delay_median_ms.or(s.delay_ms),
        };
        tracing::debug!(stats = ?self.last, queued = self.line.len(), owed = self.owed, "echo canceller estimate");
        if self
            .captured
            .is_multiple_of(ESTIMATE_EVERY_FRAMES * LOG_EVERY_ESTIMATES)
        {
            tracing::info!(stats = ?self.last, queued = self.line.len(), "echo canceller");
        }
    }
}

/// Samples at [`SAMPLE_RATE`] in `ms`.
fn samples(ms: i32) -> usize {
    usize::try_from(ms).unwrap_or(0) * (SAMPLE_RATE as usize / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The room: the speaker's sound reaches the microphone `delay` samples later, at half
    /// amplitude, smeared by a short reflection.
    fn echo_of(far: &[i16], delay: usize) -> Vec<i16> {
        (0..far.len())
            .map(|i| {
                let direct = i
                    .checked_sub(delay)
                    .map_or(0.0, |j| f64::from(far[j]) * 0.5);
                let reflection = i
                    .checked_sub(delay + 240)
                    .map_or(0.0, |j| f64::from(far[j]) * 0.2);
                (direct + reflection) as i16
            })
            .collect()
    }

    fn power(x: &[i16]) -> f64 {
        x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len().max(1) as f64
    }

    /// Runs `far` and `mic` through the canceller in 20 ms blocks (the stream's frame);
    /// returns what the canceller let through.
    fn run(aec: &mut VoiceProcessor, far: &[i16], mic: &[i16]) -> Vec<i16> {
        let block = 960;
        let mut out = Vec::with_capacity(mic.len());
        for (f, m) in far.chunks(block).zip(mic.chunks(block)) {
            aec.render(f);
            let mut m = m.to_vec();
            aec.capture(&mut m);
            out.extend_from_slice(&m);
        }
        out
    }

    #[test]
    fn removes_an_echo_that_comes_back_long_after_the_reference() {
        // A desktop's device path: playout ring, sound server, capture ring and resamplers
        // add up to 200-350 ms; the canceller must find the echo wherever it comes back.
        for delay_ms in [60, 280, 400] {
            let mut aec = VoiceProcessor::echo_canceller();
            let n = SAMPLE_RATE as usize * 8;
            let far = crate::test_support::voice(SAMPLE_RATE, 0, n);
            let mic = echo_of(&far, 48 * delay_ms);
            let out = run(&mut aec, &far, &mic);
            let tail = SAMPLE_RATE as usize * 3;
            let erle = 10.0 * (power(&mic[n - tail..]) / power(&out[n - tail..]).max(1.0)).log10();
            let stats = aec.stats();
            eprintln!("{delay_ms} ms room: echo removed {erle:.1} dB, stats {stats:?}");
            assert!(
                erle > 20.0,
                "{delay_ms} ms: only {erle:.1} dB removed, {stats:?}"
            );
            let found = stats.delay_ms.unwrap_or(0);
            assert!(
                (found - delay_ms as i32).abs() <= 60,
                "{delay_ms} ms estimated as {stats:?}"
            );
        }
    }

    #[test]
    fn the_agents_own_voice_passes_when_the_far_end_is_silent() {
        let mut aec = VoiceProcessor::echo_canceller();
        let n = SAMPLE_RATE as usize * 3;
        let far = vec![0i16; n];
        let voice: Vec<i16> = (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(SAMPLE_RATE);
                ((2.0 * std::f64::consts::PI * 440.0 * t).sin() * 8000.0) as i16
            })
            .collect();
        let out = run(&mut aec, &far, &voice);
        let tail = SAMPLE_RATE as usize;
        let loss_db = 10.0 * (power(&voice[n - tail..]) / power(&out[n - tail..]).max(1.0)).log10();
        eprintln!("near-end loss with a silent far end: {loss_db:.1} dB");
        assert!(
            loss_db.abs() < 3.0,
            "the agent's voice changed by {loss_db:.1} dB"
        );
        let f = crate::test_support::dominant_frequency(&out[n - tail..], SAMPLE_RATE);
        assert!(f.is_some_and(|f| (f - 440.0).abs() < 10.0), "{f:?}");
    }

    fn level_db(x: &[i16]) -> f64 {
        10.0 * power(x).max(1e-9).log10()
    }

    /// `pcm` through `what` in 20 ms blocks with a silent far end.
    fn processed(what: Processing, pcm: &[i16]) -> Vec<i16> {
        let mut p = VoiceProcessor::with(what);
        run(&mut p, &vec![0; pcm.len()], pcm)
    }

    #[test]
    fn noise_suppression_takes_out_steady_noise_and_keeps_the_voice() {
        // An open office's hum (-40 dBFS white noise) throughout; the agent talks (about
        // -22 dBFS) from 3 s on.
        let (n, talk) = (SAMPLE_RATE as usize * 6, SAMPLE_RATE as usize * 3);
        let hum = crate::test_support::white_noise(n, 0.01);
        let voice = crate::test_support::voice(SAMPLE_RATE, 0, n - talk);
        let mut mic = hum.clone();
        for (m, v) in mic[talk..].iter_mut().zip(&voice) {
            *m = m.saturating_add(*v);
        }
        let what = Processing {
            noise_suppression: true,
            ..Processing::default()
        };
        let out = processed(what, &mic);
        // Against the same pipeline without the suppressor (the high-pass filter alone).
        let plain = processed(Processing::default(), &mic);
        let second = SAMPLE_RATE as usize;
        // The noise alone, once the suppressor has learnt it (2-3 s).
        let hum_down = level_db(&plain[2 * second..talk]) - level_db(&out[2 * second..talk]);
        // The voice over the noise (4-6 s).
        let voice_change = level_db(&out[4 * second..]) - level_db(&plain[4 * second..]);
        eprintln!("noise down {hum_down:.1} dB; voice over it changed {voice_change:.1} dB");
        assert!(hum_down >= 8.0, "the noise only {hum_down:.1} dB down");
        assert!(
            voice_change.abs() <= 3.0,
            "the voice changed {voice_change:.1} dB"
        );
    }

    #[test]
    fn auto_gain_brings_a_quiet_voice_up_to_a_normal_one() {
        // The same voice at the usual level (about -22 dBFS) and 30 dB under it (a far-off
        // microphone): the gain brings them near each other and leaves the usual one be.
        let n = SAMPLE_RATE as usize * 10;
        let normal = crate::test_support::voice(SAMPLE_RATE, 0, n);
        let quiet: Vec<i16> = normal.iter().map(|&s| s / 32).collect();
        let what = Processing {
            auto_gain: true,
            ..Processing::default()
        };
        let (loud_out, quiet_out) = (processed(what, &normal), processed(what, &quiet));
        let tail = SAMPLE_RATE as usize * 3;
        let level = |x: &[i16]| level_db(&x[n - tail..]);
        let apart_in = level(&normal) - level(&quiet);
        let apart_out = level(&loud_out) - level(&quiet_out);
        let normal_change = level(&loud_out) - level(&normal);
        // Samples at full scale: the limiter's job is to leave next to none.
        let clipped = loud_out
            .iter()
            .filter(|s| s.unsigned_abs() >= 32_700)
            .count();
        eprintln!(
            "auto gain: {apart_in:.1} dB apart in, {apart_out:.1} dB out; quiet +{:.1} dB, \
             normal {normal_change:+.1} dB, {clipped} samples at full scale",
            level(&quiet_out) - level(&quiet),
        );
        assert!(
            apart_out <= apart_in - 10.0,
            "{apart_in:.1} dB apart in, still {apart_out:.1} dB out"
        );
        assert!(
            normal_change.abs() <= 3.0,
            "the usual voice changed {normal_change:+.1} dB"
        );
        assert!(clipped * 1000 < n, "{clipped} of {n} samples at full scale");
    }

    #[test]
    fn odd_block_sizes_lose_no_samples() {
        // Pieces of any size go in; as many samples come out, behind by under one frame.
        let mut aec = VoiceProcessor::echo_canceller();
        let mut out = Vec::new();
        let mut next = 0i32;
        for size in [1usize, 479, 480, 481, 7, 960, 1500, 13]
            .iter()
            .cycle()
            .take(40)
        {
            let mut block: Vec<i16> = (0..*size)
                .map(|k| (((next + k as i32) % 200) * 40) as i16)
                .collect();
            next += *size as i32;
            aec.render(&vec![0; *size]);
            aec.capture(&mut block);
            out.extend(block);
        }
        assert_eq!(out.len(), next as usize);
        let first = out
            .iter()
            .position(|&s| s != 0)
            .expect("something came out");
        assert!(first <= FRAME + 40, "lag {first} samples");
    }
}
