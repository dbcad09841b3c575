//! RTCP and junk on a running stream, against raw UDP peers on 127.0.0.1: reports both ways,
//! round-trip time, BYE on stop, rtcp-mux; junk on the RTP and RTCP ports is dropped and
//! counted while a tone keeps flowing.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use common::{start, LO};
use media::test_support::{dominant_frequency, read_wav_mono, rms_dbfs};
use media::{
    parse_compound, write_compound, NtpTime, ReceiverReport, ReportBlock, RtcpPacket, SenderReport,
};
use media::{AudioStream, Codec, Negotiated, SinkSpec, SourceSpec};
use media::{RtpPacket, RtpSender};
use tokio::net::UdpSocket;
use tokio::time::{sleep, timeout};

/// [`common::negotiated`] with the peer's RTCP at `remote_rtcp`.
fn negotiated(remote: SocketAddr, remote_rtcp: SocketAddr, codec: Codec) -> Negotiated {
    Negotiated {
        remote_rtcp: Some(remote_rtcp),
        ..common::negotiated(remote, codec)
    }
}

/// The next compound RTCP datagram on `sock` (within 5 s: the first report comes after
/// 1.25-3.75 s), parsed.
async fn next_rtcp(sock: &UdpSocket) -> Vec<RtcpPacket> {
    let mut buf = [0u8; 2048];
    loop {
        let (n, _) = timeout(Duration::from_secs(5), sock.recv_from(&mut buf))
            .await
            .expect("an RTCP report within 5 s")
            .unwrap();
        if let Ok(p) = parse_compound(&buf[..n]) {
            return p;
        }
    }
}

#[tokio::test]
async fn reports_flow_both_ways_and_give_a_round_trip_time() {
    let ours = AudioStream::bind(LO).await.unwrap();
    let (our_rtp, our_rtcp) = (ours.local_addr(), ours.local_rtcp_addr().expect("pair"));
    assert_eq!(our_rtcp.port(), our_rtp.port() + 1, "RTCP on RTP port + 1");
    let peer_rtp = UdpSocket::bind((LO, 0)).await.unwrap();
    let peer_rtcp = UdpSocket::bind((LO, 0)).await.unwrap();
    let ours = start(
        ours,
        negotiated(
            peer_rtp.local_addr().unwrap(),
            peer_rtcp.local_addr().unwrap(),
            Codec::Pcmu,
        ),
        SourceSpec::Tone(440.0),
        SinkSpec::Null,
    );
    // The peer's stream: RTP, and an SR about it.
    let mut sender = RtpSender::new();
    let mut pkt = Vec::new();
    for _ in 0..10 {
        sender.packet(0, &[0xFF; 160], 160, &mut pkt);
        peer_rtp.send_to(&pkt, our_rtp).await.unwrap();
        sleep(Duration::from_millis(20)).await;
    }
    let peer_ntp = NtpTime::from_system_time(SystemTime::now());
    let mut sr = Vec::new();
    write_compound(
        &[RtcpPacket::SenderReport(SenderReport {
            ssrc: sender.ssrc(),
            ntp: peer_ntp,
            packet_count: 10,
            octet_count: 1600,
            ..Default::default()
        })],
        &mut sr,
    );
    peer_rtcp.send_to(&sr, our_rtcp).await.unwrap();
    // RTCP junk on the RTCP port: counted, nothing else.
    peer_rtcp
        .send_to(b"\x80\xc9\x00\x07short", our_rtcp)
        .await
        .unwrap();
    peer_rtcp.send_to(&[0u8; 64], our_rtcp).await.unwrap();

    // Our report: an SR (we send RTP) with a block about the peer's stream echoing its SR.
    let report = next_rtcp(&peer_rtcp).await;
    let RtcpPacket::SenderReport(ours_sr) = &report[0] else {
        panic!("an SR first: {report:?}")
    };
    assert!(ours_sr.packet_count > 0);
    let block = ours_sr
        .reports
        .iter()
        .find(|b| b.ssrc == sender.ssrc())
        .expect("a report block about the peer");
    assert_eq!(block.lsr, peer_ntp.middle32());
    assert_eq!(
        block.extended_highest_seq & 0xFFFF,
        sender_last_seq(&pkt) as u32
    );
    assert!(matches!(report[1], RtcpPacket::Sdes(_)), "{report:?}");

    // The peer answers at once with an RR about our stream: RTT ≈ loopback time.
    let mut rr = Vec::new();
    write_compound(
        &[RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: sender.ssrc(),
            reports: vec![ReportBlock {
                ssrc: ours_sr.ssrc,
                lsr: ours_sr.ntp.middle32(),
                dlsr: 0,
                ..Default::default()
            }],
        })],
        &mut rr,
    );
    peer_rtcp.send_to(&rr, our_rtcp).await.unwrap();
    sleep(Duration::from_millis(60)).await;

    // Stopping says BYE.
    let st = ours.finish().await;
    let rtt = st.rtt_ms.expect("an RTT from the RR");
    assert!((0.0..1000.0).contains(&rtt), "{st:?}");
    assert_eq!((st.rtcp_received, st.rtcp_dropped), (2, 2), "{st:?}");
    assert!(st.rtcp_sent >= 2, "a report and the BYE: {st:?}");
    assert!(st.mos > 4.0, "a clean call scores high: {st:?}");
    let last = next_rtcp(&peer_rtcp).await;
    assert!(
        last.iter()
            .any(|p| matches!(p, RtcpPacket::Bye(b) if b.sources == [ours_sr.ssrc])),
        "{last:?}"
    );
}

