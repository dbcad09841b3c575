//! Bad input is normal input: every invalid corpus message, sent to the running agent over
//! UDP and over TCP, gets a 400 or is dropped, and the agent stays up and keeps answering.

mod common;

use common::{Agent, AgentOptions};
use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

fn invalid_corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/sip/invalid");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("testdata/sip/invalid")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sip"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "corpus too small: {}", files.len());
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

/// The agent's answer must be a 400, or nothing (dropped). A message whose defect lies in a
/// header a UA parses only on use (e.g. a bad Contact in a REGISTER) passes the parser and
/// may get the ordinary refusal for its method instead (405 for REGISTER: we are no
/// registrar), but never a success.
fn assert_400_or_nothing(name: &str, transport: &str, bytes: &[u8], reply: Option<Vec<u8>>) {
    if let Some(reply) = reply.filter(|r| !r.is_empty()) {
        let code = testbed::rawsip::status_code(&String::from_utf8_lossy(&reply));
        let lazily_invalid = signaling::Message::parse(bytes).is_ok();
        let refused =
            code == Some(400) || (lazily_invalid && code.is_some_and(|c| (400..500).contains(&c)));
        assert!(
            refused,
            "{name} over {transport} got:\n{}",
            String::from_utf8_lossy(&reply)
        );
    }
}

fn options_answered(agent: &Agent) {
    let reply = testbed::rawsip::udp_request(
        agent.sip_addr(),
        |local| testbed::rawsip::options_request(local, agent.sip_addr()),
        Duration::from_secs(3),
    )
    .expect("OPTIONS answered");
    assert_eq!(testbed::rawsip::status_code(&reply), Some(200), "{reply}");
}

#[test]
fn invalid_messages_get_400_or_are_dropped_and_the_agent_stays_up() {
    // No PBX needed: the agent keeps running while its registration fails.
    let mut agent = Agent::start(AgentOptions::new(
        "127.0.0.1:9".parse().unwrap(),
        "1001",
        "x",
    ));
    let sip = agent.sip_addr();
    let corpus = invalid_corpus();

    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut answered_400 = 0;
    for (name, bytes) in &corpus {
        udp.send_to(bytes, sip).unwrap();
        let mut buf = vec![0u8; 65535];
        let reply = udp.recv_from(&mut buf).ok().map(|(n, _)| buf[..n].to_vec());
        answered_400 += usize::from(reply.is_some());
        assert_400_or_nothing(name, "udp", bytes, reply);
    }
    assert!(answered_400 > 0, "no invalid request got a 400 over UDP");

    for (name, bytes) in &corpus {
        let mut tcp = TcpStream::connect(sip).unwrap();
        tcp.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let _ = tcp.write_all(bytes);
        let mut reply = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = tcp.read(&mut buf) {
            if n == 0 {
                break;
            }
            reply.extend_from_slice(&buf[..n]);
        }
        assert_400_or_nothing(name, "tcp", bytes, Some(reply));
    }

    assert!(
        agent.is_running(),
        "agent died on bad input:\n{}",
        agent.log()
    );
    options_answered(&agent);
    assert_eq!(agent.status()["registration"]["aor"], "sip:1001@127.0.0.1");
}
