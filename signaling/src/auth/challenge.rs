//! A Digest challenge read from a typed `WWW-Authenticate` / `Proxy-Authenticate` value,
//! and built for one (the verifying side's 401/407).

use super::algorithm::{DigestAlgorithm, Qop};
use crate::message::typed::Challenge;
use crate::message::SipStr;

/// Which header pair a challenge came in: `WWW-Authenticate` is answered with
/// `Authorization` (the registrar or far end), `Proxy-Authenticate` with
/// `Proxy-Authorization` (a proxy on the path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChallengeKind {
    /// `WWW-Authenticate` (401), answered with `Authorization`.
    Www,
    /// `Proxy-Authenticate` (407), answered with `Proxy-Authorization`.
    Proxy,
}

/// A Digest challenge we know how to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestChallenge {
    /// The protection space; names which password to use.
    pub realm: String,
    /// The server's nonce, echoed in the answer.
    pub nonce: String,
    /// Echoed unchanged when present.
    pub opaque: Option<String>,
    /// The hash to answer with.
    pub algorithm: DigestAlgorithm,
    /// Whether the challenge named the algorithm; we echo `algorithm=` only then, since
    /// RFC 2069-era servers that omit it may not expect it back.
    pub algorithm_named: bool,
    /// The qop we will use: `auth` when offered, else `auth-int`, `None` for a challenge
    /// without `qop` (RFC 2069). On a challenge we build, the single qop offered.
    pub qop: Option<Qop>,
    /// `stale=true`: the nonce expired but the credentials were good; answer again.
    pub stale: bool,
    /// `userhash=true` (RFC 7616 §3.4.4): send H(username:realm) instead of the name.
    pub userhash: bool,
}

/// Why a challenge cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChallengeError {
    /// Another scheme (`Basic`, `Bearer`, ...): not ours to answer.
    NotDigest(String),
    /// A Digest challenge naming an algorithm we do not implement.
    UnsupportedAlgorithm(String),
    /// A Digest challenge whose `qop` list holds nothing we implement (e.g. `auth-conf`).
    UnsupportedQop(String),
    /// A Digest challenge that breaks the grammar (no realm, no nonce, empty qop list).
    Malformed(String),
}

impl DigestChallenge {
    /// A challenge as a verifying server sends it: `qop="auth"`, the algorithm named.
    pub fn new(
        realm: impl Into<String>,
        nonce: impl Into<String>,
        algorithm: DigestAlgorithm,
    ) -> Self {
        DigestChallenge {
            realm: realm.into(),
            nonce: nonce.into(),
            opaque: None,
            algorithm,
            algorithm_named: true,
            qop: Some(Qop::Auth),
            stale: false,
            userhash: false,
        }
    }

    /// The same challenge with an `opaque` value.
    pub fn with_opaque(mut self, opaque: impl Into<String>) -> Self {
        self.opaque = Some(opaque.into());
        self
    }

    /// The same challenge with `stale` set: the answer was right but the nonce expired.
    pub fn with_stale(mut self, stale: bool) -> Self {
        self.stale = stale;
        self
    }

    /// Reads a typed challenge. Unknown parameters are ignored, as RFC 7616 §3.3 requires.
    pub fn from_challenge(c: &Challenge) -> Result<Self, ChallengeError> {
        if !c.scheme.eq_ignore_ascii_case("Digest") {
            return Err(ChallengeError::NotDigest(c.scheme.to_string()));
        }
        let algorithm = match c.param("algorithm") {
            None => DigestAlgorithm::Md5, // RFC 7616 §3.3: absent means MD5
            Some(token) => DigestAlgorithm::from_token(token)
                .ok_or_else(|| ChallengeError::UnsupportedAlgorithm(token.to_owned()))?,
        };
        let realm = c
            .param("realm")
            .ok_or_else(|| ChallengeError::Malformed("Digest challenge without realm".into()))?;
        let nonce = c
            .param("nonce")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ChallengeError::Malformed("Digest challenge without nonce".into()))?;
        let qop = match c.param("qop") {
            None => None,
            Some(list) => Some(choose_qop(list)?),
        };
        let flag = |name| {
            c.param(name)
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        };
        Ok(DigestChallenge {
            realm: realm.to_owned(),
            nonce: nonce.to_owned(),
            opaque: c.param("opaque").map(str::to_owned),
            algorithm,
            algorithm_named: c.param("algorithm").is_some(),
            qop,
            stale: flag("stale"),
            userhash: flag("userhash"),
        })
    }

    /// The typed challenge to put in a 401/407, parameters in the customary order.
    pub fn to_challenge(&self) -> Challenge {
        let mut params: Vec<(SipStr, SipStr, bool)> = Vec::with_capacity(7);
        let mut push = |name: &'static str, value: &str, quoted: bool| {
            params.push((SipStr::from_static(name), SipStr::from(value), quoted));
        };
        push("realm", &self.realm, true);
        push("nonce", &self.nonce, true);
        if let Some(opaque) = &self.opaque {
            push("opaque", opaque, true);
        }
        if self.algorithm_named {
            push("algorithm", self.algorithm.as_str(), false);
        }
        if let Some(qop) = self.qop {
            push("qop", qop.as_str(), true);
        }
        if self.stale {
            push("stale", "true", false);
        }
        if self.userhash {
            push("userhash", "true", false);
        }
        Challenge {
            scheme: SipStr::from_static("Digest"),
            params,
        }
    }
}

