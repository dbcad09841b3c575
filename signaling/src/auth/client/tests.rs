//! The authenticator against a simulated registrar/proxy built from the verifying side.

use super::*;
use crate::auth::{verify_request, Qop};
use crate::message::{Headers, Method, Uri};
use bytes::Bytes;

const USER: &str = "1001";
const PASSWORD: &str = "s3cret-Pa55";

fn auth() -> Authenticator {
    Authenticator::new(USER, PASSWORD).with_seed(7)
}

fn request(method: Method, uri: &str) -> Request {
    Request {
        method,
        uri: Uri::parse(uri).expect("test URI"),
        headers: Headers::new(),
        body: Bytes::new(),
    }
}

fn register() -> Request {
    request(Method::Register, "sip:pbx.example.com")
}

/// A 401/407 carrying these challenges, in order.
fn challenged(status: u16, challenges: &[(ChallengeKind, &DigestChallenge)]) -> Response {
    let mut headers = Headers::new();
    for (kind, d) in challenges {
        match kind {
            ChallengeKind::Www => headers.push_typed(&WwwAuthenticate(d.to_challenge())),
            ChallengeKind::Proxy => headers.push_typed(&ProxyAuthenticate(d.to_challenge())),
        }
    }
    Response {
        status,
        reason: SipStr::from("Unauthorized"),
        headers,
        body: Bytes::new(),
    }
}

fn www(d: &DigestChallenge) -> Response {
    challenged(401, &[(ChallengeKind::Www, d)])
}

/// A response with raw challenge header values (for what `DigestChallenge` cannot build).
fn raw_challenges(status: u16, values: &[&str]) -> Response {
    let mut headers = Headers::new();
    for v in values {
        headers.push(HeaderName::WwwAuthenticate, *v);
    }
    Response {
        status,
        reason: SipStr::from("Unauthorized"),
        headers,
        body: Bytes::new(),
    }
}

fn authorizations(r: &Request) -> Vec<Credentials> {
    r.headers
        .typed_all::<Authorization>()
        .expect("our Authorization parses")
        .into_iter()
        .map(|h| h.0)
        .collect()
}

fn proxy_authorizations(r: &Request) -> Vec<Credentials> {
    r.headers
        .typed_all::<ProxyAuthorization>()
        .expect("our Proxy-Authorization parses")
        .into_iter()
        .map(|h| h.0)
        .collect()
}

fn only_authorization(r: &Request) -> Credentials {
    let mut all = authorizations(r);
    assert_eq!(all.len(), 1, "{:?}", r.headers);
    all.remove(0)
}

fn pw() -> Password {
    Password::new(PASSWORD)
}

fn md5_challenge(nonce: &str) -> DigestChallenge {
    DigestChallenge::new("pbx.example.com", nonce, DigestAlgorithm::Md5)
}

#[test]
fn answers_a_401_with_authorization() {
    let mut a = auth();
    let mut req = register();
    a.authorize(&mut req, &www(&md5_challenge("n1").with_opaque("op4que")))
        .unwrap();

    let c = only_authorization(&req);
    assert_eq!(c.scheme, "Digest");
    assert_eq!(c.param("username"), Some(USER));
    assert_eq!(c.param("realm"), Some("pbx.example.com"));
    assert_eq!(c.param("nonce"), Some("n1"));
    assert_eq!(c.param("uri"), Some("sip:pbx.example.com"));
    assert_eq!(c.param("algorithm"), Some("MD5"));
    assert_eq!(c.param("qop"), Some("auth"));
    assert_eq!(c.param("nc"), Some("00000001"));
    assert_eq!(c.param("opaque"), Some("op4que"));
    assert_eq!(c.param("cnonce").map(str::len), Some(32));
    assert!(verify_request(&c, &req, &pw(), "n1"));
    assert!(!verify_request(&c, &req, &Password::new("wrong"), "n1"));
    assert!(proxy_authorizations(&req).is_empty());
}

