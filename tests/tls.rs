//! End-to-end: SIP over TLS against Kamailio's TLS listener, with a CA and server
//! certificates made by the test at run time. The agent registers with SHA-256 digest over
//! one verified connection and refreshes, and its status shows the PBX's certificate; calls go both ways through Kamailio over TLS to a
//! SIPp far end; a certificate from another CA and one for another host each leave the
//! registration `failed` with words naming the cause and the `[sip]` key to fix, and an
//! expired one with its date, without a flood of retries. A PBX that requires a client
//! certificate takes the agent's, and without one the error names the keys to set. A
//! loopback capture shows no SIP text on the TLS connection. A call goes on when the
//! agent's connection to the PBX is cut under it: the agent registers again and refreshes
//! the call's target (a re-INVITE from its new address, SRTP going on), so the far end's
//! BYE still reaches it.

mod common;

use common::{Agent, AgentOptions};
use std::time::Duration;
use testbed::rawsip::{options_request, udp_request};
use testbed::tls::{TestCa, Validity};
use testbed::{Baresip, BaresipOptions, Kamailio, KamailioOptions, Sipp};

const LONG: Duration = Duration::from_secs(20);
/// SIPp's own `-timeout`: every scenario here ends well within it.
const SIPP_LIFETIME: Duration = Duration::from_secs(60);

/// A CA and a Kamailio whose TLS listener presents a certificate for `names`, signed by
/// the CA when `trusted`, else by another CA.
struct TlsPbx {
    ca: TestCa,
    /// Another CA: the signer of wrong server certificates, or of agents' certificates.
    other: TestCa,
    kam: Kamailio,
}

fn tls_pbx(opts: KamailioOptions, names: &[&str], trusted: bool) -> TlsPbx {
    tls_pbx_with(opts, names, trusted, Validity::Current)
}

fn tls_pbx_with(
    opts: KamailioOptions,
    names: &[&str],
    trusted: bool,
    validity: Validity,
) -> TlsPbx {
    let ca = TestCa::new("Test PBX CA").unwrap();
    let other = TestCa::new("Someone else's CA").unwrap();
    let signer = if trusted { &ca } else { &other };
    let cert = signer.issue("pbx", names, validity).unwrap();
    let kam = Kamailio::start(opts.with_tls(&cert.cert_file, &cert.key_file)).unwrap();
    TlsPbx { ca, other, kam }
}

/// An agent registering with `pbx` over TLS, trusting the test CA, expecting `name`.
fn tls_agent(pbx: &TlsPbx, user: &'static str, name: &str, extra_sip: &str) -> AgentOptions {
    let password = testbed::password_of(user).unwrap();
    let mut opts = AgentOptions::new(pbx.kam.tls_addr().unwrap(), user, password);
    opts.transport = "tls";
    opts.extra_sip = format!(
        "ca_file = \"{}\"\ntls_server_name = \"{name}\"\n{extra_sip}",
        pbx.ca.ca_file().display()
    );
    opts
}

#[test]
fn registers_over_tls_with_sha256_and_refreshes_on_one_connection() {
    testbed::require!("kamailio", "kamcmd");
    let pbx = tls_pbx(KamailioOptions::sha256(), &["pbx.test"], true);
    let mut opts = tls_agent(&pbx, "1001", "pbx.test", "");
    opts.expires = 10; // refreshed every ~5 s
    let mut agent = Agent::start(opts);
    let status = agent.wait_registered(LONG);
    assert_eq!(status["registration"]["transport"], "tls");
    // The certificate the PBX presented, as a person reads it.
    let certificate = &status["registration"]["certificate"];
    assert_eq!(certificate["subject"], "CN=pbx.test", "{status}");
    assert_eq!(certificate["expires"], "2100-01-01T00:00:00Z", "{status}");
    let contacts = pbx.kam.wait_registered("1001", LONG).unwrap();
    assert_eq!(contacts.len(), 1, "{}", pbx.kam.ul_dump().unwrap());
    let contact = &contacts[0];
    assert!(
        contact.address.ends_with(";transport=tls"),
        "{}",
        contact.address
    );
    let log = agent.log();
    assert!(
        log.contains("algorithm=SHA-256"),
        "no SHA-256 digest:\n{log}"
    );
    assert!(log.contains("Via: SIP/2.0/TLS "), "no TLS Via:\n{log}");
    // Two refreshes (each a REGISTER answered 200) go over the same connection: Kamailio
    // sees every REGISTER come from one source port.
    testbed::wait_until("two refreshes", LONG, Duration::from_millis(100), || {
        Ok::<_, testbed::TestbedError>(
            (pbx.kam.log().matches("REQ REGISTER").count() >= 4).then_some(()),
        )
    })
    .unwrap();
    let sources: std::collections::BTreeSet<String> = pbx
        .kam
        .log()
        .lines()
        .filter(|l| l.contains("REQ REGISTER"))
        .filter_map(|l| l.split(" from ").nth(1).map(str::to_owned))
        .collect();
    assert_eq!(
        sources.len(),
        1,
        "REGISTERs from several connections: {sources:?}"
    );
    assert!(sources.iter().all(|s| s.ends_with("(tls)")), "{sources:?}");
    assert_eq!(pbx.kam.contacts("1001").unwrap().len(), 1);
    // SIP in clear on the agent's UDP port gets no answer: over TLS nothing else counts.
    let sip = agent.sip_addr();
    let answer = udp_request(sip, |l| options_request(l, sip), Duration::from_secs(1));
    // (Over UDP the same probe gets 200: tests/bad_input.rs.)
    assert!(answer.is_err(), "answered in clear: {answer:?}");
    assert!(agent.terminate().success());
    pbx.kam.wait_unregistered("1001", LONG).unwrap();
}

