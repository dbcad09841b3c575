//! End-to-end media between the agent and baresip through the testbed Kamailio: RFC 4733
//! DTMF both ways (baresip's digits reach the page as `dtmf` events; the page's digits reach
//! baresip as telephone-events), per-call quality in `call_quality` events and the status,
//! and junk sprayed at the agent's media ports while the tone flows (dropped, counted, the
//! call and its audio go on).

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::Duration;

use common::{Agent, AgentOptions};
use serde_json::Value;
use testbed::audio::{dominant_frequency, rms};
use testbed::{Baresip, BaresipAudio, BaresipOptions, Kamailio, KamailioOptions};

const T: Duration = Duration::from_secs(8);
const LIFETIME: Duration = Duration::from_secs(60);

fn agent(kam: &Kamailio, out: &Path) -> Agent {
    let agent = Agent::start(
        AgentOptions::new(kam.addr(), "1001", "secret1001").with_extra(&format!(
            "[audio]\ninput = \"tone:440\"\noutput = \"file:{}\"",
            out.display()
        )),
    );
    agent.wait_registered(T);
    kam.wait_registered("1001", T).unwrap();
    agent
}

/// The agent's RTP address, from the SDP offer baresip received.
fn agent_rtp(far: &Baresip) -> SocketAddr {
    let invite = far.wait_received("m=audio", T).unwrap();
    let port = invite
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse::<u16>().ok())
        .expect("an m=audio port");
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn quality_of<'a>(event: &'a Value, id: &str) -> Option<&'a Value> {
    (event["event"] == "call_quality" && event["call_id"] == id).then(|| &event["quality"])
}

#[test]
fn dtmf_quality_and_junk_with_baresip() {
    testbed::require!("kamailio", "kamcmd", "baresip");
    let kam = Kamailio::start_with_lifetime(KamailioOptions::md5(), LIFETIME).unwrap();
    let mut o = BaresipOptions::user("1002", &kam);
    o.audio = BaresipAudio::Echo;
    o.lifetime = LIFETIME;
    let far = common::registered_baresip(o, &kam, T);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.wav");
    let agent = agent(&kam, &out);
    let mut events = agent.events("");

    let id = agent.dial("1002");
    agent.wait_call_state(&id, "connected", T);
    far.wait_event("CALL_ESTABLISHED", T).unwrap();
    let rtp = agent_rtp(&far);

    // baresip's digits (RFC 4733) reach the page as the dtmf event INFO digits make.
    far.send_dtmf("5").unwrap();
    events.until(T, |e| {
        e["event"] == "dtmf" && e["call_id"] == id.as_str() && e["digits"] == "5"
    });

    // The page's digits go to baresip as telephone-events (the SDP had them).
    agent.call_command(&id, "dtmf", r#"{"digits": "7#"}"#);
    let mut keys = String::new();
    // Fewer than two by the deadline: the assertion below shows which arrived.
    let _ = testbed::wait_until("two digits at baresip", T, Duration::ZERO, || {
        if let Ok(e) = far.wait_event("CALL_DTMF_START", Duration::from_millis(500)) {
            keys.push_str(&e.param);
        }
        Ok::<_, testbed::TimedOut>((keys.len() >= 2).then_some(()))
    });
    assert_eq!(keys, "7#", "baresip log:\n{}", far.log());

    // Junk at the RTP port and at RTCP (port + 1) while the tone flows.
    let junk = UdpSocket::bind("127.0.0.1:0").unwrap();
    let rtcp = SocketAddr::new(rtp.ip(), rtp.port() + 1);
    let mut sent = 0u64;
    for i in 0..60u32 {
        let mut rtp_unknown_pt = vec![0x80, 96, 0, i as u8, 0, 0, 0, 0, 1, 2, 3, 4];
        rtp_unknown_pt.extend_from_slice(&[0x55; 160]);
        let datagram: &[u8] = match i % 4 {
            0 => b"\x00not rtp at all",
            1 => &rtp_unknown_pt,
            2 => &[0xFF; 4096],
            _ => b"\x81\xc8\xff\xffnot an SR",
        };
        let to = if i % 4 == 3 { rtcp } else { rtp };
        junk.send_to(datagram, to).unwrap();
        sent += 1;
        std::thread::sleep(Duration::from_millis(10));
    }
    // The figures arrive after each RTCP report (every 2.5-7.5 s).
    let seen = events.until(Duration::from_secs(20), |e| {
        quality_of(e, &id).is_some_and(|q| q["junk"].as_u64() == Some(sent))
    });
    let q = quality_of(seen.last().unwrap(), &id).unwrap().clone();
    assert!(q["packets_received"].as_u64().unwrap() > 50, "{q}");
    assert!(q["packets_sent"].as_u64().unwrap() > 50, "{q}");
    assert_eq!(q["digits_received"], 1, "{q}");
    assert!(q["mos"].as_f64().unwrap() > 3.5, "{q}");
    let live = agent.call(&id).expect("listed");
    assert_eq!(live["state"], "connected");
    assert!(live["quality"]["junk"].as_u64().unwrap() >= sent, "{live}");

    agent.call_command(&id, "hangup", "");
    agent.wait_call_state(&id, "ended", T);
    let last = events.until(T, |e| quality_of(e, &id).is_some() && e["last"] == true);
    let q = quality_of(last.last().unwrap(), &id).unwrap();
    assert_eq!(q["junk"], sent, "{q}");
    let ended = agent.call(&id).expect("listed while recent");
    assert_eq!(ended["quality"]["junk"], sent, "{ended}");

    // The echo of our tone kept playing through it all.
    let wav = common::complete_wav(&out, T, String::new);
    let body = &wav.samples[wav.samples.len().min(8000)..];
    let f = dominant_frequency(body, wav.sample_rate).expect("not silence");
    assert!((f - 440.0).abs() <= 15.0, "dominant {f} Hz");
    assert!(20.0 * rms(body).log10() > -40.0);
}
