//! The digest computation itself (RFC 7616 §3.4.1-§3.4.3, RFC 2617 §3.2.2.1, RFC 2069):
//! pure functions of their inputs, shared by the client and the verifying side.

use super::algorithm::{DigestAlgorithm, Qop};
use super::secret::Password;

/// Everything the `response` parameter depends on.
#[derive(Debug, Clone, Copy)]
pub struct DigestInput<'a> {
    pub algorithm: DigestAlgorithm,
    /// The real username (also when the header carries a `userhash`).
    pub username: &'a str,
    pub realm: &'a str,
    pub password: &'a Password,
    /// The request's method (`REGISTER`, `INVITE`, ... `ACK`/`CANCEL` included).
    pub method: &'a str,
    /// The digest-uri: the Request-URI exactly as printed in the request line.
    pub uri: &'a str,
    pub nonce: &'a str,
    /// `None` is the legacy RFC 2069 form without `qop`, `nc` and `cnonce`.
    pub qop: Option<Qop>,
    /// The nonce count (printed as 8 hex digits); ignored without `qop`.
    pub nc: u32,
    /// Used with `qop` and by the `-sess` algorithms.
    pub cnonce: &'a str,
    /// The message body; hashed only for `qop=auth-int`.
    pub body: &'a [u8],
}

/// `nc` as it appears on the wire: exactly 8 lowercase hex digits.
pub fn format_nc(nc: u32) -> String {
    format!("{nc:08x}")
}

/// HA1 = H(username ":" realm ":" password), and for `-sess` algorithms
/// H(HA1 ":" nonce ":" cnonce).
pub fn ha1(input: &DigestInput<'_>) -> String {
    let alg = input.algorithm;
    let base = alg.hex_digest(
        format!(
            "{}:{}:{}",
            input.username,
            input.realm,
            input.password.expose()
        )
        .as_bytes(),
    );
    if alg.is_session() {
        alg.hex_digest(format!("{base}:{}:{}", input.nonce, input.cnonce).as_bytes())
    } else {
        base
    }
}

/// HA2 = H(method ":" uri), and for `auth-int` H(method ":" uri ":" H(body)).
pub fn ha2(input: &DigestInput<'_>) -> String {
    let alg = input.algorithm;
    match input.qop {
        Some(Qop::AuthInt) => {
            let body = alg.hex_digest(input.body);
            alg.hex_digest(format!("{}:{}:{body}", input.method, input.uri).as_bytes())
        }
        _ => alg.hex_digest(format!("{}:{}", input.method, input.uri).as_bytes()),
    }
}

/// The `response` parameter: KD(HA1, nonce ":" nc ":" cnonce ":" qop ":" HA2) with `qop`,
/// KD(HA1, nonce ":" HA2) without (RFC 2069).
pub fn digest_response(input: &DigestInput<'_>) -> String {
    let (ha1, ha2) = (ha1(input), ha2(input));
    let data = match input.qop {
        Some(qop) => format!(
            "{ha1}:{}:{}:{}:{qop}:{ha2}",
            input.nonce,
            format_nc(input.nc),
            input.cnonce
        ),
        None => format!("{ha1}:{}:{ha2}", input.nonce),
    };
    input.algorithm.hex_digest(data.as_bytes())
}

/// The `username` to send when the server asked for `userhash=true` (RFC 7616 §3.4.4):
/// H(username ":" realm), so the name does not travel in clear.
pub fn user_hash(algorithm: DigestAlgorithm, username: &str, realm: &str) -> String {
    algorithm.hex_digest(format!("{username}:{realm}").as_bytes())
}

