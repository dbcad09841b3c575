//! The delay a user agent adds, black-box and the same for every peer: a prober (SIPp for the
//! signaling, this module for the media) calls the user agent, which answers and plays what
//! it hears on its speaker; one PulseAudio loopback carries the speaker back into its
//! microphone, so it sends the prober's own clicks back. The time from a click leaving the
//! prober to its return is the agent's receive, playout, capture and send path, plus the
//! loopback's fixed latency (the same for everyone).

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use media::{Codec, RtpHeader, RtpPacket};

/// PCMU: 8000 samples a second, 160 per 20 ms packet.
const RATE: usize = 8000;
const FRAME: usize = 160;
/// One click a second: a 5 ms burst of 1 kHz at -6 dBFS, silence between.
const CLICK_EVERY: usize = RATE;
const CLICK_LEN: usize = RATE / 200;

/// The clicks' round trips.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Delays {
    pub sent: usize,
    /// Round trips of the clicks that came back, ms, in order.
    pub round_trips_ms: Vec<f64>,
}

impl Delays {
    /// The `q` quantile (0..=1) of the round trips, ms.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let mut v = self.round_trips_ms.clone();
        v.sort_by(f64::total_cmp);
        let i = ((v.len() as f64 - 1.0) * q).round() as usize;
        v.get(i).copied()
    }
}

/// The prober's RTP end: bound before the call, so its port goes into the offer.
pub struct Prober {
    socket: UdpSocket,
}

impl Prober {
    pub fn bind() -> Result<Prober, String> {
        let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("bind the prober: {e}"))?;
        socket
            .set_read_timeout(Some(Duration::from_millis(5)))
            .map_err(|e| e.to_string())?;
        Ok(Prober { socket })
    }

    pub fn port(&self) -> u16 {
        self.socket.local_addr().map_or(0, |a| a.port())
    }

    /// Waits until the user agent's RTP address is known (its first packet, or `answered`:
    /// the address in its SDP answer), then for `span` sends clicks every second and listens
    /// for them to come back.
    pub fn run(
        &self,
        first_within: Duration,
        span: Duration,
        answered: impl Fn() -> Option<SocketAddr>,
    ) -> Result<Delays, String> {
        let started = Instant::now();
        let mut buf = [0u8; 2048];
        let peer = loop {
            match self.socket.recv_from(&mut buf) {
                Ok((_, from)) => break from,
                Err(_) => {
                    if let Some(addr) = answered() {
                        break addr;
                    }
                    if started.elapsed() > first_within {
                        return Err("the user agent neither answered nor sent RTP".into());
                    }
                }
            }
        };
        let mut encoder =
            media::encoder(Codec::Pcmu, &Default::default()).map_err(|e| e.to_string())?;
        let mut decoder = media::decoder(Codec::Pcmu).map_err(|e| e.to_string())?;
        let t0 = Instant::now();
        let mut sent_clicks: Vec<Instant> = Vec::new();
        let mut heard = Heard::default();
        let frames = (span.as_millis() / 20) as usize;
        let mut out = Vec::with_capacity(FRAME + 12);
        let mut pcm = vec![0i16; FRAME];
        for n in 0..frames {
            let due = t0 + Duration::from_millis(20 * n as u64);
            // Listen until this frame is due, then send it.
            loop {
                let now = Instant::now();
                if now >= due {
                    break;
                }
                self.socket
                    .set_read_timeout(Some((due - now).max(Duration::from_micros(200))))
                    .map_err(|e| e.to_string())?;
                if let Ok((len, from)) = self.socket.recv_from(&mut buf) {
                    if from == peer {
                        heard.packet(&buf[..len], Instant::now(), decoder.as_mut());
                    }
                }
            }
            let first = n * FRAME;
            for (i, s) in pcm.iter_mut().enumerate() {
                let at = first + i;
                let phase = at % CLICK_EVERY;
                *s = if phase < CLICK_LEN {
                    let t = at as f64 / RATE as f64;
                    (16384.0 * (std::f64::consts::TAU * 1000.0 * t).sin()) as i16
                } else {
                    0
                };
                if phase == 0 {
                    sent_clicks.push(t0 + Duration::from_secs_f64(at as f64 / RATE as f64));
                }
            }
            out.clear();
            RtpHeader {
                marker: n == 0,
                payload_type: 0,
                sequence: n as u16,
                timestamp: first as u32,
                ssrc: 0x5052_4f42,
            }
            .write(&mut out);
            encoder.encode(&pcm, &mut out).map_err(|e| e.to_string())?;
            // The click's send time is the packet's: a packet leaves when its last sample
            // is due, but every peer sees the same offset, so it cancels out in the ranking.
            let _ = self.socket.send_to(&out, peer);
        }
        // Clicks may still be on their way back. (The read timeout left from the send
        // loop may be a fraction of a millisecond: no need to spin on it now.)
        self.socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .map_err(|e| e.to_string())?;
        let tail = Instant::now() + Duration::from_millis(600);
        while Instant::now() < tail {
            if let Ok((len, from)) = self.socket.recv_from(&mut buf) {
                if from == peer {
                    heard.packet(&buf[..len], Instant::now(), decoder.as_mut());
                }
            }
        }
        Ok(Delays {
            sent: sent_clicks.len(),
            round_trips_ms: heard.match_clicks(&sent_clicks),
        })
    }
}

