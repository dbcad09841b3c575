//! End-to-end: the agent registers with a real Kamailio (the project's config), reports
//! failures in words, comes back after a PBX restart, and unregisters on SIGTERM.

mod common;

use common::{Agent, AgentOptions};
use std::time::Duration;
use testbed::{Kamailio, KamailioOptions};

#[test]
fn registers_over_udp_and_unregisters_on_sigterm() {
    testbed::require!("kamailio", "kamcmd");
    let kam = Kamailio::start(KamailioOptions::md5()).unwrap();
    let mut agent = Agent::start(AgentOptions::new(kam.addr(), "1001", "secret1001"));
    let status = agent.wait_registered(Duration::from_secs(10));
    assert_eq!(status["registration"]["transport"], "udp");
    let contacts = kam.wait_registered("1001", Duration::from_secs(5)).unwrap();
    assert_eq!(contacts.len(), 1, "{}", kam.ul_dump().unwrap());
    assert!(agent.terminate().success());
    kam.wait_unregistered("1001", Duration::from_secs(5))
        .unwrap();
    assert!(
        !agent.log().contains("secret1001"),
        "the password reached a log line"
    );
}

#[test]
fn registers_over_tcp() {
    testbed::require!("kamailio", "kamcmd");
    let kam = Kamailio::start(KamailioOptions::md5()).unwrap();
    let mut opts = AgentOptions::new(kam.addr(), "1002", "secret1002");
    opts.transport = "tcp";
    let mut agent = Agent::start(opts);
    agent.wait_registered(Duration::from_secs(10));
    let contacts = kam.wait_registered("1002", Duration::from_secs(5)).unwrap();
    assert_eq!(contacts.len(), 1);
    assert!(agent.terminate().success());
    kam.wait_unregistered("1002", Duration::from_secs(5))
        .unwrap();
}

#[test]
fn registers_with_sha256_digest() {
    testbed::require!("kamailio", "kamcmd");
    let kam = Kamailio::start(KamailioOptions::sha256()).unwrap();
    let agent = Agent::start(AgentOptions::new(kam.addr(), "1003", "secret1003"));
    agent.wait_registered(Duration::from_secs(10));
    kam.wait_registered("1003", Duration::from_secs(5)).unwrap();
    assert!(
        agent.log().contains("algorithm=SHA-256"),
        "no SHA-256 digest in the SIP trace"
    );
}

#[test]
fn wrong_password_fails_in_words_without_a_retry_storm() {
    testbed::require!("kamailio", "kamcmd");
    let kam = Kamailio::start(KamailioOptions::md5()).unwrap();
    let agent = Agent::start(AgentOptions::new(kam.addr(), "1001", "not-the-password"));
    let status = agent.wait_status(Duration::from_secs(10), "failure", |s| {
        s["registration"]["state"] == "failed"
    });
    let error = status["registration"]["error"].as_str().unwrap();
    assert!(error.contains("wrong password for 1001"), "{error}");
    std::thread::sleep(Duration::from_secs(5));
    let registers = kam.log().matches("REQ REGISTER").count();
    assert!(
        registers <= 4,
        "{registers} REGISTERs in ~6 s after a wrong password"
    );
    assert!(kam.registered_contacts("1001").unwrap().is_empty());
}

#[test]
fn registers_again_within_10s_of_a_pbx_restart() {
    testbed::require!("kamailio", "kamcmd");
    let mut kam = Kamailio::start(KamailioOptions::md5()).unwrap();
    let mut opts = AgentOptions::new(kam.addr(), "1001", "secret1001");
    opts.expires = 20; // a short lifetime so the refresh notices the outage quickly
    let agent = Agent::start(opts);
    agent.wait_registered(Duration::from_secs(10));
    kam.stop().unwrap();
    // The refresh at half the lifetime (10 s) times out after Timer F (32 s).
    agent.wait_status(
        Duration::from_secs(60),
        "failure while the PBX is down",
        |s| s["registration"]["state"] == "failed",
    );
    kam.restart().unwrap();
    agent.wait_registered(Duration::from_secs(10));
    kam.wait_registered("1001", Duration::from_secs(2)).unwrap();
}

/// A laptop's sleep, as the test plan has it: the agent paused (SIGSTOP) for longer
/// than its registration lifetime. Back (SIGCONT), it registers again by itself at once,
/// and the PBX holds a fresh binding. (A real suspend also stops the monotonic clock; that
/// case is `src/clock_watch.rs` and `Registration::handle_clock_jump`, tested in the cores.)
#[test]
fn after_a_pause_longer_than_the_lifetime_the_agent_registers_again() {
    testbed::require!("kamailio", "kamcmd");
    let kam = Kamailio::start(KamailioOptions::md5()).unwrap();
    let mut opts = AgentOptions::new(kam.addr(), "1002", "secret1002");
    opts.expires = 10;
    let agent = Agent::start(opts);
    agent.wait_registered(Duration::from_secs(10));
    let before = kam.wait_registered("1002", Duration::from_secs(5)).unwrap();
    let cseq_before = kam.contacts("1002").unwrap()[0].cseq;
    let pid = agent.pid().to_string();
    let signal = |sig: &str| {
        assert!(std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap()
            .success());
    };
    signal("-STOP");
    std::thread::sleep(Duration::from_secs(13));
    signal("-CONT");
    let fresh = testbed::wait_until(
        "a new REGISTER from the agent after the pause",
        Duration::from_secs(20),
        Duration::from_millis(100),
        || {
            let now = kam.contacts("1002")?;
            Ok::<_, testbed::TestbedError>(
                now.first()
                    .filter(|c| c.cseq > cseq_before && c.expires.is_some_and(|e| e > 0))
                    .cloned(),
            )
        },
    )
    .unwrap();
    assert_eq!(fresh.address, before[0].address, "the same Contact");
    assert_eq!(agent.registration_state(), "registered");
}