/// Compares two strings in time independent of where they differ, so a verifier does not
/// leak how much of a guessed response was right.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC7616_NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const RFC7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    /// The RFC 7616 §3.9.1 exchange, with the algorithm left open.
    fn rfc7616(algorithm: DigestAlgorithm, password: &Password) -> DigestInput<'_> {
        DigestInput {
            algorithm,
            username: "Mufasa",
            realm: "http-auth@example.org",
            password,
            method: "GET",
            uri: "/dir/index.html",
            nonce: RFC7616_NONCE,
            qop: Some(Qop::Auth),
            nc: 1,
            cnonce: RFC7616_CNONCE,
            body: b"",
        }
    }

    /// The RFC 2617 §3.5 exchange (note the capital O in the password there).
    fn rfc2617(password: &Password) -> DigestInput<'_> {
        DigestInput {
            algorithm: DigestAlgorithm::Md5,
            username: "Mufasa",
            realm: "testrealm@host.com",
            password,
            method: "GET",
            uri: "/dir/index.html",
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            qop: Some(Qop::Auth),
            nc: 1,
            cnonce: "0a4f113b",
            body: b"",
        }
    }

    #[test]
    fn rfc7616_md5_vector() {
        let pw = Password::new("Circle of Life");
        let input = rfc7616(DigestAlgorithm::Md5, &pw);
        assert_eq!(digest_response(&input), "8ca523f5e9506fed4657c9700eebdbec");
    }

    #[test]
    fn rfc7616_sha256_vector() {
        let pw = Password::new("Circle of Life");
        let input = rfc7616(DigestAlgorithm::Sha256, &pw);
        assert_eq!(
            digest_response(&input),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn rfc2617_vector() {
        let pw = Password::new("Circle Of Life");
        assert_eq!(
            digest_response(&rfc2617(&pw)),
            "6629fae49393a05397450978507c4ef1"
        );
    }

    // The vectors below have no RFC example (RFC 7616 §3.9.2's SHA-512-256 example is
    // known to be wrong); they were computed independently with Python's hashlib from
    // the RFC 7616 / RFC 2617 inputs.

    #[test]
    fn session_variants() {
        let pw = Password::new("Circle of Life");
        assert_eq!(
            digest_response(&rfc7616(DigestAlgorithm::Md5Sess, &pw)),
            "e783283f46242139c486a698fec7211d"
        );
        assert_eq!(
            digest_response(&rfc7616(DigestAlgorithm::Sha256Sess, &pw)),
            "2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7"
        );
    }

    #[test]
    fn sha512_256() {
        let pw = Password::new("Secret, or not?");
        let input = DigestInput {
            algorithm: DigestAlgorithm::Sha512_256,
            username: "J\u{e4}s\u{f8}n Doe",
            realm: "api@example.org",
            password: &pw,
            method: "GET",
            uri: "/doe.json",
            nonce: "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK",
            qop: Some(Qop::Auth),
            nc: 1,
            cnonce: "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
            body: b"",
        };
        assert_eq!(
            digest_response(&input),
            "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5"
        );
        assert_eq!(
            user_hash(DigestAlgorithm::Sha512_256, input.username, input.realm),
            "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b"
        );
    }

    #[test]
    fn legacy_rfc2069_without_qop() {
        let pw = Password::new("Circle Of Life");
        let input = DigestInput {
            qop: None,
            nc: 0,
            cnonce: "",
            ..rfc2617(&pw)
        };
        assert_eq!(digest_response(&input), "670fd8c2df070c60b045671b8b24ff02");
    }

    #[test]
    fn auth_int_covers_the_body() {
        let pw = Password::new("Circle Of Life");
        let input = DigestInput {
            qop: Some(Qop::AuthInt),
            body: b"hello",
            ..rfc2617(&pw)
        };
        assert_eq!(digest_response(&input), "4b9dff6a3247bddd2fed3d63a302e8dc");
        let other_body = DigestInput {
            body: b"hellO",
            ..input
        };
        assert_ne!(
            digest_response(&other_body),
            "4b9dff6a3247bddd2fed3d63a302e8dc"
        );
    }

    #[test]
    fn every_input_matters() {
        let pw = Password::new("Circle Of Life");
        let base = rfc2617(&pw);
        let r = digest_response(&base);
        let other_pw = Password::new("circle of life");
        assert_ne!(
            r,
            digest_response(&DigestInput {
                password: &other_pw,
                ..base
            })
        );
        assert_ne!(
            r,
            digest_response(&DigestInput {
                method: "POST",
                ..base
            })
        );
        assert_ne!(r, digest_response(&DigestInput { uri: "/", ..base }));
        assert_ne!(r, digest_response(&DigestInput { nc: 2, ..base }));
        assert_ne!(
            r,
            digest_response(&DigestInput {
                cnonce: "x",
                ..base
            })
        );
    }

    #[test]
    fn nc_is_eight_hex_digits() {
        assert_eq!(format_nc(1), "00000001");
        assert_eq!(format_nc(0x1f), "0000001f");
        assert_eq!(format_nc(u32::MAX), "ffffffff");
    }

    #[test]
    fn constant_time_eq_is_eq() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
