//! Digest algorithms (RFC 7616 §3.3, RFC 8760 §2) and quality-of-protection values.

use md5::Md5;
use sha2::{Digest, Sha256, Sha512_256};
use std::fmt;

/// A digest algorithm a challenge may name. The `-sess` variants fold the nonce and cnonce
/// into HA1 (RFC 7616 §3.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// `MD5`: the RFC 2617 default.
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256` (RFC 7616).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
    /// `SHA-512-256` (RFC 7616).
    Sha512_256,
    /// `SHA-512-256-sess`.
    Sha512_256Sess,
}

impl DigestAlgorithm {
    /// Recognises an `algorithm=` token. Tokens compare case-insensitively (as deployed
    /// servers vary in case), but only the registered spellings count: `SHA256` or `SHA-1`
    /// are unknown algorithms, not aliases.
    pub fn from_token(token: &str) -> Option<Self> {
        const ALL: [DigestAlgorithm; 6] = [
            DigestAlgorithm::Md5,
            DigestAlgorithm::Md5Sess,
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha256Sess,
            DigestAlgorithm::Sha512_256,
            DigestAlgorithm::Sha512_256Sess,
        ];
        ALL.into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(token))
    }

    /// The registered token, as we print it.
    pub fn as_str(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "MD5",
            DigestAlgorithm::Md5Sess => "MD5-sess",
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Sha256Sess => "SHA-256-sess",
            DigestAlgorithm::Sha512_256 => "SHA-512-256",
            DigestAlgorithm::Sha512_256Sess => "SHA-512-256-sess",
        }
    }

    /// Whether HA1 folds in the nonce and cnonce (the `-sess` forms).
    pub fn is_session(self) -> bool {
        matches!(
            self,
            DigestAlgorithm::Md5Sess
                | DigestAlgorithm::Sha256Sess
                | DigestAlgorithm::Sha512_256Sess
        )
    }

    /// Higher is better. When one realm offers several challenges (RFC 8760 servers send one
    /// per algorithm) we answer the strongest hash we support instead of trusting the order
    /// of the header lines. Plain beats `-sess` of the same hash only to keep the simpler
    /// form when both are offered.
    pub fn preference(self) -> u8 {
        match self {
            DigestAlgorithm::Md5Sess => 0,
            DigestAlgorithm::Md5 => 1,
            DigestAlgorithm::Sha256Sess => 2,
            DigestAlgorithm::Sha256 => 3,
            DigestAlgorithm::Sha512_256Sess => 4,
            DigestAlgorithm::Sha512_256 => 5,
        }
    }

    /// The lowercase hex digest of `data` under this algorithm's hash.
    pub fn hex_digest(self, data: &[u8]) -> String {
        match self {
            DigestAlgorithm::Md5 | DigestAlgorithm::Md5Sess => hex(&Md5::digest(data)),
            DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess => hex(&Sha256::digest(data)),
            DigestAlgorithm::Sha512_256 | DigestAlgorithm::Sha512_256Sess => {
                hex(&Sha512_256::digest(data))
            }
        }
    }
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The quality of protection we use (RFC 7616 §3.3). `auth-int` also covers the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qop {
    /// `auth`: the request line and the credentials only.
    Auth,
    /// `auth-int`: the body too.
    AuthInt,
}

impl Qop {
    /// Recognises a `qop` token (case-insensitively).
    pub fn from_token(token: &str) -> Option<Self> {
        if token.eq_ignore_ascii_case("auth") {
            Some(Qop::Auth)
        } else if token.eq_ignore_ascii_case("auth-int") {
            Some(Qop::AuthInt)
        } else {
            None
        }
    }

    /// The token as we send it.
    pub fn as_str(self) -> &'static str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
        }
    }
}

impl fmt::Display for Qop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_compare_case_insensitively() {
        for token in [
            "MD5",
            "MD5-sess",
            "SHA-256",
            "SHA-256-sess",
            "SHA-512-256",
            "SHA-512-256-sess",
        ] {
            let a = DigestAlgorithm::from_token(token).expect(token);
            assert_eq!(a.as_str(), token);
            assert_eq!(
                DigestAlgorithm::from_token(&token.to_ascii_lowercase()),
                Some(a)
            );
        }
        assert_eq!(
            DigestAlgorithm::from_token("sha-256"),
            Some(DigestAlgorithm::Sha256)
        );
    }

    #[test]
    fn near_misses_are_unknown() {
        for token in ["SHA256", "SHA-1", "SHA-512", "AKAv1-MD5", "", "MD5 "] {
            assert_eq!(DigestAlgorithm::from_token(token), None, "{token:?}");
        }
    }

    #[test]
    fn stronger_hashes_are_preferred() {
        use DigestAlgorithm::*;
        assert!(Sha256.preference() > Md5.preference());
        assert!(Sha256Sess.preference() > Md5.preference());
        assert!(Sha512_256.preference() > Sha256.preference());
        assert!(Md5.preference() > Md5Sess.preference());
    }

    #[test]
    fn session_variants() {
        assert!(DigestAlgorithm::Md5Sess.is_session());
        assert!(DigestAlgorithm::Sha256Sess.is_session());
        assert!(!DigestAlgorithm::Sha256.is_session());
    }

    #[test]
    fn digests_of_the_empty_string() {
        assert_eq!(
            DigestAlgorithm::Md5.hex_digest(b""),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(
            DigestAlgorithm::Sha256.hex_digest(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            DigestAlgorithm::Sha512_256.hex_digest(b""),
            "c672b8d1ef56ed28ab87c3622c5114069bdd3ad7b8f9737498d0c01ecef0967a"
        );
    }

    #[test]
    fn qop_tokens() {
        assert_eq!(Qop::from_token("AUTH"), Some(Qop::Auth));
        assert_eq!(Qop::from_token("auth-int"), Some(Qop::AuthInt));
        assert_eq!(Qop::from_token("auth-conf"), None);
        assert_eq!(Qop::AuthInt.to_string(), "auth-int");
    }
}