#[test]
fn answers_a_407_with_proxy_authorization() {
    let mut a = auth();
    let mut req = request(Method::Invite, "sip:2002@pbx.example.com;transport=udp");
    let d = DigestChallenge::new("proxy.example.com", "pn", DigestAlgorithm::Sha256);
    a.authorize(&mut req, &challenged(407, &[(ChallengeKind::Proxy, &d)]))
        .unwrap();

    assert!(authorizations(&req).is_empty());
    let c = proxy_authorizations(&req).remove(0);
    assert_eq!(c.param("algorithm"), Some("SHA-256"));
    assert_eq!(
        c.param("uri"),
        Some("sip:2002@pbx.example.com;transport=udp")
    );
    assert_eq!(c.param("response").map(str::len), Some(64));
    assert!(verify_request(&c, &req, &pw(), "pn"));
}

#[test]
fn prefers_sha256_over_md5_in_one_realm_whatever_the_order() {
    let md5 = md5_challenge("m");
    let sha = DigestChallenge::new("pbx.example.com", "s", DigestAlgorithm::Sha256);
    for order in [[&md5, &sha], [&sha, &md5]] {
        let mut req = register();
        let resp = challenged(
            401,
            &[
                (ChallengeKind::Www, order[0]),
                (ChallengeKind::Www, order[1]),
            ],
        );
        auth().authorize(&mut req, &resp).unwrap();
        let c = only_authorization(&req);
        assert_eq!(c.param("algorithm"), Some("SHA-256"));
        assert_eq!(c.param("nonce"), Some("s"));
        assert!(verify_request(&c, &req, &pw(), "s"));
    }
}

#[test]
fn answers_every_realm_of_both_kinds() {
    let registrar = md5_challenge("rn");
    let other = DigestChallenge::new("other.example.com", "on", DigestAlgorithm::Sha256);
    let proxy = DigestChallenge::new("proxy.example.com", "pn", DigestAlgorithm::Md5);
    let resp = challenged(
        407,
        &[
            (ChallengeKind::Www, &registrar),
            (ChallengeKind::Www, &other),
            (ChallengeKind::Proxy, &proxy),
        ],
    );
    let mut req = register();
    auth().authorize(&mut req, &resp).unwrap();

    let mut www = authorizations(&req);
    assert_eq!(www.len(), 2);
    www.sort_by(|a, b| a.param("realm").cmp(&b.param("realm")));
    assert!(verify_request(&www[0], &req, &pw(), "on"));
    assert!(verify_request(&www[1], &req, &pw(), "rn"));
    let proxy = proxy_authorizations(&req);
    assert_eq!(proxy.len(), 1);
    assert!(verify_request(&proxy[0], &req, &pw(), "pn"));
}

#[test]
fn skips_unknown_algorithms_and_schemes() {
    let resp = raw_challenges(
        401,
        &[
            "Basic realm=\"pbx.example.com\"",
            "Digest realm=\"pbx.example.com\", nonce=\"x\", algorithm=SHA-1, qop=\"auth\"",
            "Digest realm=\"pbx.example.com\", nonce=\"m\", algorithm=MD5, qop=\"auth\"",
        ],
    );
    let mut req = register();
    auth().authorize(&mut req, &resp).unwrap();
    let c = only_authorization(&req);
    assert_eq!(c.param("nonce"), Some("m"));
    assert!(verify_request(&c, &req, &pw(), "m"));
}

#[test]
fn says_why_nothing_could_be_answered() {
    let cases: Vec<(Response, AuthError)> = vec![
        (
            raw_challenges(401, &["Digest realm=\"r\", nonce=\"n\", algorithm=SHA-1"]),
            AuthError::UnsupportedAlgorithm {
                algorithm: "SHA-1".into(),
            },
        ),
        (
            raw_challenges(
                401,
                &[
                    "Basic realm=\"r\"",
                    "Digest realm=\"r\", nonce=\"n\", qop=\"auth-conf\"",
                ],
            ),
            AuthError::NoAnswerableChallenge {
                offered: "Basic, Digest qop=auth-conf".into(),
            },
        ),
        (
            raw_challenges(401, &[]),
            AuthError::NoAnswerableChallenge {
                offered: "no challenge at all".into(),
            },
        ),
        (
            raw_challenges(401, &["Digest realm=\"r\""]),
            AuthError::MalformedChallenge {
                reason: "Digest challenge without nonce".into(),
            },
        ),
        (
            raw_challenges(200, &["Digest realm=\"r\", nonce=\"n\""]),
            AuthError::NotAChallenge { status: 200 },
        ),
    ];
    for (resp, want) in cases {
        let mut req = register();
        assert_eq!(auth().authorize(&mut req, &resp), Err(want));
        assert!(req.headers.is_empty(), "an error leaves the request alone");
    }
}

