//! Self-tests: the Kamailio the end-to-end tests rely on starts, answers, registers and
//! challenges with the configured digest algorithm.

use std::time::Duration;

use testbed::rawsip::{header, options_request, register_request, status_code, udp_request};
use testbed::sipp::client_args;
use testbed::{Algorithm, Kamailio, KamailioOptions, Sipp};

const T: Duration = Duration::from_secs(10);

#[test]
fn answers_options_with_200() {
    testbed::require!("kamailio", "kamcmd");
    let kam = Kamailio::start(KamailioOptions::default()).unwrap();
    let to = kam.addr();
    let resp = udp_request(to, |local| options_request(local, to), T).unwrap();
    assert_eq!(status_code(&resp), Some(200), "{resp}");
    assert!(kam.log().contains("REQ OPTIONS"), "{}", kam.log());
}

#[test]
fn sipp_registers_1002_and_it_shows_in_ul_dump() {
    testbed::require!("kamailio", "kamcmd", "sipp");
    let kam = Kamailio::start(KamailioOptions::md5()).unwrap();
    assert!(kam.registered_contacts("1002").unwrap().is_empty());
    let server = kam.addr().to_string();
    let out = Sipp::run(
        "sipp_register_auth.xml",
        &client_args("1002", ("1002", "secret1002"), &[], &server),
        T,
    )
    .unwrap();
    assert!(out.success, "{out}");
    assert!(out.messages.contains("algorithm=MD5"), "{}", out.messages);

    let contacts = kam.contacts("1002").unwrap();
    assert_eq!(contacts.len(), 1, "{}", kam.ul_dump().unwrap());
    assert!(contacts[0].address.starts_with("sip:1002@127.0.0.1:"));
    assert!(contacts[0].expires.is_some_and(|e| e > 0 && e <= 60));
    assert_eq!(contacts[0].user_agent, "SIPp");
    assert!(kam.ul_dump().unwrap().contains("AoR: 1002"));
    assert!(kam.registered_contacts("1001").unwrap().is_empty());
}

#[test]
fn wrong_password_is_refused() {
    testbed::require!("kamailio", "kamcmd", "sipp");
    let kam = Kamailio::start(KamailioOptions::default()).unwrap();
    let server = kam.addr().to_string();
    let out = Sipp::run(
        "sipp_register_reject.xml",
        &client_args("1003", ("1003", "not-the-password"), &[], &server),
        T,
    )
    .unwrap();
    assert!(out.success, "{out}");
    assert!(kam.registered_contacts("1003").unwrap().is_empty());
}

#[test]
fn sha256_instance_challenges_with_sha256() {
    testbed::require!("kamailio", "kamcmd");
    let kam = Kamailio::start(KamailioOptions::sha256()).unwrap();
    // SIPp 3.6 cannot answer SHA-256: look at the challenge itself.
    let to = kam.addr();
    let resp = udp_request(to, |local| register_request(local, to, "1001", 60), T).unwrap();
    assert_eq!(status_code(&resp), Some(401), "{resp}");
    let challenge = header(&resp, "WWW-Authenticate").unwrap_or_default();
    assert!(challenge.contains("algorithm=SHA-256"), "{resp}");
    assert!(challenge.contains("qop=\"auth\""), "{resp}");
}

#[test]
fn md5_instance_challenges_with_md5() {
    testbed::require!("kamailio", "kamcmd");
    let kam = Kamailio::start(KamailioOptions::md5()).unwrap();
    let to = kam.addr();
    let resp = udp_request(to, |local| register_request(local, to, "1001", 60), T).unwrap();
    assert_eq!(status_code(&resp), Some(401), "{resp}");
    let challenge = header(&resp, "WWW-Authenticate").unwrap_or_default();
    assert!(challenge.contains("algorithm=MD5"), "{resp}");
}

#[test]
fn restart_keeps_the_port_and_forgets_registrations() {
    testbed::require!("kamailio", "kamcmd", "sipp");
    let mut kam = Kamailio::start(KamailioOptions::default()).unwrap();
    let addr = kam.addr();
    let out = Sipp::run(
        "sipp_register_auth.xml",
        &client_args("1001", ("1001", "secret1001"), &[], &addr.to_string()),
        T,
    )
    .unwrap();
    assert!(out.success, "{out}");
    kam.wait_registered("1001", T).unwrap();

    kam.restart().unwrap();
    assert_eq!(kam.addr(), addr);
    assert!(kam.is_running());
    assert!(kam.registered_contacts("1001").unwrap().is_empty());
    let resp = udp_request(addr, |local| options_request(local, addr), T).unwrap();
    assert_eq!(status_code(&resp), Some(200), "{resp}");

    kam.stop().unwrap();
    assert!(!kam.is_running());
    assert!(kam.log().contains("starting kamailio"));
}

#[test]
fn instances_run_side_by_side() {
    testbed::require!("kamailio", "kamcmd");
    let a = Kamailio::start(KamailioOptions {
        algorithm: Algorithm::Md5,
        ..KamailioOptions::default()
    })
    .unwrap();
    let b = Kamailio::start(KamailioOptions {
        algorithm: Algorithm::Sha256,
        ..KamailioOptions::default()
    })
    .unwrap();
    assert_eq!(b.algorithm(), Algorithm::Sha256);
    assert_ne!(a.port(), b.port());
    for k in [&a, &b] {
        let to = k.addr();
        let resp = udp_request(to, |local| options_request(local, to), T).unwrap();
        assert_eq!(status_code(&resp), Some(200));
    }
}

#[test]
fn listens_on_tcp_too() {
    testbed::require!("kamailio", "kamcmd", "sipp");
    let kam = Kamailio::start(KamailioOptions::default()).unwrap();
    let out = Sipp::run(
        "sipp_register_auth.xml",
        &client_args(
            "1002",
            ("1002", "secret1002"),
            &["-t", "t1"],
            &kam.addr().to_string(),
        ),
        T,
    )
    .unwrap();
    assert!(out.success, "{out}");
    let contacts = kam.wait_registered("1002", T).unwrap();
    assert!(contacts[0].socket.starts_with("tcp:"), "{contacts:?}");
}
