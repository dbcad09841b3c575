//! RTCP (RFC 3550 §6): packets, receiver statistics (Appendix A) and a sans-IO session.
//!
//! - [`RtcpPacket`], [`parse_compound`], [`write_compound`]: SR, RR (report blocks), SDES,
//!   BYE; other types (APP, feedback, XR) are kept opaque as [`RtcpPacket::Other`].
//!   Parsing never panics: every length is checked and junk gets an [`RtcpError`].
//! - [`ReceptionStats`]: what a receiver keeps about one far-end source: extended highest
//!   sequence number with wrap (A.1), expected/lost/fraction lost (A.3), interarrival jitter
//!   (A.8), LSR/DLSR for the report block (§6.4.1).
//! - [`RtcpSession`]: given `now` and the RTP packets sent and received, emits a compound
//!   SR or RR + SDES CNAME every ~5 s (randomized 0.5–1.5×, §6.3.1), takes the far end's
//!   reports (round-trip time, §6.4.1), and sums it all up as [`CallQuality`].
//!
//! Compound validation follows A.2 (version 2, lengths add up to the datagram, padding only
//! on the last packet), except that the first packet need not be SR/RR: reduced-size RTCP
//! (RFC 5506) sends feedback alone, and a lone SDES or BYE is harmless.

mod packet;
mod session;
mod stats;

pub use packet::*;
pub use session::{RtcpConfig, RtcpEvent, RtcpSession};
pub use stats::ReceptionStats;
