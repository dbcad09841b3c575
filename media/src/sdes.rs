//! SDES keys for SRTP: the RFC 4568 `a=crypto` attribute, parsed and printed.
//!
//! `a=crypto:<tag> <suite> inline:<base64 key||salt>[|<lifetime>][|<MKI>:<length>] [params]`.
//! Only the suites [`CryptoSuite`] names are understood; a line with an unknown suite, a
//! key of the wrong length, several keys, session parameters or an MKI is reported as an
//! error so the caller can pick another line. Keys are held in [`KeyMaterial`], whose
//! `Debug` never shows them.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use rand::rngs::OsRng;
use rand::TryRngCore;

/// The SRTP crypto suites we carry (RFC 4568 §6.2, RFC 7714 §14.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CryptoSuite {
    /// AES-128 counter mode, HMAC-SHA1 with an 80-bit tag.
    AesCm128HmacSha1_80,
    /// AES-128 counter mode, HMAC-SHA1 with a 32-bit tag on RTP (80 on RTCP).
    AesCm128HmacSha1_32,
    /// AES-128 GCM (RFC 7714), 16-byte tag.
    AeadAes128Gcm,
}

impl CryptoSuite {
    /// Every suite we understand, in our preference order.
    pub const ALL: [CryptoSuite; 3] = [
        CryptoSuite::AesCm128HmacSha1_80,
        CryptoSuite::AesCm128HmacSha1_32,
        CryptoSuite::AeadAes128Gcm,
    ];
    /// What we offer: the two suites every SDES peer has (baresip, PJSIP, Linphone,
    /// Asterisk), strongest tag first.
    pub const OFFERED: [CryptoSuite; 2] = [
        CryptoSuite::AesCm128HmacSha1_80,
        CryptoSuite::AesCm128HmacSha1_32,
    ];

    /// The name in `a=crypto` (and in the call view).
    pub fn name(self) -> &'static str {
        match self {
            CryptoSuite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            CryptoSuite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
            CryptoSuite::AeadAes128Gcm => "AEAD_AES_128_GCM",
        }
    }

    /// The suite `a=crypto` names (case-insensitive), if we have it.
    pub fn from_name(name: &str) -> Option<CryptoSuite> {
        CryptoSuite::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }

    /// Master key length in bytes.
    pub fn key_len(self) -> usize {
        16
    }

    /// Master salt length in bytes.
    pub fn salt_len(self) -> usize {
        match self {
            CryptoSuite::AeadAes128Gcm => 12,
            _ => 14,
        }
    }
}

impl fmt::Display for CryptoSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A master key and salt, concatenated as `inline:` carries them. `Debug` shows only the
/// length: a key must never reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyMaterial(Vec<u8>);

impl KeyMaterial {
    /// A fresh key and salt for `suite` from the OS random number generator.
    pub fn generate(suite: CryptoSuite) -> Result<KeyMaterial, SdesError> {
        let mut bytes = vec![0u8; suite.key_len() + suite.salt_len()];
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|_| SdesError::NoRandom)?;
        Ok(KeyMaterial(bytes))
    }

    /// Key and salt from raw bytes (tests, benches).
    pub fn from_bytes(bytes: Vec<u8>) -> KeyMaterial {
        KeyMaterial(bytes)
    }

    /// The master key (the first `key_len` bytes).
    pub fn key(&self, suite: CryptoSuite) -> &[u8] {
        &self.0[..suite.key_len().min(self.0.len())]
    }

    /// The master salt (what follows the key).
    pub fn salt(&self, suite: CryptoSuite) -> &[u8] {
        &self.0[suite.key_len().min(self.0.len())..]
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyMaterial(<{} bytes redacted>)", self.0.len())
    }
}

/// Why an `a=crypto` value cannot be used. Never carries key bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdesError {
    /// Not `tag suite key-params`.
    #[error("a=crypto needs \"<tag> <suite> inline:<key>\"")]
    Malformed,
    /// The tag is not a 1-9 digit number.
    #[error("a=crypto tag {0:?} is not a number")]
    BadTag(String),
    /// A suite we do not implement.
    #[error("crypto suite {0:?} is not supported")]
    UnknownSuite(String),
    /// A key method other than `inline:`.
    #[error("a=crypto key method is not inline:")]
    NotInline,
    /// The key is not base64.
    #[error("a=crypto key is not valid base64")]
    BadBase64,
    /// The key and salt have the wrong length for the suite.
    #[error("a=crypto key is {got} bytes; {suite} needs {want}")]
    BadKeyLength {
        /// The suite.
        suite: CryptoSuite,
        /// key + salt bytes it needs.
        want: usize,
        /// What came.
        got: usize,
    },
    /// An MKI, several keys or a session parameter: we keep one key per direction.
    #[error("a=crypto with {0} is not supported")]
    Unsupported(&'static str),
    /// A lifetime that is not a number or `2^n`.
    #[error("a=crypto key lifetime is malformed")]
    BadLifetime,
    /// The OS random number generator failed.
    #[error("no random numbers from the operating system for an SRTP key")]
    NoRandom,
}

