//! RTCP packets: build/parse round trips, wire bytes, validation errors.

use media::{
    parse_compound, write_compound, Bye, NtpTime, ReceiverReport, ReportBlock, RtcpError,
    RtcpPacket, Sdes, SdesChunk, SdesItem, SenderReport,
};

/// RTCP APP (RFC 3550 §6.7), a type the session keeps opaque.
const PT_APP: u8 = 204;

fn block(ssrc: u32) -> ReportBlock {
    ReportBlock {
        ssrc,
        fraction_lost: 12,
        cumulative_lost: -3,
        extended_highest_seq: 0x0001_00A3,
        jitter: 80,
        lsr: 0xB705_2000,
        dlsr: 0x0005_4000,
    }
}

fn round_trip(packets: &[RtcpPacket]) -> Vec<u8> {
    let mut out = Vec::new();
    write_compound(packets, &mut out);
    assert_eq!(out.len() % 4, 0);
    assert_eq!(parse_compound(&out).unwrap(), packets);
    out
}

#[test]
fn compound_round_trips() {
    let sr = RtcpPacket::SenderReport(SenderReport {
        ssrc: 0x1122_3344,
        ntp: NtpTime(0xE8F0_0000_8000_0000),
        rtp_timestamp: 160_000,
        packet_count: 1000,
        octet_count: 160_000,
        reports: vec![block(7), block(8)],
    });
    let sdes = RtcpPacket::Sdes(Sdes {
        chunks: vec![
            SdesChunk {
                ssrc: 0x1122_3344,
                items: vec![
                    SdesItem {
                        kind: 1,
                        value: b"alice@example.com".to_vec(),
                    },
                    SdesItem {
                        kind: 2,
                        value: "Alïce".as_bytes().to_vec(),
                    },
                ],
            },
            SdesChunk {
                ssrc: 5,
                items: vec![],
            },
        ],
    });
    let bye = RtcpPacket::Bye(Bye {
        sources: vec![0x1122_3344, 9],
        reason: Some(b"hangup".to_vec()),
    });
    let out = round_trip(&[sr, sdes.clone(), bye]);
    // SR: header + 24 sender info + 2 blocks = 4 + 24 + 48 bytes, length field 18.
    assert_eq!(&out[..4], &[0x82, 200, 0, 18]);

    let rr = RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 1,
        reports: vec![],
    });
    let app = RtcpPacket::Other {
        packet_type: PT_APP,
        count: 3,
        body: vec![0, 0, 0, 1, b'T', b'E', b'S', b'T', 1, 2, 3, 4],
    };
    let bye_no_reason = RtcpPacket::Bye(Bye {
        sources: vec![],
        reason: None,
    });
    round_trip(&[rr, sdes, app, bye_no_reason]);
}

#[test]
fn receiver_report_wire_bytes() {
    let rr = RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 0x0102_0304,
        reports: vec![block(0x0A0B_0C0D)],
    });
    let mut out = Vec::new();
    rr.write(&mut out);
    #[rustfmt::skip]
    let want = [
        0x81, 201, 0, 7,            // V=2, RC=1, RR, 8 words
        1, 2, 3, 4,                 // sender SSRC
        0x0A, 0x0B, 0x0C, 0x0D,     // source
        12, 0xFF, 0xFF, 0xFD,       // fraction 12/256, cumulative -3
        0, 1, 0, 0xA3,              // extended highest sequence
        0, 0, 0, 80,                // jitter
        0xB7, 0x05, 0x20, 0x00,     // LSR
        0, 5, 0x40, 0,              // DLSR
    ];
    assert_eq!(out, want);
}

#[test]
fn sdes_items_of_every_length_stay_aligned() {
    for len in 0..=12 {
        let cname = "x".repeat(len);
        let p = RtcpPacket::Sdes(Sdes::cname(42, &cname));
        let out = round_trip(std::slice::from_ref(&p));
        match &parse_compound(&out).unwrap()[0] {
            RtcpPacket::Sdes(s) => assert_eq!(s.cname_of(42).as_deref(), Some(cname.as_str())),
            other => panic!("{other:?}"),
        }
        assert_eq!(Sdes::cname(42, "a").cname_of(43), None);
    }
    // Values longer than 255 bytes are cut on the wire.
    let long = RtcpPacket::Sdes(Sdes::cname(1, &"y".repeat(300)));
    let mut out = Vec::new();
    long.write(&mut out);
    match &parse_compound(&out).unwrap()[0] {
        RtcpPacket::Sdes(s) => assert_eq!(s.cname_of(1).unwrap().len(), 255),
        other => panic!("{other:?}"),
    }
}

