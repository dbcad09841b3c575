//! Our MD5 digest checked from the other side: SIPp plays registrar and verifies it with
//! `<verifyauth>`; it answers 200 only when the digest is right, 403 otherwise.

mod common;

use common::{Agent, AgentOptions};
use std::time::Duration;
use testbed::Sipp;

#[test]
fn sipp_registrar_accepts_our_md5_digest() {
    testbed::require!("sipp");
    let registrar = Sipp::spawn("registrar_verify_auth.xml", &[], Duration::from_secs(30)).unwrap();
    let mut agent = Agent::start(AgentOptions::new(registrar.addr(), "1001", "secret1001"));
    agent.wait_registered(Duration::from_secs(10));
    assert!(agent.terminate().success());
    let outcome = registrar.wait();
    assert!(outcome.success, "{outcome}");
}
