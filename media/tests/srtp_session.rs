//! `RtpSession` with SRTP keys, sans-IO: two sessions keyed from one offer/answer exchange
//! pass audio, RFC 4733 digits and RTCP; nothing they send carries the clear payload; a
//! broken tag and a replay are dropped and counted while the call goes on; a re-key
//! switches the contexts of the keys that changed and keeps the others; a clear session
//! cannot read them.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use media::test_support::dominant_frequency;
use media::{
    AudioCaps, Codec, Digit, Direction, Negotiated, Port, Received, RtpSender, RtpSession,
    SdpSession, SrtpMode, StreamEvent, Transmit,
};

const A: &str = "127.0.0.1:40000";
const B: &str = "127.0.0.1:50000";
const FRAME: Duration = Duration::from_millis(20);

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn sdp(at: &str, mode: SrtpMode, id: u64) -> SdpSession {
    let caps = AudioCaps {
        codecs: vec![Codec::Pcmu],
        srtp: mode,
        ..AudioCaps::default()
    };
    SdpSession::new(addr(at), caps, id)
}

/// A's offer, B's answer: both sides' negotiations.
fn exchange(a: &mut SdpSession, b: &mut SdpSession) -> (Negotiated, Negotiated) {
    let offer = a.create_offer(Direction::SendRecv);
    let (answer, nb) = b.receive_offer(&offer, Direction::SendRecv).unwrap();
    let na = a.receive_answer(&answer).unwrap();
    (na, nb)
}

fn tone(n: usize, start: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            let t = (start + i) as f32 / 8000.0;
            (8000.0 * (std::f32::consts::TAU * 1000.0 * t).sin()) as i16
        })
        .collect()
}

