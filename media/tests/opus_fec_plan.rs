//! The Opus encoder's in-band FEC follows the loss the far end reports (RTCP receiver
//! reports about our stream): no copies on a clean network, copies once loss is reported,
//! none again after clean reports.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use media::{opus_packet_has_fec, write_compound, Codec, Port, ReceiverReport, ReportBlock};
use media::{RtcpPacket, RtpPacket, RtpSender, RtpSession};

const FAR: &str = "10.0.0.2:5000";

/// Voice-like audio: 150 Hz and its harmonics in syllables of 200 ms (libopus codes FEC
/// only for what its voice activity detector takes for speech, and a steady tone soon
/// counts as music).
fn voiced(frame: usize) -> Vec<i16> {
    (0..960)
        .map(|i| {
            let t = (frame * 960 + i) as f64 / 48000.0;
            let env = (std::f64::consts::TAU * 2.5 * t).sin().max(0.0);
            let s: f64 = (1..=6)
                .map(|k| (std::f64::consts::TAU * 150.0 * k as f64 * t).sin() / k as f64)
                .sum();
            (s * env * 6000.0) as i16
        })
        .collect()
}

struct Call {
    session: RtpSession,
    ssrc: u32,
    now: Instant,
    frame: usize,
}

impl Call {
    fn new() -> Call {
        let far: SocketAddr = FAR.parse().unwrap();
        let neg = media::test_support::negotiated(far, Codec::Opus);
        assert!(neg.opus.fec, "FEC is on by default");
        let sender = RtpSender::new();
        let ssrc = sender.ssrc();
        let now = Instant::now();
        Call {
            session: RtpSession::new(now, SystemTime::now(), neg, true, sender),
            ssrc,
            now,
            frame: 0,
        }
    }

    /// Sends `n` frames; how many of their packets carry FEC.
    fn send(&mut self, n: usize) -> usize {
        let mut with_fec = 0;
        for _ in 0..n {
            self.now += Duration::from_millis(20);
            self.session.handle_audio(self.now, &voiced(self.frame));
            self.frame += 1;
            while let Some(t) = self.session.poll_transmit() {
                if t.port != Port::Rtp {
                    continue;
                }
                let pkt = RtpPacket::parse(&t.payload).expect("our RTP parses");
                with_fec += usize::from(opus_packet_has_fec(pkt.payload));
            }
        }
        with_fec
    }

    /// The far end reports `fraction_lost` (in 256ths) of our stream.
    fn report(&mut self, fraction_lost: u8) {
        let rr = RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 0x0bad_cafe,
            reports: vec![ReportBlock {
                ssrc: self.ssrc,
                fraction_lost,
                cumulative_lost: 0,
                extended_highest_seq: self.frame as u32,
                jitter: 0,
                lsr: 0,
                dlsr: 0,
            }],
        });
        let mut buf = Vec::new();
        write_compound(&[rr], &mut buf);
        let from: SocketAddr = "10.0.0.2:5001".parse().unwrap();
        self.session
            .handle_datagram(self.now, from, Port::Rtcp, &buf, false);
    }
}

#[test]
fn no_fec_until_loss_is_reported_then_fec_until_clean_reports() {
    let mut call = Call::new();
    assert_eq!(call.send(50), 0, "FEC before any loss was reported");
    call.report(0);
    assert_eq!(call.send(50), 0, "FEC on a network reported clean");

    // The far end lost 10% of our packets: the next ones carry copies.
    call.report(26);
    let with_fec = call.send(50);
    // (About the voiced half of them: 29 of 50 when written.)
    assert!(
        with_fec >= 10,
        "only {with_fec} of 50 packets carry FEC after 10% loss"
    );

    // Clean reports halve the plan each time (11, 5, 2, 1, 0%): then no copies again.
    for _ in 0..5 {
        call.report(0);
    }
    // The next packet may still carry the copy of the frame coded before.
    call.send(1);
    assert_eq!(call.send(50), 0, "FEC after five clean reports");
}

#[test]
fn a_report_about_another_source_changes_nothing() {
    let mut call = Call::new();
    call.ssrc ^= 1;
    call.report(128);
    assert_eq!(
        call.send(50),
        0,
        "FEC planned from a report about someone else"
    );
}
