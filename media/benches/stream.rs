//! Per-20-ms-frame cost of the stream's two paths, the work its task does each frame
//! without the sockets: the sans-IO `RtpSession` (`media::session`):
//!
//! - capture → RTP: read one frame from the source (a tone), then the session: encode it,
//!   build the RTP packet, account it in RTCP, hand it out (`poll_transmit`);
//! - RTP → playout: the session parses an RTP packet, accounts it in RTCP, inserts it into
//!   the jitter buffer; then one frame is pulled (decode / conceal) at the codec's rate
//!   (sinks convert to their own).
//!
//! Each with the codec (PCMU, Opus) and without it (`no_codec`: the same steps outside the
//! session with the codec left out: the payload copied as is, the jitter buffer's frame not
//! decoded), side by side in one run. Time advances 20 ms per iteration on a virtual clock.
//!
//! `cargo bench -p media --bench stream`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use media::SourceSpec;
use media::{encoder, OpusSettings};
use media::{Codec, Negotiated};
use media::{JitterBuffer, JitterConfig, Playout, ReceivedFrame};
use media::{Port, RtpSession};
use media::{RtcpConfig, RtcpSession};
use media::{RtpPacket, RtpSender};

const FRAME: Duration = Duration::from_millis(20);

fn rtcp(rate: u32) -> RtcpSession {
    RtcpSession::new(
        RtcpConfig::new(0x1234_5678, "bench", rate),
        Instant::now(),
        SystemTime::now(),
    )
}

/// A session sending to and receiving from one far end with `codec`.
fn session_for(codec: Codec) -> RtpSession {
    let neg = Negotiated {
        telephone_event: None,
        rtcp_mux: true,
        remote_rtcp: None,
        ..media::test_support::negotiated(FAR, codec)
    };
    RtpSession::new(
        Instant::now(),
        SystemTime::now(),
        neg,
        false,
        RtpSender::new(),
    )
}

const FAR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 4000);

/// `None`: the no-codec path.
fn bench_send(c: &mut Criterion, codec: Option<Codec>) {
    let name = codec.map_or("no_codec", Codec::name);
    let rate = codec.map_or(8000, Codec::clock_rate);
    let samples = (rate / 50) as usize;
    let mut source = SourceSpec::Tone(440.0).open_at(rate).unwrap();
    let mut enc = codec.map(|c| encoder(c, &OpusSettings::default()).unwrap());
    let mut sender = RtpSender::new();
    let mut session = rtcp(rate);
    let mut rtp = codec.map(session_for);
    let (mut frame, mut payload, mut packet) = (vec![0i16; samples], Vec::new(), Vec::new());
    let mut now = Instant::now();
    let mut g = c.benchmark_group("stream/capture_to_rtp");
    g.throughput(Throughput::Elements(1));
    g.bench_function(name, |b| {
        b.iter(|| {
            now += FRAME;
            source.read(&mut frame);
            if let Some(rtp) = rtp.as_mut() {
                rtp.handle_audio(now, &frame);
                return black_box(rtp.poll_transmit().map_or(0, |t| t.payload.len()));
            }
            payload.clear();
            match enc.as_mut() {
                Some(e) => e.encode(&frame, &mut payload).unwrap(),
                // The payload G.711 would make, without the table lookups.
                None => payload.extend(frame.iter().map(|&s| (s >> 8) as u8)),
            }
            let ts = sender.timestamp();
            sender.packet(0, &payload, samples as u32, &mut packet);
            session.on_rtp_sent(now, 0, ts, payload.len());
            black_box(packet.len())
        })
    });
    g.finish();
}

/// Encoded 20 ms frames of a tone, one second of them.
fn packets(codec: Codec) -> Vec<Vec<u8>> {
    let rate = codec.clock_rate();
    let frame = (rate / 50) as usize;
    let mut pcm = vec![0i16; frame * 50];
    SourceSpec::Tone(440.0)
        .open_at(rate)
        .unwrap()
        .read(&mut pcm);
    let mut enc = encoder(codec, &OpusSettings::default()).unwrap();
    let mut sender = RtpSender::new();
    media::test_support::encode_all(enc.as_mut(), pcm.chunks_exact(frame))
        .iter()
        .map(|payload| {
            let mut p = Vec::new();
            sender.packet(codec.default_payload_type(), payload, rate / 50, &mut p);
            p
        })
        .collect()
}

/// Rewrites sequence number and timestamp so the stream goes on forever.
fn renumber(p: &mut [u8], n: u64, samples: u32) {
    p[2..4].copy_from_slice(&(n as u16).to_be_bytes());
    p[4..8].copy_from_slice(&((n as u32).wrapping_mul(samples)).to_be_bytes());
}

fn bench_receive(c: &mut Criterion, codec: Codec, decode: bool) {
    let name = if decode { codec.name() } else { "no_codec" };
    let rate = codec.clock_rate();
    let samples = rate / 50;
    let mut pkts = packets(codec);
    let mut session = rtcp(rate);
    let mut rtp = session_for(codec);
    let mut jitter = JitterBuffer::new(JitterConfig::new(rate, 20)).unwrap();
    let mut out = Vec::with_capacity(960);
    let mut now = Instant::now();
    let mut n = 0u64;
    let mut g = c.benchmark_group("stream/rtp_to_playout");
    g.throughput(Throughput::Elements(1));
    g.bench_function(name, |b| {
        b.iter(|| {
            now += FRAME;
            let i = (n % pkts.len() as u64) as usize;
            renumber(&mut pkts[i], n, samples);
            n += 1;
            if decode {
                rtp.handle_datagram(now, FAR, Port::Rtp, black_box(&pkts[i]), false);
                rtp.play_frame(&mut out);
                return black_box(out.len());
            }
            let p = RtpPacket::parse(black_box(&pkts[i])).unwrap();
            let h = p.header;
            session.on_rtp_received(now, h.ssrc, h.sequence, h.timestamp, p.payload.len());
            {
                let frame = ReceivedFrame {
                    seq: h.sequence,
                    timestamp: h.timestamp,
                    ssrc: h.ssrc,
                    marker: h.marker,
                    payload: p.payload.to_vec(),
                };
                jitter.insert(now, frame);
                match jitter.pull(now + Duration::from_millis(5)) {
                    Playout::Frame { payload, .. } => black_box(payload.len()),
                    _ => 0,
                }
            }
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_send(c, None);
    bench_send(c, Some(Codec::Pcmu));
    bench_send(c, Some(Codec::Opus));
    bench_receive(c, Codec::Pcmu, false);
    bench_receive(c, Codec::Pcmu, true);
    bench_receive(c, Codec::Opus, true);
}

criterion_group!(stream, benches);
criterion_main!(stream);