fn sender_last_seq(pkt: &[u8]) -> u16 {
    RtpPacket::parse(pkt).unwrap().header.sequence
}

#[tokio::test]
async fn with_rtcp_mux_reports_share_the_rtp_port() {
    let ours = AudioStream::bind(LO).await.unwrap();
    let our_rtp = ours.local_addr();
    let peer = UdpSocket::bind((LO, 0)).await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let ours = start(
        ours,
        Negotiated {
            rtcp_mux: true,
            ..negotiated(peer_addr, peer_addr, Codec::Pcma)
        },
        SourceSpec::Silence,
        SinkSpec::Null,
    );
    let mut sender = RtpSender::new();
    let mut pkt = Vec::new();
    sender.packet(8, &[0xD5; 160], 160, &mut pkt);
    peer.send_to(&pkt, our_rtp).await.unwrap();
    // An SR on the RTP port is taken as RTCP (RFC 5761 demultiplexing), not as junk.
    let mut sr = Vec::new();
    write_compound(
        &[RtcpPacket::SenderReport(SenderReport {
            ssrc: sender.ssrc(),
            ntp: NtpTime::from_system_time(SystemTime::now()),
            ..Default::default()
        })],
        &mut sr,
    );
    peer.send_to(&sr, our_rtp).await.unwrap();
    // Our report arrives on the peer's RTP address, among the RTP packets.
    let mut buf = [0u8; 2048];
    let report = timeout(Duration::from_secs(5), async {
        loop {
            let (n, _) = peer.recv_from(&mut buf).await.unwrap();
            if (200..=204).contains(&buf[1]) {
                return parse_compound(&buf[..n]).unwrap();
            }
        }
    })
    .await
    .expect("a multiplexed RTCP report within 5 s");
    assert!(
        matches!(report[0], RtcpPacket::SenderReport(_)),
        "{report:?}"
    );
    let st = ours.finish().await;
    assert_eq!((st.rtcp_received, st.dropped), (1, 0), "{st:?}");
}

/// A tone flows from A to B while junk is sprayed at B's RTP and RTCP ports: B's output
/// still carries the tone, the junk is counted, nothing else changes.
#[tokio::test]
async fn junk_on_the_media_ports_is_dropped_and_counted_while_the_tone_plays() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("b.wav");
    let a = AudioStream::bind(LO).await.unwrap();
    let b = AudioStream::bind(LO).await.unwrap();
    let (a_addr, b_addr) = (a.local_addr(), b.local_addr());
    let (a_rtcp, b_rtcp) = (a.local_rtcp_addr().unwrap(), b.local_rtcp_addr().unwrap());
    let ra = start(
        a,
        negotiated(b_addr, b_rtcp, Codec::Pcmu),
        SourceSpec::Tone(1000.0),
        SinkSpec::Null,
    );
    let rb = start(
        b,
        negotiated(a_addr, a_rtcp, Codec::Pcmu),
        SourceSpec::Silence,
        SinkSpec::File(wav.clone()),
    );
    let junk = UdpSocket::bind((LO, 0)).await.unwrap();
    let mut spray = RtpSender::new();
    let mut pkt = Vec::new();
    let mut sent = 0u64;
    let mut rtcp_junk = 0u64;
    for i in 0..25u32 {
        match i % 5 {
            0 => junk
                .send_to(b"\x00garbage that is not RTP", b_addr)
                .await
                .unwrap(),
            1 => {
                spray.packet(96, &[7; 160], 160, &mut pkt); // unknown payload type
                junk.send_to(&pkt, b_addr).await.unwrap()
            }
            2 => {
                spray.packet(0, &[0xFF; 3000], 3000, &mut pkt); // oversized
                junk.send_to(&pkt, b_addr).await.unwrap()
            }
            3 => junk.send_to(&[0xFF; 4096], b_addr).await.unwrap(), // fills the buffer
            _ => {
                rtcp_junk += 1;
                junk.send_to(b"\x81\xc8\xff\xffnot an SR", b_rtcp)
                    .await
                    .unwrap()
            }
        };
        sent += 1;
        sleep(Duration::from_millis(20)).await;
    }
    sleep(Duration::from_millis(100)).await;
    ra.handle.stop();
    rb.handle.stop();
    ra.finish().await;
    let st = rb.finish().await;
    assert_eq!(st.dropped, sent - rtcp_junk, "{st:?}");
    assert_eq!(st.rtcp_dropped, rtcp_junk, "{st:?}");
    assert_eq!((st.lost, st.late, st.decode_errors), (0, 0, 0), "{st:?}");
    assert_eq!(st.remote_addr, Some(a_addr), "junk does not move the latch");
    let (samples, rate) = read_wav_mono(&wav).unwrap();
    let samples = &samples[400..];
    let f = dominant_frequency(samples, rate).unwrap();
    assert!((f - 1000.0).abs() <= 20.0, "{f} Hz");
    assert!(rms_dbfs(samples) > -18.0, "{}", rms_dbfs(samples));
}
