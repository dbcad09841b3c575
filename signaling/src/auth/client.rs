//! The client side: answering 401/407 challenges on our requests (RFC 3261 §22.2, §22.3).

use super::algorithm::DigestAlgorithm;
use super::challenge::{ChallengeError, ChallengeKind, DigestChallenge};
use super::compute::{digest_response, format_nc, user_hash, DigestInput};
use super::secret::Password;
use super::AuthError;
use crate::message::typed::{
    Authorization, Credentials, ProxyAuthenticate, ProxyAuthorization, TypedHeader, WwwAuthenticate,
};
use crate::message::{HeaderName, Request, Response, SipStr};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use std::collections::VecDeque;
use std::fmt;

/// How many earlier nonces per realm we remember with their use counts: enough for a few
/// requests in flight at once (a REGISTER refresh racing an INVITE) to be judged right.
const NONCE_HISTORY: usize = 4;

/// What we know about one realm (of one kind): its current nonce and how often we used it.
#[derive(Debug)]
struct RealmState {
    kind: ChallengeKind,
    challenge: DigestChallenge,
    /// Uses of `challenge.nonce` so far; the last `nc` we sent.
    nc: u32,
    /// Earlier nonces of this realm with their use counts, newest first.
    history: VecDeque<(String, u32)>,
}

impl RealmState {
    fn uses_of(&self, nonce: &str) -> Option<u32> {
        if self.challenge.nonce == nonce {
            return Some(self.nc);
        }
        self.history
            .iter()
            .find(|(n, _)| n == nonce)
            .map(|(_, uses)| *uses)
    }
}

