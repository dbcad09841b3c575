//! Acoustic echo cancellation for agents on speakers: WebRTC's AudioProcessing (AEC2, through
//! `webrtc-audio-processing` 0.5 and the system's libwebrtc-audio-processing).
//!
//! The canceller sees both directions at the device's edge, at 48 kHz mono:
//! [`EchoCanceller::render`] takes what was played (the far end's voice, as the playout
//! device's callback handed it over: after the playout ring's drift correction, underrun
//! silence and skips) and [`EchoCanceller::capture`] cleans what the microphone picked up
//! (the agent's voice plus the far end's voice coming back from the speakers).
//!
//! The two are paired sample for sample on the devices' clock: one 10 ms reference frame goes
//! in just before each capture frame. The pairing starts with the newest played sample
//! against the newest captured one ([`EchoCanceller::align_reference`]) and is kept through
//! the capture side's trims and short reads ([`EchoCanceller::skip_capture`]). Why at the
//! device's edge and not where the media side writes its frames: between the two, the playout
//! ring's stretching, its underruns and skips, the sound server's lost time and the capture
//! trims move the echo by tens to hundreds of ms at a time, which the canceller cannot follow
//! (paired by the stream's timer, it removed 0.9 dB on the PulseAudio testbed).
//! A capture frame waits briefly for its reference (it comes in the playout callback's
//! bursts); callers may pass any length: the remainder waits in a small buffer, so capture
//! output lags its input by about a frame, plus up to [`MAX_HOLD_MS`] once.
//!
//! The delay between playing a sample and hearing its echo is unknown on a desktop (device
//! buffers, the OS mixer), so the canceller runs delay-agnostic with the extended filter.
//! That mode finds long delays but cancels only echoes within ~150 ms of the reference, so
//! the reference is held back in a delay line sized from the canceller's own estimate
//! ([`lead`]). Never call it from a device callback: it is too heavy for that thread.

mod lead;

use std::collections::VecDeque;

use thiserror::Error;

use crate::device::{f32_to_i16, i16_to_f32};
use webrtc_audio_processing as apm;

/// The rate every sample passed in must have.
pub const SAMPLE_RATE: u32 = 48_000;
/// WebRTC's frame: 10 ms at 48 kHz.
pub const FRAME: usize = apm::NUM_SAMPLES_PER_FRAME as usize;
/// How often the delay estimate is read (and the delay line resized): every second of
/// capture. WebRTC's figure is a median over a window of seconds (see `lead`).
const ESTIMATE_EVERY_FRAMES: u64 = 100;
/// How often the figures are logged: every 10 estimates.
const LOG_EVERY_ESTIMATES: u64 = 10;
/// The reference reaches the media side in the playout device's bursts (40 ms callbacks on
/// PulseAudio); a capture frame waits up to this long for the reference it is paired with
/// (the agent's voice is then that much later, once) before it goes on against silence.
pub const MAX_HOLD_MS: i32 = 60;
/// Reference kept beyond the delay line when nothing is captured against it.
const MAX_QUEUED_MS: i32 = 200;

#[derive(Debug, Error)]
#[non_exhaustive]
/// Why the echo canceller cannot run.
pub enum AecError {
    #[error("echo canceller could not start: {0}")]
    /// WebRTC audio processing would not start (what it said).
    Init(String),
}

/// What the canceller reports about the echo it sees.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AecStats {
    /// Echo return loss enhancement (how much of the echo it removed), dB.
    pub erle_db: Option<f64>,
    /// The playout-to-microphone delay it estimated (the delay line included), ms.
    pub delay_ms: Option<i32>,
    /// How long the reference is held back before the canceller sees it, ms.
    pub lead_ms: i32,
}

/// One call's (or one device pair's) echo canceller. See the module documentation.
pub struct EchoCanceller {
    processor: apm::Processor,
    capture_in: Vec<f32>,
    capture_out: Vec<f32>,
    frame: Vec<f32>,
    /// The reference on its way to the canceller, held back by `lead`: one frame of it goes
    /// in just before each capture frame, so the two stay paired sample for sample.
    line: VecDeque<f32>,
    /// Reference samples that go with captured audio that was left out (a trimmed capture
    /// backlog) but have not come yet: dropped when they come, so the pairing holds.
    owed: usize,
    lead: lead::Lead,
    /// Capture frames processed: the canceller's clock for reading its estimates.
    captured: u64,
    last: AecStats,
}