#[test]
fn padding_on_the_last_packet_is_removed() {
    let mut out = Vec::new();
    RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 1,
        reports: vec![],
    })
    .write(&mut out);
    let rr_len = out.len();
    RtcpPacket::Bye(Bye {
        sources: vec![1],
        reason: None,
    })
    .write(&mut out);
    // Add 4 bytes of padding to the BYE: P bit, length + 1 word, count in the last byte.
    out[rr_len] |= 0x20;
    out[rr_len + 3] += 1;
    out.extend_from_slice(&[0, 0, 0, 4]);
    let packets = parse_compound(&out).unwrap();
    assert_eq!(
        packets[1],
        RtcpPacket::Bye(Bye {
            sources: vec![1],
            reason: None
        })
    );
}

#[test]
fn validation_errors() {
    let rr = |extra_len: u8| {
        let mut v = vec![0x80, 201, 0, 1 + extra_len, 0, 0, 0, 1];
        v.resize(4 * (2 + extra_len as usize), 0);
        v
    };
    let padded_not_last = {
        let mut v = rr(1);
        v[0] |= 0x20;
        v[11] = 4;
        v.extend(rr(0));
        v
    };
    let cases: Vec<(&str, Vec<u8>, RtcpError)> = vec![
        ("empty", vec![], RtcpError::Empty),
        (
            "trailing bytes",
            [rr(0), vec![0x80, 201]].concat(),
            RtcpError::ShortHeader { offset: 8, len: 2 },
        ),
        (
            "version 1",
            vec![0x40, 201, 0, 1, 0, 0, 0, 1],
            RtcpError::BadVersion {
                offset: 0,
                version: 1,
            },
        ),
        (
            "length past the datagram",
            vec![0x80, 201, 0, 5, 0, 0, 0, 1],
            RtcpError::Truncated {
                offset: 0,
                claimed: 24,
                available: 8,
            },
        ),
        (
            "padding on a packet that is not the last",
            padded_not_last,
            RtcpError::PaddingNotLast(0),
        ),
        (
            "padding count 0",
            vec![0xA0, 201, 0, 1, 0, 0, 0, 0],
            RtcpError::BadPadding { offset: 0, pad: 0 },
        ),
        (
            "padding count not a multiple of four",
            vec![0xA0, 201, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3],
            RtcpError::BadPadding { offset: 0, pad: 3 },
        ),
        (
            "padding count larger than the body",
            vec![0xA0, 201, 0, 1, 0, 0, 0, 8],
            RtcpError::BadPadding { offset: 0, pad: 8 },
        ),
        (
            "SR without sender info",
            vec![0x80, 200, 0, 1, 0, 0, 0, 1],
            RtcpError::Malformed {
                packet_type: 200,
                reason: "sender info shorter than 24 bytes",
            },
        ),
        (
            "RR with more blocks than bytes",
            {
                let mut v = rr(6);
                v[0] = 0x82;
                v
            },
            RtcpError::Malformed {
                packet_type: 201,
                reason: "report blocks run past the packet",
            },
        ),
        (
            "RR without SSRC",
            vec![0x80, 201, 0, 0],
            RtcpError::Malformed {
                packet_type: 201,
                reason: "no SSRC",
            },
        ),
        (
            "SDES chunk without END",
            vec![0x81, 202, 0, 2, 0, 0, 0, 1, 1, 2, b'a', b'b'],
            RtcpError::Malformed {
                packet_type: 202,
                reason: "chunk without an END item",
            },
        ),
        (
            "SDES item past the packet",
            vec![0x81, 202, 0, 2, 0, 0, 0, 1, 1, 9, b'a', b'b'],
            RtcpError::Malformed {
                packet_type: 202,
                reason: "item runs past the packet",
            },
        ),
        (
            "SDES count larger than the chunks",
            vec![0x82, 202, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0],
            RtcpError::Malformed {
                packet_type: 202,
                reason: "chunk runs past the packet",
            },
        ),
        (
            "BYE sources past the packet",
            vec![0x83, 203, 0, 1, 0, 0, 0, 1],
            RtcpError::Malformed {
                packet_type: 203,
                reason: "SSRC list runs past the packet",
            },
        ),
        (
            "BYE reason past the packet",
            vec![0x81, 203, 0, 2, 0, 0, 0, 1, 7, b'b', b'y', b'e'],
            RtcpError::Malformed {
                packet_type: 203,
                reason: "reason runs past the packet",
            },
        ),
    ];
    for (name, bytes, want) in cases {
        assert_eq!(parse_compound(&bytes), Err(want), "{name}");
    }
}

#[test]
fn profile_extensions_after_report_blocks_are_ignored() {
    // RR with one block and one extra word (§6.4.1 profile-specific extension).
    let mut out = Vec::new();
    RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 1,
        reports: vec![block(2)],
    })
    .write(&mut out);
    out[3] += 1;
    out.extend_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF]);
    match &parse_compound(&out).unwrap()[0] {
        RtcpPacket::ReceiverReport(rr) => assert_eq!(rr.reports, vec![block(2)]),
        other => panic!("{other:?}"),
    }
}
