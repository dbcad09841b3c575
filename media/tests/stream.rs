//! Two AudioStreams on 127.0.0.1 carrying audio, plus latching, hold, mute and garbage
//! handling against a raw UDP peer.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{against_raw_peer, negotiated, recv_rtp, start, LO};
use media::test_support::{dominant_frequency, read_wav_mono, rms_dbfs};
use media::{AudioStream, Codec, Direction, Negotiated, OpusSettings, SinkSpec, SourceSpec};
use media::{RtpPacket, RtpSender};
use tokio::net::UdpSocket;
use tokio::time::{sleep, timeout};

#[tokio::test]
async fn tone_travels_from_a_to_b() {
    for codec in [Codec::Pcmu, Codec::Pcma, Codec::Opus] {
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("b.wav");
        let a = AudioStream::bind(LO).await.unwrap();
        let b = AudioStream::bind(LO).await.unwrap();
        assert_eq!(a.local_addr().ip(), LO);
        let (a_addr, b_addr) = (a.local_addr(), b.local_addr());
        let ra = start(
            a,
            negotiated(b_addr, codec),
            SourceSpec::Tone(1000.0),
            SinkSpec::Null,
        );
        let rb = start(
            b,
            negotiated(a_addr, codec),
            SourceSpec::Silence,
            SinkSpec::File(wav.clone()),
        );
        sleep(Duration::from_millis(600)).await;
        ra.handle.stop();
        rb.handle.stop();
        let (sa, sb) = (ra.finish().await, rb.finish().await);
        assert!((20..=40).contains(&sa.packets_sent), "{sa:?}");
        if codec == Codec::Opus {
            // ~51 kbit/s is ~128 bytes per 20 ms.
            let per_packet = sa.bytes_sent / sa.packets_sent;
            assert!((40..=300).contains(&per_packet), "{sa:?}");
        } else {
            assert_eq!(sa.bytes_sent, sa.packets_sent * 160);
        }
        assert!(sb.packets_received >= 20, "{sb:?}");
        assert!(sa.packets_received >= 20, "B sends silence back: {sa:?}");
        assert_eq!((sb.lost, sb.dropped, sb.late), (0, 0, 0), "{sb:?}");
        assert_eq!(sb.remote_addr, Some(a_addr));

        let (samples, rate) = read_wav_mono(&wav).unwrap();
        // The WAV sink stays at 8 kHz whatever the codec (Opus is converted down).
        assert_eq!(rate, 8000);
        let secs = samples.len() as f32 / 8000.0;
        assert!((0.4..=0.8).contains(&secs), "{codec:?}: {secs} s");
        // Skip the codec's start-up (Opus lookahead, resampler delay).
        let samples = &samples[400..];
        let f = dominant_frequency(samples, rate).unwrap();
        assert!((f - 1000.0).abs() <= 20.0, "{codec:?}: {f} Hz");
        let db = rms_dbfs(samples);
        assert!((-17.0..=-13.0).contains(&db), "{codec:?}: {db} dBFS");
    }
}

#[tokio::test]
async fn replies_go_to_where_the_peer_sends_from() {
    let ours = AudioStream::bind(LO).await.unwrap();
    let our_addr = ours.local_addr();
    // The SDP said `sdp_sock`; the peer actually sends from `peer_sock`.
    let sdp_sock = UdpSocket::bind((LO, 0)).await.unwrap();
    let peer_sock = UdpSocket::bind((LO, 0)).await.unwrap();
    let ours = start(
        ours,
        negotiated(sdp_sock.local_addr().unwrap(), Codec::Pcmu),
        SourceSpec::Tone(440.0),
        SinkSpec::Null,
    );
    // Before latching, RTP goes to the SDP address.
    let (pt, _, from) = recv_rtp(&sdp_sock).await;
    assert_eq!((pt, from), (0, our_addr));

    let mut sender = RtpSender::new();
    let mut pkt = Vec::new();
    sender.packet(0, &[0xFF; 160], 160, &mut pkt);
    peer_sock.send_to(&pkt, our_addr).await.unwrap();
    let (pt, payload, from) = recv_rtp(&peer_sock).await;
    assert_eq!((pt, payload.len(), from), (0, 160, our_addr));

    // A re-offer with a new address drops the latch until the peer's RTP shows up again.
    let moved = UdpSocket::bind((LO, 0)).await.unwrap();
    ours.handle
        .update(negotiated(moved.local_addr().unwrap(), Codec::Pcmu));
    let (_, _, from) = recv_rtp(&moved).await;
    assert_eq!(from, our_addr);
    let st = ours.finish().await;
    assert_eq!(st.remote_addr, Some(moved.local_addr().unwrap()));
    assert!(!st.latched);
}

