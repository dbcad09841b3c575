//! The verifying side: checks an `Authorization` / `Proxy-Authorization` answer against the
//! password we hold (our tests' simulated registrar; a real one would add nonce expiry and
//! replay checks on `nc`).

use super::algorithm::{DigestAlgorithm, Qop};
use super::compute::{constant_time_eq, digest_response, DigestInput};
use super::secret::Password;
use crate::message::typed::Credentials;
use crate::message::Request;

/// True when `credentials` answer our challenge with nonce `expected_nonce` for `request`,
/// using `password`. The caller picked `password` by the credentials' username and realm, so
/// those are taken as sent. Checks the scheme, the nonce, the algorithm, the qop/nc/cnonce
/// shape (nc exactly 8 hex digits), that the digest-uri is the Request-URI as printed, and
/// the response (over the body for `qop=auth-int`). `userhash` needs the account list and
/// fails here.
pub fn verify_request(
    credentials: &Credentials,
    request: &Request,
    password: &Password,
    expected_nonce: &str,
) -> bool {
    let uri = request.uri.to_string();
    check(
        credentials,
        request.method.as_str(),
        Some(&uri),
        Some(&request.body),
        password,
        expected_nonce,
    )
}

fn check(
    c: &Credentials,
    method: &str,
    expected_uri: Option<&str>,
    body: Option<&[u8]>,
    password: &Password,
    expected_nonce: &str,
) -> bool {
    if !c.scheme.eq_ignore_ascii_case("Digest") {
        return false;
    }
    if c.param("userhash")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return false;
    }
    let (Some(username), Some(realm), Some(nonce), Some(uri), Some(response)) = (
        c.param("username"),
        c.param("realm"),
        c.param("nonce"),
        c.param("uri"),
        c.param("response"),
    ) else {
        return false;
    };
    if nonce != expected_nonce || expected_uri.is_some_and(|u| u != uri) {
        return false;
    }
    let algorithm = match c.param("algorithm") {
        None => DigestAlgorithm::Md5,
        Some(token) => match DigestAlgorithm::from_token(token) {
            Some(a) => a,
            None => return false,
        },
    };
    let qop = match c.param("qop") {
        None => None,
        Some(token) => match Qop::from_token(token) {
            Some(q) => Some(q),
            None => return false,
        },
    };
    let (nc, cnonce) = match qop {
        Some(_) => {
            let (Some(nc), Some(cnonce)) = (c.param("nc").and_then(parse_nc), c.param("cnonce"))
            else {
                return false;
            };
            (nc, cnonce)
        }
        None => (0, c.param("cnonce").unwrap_or("")),
    };
    if algorithm.is_session() && cnonce.is_empty() {
        return false;
    }
    let body = match (qop, body) {
        (Some(Qop::AuthInt), None) => return false,
        (_, body) => body.unwrap_or(b""),
    };
    let expected = digest_response(&DigestInput {
        algorithm,
        username,
        realm,
        password,
        method,
        uri,
        nonce,
        qop,
        nc,
        cnonce,
        body,
    });
    constant_time_eq(
        expected.as_bytes(),
        response.to_ascii_lowercase().as_bytes(),
    )
}

