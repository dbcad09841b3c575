//! Self-tests: the PBX's carrier trunk. Our users' calls to outside numbers (7 or more
//! digits) leave through the trunk with the number intact; without a trunk they get 404
//! "No trunk"; a carrier may not use the trunk; a carrier's call reaches a registered user.

use std::net::SocketAddr;
use std::time::Duration;

use testbed::rawsip::{status_code, udp_request};
use testbed::sipp::client_args;
use testbed::{free_port, Kamailio, KamailioOptions, Sipp, SippOutcome};

const T: Duration = Duration::from_secs(20);

#[test]
fn an_outside_number_leaves_through_the_trunk_as_dialled() {
    testbed::require!("kamailio", "kamcmd", "sipp");
    let far_end = Sipp::spawn("trunk_uas_answer.xml", &[], T).unwrap();
    let kam = Kamailio::start(KamailioOptions::md5().with_trunk(far_end.addr())).unwrap();
    let caller = user_1002_calls("pbx_user_uac_call.xml", "+15550103000", &kam);
    assert!(caller.success, "{caller}");
    let far = far_end.wait();
    assert!(far.success, "{far}");
    assert!(far.logs.contains("dialled: +15550103000"), "{far}");
    // Through the PBX: its Via and Record-Route, the caller's identity kept.
    let port = kam.port();
    assert!(
        far.messages
            .contains(&format!("Record-Route: <sip:127.0.0.1:{port};lr")),
        "{far}"
    );
    assert!(far.messages.contains("From: <sip:1002@"), "{far}");
    assert!(kam.log().contains("TRUNK INVITE"), "{}", kam.log());
}

#[test]
fn without_a_trunk_an_outside_number_gets_404_no_trunk() {
    testbed::require!("kamailio", "kamcmd", "sipp");
    let kam = Kamailio::start(KamailioOptions::md5()).unwrap();
    let caller = user_1002_calls("pbx_user_uac_no_trunk.xml", "5550103000", &kam);
    assert!(caller.success, "{caller}");
    assert!(
        caller.logs.contains("refused: SIP/2.0 404 No trunk"),
        "{caller}"
    );
}

#[test]
fn a_carrier_may_not_call_out_through_the_trunk() {
    testbed::require!("kamailio", "kamcmd");
    // The trunk is a port nobody listens on: nothing may be relayed there anyway.
    let unused: SocketAddr = format!("127.0.0.1:{}", free_port().unwrap())
        .parse()
        .unwrap();
    let kam = Kamailio::start(KamailioOptions::md5().with_trunk(unused)).unwrap();
    let to = kam.addr();
    let resp = udp_request(to, |local| carrier_invite(local, to, "5550103000"), T).unwrap();
    assert_eq!(status_code(&resp), Some(403), "{resp}");
    assert!(!kam.log().contains("TRUNK INVITE"), "{}", kam.log());
}

#[test]
fn a_carrier_call_reaches_a_registered_user() {
    testbed::require!("kamailio", "kamcmd", "sipp");
    let kam = Kamailio::start(KamailioOptions::md5()).unwrap();
    let server = kam.addr().to_string();
    // 1002 registers from one port, then a UAS takes that port over to take the call.
    let port = free_port().unwrap().to_string();
    let reg = Sipp::run(
        "sipp_register_auth.xml",
        &client_args("1002", ("1002", "secret1002"), &["-p", &port], &server),
        T,
    )
    .unwrap();
    assert!(reg.success, "{reg}");
    kam.wait_registered("1002", T).unwrap();
    let user = Sipp::spawn("trunk_uas_answer.xml", &["-p", &port], T).unwrap();
    let carrier = Sipp::run(
        "carrier_uac_call.xml",
        &["-s", "1002", "-set", "caller", "+15550102000", &server],
        T,
    )
    .unwrap();
    assert!(carrier.success, "{carrier}");
    let user = user.wait();
    assert!(user.success, "{user}");
    assert!(
        user.messages
            .contains("From: <sip:+15550102000@carrier.test>"),
        "{user}"
    );
    assert!(!kam.log().contains("TRUNK INVITE"), "{}", kam.log());
}

/// PBX user 1002 calls `number` through the PBX with SIPp's `scenario`, run to its end.
fn user_1002_calls(scenario: &str, number: &str, kam: &Kamailio) -> SippOutcome {
    let server = kam.addr().to_string();
    let extra = ["-set", "caller", "1002"];
    let args = client_args(number, ("1002", "secret1002"), &extra, &server);
    Sipp::run(scenario, &args, T).unwrap()
}

/// An INVITE from a carrier (a foreign From domain) for `number` at the PBX, without SDP.
fn carrier_invite(local: SocketAddr, to: SocketAddr, number: &str) -> String {
    let tag = local.port();
    format!(
        "INVITE sip:{number}@{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-carrier-{tag};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:+15550102000@carrier.test>;tag=c{tag}\r\n\
         To: <sip:{number}@{to}>\r\n\
         Call-ID: carrier-{tag}@{ip}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:+15550102000@{local}>\r\n\
         Content-Length: 0\r\n\r\n",
        ip = local.ip(),
    )
}