/// One frame of a 1 kHz tone from `s`: its datagrams.
fn send_frame(s: &mut RtpSession, now: Instant, k: usize) -> Vec<Transmit> {
    if let Some(n) = s.handle_tick(now) {
        s.handle_audio(now, &tone(n, k * n));
    }
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

fn sessions(na: Negotiated, nb: Negotiated, t0: Instant) -> (RtpSession, RtpSession) {
    (
        RtpSession::new(t0, SystemTime::now(), na, false, RtpSender::new()),
        RtpSession::new(t0, SystemTime::now(), nb, false, RtpSender::new()),
    )
}

#[test]
fn encrypted_audio_digits_and_rtcp_pass_and_nothing_is_clear() {
    let (mut sa, mut sb) = (sdp(A, SrtpMode::Optional, 1), sdp(B, SrtpMode::Optional, 2));
    let (na, nb) = exchange(&mut sa, &mut sb);
    assert!(na.srtp.is_some() && nb.srtp.is_some());
    let t0 = Instant::now();
    let (mut a, mut b) = sessions(na, nb, t0);
    let clear_payload: Vec<u8> = {
        // What PCMU of the first frame looks like in clear.
        let mut enc = media::encoder(Codec::Pcmu, &Default::default()).unwrap();
        let mut p = Vec::new();
        enc.encode(&tone(160, 0), &mut p).unwrap();
        p
    };
    let mut heard = Vec::new();
    let mut out = Vec::new();
    a.send_dtmf([Digit::from_char('7').unwrap()]);
    for k in 0..100 {
        let now = t0 + FRAME * k as u32;
        for t in send_frame(&mut a, now, k) {
            assert!(
                !t.payload
                    .windows(16)
                    .any(|w| clear_payload.windows(16).any(|c| c == w)),
                "a datagram carries the tone in clear"
            );
            let r = b.handle_datagram(now, addr(A), Port::Rtp, &t.payload, false);
            assert!(
                matches!(r, Received::Audio | Received::TelephoneEvent),
                "{r:?}"
            );
        }
        if now >= b.play_due() {
            b.play_frame(&mut out);
            heard.extend_from_slice(&out);
        }
    }
    let f = dominant_frequency(&heard[heard.len() / 2..], 8000).expect("sound");
    assert!((f - 1000.0).abs() < 20.0, "heard {f} Hz");
    let share = tone_share(&heard[heard.len() / 2..]);
    assert!(
        share > 0.8,
        "the tone holds only {share:.2} of what B hears"
    );
    let digits: Vec<_> = std::iter::from_fn(|| b.poll_event())
        .filter_map(|e| match e {
            StreamEvent::Digit(d) => Some(d.digit),
            _ => None,
        })
        .collect();
    assert_eq!(digits, [Digit::from_char('7').unwrap()]);

    // RTCP (SRTCP) both ways: B's report reaches A.
    b.close(t0 + Duration::from_secs(3));
    let bye: Vec<_> = std::iter::from_fn(|| b.poll_transmit()).collect();
    assert!(!bye.is_empty());
    for t in bye {
        assert_eq!(
            a.handle_datagram(
                t0 + Duration::from_secs(3),
                addr(B),
                Port::Rtp,
                &t.payload,
                false
            ),
            Received::Rtcp
        );
    }
    let st = b.stats();
    assert_eq!((st.srtp_auth_failed, st.srtp_replayed), (0, 0));
}

#[test]
fn broken_tag_and_replay_are_dropped_counted_and_the_call_goes_on() {
    let (mut sa, mut sb) = (
        sdp(A, SrtpMode::Mandatory, 1),
        sdp(B, SrtpMode::Mandatory, 2),
    );
    let (na, nb) = exchange(&mut sa, &mut sb);
    let t0 = Instant::now();
    let (mut a, mut b) = sessions(na, nb, t0);
    let mut sent = Vec::new();
    for k in 0..10 {
        sent.extend(send_frame(&mut a, t0 + FRAME * k as u32, k));
    }
    let now = t0 + FRAME * 10;
    let deliver =
        |b: &mut RtpSession, bytes: &[u8]| b.handle_datagram(now, addr(A), Port::Rtp, bytes, false);
    assert_eq!(deliver(&mut b, &sent[0].payload), Received::Audio);
    let mut broken = sent[1].payload.clone();
    let last = broken.len() - 1;
    broken[last] ^= 0x40;
    assert_eq!(deliver(&mut b, &broken), Received::Dropped);
    assert_eq!(deliver(&mut b, &sent[0].payload), Received::Dropped); // replayed
    for t in &sent[1..] {
        assert_eq!(deliver(&mut b, &t.payload), Received::Audio);
    }
    let st = b.stats();
    assert_eq!((st.srtp_auth_failed, st.srtp_replayed), (1, 1), "{st:?}");
    assert_eq!(st.packets_received, 10);
}

#[test]
fn a_reoffer_rekeys_and_the_session_switches_contexts() {
    let (mut sa, mut sb) = (sdp(A, SrtpMode::Optional, 1), sdp(B, SrtpMode::Optional, 2));
    let (na, nb) = exchange(&mut sa, &mut sb);
    let t0 = Instant::now();
    let (mut a, mut b) = sessions(na.clone(), nb, t0);
    for k in 0..5 {
        for t in send_frame(&mut a, t0 + FRAME * k as u32, k) {
            b.handle_datagram(t0, addr(A), Port::Rtp, &t.payload, false);
        }
    }
    // B re-offers from a new address (its keys are new), A answers with a new key too.
    sb.set_local_rtp(addr("127.0.0.1:50100"));
    let (nb2, na2) = exchange(&mut sb, &mut sa);
    let (old, new) = (na.srtp.clone().unwrap(), na2.srtp.clone().unwrap());
    assert!(old.local != new.local && old.remote != new.remote);
    let now = t0 + FRAME * 5;
    a.handle_update(now, na2);
    b.handle_update(now, nb2);
    let before = b.stats().packets_received;
    for k in 5..10 {
        for t in send_frame(&mut a, t0 + FRAME * k as u32, k) {
            assert_eq!(
                b.handle_datagram(now, addr(A), Port::Rtp, &t.payload, false),
                Received::Audio
            );
        }
    }
    assert_eq!(b.stats().packets_received, before + 5);
    assert_eq!(b.stats().srtp_auth_failed, 0);
}

/// A sends its first frame and B takes it; the frame's datagrams.
fn a_frame_delivered(a: &mut RtpSession, b: &mut RtpSession, t0: Instant) -> Vec<Transmit> {
    let early = send_frame(a, t0, 0);
    for t in &early {
        b.handle_datagram(t0, addr(A), Port::Rtp, &t.payload, false);
    }
    early
}

/// B still reads A in the context it had: A's `early` datagram is a replay (counted), and
/// A's next frame passes.
fn assert_a_still_in_the_same_context(
    a: &mut RtpSession,
    b: &mut RtpSession,
    early: &Transmit,
    now: Instant,
) {
    assert_eq!(
        b.handle_datagram(now, addr(A), Port::Rtp, &early.payload, false),
        Received::Dropped
    );
    assert_eq!(b.stats().srtp_replayed, 1);
    for t in send_frame(a, now, 1) {
        assert_eq!(
            b.handle_datagram(now, addr(A), Port::Rtp, &t.payload, false),
            Received::Audio
        );
    }
}

#[test]
fn a_reoffer_keeping_the_keys_keeps_the_contexts() {
    let (mut sa, mut sb) = (sdp(A, SrtpMode::Optional, 1), sdp(B, SrtpMode::Optional, 2));
    let (na, nb) = exchange(&mut sa, &mut sb);
    let t0 = Instant::now();
    let (mut a, mut b) = sessions(na.clone(), nb.clone(), t0);
    let early = a_frame_delivered(&mut a, &mut b, t0);
    // A holds and resumes: the same keys, so the same contexts (the replay window goes on).
    let (na2, nb2) = exchange(&mut sa, &mut sb);
    assert_eq!((&na2.srtp, &nb2.srtp), (&na.srtp, &nb.srtp));
    let now = t0 + FRAME;
    a.handle_update(now, na2);
    b.handle_update(now, nb2);
    assert_a_still_in_the_same_context(&mut a, &mut b, &early[0], now);
}

#[test]
fn a_new_key_one_way_keeps_the_other_ways_context() {
    let (mut sa, mut sb) = (sdp(A, SrtpMode::Optional, 1), sdp(B, SrtpMode::Optional, 2));
    let (na, nb) = exchange(&mut sa, &mut sb);
    let t0 = Instant::now();
    let (mut a, mut b) = sessions(na.clone(), nb.clone(), t0);
    let early = a_frame_delivered(&mut a, &mut b, t0);
    // B answers A's re-offer (which kept A's key) with a new key of its own.
    let keys = nb.srtp.clone().unwrap();
    let fresh = media::KeyMaterial::generate(keys.suite).unwrap();
    let (mut na2, mut nb2) = (na.clone(), nb.clone());
    nb2.srtp.as_mut().unwrap().local = fresh.clone();
    na2.srtp.as_mut().unwrap().remote = fresh;
    let now = t0 + FRAME;
    a.handle_update(now, na2);
    b.handle_update(now, nb2);
    // B's context for A's unchanged key goes on: A's early packet is still a replay, and
    // A's next ones pass.
    assert_a_still_in_the_same_context(&mut a, &mut b, &early[0], now);
    // A follows B's new key.
    for t in send_frame(&mut b, now, 1) {
        assert_eq!(
            a.handle_datagram(now, addr(B), Port::Rtp, &t.payload, false),
            Received::Audio
        );
    }
    assert_eq!(a.stats().srtp_auth_failed, 0);
}

#[test]
fn a_clear_peer_cannot_read_encrypted_media() {
    let (mut sa, mut sb) = (sdp(A, SrtpMode::Optional, 1), sdp(B, SrtpMode::Optional, 2));
    let (na, mut nb) = exchange(&mut sa, &mut sb);
    nb.srtp = None;
    let t0 = Instant::now();
    let (mut a, mut b) = sessions(na, nb, t0);
    let mut out = Vec::new();
    let mut heard = Vec::new();
    for k in 0..50 {
        let now = t0 + FRAME * k as u32;
        for t in send_frame(&mut a, now, k) {
            b.handle_datagram(now, addr(A), Port::Rtp, &t.payload, false);
        }
        if now >= b.play_due() {
            b.play_frame(&mut out);
            heard.extend_from_slice(&out);
        }
    }
    // The clear side takes the packets as PCMU but hears noise: the 1 kHz tone holds a
    // tiny share of its power (a clear tone holds nearly all of it).
    assert_eq!(b.stats().packets_received, 50);
    let share = tone_share(&heard);
    assert!(
        share < 0.1,
        "the tone holds {share:.2} of what the clear side hears"
    );
}

/// The share of `samples`' power at 1 kHz (1.0 for a pure tone).
fn tone_share(samples: &[i16]) -> f64 {
    let rms = testbed::audio::rms(samples);
    2.0 * testbed::audio::tone_power(samples, 8000, 1000.0) / (rms * rms).max(1e-12)
}
