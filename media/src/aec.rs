//! Acoustic echo cancellation for agents on speakers: WebRTC's AudioProcessing (AEC2, through
//! `webrtc-audio-processing` 0.5 and the system's libwebrtc-audio-processing).
//!
//! The canceller sees both directions at the device's edge, at 48 kHz mono:
//! [`EchoCanceller::render`] takes what is about to be played (the far end's voice) and
//! [`EchoCanceller::capture`] cleans what the microphone picked up (the agent's voice plus the
//! far end's voice coming back from the speakers). WebRTC works on 10 ms frames; callers may
//! pass any length: whole frames are processed at once and the remainder waits in a small
//! buffer, so capture output lags its input by less than one frame.
//!
//! The delay between playing a sample and hearing its echo is unknown on a desktop (device
//! buffers, the OS mixer), so the canceller runs delay-agnostic with the extended filter.
//! That mode finds long delays but cancels only echoes within ~150 ms of the reference, so
//! the reference is held back in a delay line sized from the canceller's own estimate
//! ([`lead`]). Never call it from a device callback: it is too heavy for that thread.

mod lead;

use std::collections::VecDeque;

use thiserror::Error;
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

#[derive(Debug, Error)]
pub enum AecError {
    #[error("echo canceller could not start: {0}")]
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
    render_pending: Vec<f32>,
    capture_in: Vec<f32>,
    capture_out: Vec<f32>,
    frame: Vec<f32>,
    /// The reference on its way to the canceller, held back by `lead`.
    line: VecDeque<f32>,
    lead: lead::Lead,
    /// Capture frames processed: the canceller's clock for reading its estimates.
    captured: u64,
    last: AecStats,
}

impl EchoCanceller {
    pub fn new() -> Result<Self, AecError> {
        let mut processor = apm::Processor::new(&apm::InitializationConfig {
            num_capture_channels: 1,
            num_render_channels: 1,
            ..Default::default()
        })
        .map_err(|e| AecError::Init(e.to_string()))?;
        processor.set_config(apm::Config {
            echo_cancellation: Some(apm::EchoCancellation {
                suppression_level: apm::EchoCancellationSuppressionLevel::Moderate,
                enable_extended_filter: true,
                enable_delay_agnostic: true,
                stream_delay_ms: None,
            }),
            enable_high_pass_filter: true,
            ..Default::default()
        });
        Ok(EchoCanceller {
            processor,
            render_pending: Vec::with_capacity(2 * FRAME),
            capture_in: Vec::with_capacity(2 * FRAME),
            capture_out: Vec::with_capacity(2 * FRAME),
            frame: vec![0.0; FRAME],
            line: VecDeque::new(),
            lead: lead::Lead::default(),
            captured: 0,
            last: AecStats::default(),
        })
    }

    /// Feeds what is about to be played (48 kHz mono). The samples are not changed.
    pub fn render(&mut self, pcm: &[i16]) {
        self.line.extend(pcm.iter().map(|&s| to_f32(s)));
        let ready = self.line.len().saturating_sub(samples(self.lead.ms()));
        self.render_pending.extend(self.line.drain(..ready));
        let whole = self.render_pending.len() / FRAME * FRAME;
        for chunk in self.render_pending[..whole].chunks_exact(FRAME) {
            self.frame.copy_from_slice(chunk);
            // An error means a wrong frame size, which the chunking rules out; the frame is
            // then simply not seen as echo reference.
            let _ = self.processor.process_render_frame(&mut self.frame);
        }
        self.render_pending.drain(..whole);
    }

    /// Replaces the microphone's samples (48 kHz mono) with the echo-cancelled ones, in place.
    /// The first call returns up to one frame of silence while the first frame fills.
    pub fn capture(&mut self, pcm: &mut [i16]) {
        self.capture_in.extend(pcm.iter().map(|&s| to_f32(s)));
        let whole = self.capture_in.len() / FRAME * FRAME;
        for start in (0..whole).step_by(FRAME) {
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
        pcm[..silence].fill(0);
        for (out, s) in pcm[silence..]
            .iter_mut()
            .zip(self.capture_out.drain(..ready))
        {
            *out = to_i16(s);
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
        let lead_ms = self.lead.ms();
        // Right after a resize the figure still describes the old line: keep the last total.
        let delay_ms = if self.lead.settled() {
            remaining.map(|r| r + lead_ms)
        } else {
            self.last.delay_ms
        };
        self.last = AecStats {
            erle_db: s.echo_return_loss_enhancement.filter(|v| *v > -100.0),
            delay_ms,
            lead_ms,
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
            tracing::debug!(stats = ?self.last, "echo canceller");
        }
    }
}

/// Samples at [`SAMPLE_RATE`] in `ms`.
fn samples(ms: i32) -> usize {
    usize::try_from(ms).unwrap_or(0) * (SAMPLE_RATE as usize / 1000)
}

fn to_f32(s: i16) -> f32 {
    f32::from(s) / 32768.0
}

fn to_i16(s: f32) -> i16 {
    (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16
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
            let far = crate::analysis::voice(SAMPLE_RATE, 0, n);
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
        let f = crate::analysis::dominant_frequency(&out[n - tail..], SAMPLE_RATE);
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
