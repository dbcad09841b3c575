//! How much loss the Opus encoder plans its in-band FEC for (sans-IO): what the far end
//! reports, not a guess.
//!
//! In-band FEC puts a low-bitrate copy of the previous frame in each packet (a second SILK
//! encode: about a fifth of the encoder's time, and bytes on the wire). libopus makes none
//! while the expected loss is 0. So a call starts planning for none, and every RTCP report
//! about our stream (RFC 3550 §6.4, about every 5 s) sets the plan from the loss it
//! reports: at once up to what the far end saw, down by half a report at most, so a burst
//! keeps FEC on for a while after it (20% falls to 0 in five reports, 25 s).

/// The most loss planned for, in percent: beyond it the copies would take most of the bitrate.
pub(crate) const MAX_PLANNED_LOSS_PERCENT: u8 = 30;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FecPlan {
    percent: u8,
}

impl FecPlan {
    /// The loss planned for now, in percent.
    pub(crate) fn percent(&self) -> u8 {
        self.percent
    }

    /// A report block about our stream said `fraction_lost` (in 256ths, RFC 3550 §6.4.1);
    /// returns the loss to plan for from now.
    pub(crate) fn on_report(&mut self, fraction_lost: u8) -> u8 {
        // Rounded up: any loss at all turns FEC on.
        let reported = (u32::from(fraction_lost) * 100).div_ceil(256) as u8;
        self.percent = reported.max(self.percent / 2).min(MAX_PLANNED_LOSS_PERCENT);
        self.percent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_call_plans_for_no_loss() {
        let mut p = FecPlan::default();
        assert_eq!(p.percent(), 0);
        assert_eq!(p.on_report(0), 0);
    }

    #[test]
    fn any_reported_loss_turns_fec_on_at_once() {
        let mut p = FecPlan::default();
        // One packet of 256 lost: 0.4%, planned as 1%.
        assert_eq!(p.on_report(1), 1);
        // 10% (25.6 of 256).
        assert_eq!(p.on_report(26), 11);
    }

    #[test]
    fn after_loss_the_plan_halves_each_clean_report() {
        let mut p = FecPlan::default();
        assert_eq!(p.on_report(51), 20);
        let after: Vec<u8> = (0..6).map(|_| p.on_report(0)).collect();
        assert_eq!(after, [10, 5, 2, 1, 0, 0]);
    }

    #[test]
    fn heavy_loss_is_planned_at_most_to_the_cap() {
        let mut p = FecPlan::default();
        assert_eq!(p.on_report(255), MAX_PLANNED_LOSS_PERCENT);
    }
}
