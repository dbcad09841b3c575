//! RFC 3550 receiver statistics (Appendix A) about one far-end source, and the round-trip
//! time from a report block about us (§6.4.1).

use std::time::{Duration, Instant};

use super::packet::{duration_from_ntp_short, duration_to_ntp_short, NtpTime, ReportBlock};

/// RFC 3550 A.1 constants.
const MAX_DROPOUT: u16 = 3000;
const MAX_MISORDER: u16 = 100;
const MIN_SEQUENTIAL: u32 = 2;
const RTP_SEQ_MOD: u32 = 1 << 16;

/// What a receiver keeps about one far-end source (RFC 3550 A.1, A.3, A.8).
#[derive(Debug, Clone)]
pub struct ReceptionStats {
    ssrc: u32,
    clock_rate: u32,
    /// Reference instant for arrival times in timestamp units.
    epoch: Instant,
    max_seq: u16,
    /// Sequence number wraps, shifted (count << 16), as in A.1.
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u32,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    /// Last relative transit time, timestamp units (wrapping).
    transit: Option<u32>,
    /// A.8 jitter estimate, timestamp units.
    jitter: f64,
    /// Middle 32 bits of the last SR's NTP time and when it arrived.
    last_sr: Option<(u32, Instant)>,
    /// Valid packets, probation included (for display).
    packets: u64,
}

impl ReceptionStats {
    /// Start tracking `ssrc`, whose first packet carries `seq` (A.1: on probation until
    /// MIN_SEQUENTIAL = 2 packets in sequence were seen).
    pub fn new(ssrc: u32, seq: u16, clock_rate: u32, epoch: Instant) -> Self {
        let mut s = ReceptionStats {
            ssrc,
            clock_rate: clock_rate.max(1),
            epoch,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: 0,
            probation: MIN_SEQUENTIAL,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter: 0.0,
            last_sr: None,
            packets: 0,
        };
        s.init_seq(seq);
        s.max_seq = seq.wrapping_sub(1);
        s
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = seq as u32;
        self.max_seq = seq;
        self.bad_seq = RTP_SEQ_MOD + 1; // so seq == bad_seq is false
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// The source these statistics are about.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Account for one RTP packet. Returns false when A.1 does not count it (probation, or
    /// a big jump in sequence numbers not yet confirmed by a second packet).
    pub fn update(&mut self, seq: u16, timestamp: u32, arrival: Instant) -> bool {
        let counted = self.update_seq(seq);
        if counted {
            self.packets += 1;
            self.update_jitter(timestamp, arrival);
        } else if self.probation > 0 {
            // Probation packets are real audio for the display count.
            self.packets += 1;
        }
        counted
    }

    fn update_seq(&mut self, seq: u16) -> bool {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return true;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return false;
        } else if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(RTP_SEQ_MOD);
            }
            self.max_seq = seq;
        } else if udelta as u32 <= RTP_SEQ_MOD - MAX_MISORDER as u32 {
            // A very large jump: a restart if the next packet confirms it.
            if seq as u32 == self.bad_seq {
                self.init_seq(seq);
                self.transit = None;
            } else {
                self.bad_seq = (seq as u32 + 1) & (RTP_SEQ_MOD - 1);
                return false;
            }
        } else {
            // Duplicate or reordered packet: counted, max unchanged.
        }
        self.received = self.received.wrapping_add(1);
        true
    }

    fn update_jitter(&mut self, timestamp: u32, arrival: Instant) {
        let since = arrival.saturating_duration_since(self.epoch);
        let arrival_ts = (since.as_nanos() * self.clock_rate as u128 / 1_000_000_000) as u32;
        let transit = arrival_ts.wrapping_sub(timestamp);
        if let Some(prev) = self.transit {
            let d = (transit.wrapping_sub(prev) as i32).unsigned_abs() as f64;
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.transit = Some(transit);
    }

    /// Note a sender report from this source, received at `arrival`.
    pub fn on_sender_report(&mut self, ntp: NtpTime, arrival: Instant) {
        self.last_sr = Some((ntp.middle32(), arrival));
    }

    /// Extended highest sequence number received.
    pub fn extended_max(&self) -> u32 {
        self.cycles.wrapping_add(self.max_seq as u32)
    }

    /// Packets expected (A.3); 0 while on probation.
    pub fn expected(&self) -> u32 {
        if self.probation > 0 {
            return 0;
        }
        self.extended_max()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1)
    }

    /// Packets counted as received by A.1.
    pub fn received(&self) -> u32 {
        self.received
    }

    /// Valid packets from this source, including the ones A.1 keeps out (probation).
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Cumulative lost (expected − received; negative with duplicates).
    pub fn cumulative_lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// Fraction lost since the last [`Self::report_block`], 1/256 (A.3), without resetting.
    pub fn fraction_lost_now(&self) -> u8 {
        let expected_interval = self.expected().wrapping_sub(self.expected_prior);
        let received_interval = self.received.wrapping_sub(self.received_prior);
        let lost_interval = expected_interval as i64 - received_interval as i64;
        if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        }
    }

    /// Interarrival jitter in timestamp units.
    pub fn jitter(&self) -> u32 {
        self.jitter as u32
    }

    /// Interarrival jitter in ms.
    pub fn jitter_ms(&self) -> f32 {
        (self.jitter * 1000.0 / self.clock_rate as f64) as f32
    }

    /// The report block about this source as of `now`; starts a new loss interval.
    pub fn report_block(&mut self, now: Instant) -> ReportBlock {
        let fraction_lost = self.fraction_lost_now();
        self.expected_prior = self.expected();
        self.received_prior = self.received;
        let (lsr, dlsr) = match self.last_sr {
            Some((lsr, at)) => (
                lsr,
                duration_to_ntp_short(now.saturating_duration_since(at)),
            ),
            None => (0, 0),
        };
        ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: self.cumulative_lost().clamp(-0x80_0000, 0x7F_FFFF) as i32,
            extended_highest_seq: self.extended_max(),
            jitter: self.jitter(),
            lsr,
            dlsr,
        }
    }
}

/// Round-trip time from a report block about us, received when our NTP clock read `now`
/// (RFC 3550 §6.4.1 / A.8: `A − LSR − DLSR`). `None` when the block has no LSR or the result
/// is negative (clock or peer bug).
pub fn round_trip_time(now: NtpTime, block: &ReportBlock) -> Option<Duration> {
    if block.lsr == 0 {
        return None;
    }
    let rtt = now
        .middle32()
        .wrapping_sub(block.lsr)
        .wrapping_sub(block.dlsr);
    if rtt >= 0x8000_0000 {
        return None;
    }
    Some(duration_from_ntp_short(rtt))
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::packet::{NtpTime, ReportBlock};

    #[test]
    fn rtt_example_from_rfc3550() {
        // §6.4.1 figure: A = 0xb710:8000 (46864.500 s), DLSR = 0x0005:4000 (5.250 s),
        // LSR = 46853.125 s (the figure prints 0xb705:2030; 0.125 s is exactly 0x2000):
        // RTT = 6.125 s.
        let now = NtpTime(0xb710_8000u64 << 16);
        let block = ReportBlock {
            lsr: 0xb705_2000,
            dlsr: 0x0005_4000,
            ..Default::default()
        };
        assert_eq!(now.middle32(), 0xb710_8000);
        assert_eq!(
            round_trip_time(now, &block),
            Some(Duration::from_millis(6125))
        );
        let none = ReportBlock::default();
        assert_eq!(round_trip_time(now, &none), None);
    }
}
