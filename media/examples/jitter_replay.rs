//! Replays speech through the receive path (jitter buffer, decoder, concealment) over a
//! simulated network on a virtual clock, and writes what the play clock pulled: how the
//! buffer's policy alone treats loss and jitter, repeatable and in a second, to score with
//! `benches/pesq/score.py` before a real `make bench-pesq` run.
//!
//! ```text
//! cargo run --release -p media --example jitter_replay -- CODEC IN.wav OUT.wav \
//!     [--loss P] [--delay-ms D] [--jitter-ms J] [--seed S] [--complexity C]
//!     [--packets FILE] [--drop I,J,...]
//! ```
//!
//! `IN.wav`: mono 16-bit at the codec's audio rate (48 kHz Opus, 16 kHz G.722, 8 kHz
//! G.711). The network is the bench's impairer (`benches/pesq/impair.py`): each 20 ms packet
//! is lost with probability P, else delayed by D plus a normal deviate of sigma J ms, clipped
//! at 0 (its own random draws: not the same packets as a bench run with the same seed). The
//! play clock pulls a frame every 20 ms from 2 ms after the first packet lands, as the
//! stream's does. The sender's Opus encoder runs without FEC (as the bench's baresip) at
//! complexity C (10, libopus's default, unless given). `--packets FILE` sends the payloads
//! in FILE instead (each a 32-bit little-endian length and the bytes: packets taken off the
//! wire, e.g. the bench's sender's); `--drop` loses exactly the packets listed (0-based)
//! instead of drawing losses, so a run can be compared with another decoder's on the same
//! losses.

use std::time::{Duration, Instant};

use media::test_support::{read_wav_mono, split_packets, Receiver};
use media::{encoder, Codec, OpusSettings, RtpHeader};
use rand::{Rng, SeedableRng};

struct Args {
    codec: Codec,
    input: String,
    output: String,
    loss: f64,
    delay_ms: f64,
    jitter_ms: f64,
    seed: u64,
    complexity: u8,
    packets: Option<String>,
    drop: Option<Vec<usize>>,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let usage = "usage: jitter_replay opus|g722|pcmu IN.wav OUT.wav [--loss P] [--delay-ms D] [--jitter-ms J] [--seed S] [--complexity C] [--packets FILE] [--drop I,J,...]";
    let codec = match it.next().as_deref() {
        Some("opus") => Codec::Opus,
        Some("g722") => Codec::G722,
        Some("pcmu") => Codec::Pcmu,
        _ => return Err(usage.into()),
    };
    let input = it.next().ok_or(usage)?;
    let output = it.next().ok_or(usage)?;
    let mut a = Args {
        codec,
        input,
        output,
        loss: 0.0,
        delay_ms: 0.0,
        jitter_ms: 0.0,
        seed: 1,
        complexity: 10,
        packets: None,
        drop: None,
    };
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let num = |v: &str| v.parse::<f64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--loss" => a.loss = num(&value)?,
            "--delay-ms" => a.delay_ms = num(&value)?,
            "--jitter-ms" => a.jitter_ms = num(&value)?,
            "--seed" => a.seed = num(&value)? as u64,
            "--complexity" => a.complexity = num(&value)?.clamp(0.0, 10.0) as u8,
            "--packets" => a.packets = Some(value),
            "--drop" => {
                let list = value.split(',').filter(|v| !v.is_empty());
                let list = list.map(|v| v.parse::<usize>().map_err(|e| format!("--drop {v}: {e}")));
                a.drop = Some(list.collect::<Result<_, _>>()?);
            }
            _ => return Err(format!("unknown flag {flag}\n{usage}")),
        }
    }
    Ok(a)
}

/// Payloads, each a 32-bit little-endian length and the bytes.
fn read_packets(path: &str) -> Result<Vec<Vec<u8>>, String> {
    let data = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let packets = split_packets(&data).ok_or(format!("{path}: truncated packet"))?;
    Ok(packets.into_iter().map(<[u8]>::to_vec).collect())
}

/// A standard normal deviate (Box-Muller).
fn gauss(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = parse_args()?;
    let (speech, rate) = read_wav_mono(&a.input)?;
    if rate != a.codec.sample_rate() {
        return Err(format!(
            "{} is {rate} Hz; {} wants {} Hz",
            a.input,
            a.codec,
            a.codec.sample_rate()
        )
        .into());
    }
    let frame = rate as usize / 50;
    let ticks = a.codec.clock_rate() / 50;
    // The bench's sender: baresip's Opus without FEC (it sends none at 0% expected loss).
    let settings = OpusSettings {
        fec: false,
        complexity: a.complexity,
        ..OpusSettings::default()
    };
    let mut enc = encoder(a.codec, &settings)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(a.seed);
    let t0 = Instant::now();
    let ms = |m: f64| Duration::from_micros((m * 1000.0) as u64);

    // (arrival, seq): packets sent every 20 ms, each meeting its fate.
    let mut arrivals = Vec::new();
    let payloads = match &a.packets {
        Some(path) => read_packets(path)?,
        None => {
            let mut payloads = Vec::new();
            for chunk in speech.chunks(frame) {
                let mut pcm = chunk.to_vec();
                pcm.resize(frame, 0);
                let mut p = Vec::new();
                enc.encode(&pcm, &mut p)?;
                payloads.push(p);
            }
            payloads
        }
    };
    let (mut lost, mut sent) = (0, 0);
    for i in 0..payloads.len() {
        sent += 1;
        let drawn = rng.random::<f64>() < a.loss;
        let drop = match &a.drop {
            Some(list) => list.contains(&i),
            None => drawn,
        };
        let delay = (a.delay_ms + a.jitter_ms * gauss(&mut rng)).max(0.0) + 0.5;
        if drop {
            lost += 1;
            continue;
        }
        arrivals.push((t0 + ms(20.0 * i as f64 + delay), i));
    }
    arrivals.sort();

    let mut rx = Receiver::new(a.codec, 20);
    let mut out = Vec::with_capacity(speech.len() + rate as usize);
    let mut frame_out = Vec::new();
    let first = arrivals.first().ok_or("every packet was lost")?.0;
    let mut pull = first + ms(2.0);
    let end = arrivals.last().map(|x| x.0).unwrap_or(first) + ms(500.0);
    let mut next = arrivals.iter().peekable();
    while pull < end {
        while let Some(&&(at, i)) = next.peek() {
            if at > pull {
                break;
            }
            let h = RtpHeader {
                marker: i == 0,
                payload_type: a.codec.default_payload_type(),
                sequence: i as u16,
                timestamp: ticks * i as u32,
                ssrc: 7,
            };
            rx.insert(at, &h, &payloads[i]);
            next.next();
        }
        rx.pull(pull, &mut frame_out);
        out.extend_from_slice(&frame_out);
        pull += ms(20.0);
    }

    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&a.output, spec)?;
    for s in out {
        w.write_sample(s)?;
    }
    w.finalize()?;
    let s = rx.jitter_stats();
    eprintln!(
        "sent {sent} lost {lost}; played {} concealed {} late {} inserted {} dropped {} underruns {} fec {}",
        s.played, s.concealed, s.late_dropped, s.frames_inserted, s.frames_dropped, s.underruns, rx.counters().fec_recovered
    );
    Ok(())
}
