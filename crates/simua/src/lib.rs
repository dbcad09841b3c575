//! Simulated SIP parties for the tier-(b) tests: `signaling`'s user agents and endpoints as
//! [`netsim::Node`]s, far ends that only answer, and a two-phone world, on a virtual clock.
//!
//! Why a crate of its own, used only as a dev-dependency:
//! - both `signaling/tests/` and `crates/phone/tests/` drive the same `UserAgent` over the
//!   same network, so the node, its event log and the answering policy live once;
//! - it depends on `signaling`, so it cannot live inside `signaling` (its unit tests would see
//!   a second copy of the crate, with types that do not match); `signaling`'s integration
//!   tests, like `phone`'s, link the one copy;
//! - `netsim` stays free of any protocol: the media tests drive RTP over it without SIP.

mod duo;
mod endpoint;
mod node;
mod ua;

pub use duo::{Duo, ALICE, BOB};
pub use endpoint::SimEndpoint;
pub use node::{Either, Outbox, Responder, Server};
pub use ua::{ua_config, Gate, Open, SimUa};

use std::net::SocketAddr;

/// The SDP the calling side offers in the simulations.
pub const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
/// The SDP the called side answers with (to offers and re-offers).
pub const ANSWER: &str = "v=0\r\no=- 2 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";

/// A socket address written in a test.
///
/// # Panics
/// When `s` is not an address: a typo in the test itself.
pub fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test addresses are valid")
}