/// Answers Digest challenges for one account (one auth username and password), keeping
/// per-realm nonce state so the nonce count goes up with each use and a repeated
/// challenge can be told apart from an expired nonce.
///
/// Sans-IO: no clock, no I/O. Randomness (the cnonce) comes from a generator seeded from
/// the OS, or from a fixed seed ([`Authenticator::with_seed`]) for reproducible tests.
pub struct Authenticator {
    username: String,
    password: Password,
    realms: Vec<RealmState>,
    rng: StdRng,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("username", &self.username)
            .field("password", &self.password)
            .field(
                "realms",
                &self
                    .realms
                    .iter()
                    .map(|r| (&r.challenge.realm, r.nc))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Authenticator {
    /// An authenticator for `username` (the digest user name) with `password`.
    pub fn new(username: impl Into<String>, password: impl Into<Password>) -> Self {
        Authenticator {
            username: username.into(),
            password: password.into(),
            realms: Vec::new(),
            rng: StdRng::from_os_rng(),
        }
    }

    /// Makes the cnonces reproducible (tests, simulations).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.rng = StdRng::seed_from_u64(seed);
        self
    }

    /// The auth username (which may differ from the user part of the AOR).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Drops every cached nonce (after a password change, or to start over).
    pub fn forget(&mut self) {
        self.realms.clear();
    }

    /// Adds credentials to `request` answering the challenges in `challenge`, a 401 or 407
    /// received for it. `request` is the request that was challenged (or its copy about to
    /// be re-sent; the caller bumps the CSeq and makes a new Via branch): the credentials it
    /// already carries tell whether the server is rejecting an answer we gave.
    ///
    /// Every realm challenged gets an answer: `WWW-Authenticate` with `Authorization`,
    /// `Proxy-Authenticate` with `Proxy-Authorization`. When one realm offers several
    /// algorithms the strongest we support is used; challenges of other schemes or unknown
    /// algorithms are skipped. Credentials the request carries for other realms we know are
    /// refreshed (new `nc`); credentials we know nothing of are left alone. The digest-uri
    /// is the Request-URI as printed, the method the request's (so ACK and CANCEL get theirs).
    ///
    /// # Errors
    /// - [`AuthError::Rejected`] when a realm challenges again, without `stale=true`, an
    ///   answer we gave on a fresh nonce: the username or password is wrong. (A non-stale
    ///   challenge of a nonce we were reusing is taken as an expired nonce and answered.)
    /// - [`AuthError::NotAChallenge`], [`AuthError::UnsupportedAlgorithm`],
    ///   [`AuthError::MalformedChallenge`], [`AuthError::NoAnswerableChallenge`] when no
    ///   challenge can be answered. The request is left unchanged on any error.
    pub fn authorize(
        &mut self,
        request: &mut Request,
        challenge: &Response,
    ) -> Result<(), AuthError> {
        if challenge.status != 401 && challenge.status != 407 {
            return Err(AuthError::NotAChallenge {
                status: challenge.status,
            });
        }
        let chosen = choose_challenges(challenge)?;

        // Judge before changing anything, so an error leaves request and state untouched.
        for (kind, ch) in &chosen {
            if ch.stale {
                continue;
            }
            if let Some(sent) = carried_nonce(request, *kind, &ch.realm) {
                let reused = self
                    .state(*kind, &ch.realm)
                    .and_then(|s| s.uses_of(&sent))
                    .is_some_and(|uses| uses > 1);
                if !reused {
                    return Err(AuthError::Rejected {
                        realm: ch.realm.clone(),
                    });
                }
            }
        }

        // Realms we know whose credentials the request carries get a fresh nc too.
        let mut to_answer: Vec<(ChallengeKind, String)> = self
            .realms
            .iter()
            .filter(|s| carried_nonce(request, s.kind, &s.challenge.realm).is_some())
            .map(|s| (s.kind, s.challenge.realm.clone()))
            .collect();
        for (kind, ch) in chosen {
            let realm = ch.realm.clone();
            self.remember(kind, ch);
            if !to_answer.iter().any(|(k, r)| *k == kind && *r == realm) {
                to_answer.push((kind, realm));
            }
        }
        for (kind, realm) in to_answer {
            self.answer(request, kind, &realm);
        }
        Ok(())
    }

    /// Adds credentials for every realm we hold a nonce for, reusing it with the next
    /// nonce count, so a new request (a REGISTER refresh, a BYE) need not be challenged
    /// first. Returns how many realms were answered. A server that no longer accepts the
    /// nonce challenges again, and [`Authenticator::authorize`] answers that normally.
    pub fn authorize_cached(&mut self, request: &mut Request) -> usize {
        let realms: Vec<(ChallengeKind, String)> = self
            .realms
            .iter()
            .filter(|s| s.nc < u32::MAX) // an exhausted nc cannot be sent again
            .map(|s| (s.kind, s.challenge.realm.clone()))
            .collect();
        for (kind, realm) in &realms {
            self.answer(request, *kind, realm);
        }
        realms.len()
    }

    fn state(&self, kind: ChallengeKind, realm: &str) -> Option<&RealmState> {
        self.realms
            .iter()
            .find(|s| s.kind == kind && s.challenge.realm == realm)
    }

    /// Makes `ch` the realm's current nonce, keeping the previous one in the history.
    fn remember(&mut self, kind: ChallengeKind, ch: DigestChallenge) {
        match self
            .realms
            .iter_mut()
            .find(|s| s.kind == kind && s.challenge.realm == ch.realm)
        {
            Some(state) => {
                let old = std::mem::replace(&mut state.challenge, ch);
                state.history.push_front((old.nonce, state.nc));
                state.history.truncate(NONCE_HISTORY);
                state.nc = 0;
            }
            None => self.realms.push(RealmState {
                kind,
                challenge: ch,
                nc: 0,
                history: VecDeque::new(),
            }),
        }
    }

    /// Replaces the request's credentials for `realm` with a fresh answer.
    fn answer(&mut self, request: &mut Request, kind: ChallengeKind, realm: &str) {
        let cnonce = self.new_cnonce();
        let uri = request.uri.to_string();
        let Some(state) = self
            .realms
            .iter_mut()
            .find(|s| s.kind == kind && s.challenge.realm == realm)
        else {
            return;
        };
        state.nc = state.nc.saturating_add(1);
        let ch = &state.challenge;
        let input = DigestInput {
            algorithm: ch.algorithm,
            username: &self.username,
            realm: &ch.realm,
            password: &self.password,
            method: request.method.as_str(),
            uri: &uri,
            nonce: &ch.nonce,
            qop: ch.qop,
            nc: state.nc,
            cnonce: &cnonce,
            body: &request.body,
        };
        let credentials = credentials(&input, ch);
        remove_credentials(request, kind, realm);
        match kind {
            ChallengeKind::Www => request.headers.push_typed(&Authorization(credentials)),
            ChallengeKind::Proxy => request.headers.push_typed(&ProxyAuthorization(credentials)),
        }
    }

    /// 128 random bits in hex: plain token characters, safe in a quoted string.
    fn new_cnonce(&mut self) -> String {
        let mut bytes = [0u8; 16];
        self.rng.fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The best challenge per (kind, realm), in the order realms first appear.
fn choose_challenges(
    response: &Response,
) -> Result<Vec<(ChallengeKind, DigestChallenge)>, AuthError> {
    let mut chosen: Vec<(ChallengeKind, DigestChallenge)> = Vec::new();
    let mut skipped = Skipped::default();
    for (kind, raw) in challenge_values(response) {
        let parsed = match kind {
            ChallengeKind::Www => WwwAuthenticate::parse_sip(&raw).map(|h| h.0),
            ChallengeKind::Proxy => ProxyAuthenticate::parse_sip(&raw).map(|h| h.0),
        };
        let digest = match parsed {
            Ok(c) => DigestChallenge::from_challenge(&c),
            Err(e) => Err(ChallengeError::Malformed(e.to_string())),
        };
        match digest {
            Ok(d) => match chosen
                .iter_mut()
                .find(|(k, c)| *k == kind && c.realm == d.realm)
            {
                Some(slot) if d.algorithm.preference() > slot.1.algorithm.preference() => {
                    slot.1 = d
                }
                Some(_) => {}
                None => chosen.push((kind, d)),
            },
            Err(e) => skipped.note(e),
        }
    }
    if chosen.is_empty() {
        Err(skipped.into_error())
    } else {
        Ok(chosen)
    }
}

/// Every raw challenge value, WWW first. Both kinds are read whatever the status code: a
/// forking proxy merges the 401s and 407s of its branches into one response (RFC 3261
/// §16.7 step 6).
fn challenge_values(response: &Response) -> impl Iterator<Item = (ChallengeKind, SipStr)> + '_ {
    let www = response
        .headers
        .get_all(&HeaderName::WwwAuthenticate)
        .map(|v| (ChallengeKind::Www, v.to_sip_str()));
    let proxy = response
        .headers
        .get_all(&HeaderName::ProxyAuthenticate)
        .map(|v| (ChallengeKind::Proxy, v.to_sip_str()));
    www.chain(proxy)
}

/// Why challenges were skipped, to explain an empty choice.
#[derive(Default)]
struct Skipped {
    schemes: Vec<String>,
    algorithms: Vec<String>,
    qops: Vec<String>,
    malformed: Vec<String>,
}

impl Skipped {
    fn note(&mut self, e: ChallengeError) {
        match e {
            ChallengeError::NotDigest(s) => self.schemes.push(s),
            ChallengeError::UnsupportedAlgorithm(a) => self.algorithms.push(a),
            ChallengeError::UnsupportedQop(q) => self.qops.push(format!("Digest qop={q}")),
            ChallengeError::Malformed(m) => self.malformed.push(m),
        }
    }

    /// The most telling reason first: an algorithm we lack says what to implement, a
    /// malformed header says the server is broken.
    fn into_error(self) -> AuthError {
        if !self.algorithms.is_empty() {
            AuthError::UnsupportedAlgorithm {
                algorithm: self.algorithms.join(", "),
            }
        } else if !self.malformed.is_empty() {
            AuthError::MalformedChallenge {
                reason: self.malformed.join("; "),
            }
        } else {
            let offered: Vec<String> = self.schemes.into_iter().chain(self.qops).collect();
            let offered = if offered.is_empty() {
                "no challenge at all".to_owned()
            } else {
                offered.join(", ")
            };
            AuthError::NoAnswerableChallenge { offered }
        }
    }
}

fn credentials_header(kind: ChallengeKind) -> HeaderName {
    match kind {
        ChallengeKind::Www => HeaderName::Authorization,
        ChallengeKind::Proxy => HeaderName::ProxyAuthorization,
    }
}

fn parse_credentials(kind: ChallengeKind, raw: &SipStr) -> Option<Credentials> {
    match kind {
        ChallengeKind::Www => Authorization::parse_sip(raw).ok().map(|h| h.0),
        ChallengeKind::Proxy => ProxyAuthorization::parse_sip(raw).ok().map(|h| h.0),
    }
}

/// The nonce of the credentials `request` carries for `realm`, if any.
fn carried_nonce(request: &Request, kind: ChallengeKind, realm: &str) -> Option<String> {
    request
        .headers
        .get_all(&credentials_header(kind))
        .filter_map(|raw| parse_credentials(kind, &raw.to_sip_str()))
        .find(|c| c.param("realm") == Some(realm))
        .and_then(|c| c.param("nonce").map(str::to_owned))
}

/// Removes the request's credentials for `realm`, keeping every other value (including
/// ones we cannot parse) in order. `Headers` removes by name only, so the others are
/// taken out and put back.
fn remove_credentials(request: &mut Request, kind: ChallengeKind, realm: &str) {
    let name = credentials_header(kind);
    let keep: Vec<SipStr> = request
        .headers
        .get_all(&name)
        .filter(|raw| {
            parse_credentials(kind, &raw.to_sip_str())
                .is_none_or(|c| c.param("realm") != Some(realm))
        })
        .map(SipStr::from)
        .collect();
    request.headers.remove(&name);
    for value in keep {
        request.headers.push(name.clone(), value);
    }
}

/// The credentials answering `ch`, parameters in the customary order (RFC 3261 §22.4).
fn credentials(input: &DigestInput<'_>, ch: &DigestChallenge) -> Credentials {
    let response = digest_response(input);
    let mut params: Vec<(SipStr, SipStr, bool)> = Vec::with_capacity(11);
    let mut push = |name: &'static str, value: &str, quoted: bool| {
        params.push((SipStr::from_static(name), SipStr::from(value), quoted));
    };
    if ch.userhash {
        push(
            "username",
            &user_hash(input.algorithm, input.username, input.realm),
            true,
        );
    } else {
        push("username", input.username, true);
    }
    push("realm", input.realm, true);
    push("nonce", input.nonce, true);
    push("uri", input.uri, true);
    push("response", &response, true);
    if ch.algorithm_named || input.algorithm != DigestAlgorithm::Md5 {
        push("algorithm", input.algorithm.as_str(), false);
    }
    // The -sess algorithms hash the cnonce into HA1, so the server needs it even without qop.
    if input.qop.is_some() || input.algorithm.is_session() {
        push("cnonce", input.cnonce, true);
    }
    if let Some(opaque) = &ch.opaque {
        push("opaque", opaque, true);
    }
    if let Some(qop) = input.qop {
        push("qop", qop.as_str(), false);
        push("nc", &format_nc(input.nc), false);
    }
    if ch.userhash {
        push("userhash", "true", false);
    }
    Credentials {
        scheme: SipStr::from_static("Digest"),
        params,
    }
}

#[cfg(test)]
mod tests;