#[tokio::test]
async fn garbage_and_unknown_payload_types_are_dropped_and_counted() {
    let (ours, our_addr, unused) =
        against_raw_peer(Codec::Pcma, SourceSpec::Silence, SinkSpec::Null).await;
    let peer = UdpSocket::bind((LO, 0)).await.unwrap();
    let unused = unused.local_addr().unwrap();
    let mut sender = RtpSender::new();
    let mut pkt = Vec::new();
    peer.send_to(b"hello", our_addr).await.unwrap(); // too short
    peer.send_to(&[0x40; 40], our_addr).await.unwrap(); // version 1
    peer.send_to(&[0u8; 2000], our_addr).await.unwrap(); // version 0, big
    sender.packet(0, &[0; 160], 160, &mut pkt); // PCMU while PCMA was negotiated
    peer.send_to(&pkt, our_addr).await.unwrap();
    sender.packet(8, &[0xD5; 1400], 1400, &mut pkt); // oversized payload
    peer.send_to(&pkt, our_addr).await.unwrap();
    sender.packet(101, &[1, 0, 0, 160], 0, &mut pkt); // telephone-event
    peer.send_to(&pkt, our_addr).await.unwrap();
    sender.packet(8, &[0xD5; 160], 160, &mut pkt); // good
    peer.send_to(&pkt, our_addr).await.unwrap();
    peer.send_to(&pkt, our_addr).await.unwrap(); // duplicate
    sleep(Duration::from_millis(100)).await;
    let st = ours.finish().await;
    assert_eq!(st.dropped, 5, "{st:?}");
    assert_eq!(st.telephone_events, 1, "{st:?}");
    assert_eq!(st.packets_received, 3, "{st:?}");
    assert_eq!(st.late, 1, "{st:?}");
    assert_eq!(st.lost, 0, "{st:?}");
    // Only valid RTP latches: replies now go to the peer.
    assert_ne!(st.remote_addr, Some(unused));
    assert_eq!(st.remote_addr, Some(peer.local_addr().unwrap()));
}

