//! RTCP parse/build costs and the per-packet receiver statistics update.
//!
//! `cargo bench -p media --bench rtcp`

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion};
use media::TelephoneEvent;
use media::{
    parse_compound, write_compound, NtpTime, ReceptionStats, ReportBlock, RtcpConfig, RtcpPacket,
    RtcpSession, Sdes, SenderReport,
};

fn compound() -> Vec<RtcpPacket> {
    let block = ReportBlock {
        ssrc: 2,
        fraction_lost: 3,
        cumulative_lost: 40,
        extended_highest_seq: 0x1_0203,
        jitter: 80,
        lsr: 0x1234_5678,
        dlsr: 0x0001_0000,
    };
    vec![
        RtcpPacket::SenderReport(SenderReport {
            ssrc: 1,
            ntp: NtpTime(0xE8F0_1234_8000_0000),
            rtp_timestamp: 160_000,
            packet_count: 1000,
            octet_count: 160_000,
            reports: vec![block],
        }),
        RtcpPacket::Sdes(Sdes::cname(1, "4f1c2a7e-softphone@example.com")),
    ]
}

fn bench(c: &mut Criterion) {
    let packets = compound();
    let mut bytes = Vec::new();
    write_compound(&packets, &mut bytes);

    c.bench_function("rtcp/parse SR+SDES", |b| {
        b.iter(|| parse_compound(black_box(&bytes)).unwrap())
    });
    c.bench_function("rtcp/build SR+SDES", |b| {
        let mut out = Vec::with_capacity(128);
        b.iter(|| {
            out.clear();
            write_compound(black_box(&packets), &mut out);
            out.len()
        })
    });
    c.bench_function("rtcp/parse junk", |b| {
        let junk = [0x80u8, 200, 0xFF, 0xFF, 1, 2, 3, 4];
        b.iter(|| parse_compound(black_box(&junk)).is_err())
    });

    let t0 = Instant::now();
    c.bench_function("rtcp/reception update", |b| {
        let mut st = ReceptionStats::new(1, 0, 8000, t0);
        let mut i = 0u32;
        b.iter(|| {
            i = i.wrapping_add(1);
            st.update(
                i as u16,
                i.wrapping_mul(160),
                t0 + Duration::from_millis(20 * (i as u64 & 0xFFFF)),
            )
        })
    });
    c.bench_function("rtcp/session report", |b| {
        let mut s = RtcpSession::new(RtcpConfig::new(1, "bench", 8000), t0, SystemTime::now());
        for i in 0..100u16 {
            let at = t0 + Duration::from_millis(20 * i as u64);
            s.on_rtp_received(at, 2, i, i as u32 * 160, 160);
            s.on_rtp_sent(at, i, i as u32 * 160, 160);
        }
        let mut now = t0 + Duration::from_secs(2);
        b.iter(|| {
            now += Duration::from_secs(10);
            s.poll_transmit(now).map(|v| v.len())
        })
    });
    c.bench_function("rtcp/stats (MOS)", |b| {
        let s = RtcpSession::new(RtcpConfig::new(1, "bench", 8000), t0, SystemTime::now());
        b.iter(|| black_box(&s).stats().mos)
    });
    c.bench_function("dtmf/parse", |b| {
        let p = [9u8, 0x8A, 0x06, 0x40];
        b.iter(|| TelephoneEvent::parse(black_box(&p)).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
