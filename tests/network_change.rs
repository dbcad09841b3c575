//! End-to-end: the network changing under the agent, in network namespaces the test makes
//! (root): a `desk` namespace for the agent and a `pbx` one for Kamailio, joined by a veth
//! pair (10.66.0.2 and 10.66.0.1); nothing reaches the machine's own networks. The agent
//! listens on a wildcard address, so it follows the address the system routes toward the
//! PBX from. An address move (the old one removed, a new one added, as a new DHCP lease)
//! brings a fresh registration at the new address and the old binding removed; a link
//! taken down is reported and, once up again, brings a new registration. A call whose
//! media is on the old address cannot move: it ends with reason `network` and words, and
//! the far end hears the BYE.

mod common;

use common::{Agent, AgentOptions};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use testbed::netns::{veth, Netns};
use testbed::{Kamailio, KamailioOptions, UlContact};

const PBX_IP: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 1);
const WAIT: Duration = Duration::from_secs(20);

struct Net {
    desk: Netns,
    pbx: Netns,
    kam: Kamailio,
}

fn net() -> Net {
    let pbx = Netns::new("pbx").unwrap();
    let desk = Netns::new("desk").unwrap();
    veth(&pbx, "10.66.0.1/24", &desk, "10.66.0.2/24", "v0").unwrap();
    let kam = Kamailio::start(KamailioOptions::md5().in_netns(&pbx, PBX_IP)).unwrap();
    Net { desk, pbx, kam }
}

/// Agent `user` in namespace `ns`, SIP on a wildcard address, answering by itself.
fn agent(net: &Net, ns: &Netns, user: &'static str) -> Agent {
    let password = testbed::password_of(user).unwrap();
    let mut o = AgentOptions::new(SocketAddr::from((PBX_IP, net.kam.port())), user, password);
    o.netns = Some(ns.name().to_owned());
    o.sip_listen = "0.0.0.0:0".to_owned();
    // A domain the testbed PBX calls its own (it does not know 10.66.0.1 by name).
    o.extra_sip = "domain = \"pbx.test\"\n".to_owned();
    Agent::start(o.with_extra(
        "[audio]\ninput = \"tone:440\"\n[calls]\nauto_answer = true\n[agent]\nwrapup_seconds = 0\n",
    ))
}

/// Waits until the PBX holds exactly one binding of `user`, at `ip`.
fn binding_at(kam: &Kamailio, user: &str, ip: &str) -> UlContact {
    let mut seen = Vec::new();
    testbed::wait_until(
        &format!("one binding of {user} at {ip}"),
        WAIT,
        Duration::from_millis(100),
        || {
            seen = kam.contacts(user)?;
            Ok::<_, testbed::TestbedError>(match seen.as_slice() {
                [one] if one.address.contains(&format!("@{ip}:")) => Some(one.clone()),
                _ => None,
            })
        },
    )
    .unwrap_or_else(|e| panic!("{e}: {seen:?}"))
}

/// A new lease: the desk's address 10.66.0.2 goes, 10.66.0.3 comes.
fn move_desk(net: &Net) {
    net.desk
        .ip(&["addr", "del", "10.66.0.2/24", "dev", "v0"])
        .unwrap();
    net.desk
        .ip(&["addr", "add", "10.66.0.3/24", "dev", "v0"])
        .unwrap();
}