/// `nc` must be exactly 8 hex digits (RFC 7616 §3.4).
fn parse_nc(s: &str) -> Option<u32> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Method, SipStr};

    /// The check without a request (the RFC examples give only the method): no digest-uri
    /// comparison, and `qop=auth-int` fails for want of a body.
    fn verify(
        credentials: &Credentials,
        method: &Method,
        password: &Password,
        expected_nonce: &str,
    ) -> bool {
        check(
            credentials,
            method.as_str(),
            None,
            None,
            password,
            expected_nonce,
        )
    }

    /// RFC 2617 §3.5's answer, as a server receives it.
    fn rfc2617_credentials() -> Credentials {
        let p = |k: &str, v: &str, q: bool| (SipStr::from(k), SipStr::from(v), q);
        Credentials {
            scheme: SipStr::from("Digest"),
            params: vec![
                p("username", "Mufasa", true),
                p("realm", "testrealm@host.com", true),
                p("nonce", "dcd98b7102dd2f0e8b11d0f600bfb0c093", true),
                p("uri", "/dir/index.html", true),
                p("qop", "auth", false),
                p("nc", "00000001", false),
                p("cnonce", "0a4f113b", true),
                p("response", "6629fae49393a05397450978507c4ef1", true),
                p("opaque", "5ccc069c403ebaf9f0171e9517f40e41", true),
            ],
        }
    }

    fn set(c: &mut Credentials, name: &str, value: &str) {
        match c
            .params
            .iter_mut()
            .find(|(k, _, _)| k.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = SipStr::from(value),
            None => c
                .params
                .push((SipStr::from(name), SipStr::from(value), false)),
        }
    }

    fn remove(c: &mut Credentials, name: &str) {
        c.params.retain(|(k, _, _)| !k.eq_ignore_ascii_case(name));
    }

    const NONCE: &str = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
    fn get() -> Method {
        Method::Other(SipStr::from("GET"))
    }

    #[test]
    fn accepts_the_rfc2617_answer() {
        let pw = Password::new("Circle Of Life");
        assert!(verify(&rfc2617_credentials(), &get(), &pw, NONCE));
    }

    #[test]
    fn accepts_an_uppercase_hex_response() {
        let mut c = rfc2617_credentials();
        set(&mut c, "response", "6629FAE49393A05397450978507C4EF1");
        assert!(verify(&c, &get(), &Password::new("Circle Of Life"), NONCE));
    }

    #[test]
    fn rejects_wrong_password_method_nonce_or_tampering() {
        let pw = Password::new("Circle Of Life");
        let c = rfc2617_credentials();
        assert!(!verify(&c, &get(), &Password::new("Circle of Life"), NONCE));
        assert!(!verify(&c, &Method::Register, &pw, NONCE));
        assert!(!verify(&c, &get(), &pw, "another-nonce"));
        for (name, value) in [
            ("nc", "00000002"),
            ("nc", "1"),
            ("nc", "0000000g"),
            ("cnonce", "0a4f113c"),
            ("uri", "/"),
            ("realm", "other"),
            ("algorithm", "SHA-256"),
            ("algorithm", "SHA-1"),
            ("qop", "auth-conf"),
            ("qop", "auth-int"),
            ("userhash", "true"),
        ] {
            let mut t = c.clone();
            set(&mut t, name, value);
            assert!(!verify(&t, &get(), &pw, NONCE), "{name}={value} must fail");
        }
        for name in [
            "username", "realm", "nonce", "uri", "response", "nc", "cnonce",
        ] {
            let mut t = c.clone();
            remove(&mut t, name);
            assert!(!verify(&t, &get(), &pw, NONCE), "without {name} must fail");
        }
        let mut basic = c.clone();
        basic.scheme = SipStr::from("Basic");
        assert!(!verify(&basic, &get(), &pw, NONCE));
    }

    #[test]
    fn accepts_the_legacy_form_without_qop() {
        let mut c = rfc2617_credentials();
        for name in ["qop", "nc", "cnonce"] {
            remove(&mut c, name);
        }
        set(&mut c, "response", "670fd8c2df070c60b045671b8b24ff02");
        assert!(verify(&c, &get(), &Password::new("Circle Of Life"), NONCE));
    }

    #[test]
    fn parse_nc_wants_eight_hex_digits() {
        assert_eq!(parse_nc("00000001"), Some(1));
        assert_eq!(parse_nc("0000001F"), Some(31));
        assert_eq!(parse_nc("ffffffff"), Some(u32::MAX));
        assert_eq!(parse_nc("1"), None);
        assert_eq!(parse_nc("+0000001"), None);
        assert_eq!(parse_nc("000000001"), None);
    }
}
