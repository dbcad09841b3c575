//! SDP parsing and RFC 3264 offer/answer: the body of every INVITE, re-INVITE, UPDATE and
//! answer the PBX sends.
//!
//! Properties: nothing panics; a description that parses prints to one that reads back the same;
//! the session answers the input as an offer, and takes it as the answer to an offer of its
//! own, without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
// All the crate paths this target uses, in one place.
use media::{AudioCaps, Direction, SdpSession, SessionDescription};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(sdp) = SessionDescription::parse(text) {
        let printed = sdp.to_string();
        // Printing normalises (`s=-` and `t=0 0` when missing, RFC 4566 line order), so the
        // print of the print must be the print itself.
        match SessionDescription::parse(&printed) {
            Ok(again) => assert_eq!(
                again.to_string(),
                printed,
                "a parsed SDP printed to one that reads back differently"
            ),
            Err(e) => panic!("a parsed SDP printed to one that does not parse ({e}):\n{printed}"),
        }
    }

    let local = "192.0.2.10:40000"
        .parse()
        .expect("a literal socket address");
    let mut answerer = SdpSession::new(local, AudioCaps::default(), 1);
    for wanted in [Direction::SendRecv, Direction::SendOnly] {
        if let Ok((answer, _)) = answerer.receive_offer(text, wanted) {
            // Our own answer must be an SDP we can read back.
            if let Err(e) = SessionDescription::parse(&answer) {
                panic!("our answer does not parse ({e}):\n{answer}");
            }
        }
    }

    let mut offerer = SdpSession::new(local, AudioCaps::default(), 2);
    let _ = offerer.create_offer(Direction::SendRecv);
    let _ = offerer.receive_answer(text);
});