/// One `a=crypto` line (RFC 4568 §9.1) with a single inline key.
#[derive(Clone, PartialEq, Eq)]
pub struct CryptoAttribute {
    /// Pairs the answer's line with the offer's.
    pub tag: u32,
    /// The crypto suite.
    pub suite: CryptoSuite,
    /// Key and salt of the side that wrote the line: it protects what it sends with them.
    pub key: KeyMaterial,
    /// The key lifetime in packets, if given (`|2^31` or `|1048576`).
    pub lifetime: Option<u64>,
}

impl fmt::Debug for CryptoAttribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CryptoAttribute")
            .field("tag", &self.tag)
            .field("suite", &self.suite)
            .field("key", &self.key)
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

impl CryptoAttribute {
    /// A line with a fresh key.
    pub fn generate(tag: u32, suite: CryptoSuite) -> Result<CryptoAttribute, SdesError> {
        Ok(CryptoAttribute {
            tag,
            suite,
            key: KeyMaterial::generate(suite)?,
            lifetime: None,
        })
    }

    /// Parse the value of `a=crypto:` (what follows the colon).
    pub fn parse(value: &str) -> Result<CryptoAttribute, SdesError> {
        let mut fields = value.split_ascii_whitespace();
        let (Some(tag), Some(suite), Some(keys)) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(SdesError::Malformed);
        };
        if fields.next().is_some() {
            // UNENCRYPTED_SRTP, KDR=... and the like change the context in ways we do not.
            return Err(SdesError::Unsupported("session parameters"));
        }
        let tag = tag
            .parse::<u32>()
            .ok()
            .filter(|_| tag.len() <= 9 && tag.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| SdesError::BadTag(tag.chars().take(16).collect()))?;
        let suite = CryptoSuite::from_name(suite)
            .ok_or_else(|| SdesError::UnknownSuite(suite.chars().take(40).collect()))?;
        if keys.contains(';') {
            return Err(SdesError::Unsupported("several keys"));
        }
        let inline = keys
            .get(..7)
            .filter(|m| m.eq_ignore_ascii_case("inline:"))
            .map(|_| &keys[7..])
            .ok_or(SdesError::NotInline)?;
        let mut parts = inline.split('|');
        let b64 = parts.next().unwrap_or_default();
        let mut lifetime = None;
        for (i, p) in parts.enumerate() {
            if p.contains(':') {
                return Err(SdesError::Unsupported("an MKI"));
            }
            if i > 0 {
                return Err(SdesError::Malformed);
            }
            lifetime = Some(parse_lifetime(p)?);
        }
        let bytes = STANDARD
            .decode(b64)
            .or_else(|_| STANDARD_NO_PAD.decode(b64))
            .map_err(|_| SdesError::BadBase64)?;
        let want = suite.key_len() + suite.salt_len();
        if bytes.len() != want {
            return Err(SdesError::BadKeyLength {
                suite,
                want,
                got: bytes.len(),
            });
        }
        Ok(CryptoAttribute {
            tag,
            suite,
            key: KeyMaterial(bytes),
            lifetime,
        })
    }

    /// The value of `a=crypto:` for this line. This text carries the key: it goes into SDP
    /// and nowhere else.
    pub fn to_value(&self) -> String {
        let mut s = format!(
            "{} {} inline:{}",
            self.tag,
            self.suite.name(),
            STANDARD.encode(&self.key.0)
        );
        if let Some(l) = self.lifetime {
            if l.is_power_of_two() {
                s.push_str(&format!("|2^{}", l.trailing_zeros()));
            } else {
                s.push_str(&format!("|{l}"));
            }
        }
        s
    }

    /// Whether the key is as long as the suite wants (always, once parsed).
    pub fn is_complete(&self) -> bool {
        self.key.len() == self.suite.key_len() + self.suite.salt_len()
    }
}

