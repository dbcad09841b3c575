//! Self-test: linphonec registers with Kamailio (over TCP) and takes a call from baresip.

use std::time::Duration;

use testbed::{Baresip, BaresipOptions, Kamailio, KamailioOptions, Linphone, LinphoneOptions};

const T: Duration = Duration::from_secs(8);
const LIFETIME: Duration = Duration::from_secs(20);

#[test]
fn linphonec_registers_and_answers_a_call_from_baresip() {
    testbed::require!("kamailio", "kamcmd", "baresip", "linphonec");
    let kam = Kamailio::start_with_lifetime(KamailioOptions::md5(), LIFETIME).unwrap();
    let mut o = LinphoneOptions::user("1003", &kam);
    o.lifetime = LIFETIME;
    let lin = Linphone::start(o).unwrap();
    lin.wait_registered(T).unwrap();
    let contacts = kam.wait_registered("1003", T).unwrap();
    assert!(
        contacts[0].address.contains("transport=tcp"),
        "{contacts:?}"
    );

    let mut o = BaresipOptions::user("1001", &kam);
    o.lifetime = LIFETIME;
    let caller = Baresip::start(o).unwrap();
    caller.wait_registered(T).unwrap();
    caller.dial(&lin.aor()).unwrap();
    caller.wait_event("CALL_ESTABLISHED", T).unwrap();
    lin.wait_output("connected", T).unwrap();

    let wild: Vec<_> = lin
        .sockets()
        .into_iter()
        .filter(|s| !s.is_loopback())
        .collect();
    assert!(wild.is_empty(), "not on loopback: {wild:?}");
    assert!(!lin.sockets().is_empty());

    lin.hangup().unwrap();
    let closed = caller.wait_event("CALL_CLOSED", T).unwrap();
    assert!(closed.param.contains("reset by peer"), "{closed:?}");
    lin.stop();
    kam.wait_unregistered("1003", Duration::from_secs(10))
        .unwrap();
}
