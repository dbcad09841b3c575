//! The receive path of one stream, sans-IO: audio packets go into the adaptive jitter
//! buffer with their arrival time ([`Receiver::insert`]); the playout clock pulls one frame
//! per period ([`Receiver::pull`]), decoded, concealed (PLC), recovered from the next
//! packet's in-band FEC (Opus), or silence while buffering, at the codec's rate (the sink
//! converts, if it must: `crate::sink`).
//!
//! Reordering, duplicates, late packets, SSRC changes, sequence and timestamp wrap and
//! timestamp jumps are the jitter buffer's business ([`crate::jitter`]).

use std::time::{Duration, Instant};

use tracing::{debug, warn};

use crate::codec::{self, AudioDecoder};
use crate::jitter::{Inserted, JitterBuffer, JitterConfig, JitterStats, Playout, ReceivedFrame};
use crate::negotiate::Codec;
use crate::rtp::RtpHeader;

/// Counters of the receive path that the jitter buffer does not keep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiveCounters {
    /// Lost frames recovered from the next packet's in-band FEC.
    pub fec_recovered: u64,
    /// Payloads the decoder refused (their frame is concealed).
    pub decode_errors: u64,
}

/// See the module doc.
pub struct Receiver {
    codec: Codec,
    /// Samples per frame at the codec's rate.
    frame: usize,
    jitter: JitterBuffer,
    decoder: Option<Box<dyn AudioDecoder>>,
    counters: ReceiveCounters,
    /// Buffer delay of the last frame played (not of concealment while the peer is silent,
    /// which grows without bound and is no delay anyone hears).
    delay: Duration,
}

impl Receiver {
    /// A receiver for `codec` packets of `frame_ms`.
    pub fn new(codec: Codec, frame_ms: u32) -> Receiver {
        let decoder = codec::decoder(codec)
            .inspect_err(|e| warn!(error = %e, %codec, "decoder cannot be created"))
            .ok();
        Receiver {
            codec,
            frame: (codec.sample_rate() * frame_ms / 1000) as usize,
            jitter: JitterBuffer::new(jitter_config(codec, frame_ms))
                .expect("codec rates and frame sizes are in range"),
            decoder,
            counters: ReceiveCounters::default(),
            delay: Duration::ZERO,
        }
    }

    /// Rate of the frames [`pull`](Self::pull) gives: the codec's audio rate (48 kHz for
    /// Opus, 16 kHz for G.722).
    pub fn rate(&self) -> u32 {
        self.codec.sample_rate()
    }

    /// An audio packet (of the negotiated payload type) arrived at `now`.
    pub fn insert(&mut self, now: Instant, h: &RtpHeader, payload: &[u8]) -> Inserted {
        self.jitter.insert(
            now,
            ReceivedFrame {
                seq: h.sequence,
                timestamp: h.timestamp,
                ssrc: h.ssrc,
                marker: h.marker,
                payload: payload.to_vec(),
            },
        )
    }

    /// The next frame of audio at the codec's rate ([`rate`](Self::rate)), replacing `out`'s
    /// contents.
    pub fn pull(&mut self, now: Instant, out: &mut Vec<i16>) {
        let playout = self.jitter.pull(now);
        out.clear();
        let frame = self.frame;
        match (playout, self.decoder.as_mut()) {
            (_, None) | (Playout::Silence, _) => out.resize(frame, 0),
            (Playout::Frame { payload, .. }, Some(d)) => {
                self.delay = self.jitter.current_delay();
                if let Err(e) = d.decode(&payload, out) {
                    debug!(error = %e, "undecodable payload; concealing its frame");
                    self.counters.decode_errors += 1;
                    out.clear();
                    d.conceal(frame, out);
                }
            }
            (Playout::Conceal { .. }, Some(d)) => d.conceal(frame, out),
            (Playout::Recover { next_payload, .. }, Some(d)) => {
                if d.decode_fec(&next_payload, frame, out) {
                    self.counters.fec_recovered += 1;
                } else {
                    out.clear();
                    d.conceal(frame, out);
                }
            }
        }
    }

    /// The jitter buffer's counters.
    pub fn jitter_stats(&self) -> JitterStats {
        self.jitter.stats()
    }

