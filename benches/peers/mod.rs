//! The peers harness (`benches/peers.rs`), shared with its short version in `make test`
//! (`tests/peers_short.rs`).
#![allow(dead_code)] // the short version uses part of it

pub mod load;
pub mod measure;
pub mod probe;
pub mod procstat;
pub mod report;
pub mod ua;

use std::time::Duration;

use testbed::kamailio::DEFAULT_LIFETIME;
use testbed::{Kamailio, KamailioOptions};

/// The PBX every part of a run goes through, alive for at least `run` (a whole run outlives
/// the testbed's default lifetime).
pub fn pbx(run: Duration) -> Result<Kamailio, String> {
    Kamailio::start_with_lifetime(KamailioOptions::md5(), run.max(DEFAULT_LIFETIME))
        .map_err(|e| e.to_string())
}
