//! Starts real peers (Kamailio, SIPp, baresip, linphonec) for end-to-end tests.
//!
//! Every peer binds 127.0.0.1 only, on its own free port (tests run in parallel threads),
//! keeps its files in its own scratch directory, is stopped on drop and cannot outlive a
//! hard lifetime even if the test process dies. See `docs/testing.md`.
//!
//! ```no_run
//! use std::time::Duration;
//! use testbed::{Kamailio, KamailioOptions, Sipp};
//!
//! #[test]
//! fn registers() {
//!     testbed::require!("kamailio", "kamcmd", "sipp");
//!     let kam = Kamailio::start(KamailioOptions::default()).unwrap();
//!     let out = Sipp::run(
//!         "sipp_register_auth.xml",
//!         &["-s", "1002", "-au", "1002", "-ap", "secret1002", &kam.addr().to_string()],
//!         Duration::from_secs(10),
//!     )
//!     .unwrap();
//!     assert!(out.success, "{out}");
//!     assert_eq!(kam.registered_contacts("1002").unwrap().len(), 1);
//! }
//! ```

pub mod audio;
pub mod baresip;
pub mod baresip_ctrl;
pub mod capture;
pub mod connections;
mod error;
pub mod kamailio;
pub mod linphone;
pub mod loopback;
pub mod lossy;
pub mod netns;
pub mod paths;
mod port;
mod process;
pub mod pulse;
pub mod rawsip;
pub mod sipp;
pub mod tls;
pub mod tools;
pub mod uldump;
mod wait;

pub use baresip::{Baresip, BaresipAudio, BaresipOptions, Recording, TracedMessage};
pub use baresip_ctrl::BaresipEvent;
pub use error::TestbedError;
pub use kamailio::{
    password_of, Algorithm, Kamailio, KamailioOptions, KamailioTls, DEFAULT_LIFETIME, USERS,
};
pub use linphone::{Linphone, LinphoneOptions};
pub use port::{free_port, is_bound};
pub use sipp::{Sipp, SippOutcome, SippProcess};
pub use tools::{require_tools, skip_e2e, which};
pub use uldump::{UlContact, UlRecord};
pub use wait::{wait_until, TimedOut};

/// First line of an end-to-end test: `testbed::require!("kamailio", "sipp");`.
///
/// Returns from the test (after printing a note) when `SOFTPHONE_SKIP_E2E=1`; **fails** the
/// test, naming `make deps`, when a tool is missing; otherwise does nothing.
#[macro_export]
macro_rules! require {
    ($($tool:expr),+ $(,)?) => {
        if !$crate::require_tools(module_path!(), &[$($tool),+]) {
            return;
        }
    };
}