#[tokio::test]
async fn hold_stops_sending_and_mute_sends_silence() {
    let (ours, _, peer) =
        against_raw_peer(Codec::Pcmu, SourceSpec::Tone(440.0), SinkSpec::Null).await;
    let peer_addr = peer.local_addr().unwrap();
    let h = &ours.handle;
    let (_, payload, _) = recv_rtp(&peer).await;
    assert!(payload.iter().any(|&b| b != 0xFF), "tone is not silence");

    h.set_muted(true);
    sleep(Duration::from_millis(60)).await;
    let mut buf = [0u8; 2048];
    while peer.try_recv_from(&mut buf).is_ok() {}
    let (_, payload, _) = recv_rtp(&peer).await;
    assert!(
        payload.iter().all(|&b| b == 0xFF),
        "muted PCMU frames are silence"
    );
    h.set_muted(false);

    // Peer puts us on hold: we only receive.
    let mut held = negotiated(peer_addr, Codec::Pcmu);
    held.local_direction = Direction::RecvOnly;
    held.remote_direction = Direction::SendOnly;
    h.update(held);
    sleep(Duration::from_millis(60)).await;
    while peer.try_recv_from(&mut buf).is_ok() {}
    let quiet = timeout(Duration::from_millis(200), peer.recv_from(&mut buf)).await;
    assert!(quiet.is_err(), "no RTP while on hold");

    // Resume; the first packet after the pause carries the marker bit.
    while peer.try_recv_from(&mut buf).is_ok() {}
    h.update(negotiated(peer_addr, Codec::Pcmu));
    let (n, _) = timeout(Duration::from_secs(1), peer.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(RtpPacket::parse(&buf[..n]).unwrap().header.marker);
    ours.finish().await;
}

/// Sends `packets` from `sock` to `to`, one every 20 ms (`None`: a lost packet's slot).
async fn paced(sock: &UdpSocket, to: SocketAddr, packets: &[Option<Vec<u8>>]) {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for p in packets {
        tick.tick().await;
        if let Some(p) = p {
            sock.send_to(p, to).await.unwrap();
        }
    }
}

#[tokio::test]
async fn gaps_in_the_peer_stream_are_concealed() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("gap.wav");
    let (ours, our_addr, peer) = against_raw_peer(
        Codec::Pcmu,
        SourceSpec::Silence,
        SinkSpec::File(wav.clone()),
    )
    .await;
    let mut sender = RtpSender::new();
    let packets: Vec<Option<Vec<u8>>> = (0..8)
        .map(|i| {
            let mut pkt = Vec::new();
            sender.packet(0, &[0x80; 160], 160, &mut pkt);
            (i != 3 && i != 4).then_some(pkt) // two lost
        })
        .collect();
    paced(&peer, our_addr, &packets).await;
    sleep(Duration::from_millis(60)).await;
    let st = ours.finish().await;
    assert_eq!(st.lost, 2, "{st:?}");
    assert!(st.concealed_ms >= 40, "{st:?}");
    assert_eq!(st.fec_recovered, 0, "G.711 has no FEC");
    // The concealment itself (repeat-and-fade, then full level again) is checked sample by
    // sample on virtual time (`sim_session.rs`); over real UDP a loaded machine may deliver
    // a later packet too late as well, so here: the fade reached the file.
    let (samples, _) = read_wav_mono(&wav).unwrap();
    let first = samples
        .iter()
        .position(|&s| s == 32124)
        .expect("audio played");
    let faded = samples[first..]
        .windows(320)
        .any(|w| w[0] > 32000 && w[319] < 32124 / 2 && w.windows(2).all(|p| p[1] <= p[0]));
    assert!(faded, "no repeat-and-fade in the played audio");
}

#[tokio::test]
async fn opus_loss_is_recovered_from_fec() {
    use media::{AudioEncoder, OpusEncoder};
    let (ours, our_addr, peer) =
        against_raw_peer(Codec::Opus, SourceSpec::Silence, SinkSpec::Null).await;
    // Voice-like frames (libopus codes FEC only for what its VAD takes for speech).
    let mut enc = OpusEncoder::new(&OpusSettings::default()).unwrap();
    // As if the far end had reported 10% loss: FEC copies are made only then.
    enc.set_expected_loss(10);
    let mut sender = RtpSender::new();
    let mut packets = Vec::new();
    for f in 0..24 {
        let pcm: Vec<i16> = (0..960)
            .map(|i| {
                let t = (f * 960 + i) as f64 / 48000.0;
                let env = (std::f64::consts::TAU * 2.5 * t).sin().max(0.0);
                let s: f64 = (1..=6)
                    .map(|k| (std::f64::consts::TAU * 150.0 * k as f64 * t).sin() / k as f64)
                    .sum();
                (s * env * 5000.0) as i16
            })
            .collect();
        let mut payload = Vec::new();
        enc.encode(&pcm, &mut payload).unwrap();
        let mut pkt = Vec::new();
        sender.packet(111, &payload, 960, &mut pkt);
        packets.push(Some(pkt));
    }
    // Packet 21 is lost; 22 comes a little early (in 21's slot), so it is in hand when
    // 21 is due whatever the phase of the playout clock.
    packets[21] = packets[22].take();
    paced(&peer, our_addr, &packets).await;
    sleep(Duration::from_millis(60)).await;
    let st = ours.finish().await;
    assert_eq!(
        (st.lost, st.fec_recovered, st.decode_errors),
        (1, 1, 0),
        "{st:?}"
    );
}

