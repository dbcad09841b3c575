//! RFC 4733 telephone-event payloads and the receiver that turns them into digits, fed a
//! stream of packets as the far end (or a broken gateway) might send them.
//!
//! Input: byte 0 picks the clock rate, then 8-byte records: milliseconds since the previous
//! packet (u16), the RTP timestamp's step from the previous packet (i16, so the same event's
//! updates and retransmissions are easy to reach), and the 4-byte payload.
//!
//! Properties: nothing panics; a payload that parses prints back to itself apart from the
//! reserved bit; a reported digit's duration is consistent across its two units.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};
// All the crate paths this target uses, in one place.
use media::{DtmfReceiver, TelephoneEvent};

const RATES: [u32; 4] = [8000, 16000, 48000, 1000];

fuzz_target!(|data: &[u8]| {
    let Some((&rate, records)) = data.split_first() else {
        return;
    };
    let rate = RATES[rate as usize % RATES.len()];
    let mut receiver = DtmfReceiver::new(rate).expect("the rates above are all valid");
    let mut now = Instant::now();
    let mut timestamp: u32 = 0x1234_5678;
    for r in records.chunks_exact(8) {
        now += Duration::from_millis(u16::from_be_bytes([r[0], r[1]]) as u64);
        timestamp = timestamp.wrapping_add(i16::from_be_bytes([r[2], r[3]]) as i32 as u32);
        let payload = &r[4..8];

        let event = TelephoneEvent::parse(payload).expect("4 bytes are always an event block");
        // The R bit (0x40) is not kept.
        let expected = [payload[0], payload[1] & 0xBF, payload[2], payload[3]];
        assert_eq!(
            event.to_bytes(),
            expected,
            "event block does not print back"
        );

        if receiver.poll_timeout().is_some_and(|t| t <= now) {
            receiver.handle_timeout(now);
        }
        let _ = receiver.handle(now, timestamp, payload);
        while let Some(digit) = receiver.poll_digit() {
            let ms = digit.duration_ticks * 1000 / rate as u64;
            assert!(
                (digit.duration_ms as u64).abs_diff(ms) <= 1,
                "digit {digit:?} reports {} ms for {} ticks at {rate} Hz",
                digit.duration_ms,
                digit.duration_ticks
            );
        }
    }
    // Trailing bytes that do not make a whole record are a payload of the wrong length.
    let _ = receiver.handle(now, timestamp, records.chunks_exact(8).remainder());
});