fn wait_log(agent: &Agent, text: &str) {
    testbed::wait_until(
        &format!("{text:?} in the agent's log"),
        WAIT,
        Duration::from_millis(100),
        || Ok::<_, testbed::TimedOut>(agent.log().contains(text).then_some(())),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", agent.log()));
}

#[test]
fn an_address_move_and_a_link_down_and_up_each_bring_a_fresh_registration() {
    testbed::require!("kamailio", "kamcmd", "ip");
    let net = net();
    let desk = agent(&net, &net.desk, "1001");
    binding_at(&net.kam, "1001", "10.66.0.2");
    net.desk.run(|| desk.wait_registered(WAIT));

    move_desk(&net);
    let moved = binding_at(&net.kam, "1001", "10.66.0.3");
    wait_log(&desk, "the PBX is now reached from 10.66.0.3");
    net.desk.run(|| desk.wait_registered(WAIT));

    // The link goes down (the Wi-Fi drops), then comes back.
    net.desk.ip(&["link", "set", "v0", "down"]).unwrap();
    wait_log(&desk, "no route to the PBX any more");
    // The agent's own socket now errors on every send: the status says so in words.
    let status = net.desk.run(|| {
        desk.wait_status(WAIT, "the registration failing", |s| {
            s["registration"]["state"] == "failed"
        })
    });
    let error = status["registration"]["error"].as_str().unwrap_or_default();
    println!("link down: {error}");
    assert!(error.contains("unreachable"), "{status}");
    net.desk.ip(&["link", "set", "v0", "up"]).unwrap();
    testbed::wait_until(
        "a new REGISTER once the link is back",
        WAIT,
        Duration::from_millis(100),
        || {
            let now = binding_at(&net.kam, "1001", "10.66.0.3");
            Ok::<_, testbed::TimedOut>((now.cseq > moved.cseq).then_some(()))
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", desk.log()));
    net.desk.run(|| desk.wait_registered(WAIT));
}

#[test]
fn a_call_whose_address_went_away_ends_with_network_and_the_far_end_hears_it() {
    testbed::require!("kamailio", "kamcmd", "ip");
    let net = net();
    let desk = agent(&net, &net.desk, "1001");
    // The far end sits beside the PBX.
    let far = agent(&net, &net.pbx, "1002");
    binding_at(&net.kam, "1001", "10.66.0.2");
    binding_at(&net.kam, "1002", "10.66.0.1");

    let id = net.desk.run(|| {
        let id = desk.dial("1002");
        desk.wait_call_state(&id, "connected", WAIT);
        id
    });
    let far_call = net.pbx.run(|| far.wait_any_call("connected", WAIT));
    let far_id = far_call["id"].as_str().unwrap().to_owned();

    move_desk(&net);
    let call = net.desk.run(|| desk.wait_call_state(&id, "ended", WAIT));
    assert_eq!(call["end_reason"]["code"], "network", "{call}");
    let words = call["end_reason"]["message"].as_str().unwrap_or_default();
    assert!(
        words.contains("address changed to 10.66.0.3") && words.contains("could not move"),
        "{call}"
    );
    let far_call = net.pbx.run(|| far.wait_call_state(&far_id, "ended", WAIT));
    assert_eq!(
        far_call["end_reason"]["code"], "hangup_remote",
        "{far_call}"
    );
    // And the agent is reachable at its new address for the next call.
    binding_at(&net.kam, "1001", "10.66.0.3");
}

/// SIP through 20% loss and 100 ms ± 100 ms each way (`testbed::lossy`: this kernel has no
/// `sch_netem`, so a seeded relay on loopback, which Kamailio names as its own address,
/// stands in for `tc netem` on every signaling hop; the media flows beside it): a call still
/// sets up, holds, resumes, is transferred and ends, the registrations hold, no call is left
/// live anywhere, and once the linger timers have run the SIP cores hold no transaction.
#[test]
fn through_20_percent_loss_and_100_ms_jitter_a_call_holds_transfers_and_ends() {
    use testbed::lossy::{Impairment, LossyRelay};
    testbed::require!("kamailio", "kamcmd");
    let front = LossyRelay::bind().unwrap();
    let relay_addr = front.local_addr().unwrap();
    let kam = Kamailio::start(KamailioOptions::md5().behind(relay_addr)).unwrap();
    let relay = LossyRelay::start(
        front,
        kam.addr(),
        Impairment {
            loss: 0.2,
            delay: Duration::from_millis(100),
            jitter: Duration::from_millis(100),
            seed: 20_100,
        },
    )
    .unwrap();
    let start = |user: &'static str| {
        let mut o = AgentOptions::new(relay_addr, user, testbed::password_of(user).unwrap());
        o.extra_sip = "domain = \"pbx.test\"\n".to_owned();
        Agent::start(o.with_extra(
            "[audio]\ninput = \"tone:440\"\n[calls]\nauto_answer = true\n[agent]\nwrapup_seconds = 0\n",
        ))
    };
    let (desk, far, target) = (start("1001"), start("1002"), start("1003"));
    // Every request may need a few retransmissions (T1 500 ms, doubling).
    const LOSSY: Duration = Duration::from_secs(45);
    for (agent, user) in [(&desk, "1001"), (&far, "1002"), (&target, "1003")] {
        agent.wait_registered(LOSSY);
        kam.wait_registered(user, LOSSY).unwrap();
    }

    let id = desk.dial("1002");
    desk.wait_call_state(&id, "connected", LOSSY);
    desk.call_command(&id, "hold", "");
    desk.wait_call_state(&id, "held", LOSSY);
    desk.call_command(&id, "resume", "");
    desk.wait_call_state(&id, "connected", LOSSY);
    desk.call_command(&id, "transfer", r#"{"to": "1003"}"#);
    let call = desk.wait_call_state(&id, "ended", LOSSY);
    assert_eq!(call["end_reason"]["code"], "transferred", "{call}");
    // The far end now talks with the transfer target, who hangs up.
    let joined = target.wait_any_call("connected", LOSSY);
    let joined_id = joined["id"].as_str().unwrap().to_owned();
    target.call_command(&joined_id, "hangup", "");
    target.wait_call_state(&joined_id, "ended", LOSSY);

    for agent in [&desk, &far, &target] {
        agent.wait_status(LOSSY, "no live call", |s| {
            s["calls"]
                .as_array()
                .is_some_and(|c| c.iter().all(|c| c["state"] == "ended"))
        });
        assert_eq!(agent.registration_state(), "registered");
    }
    // The SIP cores let go of everything once the linger timers have run (Timer J/K:
    // 32 s over UDP).
    for agent in [&desk, &far, &target] {
        agent.wait_status(
            Duration::from_secs(60),
            "no transaction or call held",
            |s| s["diagnostics"]["sip_transactions"] == 0 && s["diagnostics"]["sip_calls"] == 0,
        );
    }
    let counts = relay.counts();
    println!("relay: {counts:?}");
    assert!(
        counts.seen > 60 && counts.dropped > 5,
        "the signaling did not go through the relay: {counts:?}"
    );
}
