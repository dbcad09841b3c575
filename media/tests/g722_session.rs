//! G.722 through two `RtpSession`s on explicit time: 16 kHz audio on an 8000 Hz RTP clock
//! (RFC 3551 §4.5.2). A frame is 320 samples but its packet's timestamp advances by 160; the
//! receiver plays 16 kHz frames, and a 7 kHz tone (beyond anything 8 kHz audio carries)
//! comes out at its frequency.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use media::test_support::negotiated;
use media::{Codec, Port, RtpPacket, RtpSender, RtpSession};

const FRAME: Duration = Duration::from_millis(20);

fn tone(freq: f64, from: usize, n: usize) -> Vec<i16> {
    (from..from + n)
        .map(|i| (8000.0 * (std::f64::consts::TAU * freq * i as f64 / 16_000.0).sin()) as i16)
        .collect()
}

/// Power at `freq` of 16 kHz audio, relative to its whole power (dB).
fn share_db(x: &[i16], freq: f64) -> f64 {
    let w = std::f64::consts::TAU * freq / 16_000.0;
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s = f64::from(v) + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let p = (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2) * 2.0 / (x.len() * x.len()) as f64;
    let total = x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64;
    10.0 * (p / total).log10()
}

#[test]
fn g722_frames_are_320_samples_on_a_160_tick_clock_and_carry_7_khz() {
    let a: SocketAddr = "127.0.0.1:4000".parse().unwrap();
    let b: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let t0 = Instant::now();
    let mut tx = RtpSession::new(
        t0,
        SystemTime::now(),
        negotiated(b, Codec::G722),
        false,
        RtpSender::starting_at(7, 100, 1000),
    );
    let mut rx = RtpSession::new(
        t0,
        SystemTime::now(),
        negotiated(a, Codec::G722),
        false,
        RtpSender::new(),
    );
    let mut played = Vec::new();
    let mut out = Vec::new();
    let mut last_ts = None;
    for n in 0..100u32 {
        let now = t0 + FRAME * n;
        let samples = tx.handle_tick(now).expect("audio, no DTMF");
        assert_eq!(samples, 320, "samples per 20 ms frame");
        tx.handle_audio(now, &tone(7000.0, n as usize * 320, samples));
        while let Some(t) = tx.poll_transmit() {
            if t.port != Port::Rtp {
                continue;
            }
            let p = RtpPacket::parse(&t.payload).unwrap();
            if p.header.payload_type != 9 {
                continue;
            }
            assert_eq!(p.payload.len(), 160, "one byte per two samples");
            if let Some(prev) = last_ts {
                assert_eq!(
                    p.header.timestamp.wrapping_sub(prev),
                    160,
                    "ticks per frame"
                );
            }
            last_ts = Some(p.header.timestamp);
            rx.handle_datagram(
                now + Duration::from_millis(5),
                a,
                Port::Rtp,
                &t.payload,
                false,
            );
        }
        while rx.play_due() <= now + FRAME {
            let rate = rx.play_frame(&mut out);
            assert_eq!(rate, 16_000);
            assert_eq!(out.len(), 320);
            played.extend_from_slice(&out);
        }
    }
    assert_eq!(last_ts, Some(1000 + 99 * 160));
    // After the start (the first frames, the ADPCM scales adapting), the tone is nearly all
    // that is heard.
    let body = &played[played.len() / 2..];
    let share = share_db(body, 7000.0);
    let image = share_db(body, 1000.0);
    println!("7 kHz share {share:.1} dB, 1 kHz (the image) {image:.1} dB");
    assert!(share > -1.0, "7 kHz is {share:.1} dB of what is played");
    assert!(image < -30.0, "1 kHz image at {image:.1} dB");
}