/// Picks from a `qop="auth,auth-int"` list: `auth` when offered (it does not tie the
/// answer to the body, which proxies may not see intact), else `auth-int`.
fn choose_qop(list: &str) -> Result<Qop, ChallengeError> {
    let offered: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    if offered.is_empty() {
        return Err(ChallengeError::Malformed(
            "Digest challenge with an empty qop list".into(),
        ));
    }
    let qops: Vec<Qop> = offered.iter().filter_map(|t| Qop::from_token(t)).collect();
    if qops.contains(&Qop::Auth) {
        Ok(Qop::Auth)
    } else if qops.contains(&Qop::AuthInt) {
        Ok(Qop::AuthInt)
    } else {
        Err(ChallengeError::UnsupportedQop(list.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(scheme: &str, params: &[(&str, &str)]) -> Challenge {
        Challenge {
            scheme: SipStr::from(scheme),
            params: params
                .iter()
                .map(|(k, v)| (SipStr::from(*k), SipStr::from(*v), true))
                .collect(),
        }
    }

    #[test]
    fn reads_a_full_challenge() {
        let c = challenge(
            "Digest",
            &[
                ("realm", "pbx.example.com"),
                ("nonce", "abc"),
                ("opaque", "xyz"),
                ("algorithm", "SHA-256"),
                ("qop", "auth,auth-int"),
                ("stale", "TRUE"),
                ("domain", "sip:pbx.example.com"),
            ],
        );
        let d = DigestChallenge::from_challenge(&c).unwrap();
        assert_eq!(d.realm, "pbx.example.com");
        assert_eq!(d.nonce, "abc");
        assert_eq!(d.opaque.as_deref(), Some("xyz"));
        assert_eq!(d.algorithm, DigestAlgorithm::Sha256);
        assert!(d.algorithm_named);
        assert_eq!(d.qop, Some(Qop::Auth));
        assert!(d.stale);
        assert!(!d.userhash);
    }

    #[test]
    fn legacy_challenge_defaults_to_md5_without_qop() {
        let c = challenge("digest", &[("realm", "r"), ("nonce", "n")]);
        let d = DigestChallenge::from_challenge(&c).unwrap();
        assert_eq!(d.algorithm, DigestAlgorithm::Md5);
        assert!(!d.algorithm_named);
        assert_eq!(d.qop, None);
        assert!(!d.stale);
    }

    #[test]
    fn auth_int_only_when_auth_is_not_offered() {
        let c = challenge(
            "Digest",
            &[
                ("realm", "r"),
                ("nonce", "n"),
                ("qop", " auth-int , auth-conf"),
            ],
        );
        assert_eq!(
            DigestChallenge::from_challenge(&c).unwrap().qop,
            Some(Qop::AuthInt)
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let cases = [
            (
                challenge("Basic", &[("realm", "r")]),
                ChallengeError::NotDigest("Basic".into()),
            ),
            (
                challenge(
                    "Digest",
                    &[("realm", "r"), ("nonce", "n"), ("algorithm", "SHA-1")],
                ),
                ChallengeError::UnsupportedAlgorithm("SHA-1".into()),
            ),
            (
                challenge(
                    "Digest",
                    &[("realm", "r"), ("nonce", "n"), ("qop", "auth-conf")],
                ),
                ChallengeError::UnsupportedQop("auth-conf".into()),
            ),
            (
                challenge("Digest", &[("nonce", "n")]),
                ChallengeError::Malformed("Digest challenge without realm".into()),
            ),
            (
                challenge("Digest", &[("realm", "r"), ("nonce", "")]),
                ChallengeError::Malformed("Digest challenge without nonce".into()),
            ),
            (
                challenge("Digest", &[("realm", "r"), ("nonce", "n"), ("qop", " , ")]),
                ChallengeError::Malformed("Digest challenge with an empty qop list".into()),
            ),
        ];
        for (c, want) in cases {
            assert_eq!(DigestChallenge::from_challenge(&c), Err(want));
        }
    }

    #[test]
    fn built_challenges_read_back() {
        let d = DigestChallenge::new("pbx", "n0nce", DigestAlgorithm::Sha256)
            .with_opaque("op")
            .with_stale(true);
        let c = d.to_challenge();
        assert_eq!(c.scheme, "Digest");
        assert_eq!(c.param("algorithm"), Some("SHA-256"));
        assert_eq!(c.param("qop"), Some("auth"));
        assert_eq!(DigestChallenge::from_challenge(&c), Ok(d));
    }
}
