//! Digest authentication for SIP (RFC 3261 §22, RFC 7616, RFC 8760): MD5, SHA-256 and
//! SHA-512-256 (and their `-sess` forms), `qop=auth`/`auth-int` and the legacy form without
//! qop.
//!
//! - [`Authenticator`]: the client side. Fed a 401/407 and the request it answered, adds
//!   `Authorization` / `Proxy-Authorization`, tracks nonce counts, tells a wrong password
//!   ([`AuthError::Rejected`]) from an expired nonce (`stale=true`).
//! - [`verify_request`] and [`DigestChallenge::to_challenge`]: the verifying side, enough
//!   for a simulated registrar in tests.
//! - `compute`: the pure computation under both.
//!
//! The password is a [`Password`], which never prints. No I/O and no clock in here.

mod algorithm;
mod challenge;
mod client;
mod compute;
mod secret;
mod server;

pub use algorithm::{DigestAlgorithm, Qop};
pub use challenge::{ChallengeError, ChallengeKind, DigestChallenge};
pub use client::Authenticator;
pub use secret::Password;
pub use server::verify_request;

/// Why a challenge could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The response handed to the authenticator is not a 401 or 407.
    #[error("a {status} response is not an authentication challenge (401 or 407 expected)")]
    NotAChallenge {
        /// The status handed in.
        status: u16,
    },
    /// Nothing offered is a Digest challenge we can answer.
    #[error("no challenge we can answer (offered: {offered})")]
    NoAnswerableChallenge {
        /// The schemes and algorithms offered, for the log.
        offered: String,
    },
    /// Digest was offered, but only with algorithms we do not implement.
    #[error("unsupported digest algorithm {algorithm}")]
    UnsupportedAlgorithm {
        /// The algorithm token offered.
        algorithm: String,
    },
    /// The realm challenged our answer again without `stale=true`.
    #[error("credentials for realm {realm:?} were rejected: wrong username or password")]
    Rejected {
        /// The realm that refused our answer.
        realm: String,
    },
    /// The only Digest challenges offered do not parse or lack realm/nonce.
    #[error("malformed authentication challenge: {reason}")]
    MalformedChallenge {
        /// What is wrong with it.
        reason: String,
    },
}