#[test]
fn calls_go_both_ways_through_the_pbx_over_tls() {
    testbed::require!("kamailio", "kamcmd", "sipp");
    let trunk = Sipp::spawn("trunk_uas_answer.xml", &[], SIPP_LIFETIME).unwrap();
    let pbx = tls_pbx(
        KamailioOptions::sha256().with_trunk(trunk.addr()),
        &["pbx.test"],
        true,
    );
    let agent = Agent::start(tls_agent(&pbx, "1001", "pbx.test", "").with_extra(
        "[calls]\nauto_answer = true\n[audio]\ninput = \"tone:440\"\n[agent]\nwrapup_seconds = 0\n",
    ));
    agent.wait_registered(LONG);
    pbx.kam.wait_registered("1001", LONG).unwrap();

    // Out: the agent calls a number; Kamailio challenges the INVITE (SHA-256) and relays it
    // to the trunk.
    let id = agent.dial("5550102000");
    agent.wait_call_state(&id, "connected", LONG);
    agent.call_command(&id, "hangup", "{}");
    let end = agent.wait_call_state(&id, "ended", LONG);
    assert_eq!(end["end_reason"]["code"], "hangup_local", "{end}");
    let out = trunk.wait();
    assert!(out.success, "{out}\n---- agent log ----\n{}", agent.log());

    // In: a customer calls from the carrier (UDP); Kamailio reaches the agent over the TLS
    // connection the agent opened, and the agent answers.
    let server = pbx.kam.addr().to_string();
    let args = ["-s", "1001", "-set", "caller", "+15550102000", &server];
    let caller = Sipp::spawn("carrier_uac_call.xml", &args, SIPP_LIFETIME).unwrap();
    let call = agent.wait_any_call("connected", LONG);
    let id = call["id"].as_str().unwrap().to_owned();
    assert_eq!(call["direction"], "inbound", "{call}");
    let end = agent.wait_call_state(&id, "ended", LONG);
    assert_eq!(end["end_reason"]["code"], "hangup_remote", "{end}");
    let out = caller.wait();
    assert!(out.success, "{out}\n---- agent log ----\n{}", agent.log());
    // Every SIP message of the agent's went over TLS, both ways.
    let log = agent.log();
    let sent: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("sip_trace: send"))
        .collect();
    let received: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("sip_trace: recv"))
        .collect();
    assert!(sent.len() >= 8 && received.len() >= 8, "{log}");
    for line in sent {
        assert!(line.contains(" to tls:"), "sent in clear: {line}");
    }
    for line in received {
        assert!(line.contains(" from tls:"), "received in clear: {line}");
    }
    assert!(
        log.contains("\nINVITE sip:1001@127.0.0.1:"),
        "no INVITE reached the agent"
    );
}

