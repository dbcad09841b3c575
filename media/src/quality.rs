//! Call quality: the figures a call shows ([`CallQuality`]) and a MOS estimate from a
//! simplified ITU-T G.107 E-model.
//!
//! R = R0 − Is − Id − Ie,eff + A, with the G.107 default values for everything but delay and
//! codec/loss, which gives R0 − Is = 93.2 (G.107 §7.7, "default values") and A = 0:
//!
//! - **Id** (delay): the Cole & Rosenbluth approximation of G.107's Idd, valid with echo
//!   cancellation ("Voice over IP performance monitoring", ACM CCR 31(2), 2001):
//!   `Id = 0.024·d + 0.11·(d − 177.3)·H(d − 177.3)`, d = one-way mouth-to-ear delay in ms,
//!   H the unit step.
//! - **Ie,eff** (codec and random loss, G.107 eq. 7-29):
//!   `Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl / BurstR + Bpl)`, Ppl = loss in percent,
//!   BurstR = 1 (random loss; we do not measure burstiness).
//! - **MOS** (G.107 Annex B): 1 for R < 0, 4.5 for R > 100, else
//!   `1 + 0.035·R + 7·10⁻⁶·R·(R − 60)·(100 − R)`; R = 93.2 gives 4.41.
//!
//! Codec values: G.711 from ITU-T G.113 Appendix I (Ie = 0; Bpl = 4.3 without PLC, 25.1 with
//! the G.711 Appendix I PLC). Opus has no ITU-T Ie/Bpl; see [`CodecModel::Opus`] for the
//! approximations used.

/// Codec impairment parameters for the E-model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CodecModel {
    /// G.711 (PCMU/PCMA), with or without packet loss concealment at the receiver.
    G711 {
        /// The receiver conceals lost packets.
        plc: bool,
    },
    /// Opus at the given bitrate (bit/s). **Approximation, not an ITU-T value** (G.113 lists
    /// no Opus factors). Scored on the narrowband R scale (max 93.2): Ie = 0 at ≥ 16 kbit/s
    /// (listening tests of Opus, e.g. Rämö & Toukomaa, "Voice quality characterization of
    /// IETF Opus codec", Interspeech 2011, rate it at or above G.711 from there), Ie = 5 at
    /// 12–16 kbit/s, Ie = 11 at 8–12 kbit/s (on a par with G.729A, G.113 App. I Ie = 11),
    /// Ie = 20 below; Bpl = 25 (built-in PLC, taken equal to G.711 with PLC, 25.1). In-band
    /// FEC would make it more robust than this.
    Opus {
        /// Encoder bitrate, bit/s.
        bitrate: u32,
    },
    /// Explicit factors.
    Custom {
        /// Equipment impairment factor Ie.
        ie: f32,
        /// Packet-loss robustness factor Bpl.
        bpl: f32,
    },
}

impl CodecModel {
    /// (Ie, Bpl).
    pub fn factors(&self) -> (f32, f32) {
        match *self {
            CodecModel::G711 { plc: true } => (0.0, 25.1),
            CodecModel::G711 { plc: false } => (0.0, 4.3),
            CodecModel::Opus { bitrate } => {
                let ie = match bitrate {
                    16_000.. => 0.0,
                    12_000..=15_999 => 5.0,
                    8_000..=11_999 => 11.0,
                    _ => 20.0,
                };
                (ie, 25.0)
            }
            CodecModel::Custom { ie, bpl } => (ie, bpl),
        }
    }
}

/// R0 − Is with G.107 default values.
pub const R_DEFAULT: f32 = 93.2;

/// Delay impairment Id for a one-way mouth-to-ear delay in ms (Cole & Rosenbluth).
pub fn delay_impairment(one_way_ms: f32) -> f32 {
    let d = one_way_ms.max(0.0);
    let mut id = 0.024 * d;
    if d > 177.3 {
        id += 0.11 * (d - 177.3);
    }
    id
}

/// Effective equipment impairment Ie,eff for `loss_percent` random loss (G.107 eq. 7-29).
pub fn effective_equipment_impairment(codec: CodecModel, loss_percent: f32) -> f32 {
    let (ie, bpl) = codec.factors();
    let ppl = if loss_percent.is_finite() {
        loss_percent.clamp(0.0, 100.0)
    } else {
        0.0
    };
    if ppl + bpl <= 0.0 {
        return ie;
    }
    ie + (95.0 - ie) * ppl / (ppl + bpl)
}

/// The R factor.
pub fn r_factor(codec: CodecModel, one_way_ms: f32, loss_percent: f32) -> f32 {
    R_DEFAULT - delay_impairment(one_way_ms) - effective_equipment_impairment(codec, loss_percent)
}