/// What came back: decoded samples on the sender's timeline (RTP timestamps anchored at the
/// earliest arrival), so arrival jitter does not blur the onsets.
#[derive(Default)]
struct Heard {
    /// (RTP timestamp of the first sample, arrival, samples)
    packets: Vec<(u32, Instant, Vec<i16>)>,
}

impl Heard {
    fn packet(&mut self, bytes: &[u8], at: Instant, decoder: &mut dyn media::AudioDecoder) {
        let Ok(p) = RtpPacket::parse(bytes) else {
            return;
        };
        if p.header.payload_type != 0 {
            return;
        }
        let mut pcm = Vec::new();
        if decoder.decode(p.payload, &mut pcm).is_ok() {
            self.packets.push((p.header.timestamp, at, pcm));
        }
    }

    /// For each click sent, the round trip to the first loud onset heard after it.
    fn match_clicks(&self, sent: &[Instant]) -> Vec<f64> {
        let Some(&(ts0, _, _)) = self.packets.first() else {
            return Vec::new();
        };
        // The instant of timestamp ts0 on the sender's clock: the earliest any packet's
        // arrival implies (loopback adds no queueing worth speaking of).
        let offset = |ts: u32| Duration::from_secs_f64(ts.wrapping_sub(ts0) as f64 / RATE as f64);
        let Some(base) = self
            .packets
            .iter()
            .map(|(ts, at, _)| *at - offset(*ts))
            .min()
        else {
            return Vec::new();
        };
        let peak = self
            .packets
            .iter()
            .flat_map(|(_, _, pcm)| pcm.iter())
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap_or(0);
        if peak < 300 {
            return Vec::new();
        }
        let threshold = peak / 4;
        // Onsets: loud samples after at least 200 ms of quiet.
        let mut onsets: Vec<Instant> = Vec::new();
        let mut last_loud: Option<Instant> = None;
        for (ts, _, pcm) in &self.packets {
            for (i, s) in pcm.iter().enumerate() {
                if s.unsigned_abs() < threshold {
                    continue;
                }
                let at = base + offset(*ts) + Duration::from_secs_f64(i as f64 / RATE as f64);
                if last_loud
                    .is_none_or(|l| at.saturating_duration_since(l) > Duration::from_millis(200))
                {
                    onsets.push(at);
                }
                last_loud = Some(at);
            }
        }
        sent.iter()
            .filter_map(|s| {
                onsets
                    .iter()
                    .find(|o| **o > *s && o.duration_since(*s) < Duration::from_millis(800))
                    .map(|o| o.duration_since(*s).as_secs_f64() * 1000.0)
            })
            .collect()
    }
}

/// The audio address in the SDP of the first 200 OK in SIPp's message trace.
pub fn answered_rtp(sipp_messages: &str) -> Option<SocketAddr> {
    let answer = sipp_messages
        .split("SIP/2.0 200")
        .skip(1)
        .find(|m| m.contains("m=audio"))?;
    let ip = answer
        .lines()
        .find_map(|l| l.trim().strip_prefix("c=IN IP4 "))?
        .trim();
    let port = answer
        .lines()
        .find_map(|l| l.trim().strip_prefix("m=audio "))?
        .split_whitespace()
        .next()?;
    format!("{ip}:{port}").parse().ok()
}