#[test]
fn a_second_challenge_of_a_fresh_answer_is_a_wrong_password() {
    let mut a = Authenticator::new(USER, "wrong password").with_seed(1);
    let mut req = register();
    a.authorize(&mut req, &www(&md5_challenge("n1"))).unwrap();
    assert!(!verify_request(
        &only_authorization(&req),
        &req,
        &pw(),
        "n1"
    ));

    // The registrar rejects it with a new challenge (not stale): give up.
    let before = req.clone();
    let err = a
        .authorize(&mut req, &www(&md5_challenge("n2")))
        .unwrap_err();
    assert_eq!(
        err,
        AuthError::Rejected {
            realm: "pbx.example.com".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "credentials for realm \"pbx.example.com\" were rejected: wrong username or password"
    );
    assert_eq!(req, before);

    // The same nonce challenged again is just as final.
    let mut req = register();
    let mut a = auth();
    a.authorize(&mut req, &www(&md5_challenge("n1"))).unwrap();
    assert!(matches!(
        a.authorize(&mut req, &www(&md5_challenge("n1"))),
        Err(AuthError::Rejected { .. })
    ));
}

#[test]
fn a_stale_nonce_is_answered_again() {
    let mut a = auth();
    let mut req = register();
    a.authorize(&mut req, &www(&md5_challenge("n1"))).unwrap();
    a.authorize(&mut req, &www(&md5_challenge("n2").with_stale(true)))
        .unwrap();

    let c = only_authorization(&req);
    assert_eq!(c.param("nonce"), Some("n2"));
    assert_eq!(c.param("nc"), Some("00000001"), "a new nonce counts from 1");
    assert!(verify_request(&c, &req, &pw(), "n2"));
}

#[test]
fn cached_nonce_is_reused_with_a_rising_count() {
    let mut a = auth();
    let mut first = register();
    a.authorize(&mut first, &www(&md5_challenge("n1"))).unwrap();
    let first_cnonce = only_authorization(&first)
        .param("cnonce")
        .map(str::to_owned);

    let mut refresh = register();
    assert_eq!(a.authorize_cached(&mut refresh), 1);
    let c = only_authorization(&refresh);
    assert_eq!(c.param("nonce"), Some("n1"));
    assert_eq!(c.param("nc"), Some("00000002"));
    assert_ne!(c.param("cnonce").map(str::to_owned), first_cnonce);
    assert!(verify_request(&c, &refresh, &pw(), "n1"));

    let mut bye = request(Method::Bye, "sip:2002@192.0.2.7:5062");
    assert_eq!(a.authorize_cached(&mut bye), 1);
    let c = only_authorization(&bye);
    assert_eq!(c.param("nc"), Some("00000003"));
    assert_eq!(c.param("uri"), Some("sip:2002@192.0.2.7:5062"));
    assert!(verify_request(&c, &bye, &pw(), "n1"));

    a.forget();
    assert_eq!(a.authorize_cached(&mut register()), 0);
}

#[test]
fn a_reused_nonce_challenged_without_stale_is_taken_as_expired() {
    let mut a = auth();
    let mut first = register();
    a.authorize(&mut first, &www(&md5_challenge("n1"))).unwrap();
    let mut refresh = register();
    a.authorize_cached(&mut refresh);

    // Some servers forget to say stale=true: that is no proof of a wrong password.
    a.authorize(&mut refresh, &www(&md5_challenge("n2")))
        .unwrap();
    let c = only_authorization(&refresh);
    assert_eq!(
        (c.param("nonce"), c.param("nc")),
        (Some("n2"), Some("00000001"))
    );

    // But the fresh answer on n2 being challenged again is final.
    assert!(matches!(
        a.authorize(&mut refresh, &www(&md5_challenge("n3"))),
        Err(AuthError::Rejected { .. })
    ));
}

#[test]
fn other_carried_credentials_are_refreshed_or_kept() {
    let mut a = auth();
    let mut req = request(Method::Invite, "sip:2002@pbx.example.com");
    req.headers.push(
        HeaderName::Authorization,
        "Digest username=\"x\", realm=\"elsewhere\", nonce=\"z\", uri=\"sip:a\", response=\"00\"",
    );
    let proxy = DigestChallenge::new("proxy.example.com", "pn", DigestAlgorithm::Md5);
    a.authorize(
        &mut req,
        &challenged(407, &[(ChallengeKind::Proxy, &proxy)]),
    )
    .unwrap();
    // Then the far end challenges too: the proxy answer is re-sent with the next nc.
    a.authorize(&mut req, &www(&md5_challenge("n1"))).unwrap();

    let www = authorizations(&req);
    assert_eq!(www.len(), 2);
    assert!(
        www.iter().any(|c| c.param("realm") == Some("elsewhere")),
        "unknown credentials are kept"
    );
    let proxy = proxy_authorizations(&req);
    assert_eq!(proxy.len(), 1);
    assert_eq!(proxy[0].param("nc"), Some("00000002"));
    assert!(verify_request(&proxy[0], &req, &pw(), "pn"));
}

#[test]
fn legacy_challenge_gets_a_legacy_answer() {
    let resp = raw_challenges(401, &["Digest realm=\"pbx.example.com\", nonce=\"old\""]);
    let mut req = register();
    auth().authorize(&mut req, &resp).unwrap();
    let c = only_authorization(&req);
    for absent in ["qop", "nc", "cnonce", "algorithm", "opaque"] {
        assert_eq!(c.param(absent), None, "{absent}");
    }
    assert!(verify_request(&c, &req, &pw(), "old"));
}

#[test]
fn session_algorithm_and_auth_int_verify() {
    let mut d = DigestChallenge::new("pbx.example.com", "n", DigestAlgorithm::Sha256Sess);
    d.qop = Some(Qop::AuthInt);
    let mut req = request(Method::Message, "sip:2002@pbx.example.com");
    req.body = Bytes::from_static(b"hello");
    auth().authorize(&mut req, &www(&d)).unwrap();
    let c = only_authorization(&req);
    assert_eq!(c.param("algorithm"), Some("SHA-256-sess"));
    assert_eq!(c.param("qop"), Some("auth-int"));
    assert!(verify_request(&c, &req, &pw(), "n"));
    let mut tampered = req.clone();
    tampered.body = Bytes::from_static(b"hellO");
    assert!(!verify_request(&c, &tampered, &pw(), "n"));
}

#[test]
fn userhash_hides_the_username() {
    let mut d = DigestChallenge::new("pbx.example.com", "n", DigestAlgorithm::Sha256);
    d.userhash = true;
    let mut req = register();
    auth().authorize(&mut req, &www(&d)).unwrap();
    let c = only_authorization(&req);
    assert_eq!(c.param("userhash"), Some("true"));
    assert_eq!(
        c.param("username"),
        Some(user_hash(DigestAlgorithm::Sha256, USER, "pbx.example.com").as_str())
    );
}

#[test]
fn the_answer_is_bound_to_the_method() {
    let mut req = request(Method::Invite, "sip:2002@pbx.example.com");
    auth()
        .authorize(&mut req, &www(&md5_challenge("n")))
        .unwrap();
    let c = only_authorization(&req);
    let mut ack = req.clone();
    ack.method = Method::Ack;
    assert!(verify_request(&c, &req, &pw(), "n"));
    assert!(!verify_request(&c, &ack, &pw(), "n"));
}

#[test]
fn seeded_authenticators_are_reproducible() {
    let run = || {
        let mut req = register();
        auth()
            .authorize(&mut req, &www(&md5_challenge("n")))
            .unwrap();
        req
    };
    assert_eq!(run(), run());
}

#[test]
fn debug_never_shows_the_password() {
    let mut a = auth();
    a.authorize(&mut register(), &www(&md5_challenge("n")))
        .unwrap();
    let shown = format!("{a:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(shown.contains("***") && shown.contains(USER));
}
