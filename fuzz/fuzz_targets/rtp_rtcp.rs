//! RTP and RTCP parsing: every datagram that reaches the call's media socket (RTP and,
//! multiplexed or not, RTCP).
//!
//! Properties: nothing panics; an RTP packet reprinted (fixed header and payload) reads back
//! the same; an RTCP compound that parses prints to one that reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
// All the crate paths this target uses, in one place.
use media::RtpPacket;
use media::{parse_compound, write_compound};

fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = RtpPacket::parse(data) {
        let mut out = Vec::new();
        packet.header.write(&mut out);
        out.extend_from_slice(packet.payload);
        assert_eq!(
            RtpPacket::parse(&out).ok(),
            Some(packet),
            "a parsed RTP packet reprinted reads back differently"
        );
    }
    if let Ok(packets) = parse_compound(data) {
        let mut out = Vec::new();
        write_compound(&packets, &mut out);
        // Printing drops what we do not model (unknown packet types, padding), so the print
        // of the reparsed compound must be the print itself.
        match parse_compound(&out) {
            Ok(again) => {
                let mut out_again = Vec::new();
                write_compound(&again, &mut out_again);
                assert_eq!(
                    out_again, out,
                    "a parsed RTCP compound reprinted reads back differently"
                );
            }
            Err(e) => panic!("a parsed RTCP compound printed to one that does not parse: {e}"),
        }
    }
});
