//! Our RTP header and SDP code against the webrtc-rs `rtp` and `sdp` crates (0.17, the family
//! of `webrtc-srtp`), side by side in one run (issue 11 item 3; decision and ratios in
//! docs/benchmarks.md):
//!
//! - RTP parse of one 20 ms PCMU packet (12-byte header + 160 bytes) from the socket's
//!   `&[u8]`: ours borrows the payload; `rtp::packet::Packet::unmarshal` copies it into `Bytes`.
//! - RTP write of the same packet into a reused buffer: ours appends header and payload to a
//!   `Vec`; the crate's `Packet::marshal_to` (payload already in `Bytes`, its best case) and
//!   `Packet::marshal` (allocates, as its callers mostly use it).
//! - SDP parse and print of a far end's offer (baresip, 21 lines) and of a short answer
//!   (SIPp, 7 lines): `media::SessionDescription::parse`/`to_string` against
//!   `sdp::SessionDescription::unmarshal`/`marshal`.
//!
//! `cargo bench -p media --bench rtp_sdp_crates`

use std::hint::black_box;
use std::io::Cursor;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use media::{RtpHeader, RtpPacket, SessionDescription};
use rtp::packet::Packet;
use webrtc_util::marshal::{Marshal, Unmarshal};

const OFFER: &str = include_str!("../testdata/sdp/baresip.sdp");
const ANSWER: &str = include_str!("../testdata/sdp/sipp_uac.sdp");

fn header() -> RtpHeader {
    RtpHeader {
        marker: false,
        payload_type: 0,
        sequence: 4711,
        timestamp: 160 * 4711,
        ssrc: 0x1234_5678,
    }
}

fn wire() -> Vec<u8> {
    let mut out = Vec::new();
    header().write(&mut out);
    out.extend((0..160).map(|i| i as u8));
    out
}

fn rtp_benches(c: &mut Criterion) {
    let buf = wire();
    c.bench_function("rtp_sdp_crates/rtp parse ours", |b| {
        b.iter(|| black_box(RtpPacket::parse(black_box(&buf)).unwrap()))
    });
    c.bench_function("rtp_sdp_crates/rtp parse rtp crate", |b| {
        b.iter(|| {
            let mut raw: &[u8] = black_box(&buf);
            black_box(Packet::unmarshal(&mut raw).unwrap())
        })
    });

    let payload: Vec<u8> = buf[12..].to_vec();
    c.bench_function("rtp_sdp_crates/rtp write ours", |b| {
        let mut out = Vec::with_capacity(1500);
        b.iter(|| {
            out.clear();
            black_box(header()).write(&mut out);
            out.extend_from_slice(black_box(&payload));
            black_box(out.len())
        })
    });
    let packet = {
        let mut raw: &[u8] = &buf;
        Packet::unmarshal(&mut raw).unwrap()
    };
    assert_eq!(packet.marshal().unwrap().as_ref(), &buf[..], "same bytes");
    c.bench_function("rtp_sdp_crates/rtp write rtp crate marshal_to", |b| {
        let mut out = vec![0u8; 1500];
        b.iter(|| black_box(black_box(&packet).marshal_to(&mut out).unwrap()))
    });
    c.bench_function("rtp_sdp_crates/rtp write rtp crate marshal", |b| {
        b.iter(|| black_box(black_box(&packet).marshal().unwrap()))
    });
    // The crate's packet needs its payload as `Bytes`: building one from the encoder's slice
    // is part of its write path.
    c.bench_function("rtp_sdp_crates/rtp write rtp crate from slice", |b| {
        let mut out = vec![0u8; 1500];
        b.iter(|| {
            let p = Packet {
                header: packet.header.clone(),
                payload: Bytes::copy_from_slice(black_box(&payload)),
            };
            black_box(p.marshal_to(&mut out).unwrap())
        })
    });
}

fn sdp_benches(c: &mut Criterion) {
    for (name, text) in [("offer", OFFER), ("answer", ANSWER)] {
        c.bench_function(&format!("rtp_sdp_crates/sdp parse {name} ours"), |b| {
            b.iter(|| black_box(SessionDescription::parse(black_box(text)).unwrap()))
        });
        c.bench_function(&format!("rtp_sdp_crates/sdp parse {name} sdp crate"), |b| {
            b.iter(|| {
                let mut r = Cursor::new(black_box(text).as_bytes());
                black_box(sdp::SessionDescription::unmarshal(&mut r).unwrap())
            })
        });
        let ours = SessionDescription::parse(text).unwrap();
        let theirs = sdp::SessionDescription::unmarshal(&mut Cursor::new(text.as_bytes())).unwrap();
        c.bench_function(&format!("rtp_sdp_crates/sdp print {name} ours"), |b| {
            b.iter(|| black_box(black_box(&ours).to_string()))
        });
        c.bench_function(&format!("rtp_sdp_crates/sdp print {name} sdp crate"), |b| {
            b.iter(|| black_box(black_box(&theirs).marshal()))
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = rtp_benches, sdp_benches
}
criterion_main!(benches);
