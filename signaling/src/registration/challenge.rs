//! Answering the registrar's digest challenges through [`crate::auth::Authenticator`].

use crate::auth::{AuthError, Authenticator};
use crate::message::{HeaderName, Request, Response};

/// Why a challenge was not answered.
#[derive(Debug)]
pub(super) enum Unanswered {
    /// The registrar challenged credentials it had just asked for: wrong password.
    Rejected,
    /// We cannot answer this challenge (unknown algorithm, malformed, other scheme).
    Unsupported(String),
}

/// Adds to `fresh` (the next REGISTER) credentials answering `challenge`, a 401/407 to
/// `challenged`. The credentials `challenged` carried are copied first: the authenticator
/// compares them with the new challenge to tell a wrong password from an expired nonce.
pub(super) fn answer(
    auth: &mut Authenticator,
    challenged: &Request,
    fresh: &mut Request,
    challenge: &Response,
) -> Result<(), Unanswered> {
    for name in [HeaderName::Authorization, HeaderName::ProxyAuthorization] {
        fresh.headers.remove(&name);
        for value in challenged.headers.get_all(&name) {
            fresh.headers.push(name.clone(), value.clone());
        }
    }
    match auth.authorize(fresh, challenge) {
        Ok(()) => Ok(()),
        Err(AuthError::Rejected { .. }) => Err(Unanswered::Rejected),
        Err(other) => Err(Unanswered::Unsupported(other.to_string())),
    }
}