    /// What the receive path counted besides the jitter buffer.
    pub fn counters(&self) -> ReceiveCounters {
        self.counters
    }

    /// How long the frame played last waited past its fastest possible arrival.
    pub fn playout_delay(&self) -> Duration {
        self.delay
    }

    /// Audio made up by concealment (loss, lateness, underrun, undecodable payloads), net
    /// of what FEC recovered.
    pub fn concealed(&self) -> Duration {
        let s = self.jitter.stats();
        let frames =
            (s.concealed + self.counters.decode_errors).saturating_sub(self.counters.fec_recovered);
        s.frame * frames.min(u32::MAX as u64) as u32
    }
}

/// The stream's jitter buffer: frame adaptation (the playout clock pulls exactly one frame
/// per period); jitter grows the target from the delay histogram. Both codecs start with no
/// delay, so a clean network adds less than a frame. Once a packet is lost Opus keeps at
/// least one frame: in-band FEC rebuilds a lost frame from the *next* packet, which must be
/// in hand by then.
fn jitter_config(codec: Codec, frame_ms: u32) -> JitterConfig {
    let cfg = JitterConfig::new(codec.clock_rate(), frame_ms);
    let after_loss = match codec {
        Codec::Opus => cfg.frame,
        Codec::Pcmu | Codec::Pcma | Codec::G722 => Duration::ZERO,
    };
    JitterConfig {
        initial_delay: Duration::ZERO,
        min_delay: Duration::ZERO,
        min_delay_after_loss: after_loss,
        ..cfg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encoder;
    use crate::OpusSettings;

    const MS20: Duration = Duration::from_millis(20);

    fn header(seq: u16, ts: u32) -> RtpHeader {
        RtpHeader {
            marker: false,
            payload_type: 0,
            sequence: seq,
            timestamp: ts,
            ssrc: 7,
        }
    }

    /// 20 ms frames of a voice-like signal from one encoder (libopus codes FEC for what
    /// its VAD calls speech; a steady tone gets almost none).
    fn voice_frames(codec: Codec, count: usize) -> Vec<Vec<u8>> {
        let rate = codec.clock_rate() as usize;
        let mut enc = encoder(codec, &OpusSettings::default()).unwrap();
        // As after a report of 10% loss: Opus packets carry FEC copies.
        enc.set_expected_loss(10);
        (0..count)
            .map(|n| {
                let pcm = crate::test_support::voice(rate as u32, n * rate / 50, rate / 50);
                let mut out = Vec::new();
                enc.encode(&pcm, &mut out).unwrap();
                out
            })
            .collect()
    }

    /// Packets every 20 ms with a fixed transit, pulls every 20 ms at another phase: after
    /// the first packet every pull plays a frame, none is concealed, and the buffer holds
    /// each frame less than one frame time.
    #[test]
    fn a_clean_network_adds_less_than_a_frame() {
        for phase_ms in [1, 7, 13, 19] {
            let t0 = Instant::now();
            let mut r = Receiver::new(Codec::Pcmu, 20);
            let mut out = Vec::new();
            let (mut seq, mut ts) = (65_500u16, u32::MAX - 800); // both wrap on the way
            for i in 0..500u32 {
                let arrival = t0 + MS20 * i;
                r.insert(arrival, &header(seq, ts), &[0x55; 160]);
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(160);
                r.pull(arrival + Duration::from_millis(phase_ms), &mut out);
                assert_eq!(out.len(), 160);
                assert!(r.playout_delay() < MS20, "{:?}", r.playout_delay());
            }
            let s = r.jitter_stats();
            assert_eq!((s.played, s.concealed, s.silence), (500, 0, 0), "{s:?}");
        }
    }

    /// After jittery arrivals (0 or 18 ms late in turn) the buffer holds enough that a
    /// reordered pair and a duplicate play once each, in order, with nothing concealed.
    #[test]
    fn reordered_and_duplicate_packets_play_once_in_order() {
        let t0 = Instant::now();
        let mut r = Receiver::new(Codec::Pcmu, 20);
        let mut arrivals: Vec<(u16, u64)> = (0..120u16)
            .map(|n| (n, n as u64 * 20 + if n % 2 == 1 { 18 } else { 0 }))
            .collect();
        arrivals[81].1 = 81 * 20; // 81 overtakes 80
        arrivals[80].1 = 80 * 20 + 21;
        arrivals.push((90, 90 * 20 + 5)); // a duplicate
        arrivals.sort_by_key(|a| a.1);
        let byte_of: std::collections::HashMap<i16, u8> = (0..128u8)
            .map(|b| (crate::g711::ulaw_decode(b), b))
            .collect();
        let (mut out, mut played, mut next) = (Vec::new(), Vec::new(), 0);
        for slot in 0..125u64 {
            let pull_at = slot * 20 + 10;
            while next < arrivals.len() && arrivals[next].1 <= pull_at {
                let (n, at) = arrivals[next];
                let h = header(n, n as u32 * 160);
                r.insert(t0 + Duration::from_millis(at), &h, &[n as u8; 160]);
                next += 1;
            }
            let before = r.jitter_stats().concealed;
            r.pull(t0 + Duration::from_millis(pull_at), &mut out);
            if r.jitter_stats().concealed == before {
                played.extend(byte_of.get(&out[0]).copied());
            }
        }
        let window: Vec<u8> = played
            .iter()
            .copied()
            .filter(|b| (75..95).contains(b))
            .collect();
        assert_eq!(window, (75..95).collect::<Vec<u8>>(), "{played:?}");
        let s = r.jitter_stats();
        assert_eq!(
            (s.duplicates, s.reordered, s.late_dropped),
            (1, 1, 0),
            "{s:?}"
        );
    }

    /// A packet later than the delay allows is dropped as late: its frame was concealed.
    #[test]
    fn a_packet_after_its_turn_is_dropped_as_late() {
        let t0 = Instant::now();
        let mut r = Receiver::new(Codec::Pcmu, 20);
        let mut out = Vec::new();
        for slot in 0..6u32 {
            if slot != 3 {
                r.insert(
                    t0 + MS20 * slot,
                    &header(slot as u16, slot * 160),
                    &[0x55; 160],
                );
            }
            r.pull(t0 + MS20 * slot + Duration::from_millis(10), &mut out);
        }
        assert_eq!(
            r.insert(t0 + MS20 * 6, &header(3, 480), &[0x55; 160]),
            Inserted::Late
        );
        let s = r.jitter_stats();
        assert_eq!((s.late_dropped, s.concealed), (1, 1), "{s:?}");
        assert_eq!(r.concealed(), MS20);
    }

    /// On a clean network Opus plays each frame as it lands, at 48 kHz. The first loss is
    /// concealed (no next packet in hand yet) and raises the buffer by a frame; from then on
    /// a lost frame is rebuilt from its successor's in-band FEC.
    #[test]
    fn opus_buffers_for_fec_only_after_a_loss() {
        let t0 = Instant::now();
        let mut r = Receiver::new(Codec::Opus, 20);
        let mut out = Vec::new();
        let frames = voice_frames(Codec::Opus, 120);
        for i in 0..120u32 {
            if i != 22 && i != 80 {
                r.insert(
                    t0 + MS20 * i,
                    &header(i as u16, i * 960),
                    &frames[i as usize],
                );
            }
            r.pull(t0 + MS20 * i + Duration::from_millis(5), &mut out);
            assert_eq!(out.len(), 960, "48 kHz frames, no detour through 8 kHz");
            if i == 21 {
                assert_eq!(r.playout_delay(), Duration::from_millis(5), "no FEC frame");
            }
        }
        assert_eq!(
            r.playout_delay(),
            Duration::from_millis(25),
            "one frame after a loss"
        );
        assert_eq!(r.counters().fec_recovered, 1, "{:?}", r.jitter_stats());
        assert_eq!(r.concealed(), MS20, "the first loss only");
    }

    #[test]
    fn garbage_opus_is_concealed_and_counted() {
        let t0 = Instant::now();
        let mut r = Receiver::new(Codec::Opus, 20);
        let mut out = Vec::new();
        // A TOC byte announcing a code-3 packet with a frame count of 0: invalid.
        r.insert(t0, &header(1, 0), &[0x03, 0x00]);
        r.pull(t0 + Duration::from_millis(25), &mut out);
        assert_eq!(out.len(), 960);
        assert_eq!(r.counters().decode_errors, 1);
        assert_eq!(r.concealed(), MS20);
    }
}
