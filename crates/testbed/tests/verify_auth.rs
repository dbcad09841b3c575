//! Self-tests of `tests/sipp/registrar_verify_auth.xml`, the registrar that checks the
//! client's digest: SIPp as a client with the right password must pass it, a wrong one not.

use std::time::Duration;

use testbed::sipp::client_args;
use testbed::Sipp;

const T: Duration = Duration::from_secs(10);

#[test]
fn right_password_registers_and_unregisters() {
    testbed::require!("sipp");
    let registrar = Sipp::spawn("registrar_verify_auth.xml", &[], T).unwrap();
    let client = Sipp::run(
        "sipp_register_unregister.xml",
        &client_args(
            "1001",
            ("1001", "secret1001"),
            &[],
            &registrar.addr().to_string(),
        ),
        T,
    )
    .unwrap();
    assert!(client.success, "{client}");
    let server = registrar.wait();
    assert!(server.success, "{server}");
    assert!(server.logs.contains("DIGEST VALID"), "{server}");
    // The requested expiry is granted, and the unregister is answered with Expires: 0.
    assert!(server.messages.contains("Expires: 60"), "{server}");
    assert!(server.messages.contains("Expires: 0"), "{server}");
}

#[test]
fn wrong_password_gets_403_and_fails_the_registrar() {
    testbed::require!("sipp");
    let registrar = Sipp::spawn("registrar_verify_auth.xml", &[], T).unwrap();
    let client = Sipp::run(
        "sipp_register_reject.xml",
        &client_args(
            "1001",
            ("1001", "wrong"),
            &[],
            &registrar.addr().to_string(),
        ),
        T,
    )
    .unwrap();
    assert!(client.success, "{client}");
    assert!(client.messages.contains("403 Forbidden"), "{client}");
    let server = registrar.wait();
    assert!(!server.success, "{server}");
    assert_eq!(server.exit_code, Some(1), "{server}");
    assert!(server.logs.contains("DIGEST INVALID"), "{server}");
}

#[test]
fn wrong_user_fails_too() {
    testbed::require!("sipp");
    let registrar = Sipp::spawn("registrar_verify_auth.xml", &[], T).unwrap();
    let client = Sipp::run(
        "sipp_register_reject.xml",
        &client_args(
            "1002",
            ("1002", "secret1002"),
            &[],
            &registrar.addr().to_string(),
        ),
        T,
    )
    .unwrap();
    assert!(client.success, "{client}");
    assert!(!registrar.wait().success);
}

#[test]
fn a_registrar_nobody_talks_to_times_out_as_a_failure() {
    testbed::require!("sipp");
    let registrar = Sipp::spawn("registrar_verify_auth.xml", &[], Duration::from_secs(1)).unwrap();
    let out = registrar.wait();
    assert!(!out.success, "{out}");
    assert!(!out.timed_out, "SIPp's own -timeout should end it: {out}");
}