impl EchoCanceller {
    /// A canceller at [`SAMPLE_RATE`], mono, delay-agnostic with the extended filter.
    pub fn new() -> Result<Self, AecError> {
        let mut processor = apm::Processor::new(&apm::InitializationConfig {
            num_capture_channels: 1,
            num_render_channels: 1,
            ..Default::default()
        })
        .map_err(|e| AecError::Init(e.to_string()))?;
        processor.set_config(apm::Config {
            echo_cancellation: Some(apm::EchoCancellation {
                suppression_level: apm::EchoCancellationSuppressionLevel::Low,
                enable_extended_filter: true,
                enable_delay_agnostic: true,
                stream_delay_ms: None,
            }),
            enable_high_pass_filter: true,
            ..Default::default()
        });
        let mut aec = EchoCanceller {
            processor,
            capture_in: Vec::with_capacity(2 * FRAME),
            capture_out: Vec::with_capacity(2 * FRAME),
            frame: vec![0.0; FRAME],
            line: VecDeque::new(),
            owed: 0,
            lead: lead::Lead::default(),
            captured: 0,
            last: AecStats::default(),
        };
        aec.restart_reference();
        Ok(aec)
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
        let most = samples(self.lead.ms() + MAX_QUEUED_MS);
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
    /// over with what is fed next. The line's length (the delay it learnt) is kept.
    pub fn restart_reference(&mut self) {
        self.line.clear();
        self.line
            .extend(std::iter::repeat_n(0.0, samples(self.lead.ms())));
        self.owed = 0;
    }

    /// Pairs the reference fed so far with the microphone: the newest reference sample goes
    /// with the newest captured one, which comes `capture_backlog` samples after the next
    /// capture frame starts (what waits in the capture buffers). Call right after
    /// [`restart_reference`](Self::restart_reference) and rendering what was played.
    pub fn align_reference(&mut self, capture_backlog: usize) {
        // Captured samples held here wait for their reference too.
        let want = samples(self.lead.ms()) + capture_backlog + self.capture_in.len();
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
        for (d, s) in self.frame.iter_mut().zip(self.line.drain(..have)) {
            *d = s;
        }
        // Nothing came for longer than the capture may wait: the playout lost that time (a
        // sound server that underran plays silence and moves on), so silence it is, and
        // what comes next is not held against this frame.
        self.frame[have..].fill(0.0);
        // An error means a wrong frame size, which the chunking rules out; the frame is then
        // simply not seen as echo reference.
        let _ = self.processor.process_render_frame(&mut self.frame);
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
            if self.line.len() < FRAME && self.capture_in.len() - whole < most_held {
                break;
            }
            let start = whole;
            whole += FRAME;
            self.feed_reference();
            self.frame
                .copy_from_slice(&self.capture_in[start..start + FRAME]);
            if self
                .processor
                .process_capture_frame(&mut self.frame)
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

    /// Reads the canceller's figures and resizes the delay line if the echo has moved out of
    /// its reach.
    fn estimate(&mut self) {
        let s = self.processor.get_stats();
        // WebRTC reports "not measured yet" as huge negative sentinels.
        let remaining = s.delay_median_ms.filter(|v| *v >= 0);
        tracing::debug!(
            median = ?s.delay_median_ms,
            std = ?s.delay_standard_deviation_ms,
            poor = ?s.delay_fraction_poor_delays,
            erle = ?s.echo_return_loss_enhancement,
            lead = self.lead.ms(),
            queued = self.line.len(),
            owed = self.owed,
            "echo canceller estimate"
        );
        let lead_ms = self.lead.ms();
        // Right after a resize the figure still describes the old line: keep the last total.
        let delay_ms = if self.lead.settled() {
            remaining.map(|r| r + self.lead.ms())
        } else {
            self.last.delay_ms
        };
        self.last = AecStats {
            erle_db: s.echo_return_loss_enhancement.filter(|v| *v > -100.0),
            delay_ms,
            lead_ms: self.lead.ms(),
        };
        if let Some(next) = self.lead.on_estimate(remaining) {
            let (now, next) = (samples(lead_ms), samples(next));
            if next > now {
                // Silence goes out first, so what follows reaches the canceller later.
                for _ in now..next {
                    self.line.push_front(0.0);
                }
            } else {
                let gone = (now - next).min(self.line.len());
                self.line.drain(..gone);
                self.owed += now - next - gone;
            }
            tracing::info!(
                delay_ms = ?self.last.delay_ms,
                from_ms = lead_ms,
                to_ms = self.lead.ms(),
                "echo canceller: reference delay line resized"
            );
        }
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

    /// A speech-like far-end signal: three tones under a syllable-rate envelope, with pauses.
    fn far_end(n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(SAMPLE_RATE);
                let envelope = (std::f64::consts::PI * 3.0 * t).sin().abs();
                let talking = if (t % 2.0) < 1.6 { 1.0 } else { 0.0 };
                let v = (2.0 * std::f64::consts::PI * 310.0 * t).sin()
                    + 0.6 * (2.0 * std::f64::consts::PI * 770.0 * t).sin()
                    + 0.3 * (2.0 * std::f64::consts::PI * 1450.0 * t).sin();
                (v * envelope * talking * 6000.0) as i16
            })
            .collect()
    }

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
    fn run(aec: &mut EchoCanceller, far: &[i16], mic: &[i16]) -> Vec<i16> {
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
    fn removes_most_of_the_far_end_coming_back_through_the_room() {
        let mut aec = EchoCanceller::new().unwrap();
        let secs = 8;
        let far = far_end(SAMPLE_RATE as usize * secs);
        let mic = echo_of(&far, 48 * 60); // 60 ms speaker-to-microphone
        let out = run(&mut aec, &far, &mic);
        // Judge the last 3 s, after the filter has converged.
        let tail = SAMPLE_RATE as usize * 3;
        let echo = power(&mic[mic.len() - tail..]);
        let left = power(&out[out.len() - tail..]);
        let erle = 10.0 * (echo / left.max(1.0)).log10();
        eprintln!("echo removed: {erle:.1} dB, stats {:?}", aec.stats());
        assert!(erle > 15.0, "only {erle:.1} dB of echo removed");
    }

    #[test]
    fn removes_an_echo_that_comes_back_long_after_the_reference() {
        // A desktop's device path: playout ring, sound server, capture ring and resamplers
        // add up to 200-350 ms. Without the delay line the canceller estimated these delays
        // right but removed under 1 dB at 240-320 ms (35-40 dB at 20-120 ms).
        for delay_ms in [60, 280, 400] {
            let mut aec = EchoCanceller::new().unwrap();
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
        let mut aec = EchoCanceller::new().unwrap();
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

    #[test]
    fn odd_block_sizes_lose_no_samples() {
        // Pieces of any size go in; as many samples come out, behind by under one frame.
        let mut aec = EchoCanceller::new().unwrap();
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
