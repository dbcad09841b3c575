//! RTP and RTCP parsing: every datagram that reaches the call's media socket (RTP and,
//! multiplexed or not, RTCP).
//!
//! Properties: nothing panics; an RTP packet reprinted (fixed header and payload) reads back
//! the same; an RTCP compound that parses prints to one that parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;
// All the crate paths this target uses, in one place.
use media::rtcp::{parse_compound, write_compound};
use media::rtp::RtpPacket;

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
        if let Err(e) = parse_compound(&out) {
            panic!("a parsed RTCP compound printed to one that does not parse: {e}");
        }
    }
});