#[tokio::test]
async fn other_payload_types_of_the_peer_stream_do_not_count_as_loss() {
    let (ours, our_addr, peer) =
        against_raw_peer(Codec::Pcmu, SourceSpec::Silence, SinkSpec::Null).await;
    let mut sender = RtpSender::new();
    let mut pkt = Vec::new();
    for pt in [0, 13, 0] {
        sender.packet(pt, &[0xFF; 160], 160, &mut pkt);
        peer.send_to(&pkt, our_addr).await.unwrap();
    }
    sleep(Duration::from_millis(50)).await;
    let st = ours.finish().await;
    assert_eq!(
        (st.packets_received, st.dropped, st.lost),
        (2, 1, 0),
        "{st:?}"
    );
}

#[tokio::test]
async fn a_re_offer_switches_the_codec_mid_call() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("switch.wav");
    let a = AudioStream::bind(LO).await.unwrap();
    let b = AudioStream::bind(LO).await.unwrap();
    let (a_addr, b_addr) = (a.local_addr(), b.local_addr());
    let ra = start(
        a,
        negotiated(b_addr, Codec::Pcmu),
        SourceSpec::Tone(700.0),
        SinkSpec::Null,
    );
    let rb = start(
        b,
        negotiated(a_addr, Codec::Pcmu),
        SourceSpec::Silence,
        SinkSpec::File(wav.clone()),
    );
    sleep(Duration::from_millis(300)).await;
    rb.handle.update(negotiated(a_addr, Codec::Opus));
    ra.handle.update(negotiated(b_addr, Codec::Opus));
    sleep(Duration::from_millis(400)).await;
    ra.handle.stop();
    rb.handle.stop();
    ra.finish().await;
    let after = rb.finish().await;
    // About 35 packets in 700 ms, through both codecs.
    assert!(after.packets_received >= 30, "{after:?}");
    assert!(
        after.dropped <= 2,
        "packets in flight at the switch: {after:?}"
    );
    assert_eq!(after.decode_errors, 0, "{after:?}");
    let (samples, rate) = read_wav_mono(&wav).unwrap();
    assert_eq!(rate, 8000);
    // The last 200 ms came through Opus.
    let tail = &samples[samples.len() - 1600..];
    let f = dominant_frequency(tail, rate).unwrap();
    assert!((f - 700.0).abs() <= 20.0, "{f} Hz");
    assert!(rms_dbfs(tail) > -18.0, "{}", rms_dbfs(tail));
}

/// Every RTP packet `sock` receives within `window`: (marker, PT, seq, timestamp, payload).
async fn capture(sock: &UdpSocket, window: Duration) -> Vec<(bool, u8, u16, u32, Vec<u8>)> {
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    let end = tokio::time::Instant::now() + window;
    while let Ok(Ok((n, _))) = tokio::time::timeout_at(end, sock.recv_from(&mut buf)).await {
        if let Ok(p) = RtpPacket::parse(&buf[..n]) {
            let h = p.header;
            out.push((
                h.marker,
                h.payload_type,
                h.sequence,
                h.timestamp,
                p.payload.to_vec(),
            ));
        }
    }
    out
}