/// The registration's error once it has failed.
fn failure_words(agent: &Agent) -> String {
    let status = agent.wait_status(LONG, "a failed registration", |s| {
        s["registration"]["state"] == "failed"
    });
    status["registration"]["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_certificate_from_another_ca_fails_as_an_untrusted_issuer() {
    testbed::require!("kamailio", "kamcmd");
    let pbx = tls_pbx(KamailioOptions::md5(), &["pbx.test"], false);
    let agent = Agent::start(tls_agent(&pbx, "1002", "pbx.test", ""));
    let error = failure_words(&agent);
    assert!(error.contains("untrusted issuer"), "{error}");
    assert!(error.contains("[sip] ca_file"), "{error}");
    // Nothing reached Kamailio's SIP layer: the handshake stopped before any request.
    assert!(!pbx.kam.log().contains("REQ REGISTER"), "{}", pbx.kam.log());
}

#[test]
fn a_certificate_for_another_host_fails_as_a_wrong_host_name() {
    testbed::require!("kamailio", "kamcmd");
    let pbx = tls_pbx(KamailioOptions::md5(), &["elsewhere.test"], true);
    let agent = Agent::start(tls_agent(&pbx, "1003", "pbx.test", ""));
    let error = failure_words(&agent);
    assert!(error.contains("wrong host name"), "{error}");
    assert!(error.contains("not for pbx.test"), "{error}");
    assert!(error.contains("[sip] tls_server_name"), "{error}");
    assert!(!pbx.kam.log().contains("REQ REGISTER"), "{}", pbx.kam.log());
}

#[test]
fn an_expired_certificate_fails_with_its_date_and_retries_slowly() {
    testbed::require!("kamailio", "kamcmd");
    let pbx = tls_pbx_with(
        KamailioOptions::md5(),
        &["pbx.test"],
        true,
        Validity::Expired,
    );
    let agent = Agent::start(tls_agent(&pbx, "1001", "pbx.test", ""));
    let error = failure_words(&agent);
    assert!(error.contains("expired on 2021-01-01 00:00 UTC"), "{error}");
    assert!(error.contains("renew"), "{error}");
    // Retries wait 2 s, then 4 s, 8 s...: within ~6 s at most three handshakes.
    std::thread::sleep(Duration::from_secs(6));
    let attempts = agent.log().matches("closed: could not connect: ").count();
    assert!(
        (1..=3).contains(&attempts),
        "{attempts} handshakes:\n{}",
        agent.log()
    );
}

#[test]
fn a_pbx_that_requires_a_client_certificate_takes_the_agents_and_says_when_it_is_missing() {
    testbed::require!("kamailio", "kamcmd");
    let ca = TestCa::new("Test PBX CA").unwrap();
    let agents_ca = TestCa::new("Test agents CA").unwrap();
    let server = ca
        .issue("pbx", &["pbx.test", "127.0.0.1"], Validity::Current)
        .unwrap();
    let kam = Kamailio::start(
        KamailioOptions::md5()
            .with_tls(&server.cert_file, &server.key_file)
            .with_client_certificates(&agents_ca.ca_file()),
    )
    .unwrap();
    let pbx = TlsPbx {
        ca,
        other: agents_ca,
        kam,
    };
    // Without a certificate: failed, with words naming the keys to set.
    let agent = Agent::start(tls_agent(&pbx, "1001", "pbx.test", ""));
    let error = failure_words(&agent);
    assert!(error.contains("client certificate"), "{error}");
    assert!(error.contains("[sip] tls_cert_file"), "{error}");
    assert!(!pbx.kam.log().contains("REQ REGISTER"), "{}", pbx.kam.log());
    drop(agent);
    // With one the PBX's agents CA signed: registered, over that connection.
    let mine = pbx
        .other
        .issue("agent-1002", &["agent-1002.test"], Validity::Current)
        .unwrap();
    let keys = format!(
        "tls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n",
        mine.cert_file.display(),
        mine.key_file.display()
    );
    let agent = Agent::start(tls_agent(&pbx, "1002", "pbx.test", &keys));
    agent.wait_registered(LONG);
    pbx.kam.wait_registered("1002", LONG).unwrap();
}

#[test]
fn no_sip_text_crosses_the_tls_connection() {
    testbed::require!("kamailio", "kamcmd", "sipp", "tcpdump");
    use testbed::capture::{contains, Capture};
    let pbx = tls_pbx(KamailioOptions::md5(), &["pbx.test"], true);
    let tls_port = pbx.kam.tls_addr().unwrap().port();
    let udp_port = pbx.kam.port();
    let tls = Capture::start(&format!("tcp port {tls_port}")).unwrap();
    // The carrier's leg is plain UDP: what the same check finds in clear there shows it
    // would find it on the TLS leg too.
    let clear = Capture::start(&format!("udp port {udp_port}")).unwrap();
    let mut agent = Agent::start(
        tls_agent(&pbx, "1001", "pbx.test", "")
            .with_extra("[calls]\nauto_answer = true\n[agent]\nwrapup_seconds = 0\n"),
    );
    agent.wait_registered(LONG);
    let server = pbx.kam.addr().to_string();
    let args = ["-s", "1001", "-set", "caller", "+15550102000", &server];
    let caller = Sipp::spawn("carrier_uac_call.xml", &args, SIPP_LIFETIME).unwrap();
    let out = caller.wait();
    assert!(out.success, "{out}\n---- agent log ----\n{}", agent.log());
    assert!(agent.terminate().success()); // unregisters over TLS too
    let tls = tls.finish().unwrap();
    let clear = clear.finish().unwrap();
    assert!(
        contains(&clear, b"INVITE sip:1001@"),
        "the control capture saw no INVITE"
    );
    testbed::capture::assert_tls_only(&tls);
}

#[test]
fn after_a_pbx_restart_the_agent_registers_again_over_a_new_connection() {
    testbed::require!("kamailio", "kamcmd");
    let mut pbx = tls_pbx(KamailioOptions::md5(), &["pbx.test"], true);
    let agent = Agent::start(tls_agent(&pbx, "1002", "pbx.test", ""));
    agent.wait_registered(LONG);
    pbx.kam.wait_registered("1002", LONG).unwrap();
    // The restart closes the connection; the agent notices at once (not at its next
    // refresh, 300 s away), and reconnects, backing off while the PBX is down.
    pbx.kam.restart().unwrap();
    pbx.kam.wait_registered("1002", LONG).unwrap();
    let log = agent.log();
    let closed = format!("connection to tls:{} closed", pbx.kam.tls_addr().unwrap());
    assert!(log.contains(&closed), "{log}");
    let status = agent.wait_registered(LONG);
    assert_eq!(
        status["registration"]["certificate"]["subject"],
        "CN=pbx.test"
    );
}

#[test]
fn a_pbx_that_stops_answering_keepalives_is_noticed_and_the_agent_registers_again() {
    testbed::require!("kamailio", "kamcmd");
    let pbx = tls_pbx(KamailioOptions::md5(), &["pbx.test"], true);
    let agent = Agent::start(tls_agent(
        &pbx,
        "1001",
        "pbx.test",
        "keepalive_seconds = 5\n",
    ));
    agent.wait_registered(LONG);
    // The PBX answers the first keep-alive (at 5 s), and from then on is held to it.
    std::thread::sleep(Duration::from_secs(7));
    // It hangs, its connection still open: nothing says so but the missing pong.
    pbx.kam.freeze();
    let status = agent.wait_status(
        Duration::from_secs(60),
        "the registration no longer shown as registered",
        |s| s["registration"]["state"] != "registered",
    );
    let log = agent.log();
    assert!(
        log.contains("given up (no answer to a keep-alive"),
        "{status}\n{log}"
    );
    // Back: the agent registers again by itself.
    pbx.kam.thaw();
    agent.wait_registered(Duration::from_secs(60));
    pbx.kam.wait_registered("1001", LONG).unwrap();
}

/// A baresip far end registered over TLS, answering by itself and echoing, SRTP only.
fn tls_baresip(pbx: &TlsPbx, user: &str) -> Baresip {
    let mut o = BaresipOptions::user(user, &pbx.kam);
    o.registrar = pbx.kam.tls_addr().unwrap();
    o.tls_ca = Some(pbx.ca.ca_file());
    o.mediaenc = Some("srtp-mand".into());
    common::registered_baresip(o, &pbx.kam, LONG)
}

/// The agent's `packets_received` in the latest `call_quality` of call `id` with more than
/// `above`, waiting for it.
fn packets_received_above(events: &mut common::EventStream, id: &str, above: u64) -> u64 {
    let seen = events.until(LONG, |e| {
        e["event"] == "call_quality"
            && e["call_id"] == id
            && e["quality"]["packets_received"].as_u64() > Some(above)
    });
    let q = &seen.last().unwrap()["quality"];
    assert!(q["srtp_auth_failed"].as_u64().unwrap() < 10, "{q}");
    q["packets_received"].as_u64().unwrap()
}

/// The INVITEs (first and re-INVITEs) `far` has received so far.
fn invites_received(far: &Baresip) -> Vec<String> {
    far.sip_messages()
        .into_iter()
        .filter(|m| m.received && m.text.starts_with("INVITE "))
        .map(|m| m.text)
        .collect()
}

#[test]
fn a_call_goes_on_when_the_connection_to_the_pbx_is_cut() {
    testbed::require!("kamailio", "kamcmd", "baresip", "ss");
    let pbx = tls_pbx(KamailioOptions::md5(), &["pbx.test"], true);
    let far = tls_baresip(&pbx, "1002");
    let agent = Agent::start(tls_agent(&pbx, "1001", "pbx.test", "").with_extra(
        "[media]\nsrtp = \"mandatory\"\n[audio]\ninput = \"tone:440\"\n[agent]\nwrapup_seconds = 0\n",
    ));
    agent.wait_registered(LONG);
    let mut events = agent.events("");
    let id = agent.dial("1002");
    agent.wait_call_state(&id, "connected", LONG);
    far.wait_event("CALL_ESTABLISHED", LONG).unwrap();
    let first_contact = contact_of(&invites_received(&far)[0]);
    // The tone comes back from the echo, decrypted.
    let before = packets_received_above(&mut events, &id, 50);

    // The connection dies under the call (a NAT binding lost, a PBX node dropping it).
    let tls = pbx.kam.tls_addr().unwrap();
    assert_eq!(
        testbed::connections::abort_connections(agent.pid(), tls).unwrap(),
        1
    );
    // The agent registers again over a new connection, and tells the far end where it is
    // now: a re-INVITE whose Contact names the new connection.
    let refresh = testbed::wait_until(
        "the far end receiving the agent's target refresh",
        LONG,
        Duration::from_millis(100),
        || Ok::<_, testbed::TimedOut>(invites_received(&far).get(1).cloned()),
    )
    .unwrap_or_else(|e| panic!("{e}\n---- agent log ----\n{}", agent.log()));
    assert_ne!(contact_of(&refresh), first_contact, "{refresh}");
    assert!(refresh.contains("a=sendrecv"), "{refresh}");
    // The far end's answer is taken like any: the echo keeps coming back, decrypted.
    packets_received_above(&mut events, &id, before + 100);
    assert_eq!(agent.call(&id).unwrap()["state"], "connected");

    // The far end hangs up: its BYE finds the agent over the new connection.
    far.hangup().unwrap();
    let call = agent.wait_call_state(&id, "ended", LONG);
    assert_eq!(call["end_reason"]["code"], "hangup_remote", "{call}");
    far.wait_event("CALL_CLOSED", LONG).unwrap();
}

/// The Contact header's value in a traced message.
fn contact_of(message: &str) -> String {
    message
        .lines()
        .find_map(|l| l.strip_prefix("Contact: "))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[test]
fn a_call_over_tls_goes_on_across_a_pbx_restart() {
    testbed::require!("kamailio", "kamcmd", "baresip");
    let mut pbx = tls_pbx(KamailioOptions::md5(), &["pbx.test"], true);
    // The far end on UDP: only the agent's connection goes with the restart.
    let far = common::registered_baresip(BaresipOptions::user("1002", &pbx.kam), &pbx.kam, LONG);
    let agent = Agent::start(
        tls_agent(&pbx, "1001", "pbx.test", "")
            .with_extra("[audio]\ninput = \"tone:440\"\n[agent]\nwrapup_seconds = 0\n"),
    );
    agent.wait_registered(LONG);
    let id = agent.dial("1002");
    agent.wait_call_state(&id, "connected", LONG);
    far.wait_event("CALL_ESTABLISHED", LONG).unwrap();

    // The PBX restarts (registrations forgotten, connections closed); the call's media
    // goes on beside it. The agent registers again and re-offers the call from its new
    // connection, so the far end's BYE finds it.
    pbx.kam.restart().unwrap();
    pbx.kam.wait_registered("1001", LONG).unwrap();
    testbed::wait_until(
        "the far end receiving the agent's target refresh",
        LONG,
        Duration::from_millis(100),
        || Ok::<_, testbed::TimedOut>(invites_received(&far).get(1).cloned()),
    )
    .unwrap_or_else(|e| panic!("{e}\n---- agent log ----\n{}", agent.log()));
    far.hangup().unwrap();
    let call = agent.wait_call_state(&id, "ended", LONG);
    assert_eq!(call["end_reason"]["code"], "hangup_remote", "{call}");
}