fn parse_lifetime(p: &str) -> Result<u64, SdesError> {
    if let Some(exp) = p.strip_prefix("2^") {
        let exp: u32 = exp.parse().map_err(|_| SdesError::BadLifetime)?;
        return 1u64.checked_shl(exp).ok_or(SdesError::BadLifetime);
    }
    p.parse().map_err(|_| SdesError::BadLifetime)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_80: &str = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

    #[test]
    fn parses_rfc_4568_example() {
        let a = CryptoAttribute::parse(&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|2^20"))
            .unwrap();
        assert_eq!(a.tag, 1);
        assert_eq!(a.suite, CryptoSuite::AesCm128HmacSha1_80);
        assert_eq!(a.key.len(), 30);
        assert_eq!(a.lifetime, Some(1 << 20));
        assert_eq!(
            a.to_value(),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|2^20")
        );
    }

    #[test]
    fn print_then_parse_round_trips_every_suite() {
        for suite in CryptoSuite::ALL {
            let a = CryptoAttribute::generate(7, suite).unwrap();
            let b = CryptoAttribute::parse(&a.to_value()).unwrap();
            assert_eq!(a, b);
            assert_eq!(b.key.key(suite).len(), 16);
            assert_eq!(b.key.salt(suite).len(), suite.salt_len());
        }
    }

    #[test]
    fn fresh_keys_differ() {
        let a = KeyMaterial::generate(CryptoSuite::AesCm128HmacSha1_80).unwrap();
        let b = KeyMaterial::generate(CryptoSuite::AesCm128HmacSha1_80).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn decimal_lifetime_and_unpadded_base64() {
        let a = CryptoAttribute::parse(&format!(
            "2 AES_CM_128_HMAC_SHA1_32 inline:{}|1048576",
            KEY_80.trim_end_matches('=')
        ))
        .unwrap();
        assert_eq!(a.lifetime, Some(1048576));
    }

    #[test]
    fn malformed_lines_are_errors() {
        let cases = [
            ("", SdesError::Malformed),
            ("1 AES_CM_128_HMAC_SHA1_80", SdesError::Malformed),
            (
                "x AES_CM_128_HMAC_SHA1_80 inline:AAAA",
                SdesError::BadTag("x".into()),
            ),
            (
                "1 AES_CM_128_HMAC_SHA1_80 uri:http://k",
                SdesError::NotInline,
            ),
            (
                "1 AES_CM_128_HMAC_SHA1_80 inline:!!!notbase64",
                SdesError::BadBase64,
            ),
            (
                "1 AES_CM_128_HMAC_SHA1_80 inline:AAAA",
                SdesError::BadKeyLength {
                    suite: CryptoSuite::AesCm128HmacSha1_80,
                    want: 30,
                    got: 3,
                },
            ),
            (
                "1 F8_128_HMAC_SHA1_80 inline:AAAA",
                SdesError::UnknownSuite("F8_128_HMAC_SHA1_80".into()),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(CryptoAttribute::parse(line), Err(want), "{line:?}");
        }
    }

    #[test]
    fn mki_several_keys_and_session_parameters_are_refused() {
        assert_eq!(
            CryptoAttribute::parse(&format!(
                "1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|2^20|1:4"
            )),
            Err(SdesError::Unsupported("an MKI"))
        );
        assert_eq!(
            CryptoAttribute::parse(&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|1:4")),
            Err(SdesError::Unsupported("an MKI"))
        );
        assert_eq!(
            CryptoAttribute::parse(&format!(
                "1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80};inline:{KEY_80}"
            )),
            Err(SdesError::Unsupported("several keys"))
        );
        assert_eq!(
            CryptoAttribute::parse(&format!(
                "1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80} UNENCRYPTED_SRTP"
            )),
            Err(SdesError::Unsupported("session parameters"))
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let a =
            CryptoAttribute::parse(&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}")).unwrap();
        let shown = format!("{a:?}");
        assert!(!shown.contains(KEY_80), "{shown}");
        assert!(!shown.contains(&KEY_80[..8]), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }

    #[test]
    fn junk_never_panics() {
        for s in [
            "1 AES_CM_128_HMAC_SHA1_80 inline:",
            "1 AES_CM_128_HMAC_SHA1_80 inline",
            "1 AES_CM_128_HMAC_SHA1_80 inline:|",
            "1 AES_CM_128_HMAC_SHA1_80 inline:AAAA|2^999",
            "99999999999 AES_CM_128_HMAC_SHA1_80 inline:AAAA",
            "1 AES_CM_128_HMAC_SHA1_80 iné:AAAA",
            "\u{0} \u{0} \u{0}",
        ] {
            assert!(CryptoAttribute::parse(s).is_err(), "{s:?}");
        }
    }
}