#[tokio::test]
async fn dtmf_goes_out_as_rfc4733_events_in_place_of_audio() {
    let (ours, _, peer) =
        against_raw_peer(Codec::Pcmu, SourceSpec::Tone(440.0), SinkSpec::Null).await;
    let h = &ours.handle;
    recv_rtp(&peer).await;
    assert_eq!(
        h.send_dtmf("1x"),
        Err(media::DtmfError::BadKey('x')),
        "a bad key refuses the whole string"
    );
    h.send_dtmf("1#").unwrap();
    let packets = capture(&peer, Duration::from_millis(900)).await;
    let st = ours.finish().await;
    assert_eq!(st.digits_sent, 2, "{st:?}");

    // One sequence space: no gaps between audio and events.
    for w in packets.windows(2) {
        assert_eq!(w[1].2, w[0].2.wrapping_add(1), "sequence gap");
    }
    let events: Vec<_> = packets.iter().filter(|p| p.1 == 101).collect();
    let mut starts: Vec<u32> = events.iter().map(|p| p.3).collect();
    starts.dedup();
    assert_eq!(starts.len(), 2, "two events, each with one timestamp");
    for (i, (&ts, key)) in starts.iter().zip([1u8, 11]).enumerate() {
        let ev: Vec<_> = events.iter().filter(|p| p.3 == ts).collect();
        assert!(ev[0].0, "marker on the first packet of event {i}");
        assert!(ev[1..].iter().all(|p| !p.0), "marker only on the first");
        assert!(ev.iter().all(|p| p.4[0] == key), "event code");
        let durations: Vec<u16> = ev
            .iter()
            .map(|p| u16::from_be_bytes([p.4[2], p.4[3]]))
            .collect();
        assert!(durations.windows(2).all(|w| w[0] <= w[1]), "{durations:?}");
        assert!(ev.len() >= 5, "updates while the tone lasts: {durations:?}");
        let ends: Vec<_> = ev.iter().filter(|p| p.4[1] & 0x80 != 0).collect();
        assert_eq!(ends.len(), 3, "three end packets");
        assert!(ends
            .iter()
            .all(|p| u16::from_be_bytes([p.4[2], p.4[3]]) == 800));
        // No audio in the time the event covers.
        let audio_inside = packets
            .iter()
            .filter(|p| p.1 == 0 && p.3.wrapping_sub(ts) < 800)
            .count();
        assert_eq!(audio_inside, 0);
    }
    // Paced: the second digit starts after the first one's end packets and a pause.
    assert!(
        starts[1].wrapping_sub(starts[0]) >= 800 + 2 * 160,
        "{starts:?}"
    );
    // Audio resumes after the events, with the marker bit.
    let last_event = packets.iter().rposition(|p| p.1 == 101).unwrap();
    let after = packets[last_event + 1..].iter().find(|p| p.1 == 0);
    assert!(
        after.is_some_and(|p| p.0),
        "audio resumes with the marker bit"
    );
}

#[tokio::test]
async fn dtmf_travels_between_two_streams_at_the_negotiated_rate() {
    for (codec, rate) in [(Codec::Pcma, 8000), (Codec::Opus, 48000)] {
        let a = AudioStream::bind(LO).await.unwrap();
        let b = AudioStream::bind(LO).await.unwrap();
        let (a_addr, b_addr) = (a.local_addr(), b.local_addr());
        let with_rate = |remote| Negotiated {
            telephone_event_rate: rate,
            ..negotiated(remote, codec)
        };
        let ra = start(
            a,
            with_rate(b_addr),
            SourceSpec::Tone(600.0),
            SinkSpec::Null,
        );
        let mut rb = start(b, with_rate(a_addr), SourceSpec::Silence, SinkSpec::Null);
        sleep(Duration::from_millis(100)).await;
        ra.handle.send_dtmf("5*").unwrap();
        let got = [rb.next_digit().await, rb.next_digit().await];
        let keys: String = got.iter().map(|d| d.digit.as_char()).collect();
        assert_eq!(keys, "5*", "{codec:?}");
        assert!(
            got.iter().all(|d| d.duration_ms == 100 && !d.end_lost),
            "{got:?}"
        );
        ra.finish().await;
        assert_eq!(rb.finish().await.digits_received, 2, "each digit once");
    }
}