/// MOS (conversational quality estimate, 1.0–4.5) from R (G.107 Annex B).
pub fn mos_from_r(r: f32) -> f32 {
    if !r.is_finite() || r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        1.0 + 0.035 * r + 7.0e-6 * r * (r - 60.0) * (100.0 - r)
    }
}

/// MOS for a codec, one-way delay and loss.
pub fn mos(codec: CodecModel, one_way_ms: f32, loss_percent: f32) -> f32 {
    mos_from_r(r_factor(codec, one_way_ms, loss_percent))
}

/// What a call shows about its audio (receive direction unless said otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CallQuality {
    /// RTP packets we sent.
    pub packets_sent: u64,
    /// RTP packets we received (every valid packet of the current far-end source).
    pub packets_received: u64,
    /// Cumulative packets lost (RFC 3550 A.3: expected − received; negative with duplicates).
    pub lost: i64,
    /// Fraction lost since the previous report we sent (0.0–1.0).
    pub fraction_lost: f32,
    /// Interarrival jitter (RFC 3550 A.8) in ms.
    pub jitter_ms: f32,
    /// Round-trip time from the far end's last report block about us.
    pub rtt_ms: Option<f32>,
    /// Audio the playout side had to conceal, in ms.
    pub concealed_ms: u64,
    /// The far end's view of our stream, from its last report block: fraction lost.
    pub remote_fraction_lost: Option<f32>,
    /// The far end's view of our stream: jitter in ms.
    pub remote_jitter_ms: Option<f32>,
    /// E-model MOS estimate (1.0–4.5).
    pub mos: f32,
}

#[cfg(test)]
mod tests {
    use super::*;

    const G711: CodecModel = CodecModel::G711 { plc: true };

    #[test]
    fn mos_of_default_r_is_4_41() {
        assert!(
            (mos_from_r(93.2) - 4.41).abs() < 0.005,
            "{}",
            mos_from_r(93.2)
        );
        assert_eq!(mos_from_r(-3.0), 1.0);
        assert_eq!(mos_from_r(120.0), 4.5);
        assert_eq!(mos_from_r(f32::NAN), 1.0);
        // Table values from G.107 Annex B / G.109: R = 50 → MOS 2.58, R = 80 → 4.02.
        assert!((mos_from_r(50.0) - 2.575).abs() < 0.01);
        assert!((mos_from_r(80.0) - 4.024).abs() < 0.01);
    }

    #[test]
    fn delay_impairment_has_a_knee_at_177ms() {
        assert_eq!(delay_impairment(0.0), 0.0);
        assert!((delay_impairment(100.0) - 2.4).abs() < 1e-4);
        assert!((delay_impairment(177.3) - 4.255).abs() < 1e-3);
        // Above the knee the slope is 0.134 per ms.
        let slope = delay_impairment(300.0) - delay_impairment(299.0);
        assert!((slope - 0.134).abs() < 1e-3);
    }

    #[test]
    fn loss_impairment_follows_g107() {
        assert_eq!(effective_equipment_impairment(G711, 0.0), 0.0);
        // 95 · 5 / (5 + 25.1) = 15.78
        assert!((effective_equipment_impairment(G711, 5.0) - 15.78).abs() < 0.01);
        // Without PLC: 95 · 5 / (5 + 4.3) = 51.08
        let no_plc = CodecModel::G711 { plc: false };
        assert!((effective_equipment_impairment(no_plc, 5.0) - 51.08).abs() < 0.01);
        // 100 % loss saturates at 95 · 100 / 125.1.
        assert!(effective_equipment_impairment(G711, 100.0) < 95.0);
        assert_eq!(effective_equipment_impairment(G711, f32::NAN), 0.0);
    }

    #[test]
    fn mos_moves_the_right_way() {
        let clean = mos(G711, 20.0, 0.0);
        assert!(clean > 4.3, "{clean}");
        let lossy = mos(G711, 20.0, 5.0);
        assert!(lossy < clean - 0.4, "{lossy} vs {clean}");
        let no_plc = mos(CodecModel::G711 { plc: false }, 20.0, 5.0);
        assert!(no_plc < lossy - 1.0, "{no_plc}");
        let far = mos(G711, 400.0, 0.0);
        assert!(far < clean - 0.5, "{far}");
        let opus = mos(CodecModel::Opus { bitrate: 32_000 }, 20.0, 0.0);
        assert!((opus - clean).abs() < 1e-6);
        assert!(mos(CodecModel::Opus { bitrate: 6_000 }, 20.0, 0.0) < clean);
    }
}
