//! End-to-end: SRTP with SDES keys (RFC 4568) between the agent and baresip with its `srtp`
//! module, both registered over TLS with Kamailio. Calls both ways under `[media] srtp =
//! "mandatory"` against `mediaenc=srtp-mand`: the agent's tone comes back from baresip's
//! echo at its frequency, RFC 4733 digits cross both ways, the call view says encrypted with
//! the suite, a loopback capture of the call's media ports finds the tone in no datagram,
//! and one of the PBX's ports finds no SIP text (TLS records only). After the agent's hold and resume (re-offers keeping its key) the caller
//! still decrypts the agent's RTP. Under `mandatory`, a far end offering only clear RTP gets 488 and the page
//! sees why; under `optional` (the default) such a far end still gets a call, in clear (the
//! same capture check then finds the tone: the check can see it).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::{Agent, AgentOptions};
use testbed::audio::{dominant_frequency, rms, tone_power};
use testbed::capture::Capture;
use testbed::tls::{TestCa, Validity};
use testbed::{Baresip, BaresipAudio, BaresipOptions, Kamailio, KamailioOptions};

const T: Duration = Duration::from_secs(15);
const LIFETIME: Duration = Duration::from_secs(60);
/// The agent's microphone: a steady tone baresip echoes back.
const TONE_HZ: f64 = 440.0;
/// What a calling baresip sends.
const FAR_TONE_HZ: f64 = 1000.0;

struct TlsPbx {
    ca: TestCa,
    kam: Kamailio,
}

fn tls_pbx() -> TlsPbx {
    let ca = TestCa::new("Test PBX CA").unwrap();
    let cert = ca
        .issue("pbx", &["pbx.test", "127.0.0.1"], Validity::Current)
        .unwrap();
    let kam = Kamailio::start_with_lifetime(
        // MD5: baresip 1.0 has no SHA-256 digest (tests/tls.rs covers SHA-256 over TLS).
        KamailioOptions::md5().with_tls(&cert.cert_file, &cert.key_file),
        LIFETIME,
    )
    .unwrap();
    TlsPbx { ca, kam }
}

/// Agent 1001 over TLS, `[media] srtp = mode`, tone in, received audio to `out`, answering
/// by itself.
fn agent(pbx: &TlsPbx, mode: &str, out: &Path) -> Agent {
    let mut opts = AgentOptions::new(pbx.kam.tls_addr().unwrap(), "1001", "secret1001");
    opts.transport = "tls";
    opts.extra_sip = format!(
        "ca_file = \"{}\"\ntls_server_name = \"pbx.test\"\n",
        pbx.ca.ca_file().display()
    );
    let agent = Agent::start(opts.with_extra(&format!(
        "[media]\nsrtp = \"{mode}\"\n[audio]\ninput = \"tone:{TONE_HZ}\"\noutput = \"file:{}\"\n\
         [calls]\nauto_answer = true\n[agent]\nwrapup_seconds = 0\n",
        out.display()
    )));
    agent.wait_registered(T);
    pbx.kam.wait_registered("1001", T).unwrap();
    agent
}

/// baresip `user`, registered over TLS, sending `audio`, with `mediaenc` (None: no srtp
/// module). One call each: baresip 1.0's echo device does not start again in a second call,
/// nor send when baresip placed the call, so a caller sends a tone instead.
fn far_end(pbx: &TlsPbx, user: &str, audio: BaresipAudio, mediaenc: Option<&str>) -> Baresip {
    let mut o = BaresipOptions::user(user, &pbx.kam);
    o.registrar = pbx.kam.tls_addr().unwrap();
    o.tls_ca = Some(pbx.ca.ca_file());
    o.audio = audio;
    o.lifetime = LIFETIME;
    o.mediaenc = mediaenc.map(str::to_owned);
    common::registered_baresip(o, &pbx.kam, T)
}

/// Every RTP port either side put in an SDP these baresips saw (theirs and the agent's),
/// with the RTCP port after each.
fn media_ports(fars: &[&Baresip]) -> BTreeSet<u16> {
    fars.iter()
        .flat_map(|far| far.sip_messages())
        .flat_map(|m| m.text.lines().map(str::to_owned).collect::<Vec<_>>())
        .filter_map(|l| {
            l.strip_prefix("m=audio ")
                .and_then(|r| r.split_whitespace().next())
                .and_then(|p| p.parse::<u16>().ok())
        })
        .filter(|p| *p != 0)
        .flat_map(|p| [p, p + 1])
        .collect()
}

/// The base64 keys of every `a=crypto` line these baresips saw (theirs and the agent's).
fn sdes_keys(fars: &[&Baresip]) -> BTreeSet<String> {
    fars.iter()
        .flat_map(|far| far.sip_messages())
        .flat_map(|m| {
            m.text
                .lines()
                .filter_map(|l| l.split_once("inline:").map(|(_, k)| k.to_owned()))
                .collect::<Vec<_>>()
        })
        .map(|k| {
            k.split(['|', ' '])
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .filter(|k| k.len() >= 20)
        .collect()
}

/// The UDP payloads in a pcap file (Ethernet, Linux cooked v1/v2 or null link; IPv4)
/// between two of `ports`.
fn udp_payloads(pcap: &[u8], ports: &BTreeSet<u16>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if pcap.len() < 24 {
        return out;
    }
    let le = pcap[0] == 0xd4;
    let u32_at = |b: &[u8], i: usize| {
        let a = [b[i], b[i + 1], b[i + 2], b[i + 3]];
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let link_header = match u32_at(pcap, 20) {
        1 => 14,
        113 => 16,
        276 => 20,
        0 => 4,
        other => panic!("unexpected pcap link type {other}"),
    };
    let mut i = 24;
    while i + 16 <= pcap.len() {
        let caplen = u32_at(pcap, i + 8) as usize;
        let start = i + 16;
        i = start + caplen;
        let Some(frame) = pcap.get(start..i) else {
            break;
        };
        let Some(ip) = frame.get(link_header..) else {
            continue;
        };
        if ip.len() < 20 || ip[0] >> 4 != 4 || ip[9] != 17 {
            continue;
        }
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let Some(udp) = ip.get(ihl..) else { continue };
        if udp.len() < 8 {
            continue;
        }
        let src = u16::from_be_bytes([udp[0], udp[1]]);
        let dst = u16::from_be_bytes([udp[2], udp[3]]);
        if ports.contains(&src) && ports.contains(&dst) {
            out.push(udp[8..].to_vec());
        }
    }
    out
}

/// Whether `datagram`, read as clear RTP carrying PCMU, sounds like one of the tones: most
/// of its power at `TONE_HZ` or `FAR_TONE_HZ`.
fn carries_the_tone(datagram: &[u8]) -> bool {
    if datagram.len() < 12 + 80 || datagram[0] >> 6 != 2 {
        return false;
    }
    let mut decoder = media::decoder(media::Codec::Pcmu).unwrap();
    let mut samples = Vec::new();
    if decoder.decode(&datagram[12..], &mut samples).is_err() || samples.is_empty() {
        return false;
    }
    let power = rms(&samples).powi(2);
    power > 1e-6
        && [TONE_HZ, FAR_TONE_HZ]
            .into_iter()
            .any(|f| 2.0 * tone_power(&samples, 8000, f) / power > 0.5)
}

/// How many of the agent's RTP packets `caller` took (decrypted, since its `srtp` module
/// drops what fails before RTCP counts it): the `rcvd` of its `audio_debug`.
fn decrypted_from_agent(caller: &Baresip) -> u64 {
    let debug = caller.command("audio_debug", "").unwrap_or_default();
    debug
        .split("rcvd=")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// `hz` at the agent's speaker (its output file) once the call ended.
fn assert_heard(out: &Path, hz: f64) {
    let wav = common::complete_wav(out, T, String::new);
    let body = &wav.samples[wav.samples.len().min(8000)..];
    let f = dominant_frequency(body, wav.sample_rate).expect("not silence");
    assert!((f - hz).abs() <= 15.0, "dominant {f} Hz, want {hz} Hz");
    assert!(20.0 * rms(body).log10() > -40.0, "too quiet");
}

fn assert_encrypted(agent: &Agent, id: &str) -> serde_json::Value {
    let call = agent.call(id).expect("listed");
    assert_eq!(call["encrypted"], true, "{call}");
    let suite = call["srtp_suite"].as_str().unwrap_or_default().to_owned();
    assert!(
        ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"].contains(&suite.as_str()),
        "{call}"
    );
    call
}

#[test]
fn encrypted_calls_both_ways_with_baresip_srtp_mand() {
    testbed::require!("kamailio", "kamcmd", "baresip", "tcpdump");
    let pbx = tls_pbx();
    let far = far_end(&pbx, "1002", BaresipAudio::Echo, Some("srtp-mand"));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.wav");
    let agent = agent(&pbx, "mandatory", &out);
    let mut events = agent.events("");
    let capture = Capture::start("udp").unwrap();
    // Both sides' SIP: the TLS connections, and (the control) the PBX's clear port.
    let tls_port = pbx.kam.tls_addr().unwrap().port();
    let sip_tls = Capture::start(&format!("tcp port {tls_port}")).unwrap();
    let sip_clear = Capture::start(&format!("port {}", pbx.kam.port())).unwrap();

    // We call: RTP/SAVP offer, baresip answers with its key.
    let id = agent.dial("1002");
    agent.wait_call_state(&id, "connected", T);
    far.wait_event("CALL_ESTABLISHED", T).unwrap();
    far.wait_log("SRTP is Enabled", T).unwrap();
    assert_encrypted(&agent, &id);
    // Digits both ways through SRTP.
    far.send_dtmf("5").unwrap();
    events.until(T, |e| {
        e["event"] == "dtmf" && e["call_id"] == id.as_str() && e["digits"] == "5"
    });
    agent.call_command(&id, "dtmf", r#"{"digits": "7"}"#);
    let digit = far.wait_event("CALL_DTMF_START", T).unwrap();
    assert_eq!(digit.param, "7");
    // A few seconds of the tone echoed, and an RTCP report each way.
    let quality = events.until(Duration::from_secs(20), |e| {
        e["event"] == "call_quality"
            && e["call_id"] == id.as_str()
            && e["quality"]["packets_received"].as_u64() > Some(100)
    });
    let q = &quality.last().unwrap()["quality"];
    assert_eq!(q["srtp_auth_failed"], 0, "{q}");
    assert_eq!(q["srtp_replayed"], 0, "{q}");
    agent.call_command(&id, "hangup", "");
    agent.wait_call_state(&id, "ended", T);
    far.wait_event("CALL_CLOSED", T).unwrap();
    assert_heard(&out, TONE_HZ);

    // Another baresip calls us: its RTP/SAVP offer, our key in the answer.
    let caller = far_end(
        &pbx,
        "1003",
        BaresipAudio::Tone {
            freq: FAR_TONE_HZ as u32,
        },
        Some("srtp-mand"),
    );
    caller
        .dial(&format!("sip:1001@{}", pbx.kam.tls_addr().unwrap()))
        .unwrap();
    let inbound = agent.wait_any_call("connected", T);
    let inbound_id = inbound["id"].as_str().unwrap().to_owned();
    caller.wait_event("CALL_ESTABLISHED", T).unwrap();
    caller.wait_log("SRTP is Enabled", T).unwrap();
    assert_encrypted(&agent, &inbound_id);
    caller.send_dtmf("9").unwrap();
    events.until(T, |e| {
        e["event"] == "dtmf" && e["call_id"] == inbound_id.as_str() && e["digits"] == "9"
    });
    // Its tone reaches us through the second call's SRTP.
    let seen = events.until(Duration::from_secs(20), |e| {
        e["event"] == "call_quality"
            && e["call_id"] == inbound_id.as_str()
            && e["quality"]["packets_received"].as_u64() > Some(100)
    });
    let before_hold = seen.last().unwrap()["quality"]["packets_received"]
        .as_u64()
        .unwrap();
    assert!(decrypted_from_agent(&caller) > 0, "the caller decrypts us");
    // Hold and resume: each re-INVITE offers the key in force again (RFC 4568 §7.1.4), so
    // baresip 1.0, which never takes a new receive key mid-call, still decrypts us; the tone
    // flows again both ways.
    agent.call_command(&inbound_id, "hold", "");
    agent.wait_call_state(&inbound_id, "held", T);
    agent.call_command(&inbound_id, "resume", "");
    agent.wait_call_state(&inbound_id, "connected", T);
    // baresip 1.0 takes our RTP after the resume: 2 s more of it decrypted.
    let at_resume = decrypted_from_agent(&caller);
    testbed::wait_until(
        "the caller decrypting us after the resume",
        T,
        Duration::from_millis(100),
        || {
            let n = decrypted_from_agent(&caller);
            Ok::<_, testbed::TimedOut>((n >= at_resume + 100).then_some(()))
        },
    )
    .unwrap_or_else(|e| panic!("{e}: the caller no longer takes our RTP after the resume"));
    let seen = events.until(Duration::from_secs(20), |e| {
        e["event"] == "call_quality"
            && e["call_id"] == inbound_id.as_str()
            && e["quality"]["packets_received"].as_u64() > Some(before_hold + 150)
    });
    let q = &seen.last().unwrap()["quality"];
    // Packets in flight under the old key when the keys changed may fail; no more.
    assert!(q["srtp_auth_failed"].as_u64().unwrap() < 10, "{q}");
    assert_eq!(q["srtp_replayed"], 0, "{q}");
    let offers = caller
        .sip_messages()
        .iter()
        .filter(|m| m.received && m.text.starts_with("INVITE "))
        .count();
    assert_eq!(offers, 2, "the hold and the resume re-INVITEs");
    // Both re-INVITEs carried the key of our answer.
    let ours: BTreeSet<String> = caller
        .sip_messages()
        .iter()
        .filter(|m| m.received && m.text.starts_with("INVITE "))
        .filter_map(|m| {
            let (_, k) = m.text.split_once("inline:")?;
            Some(k.split(['|', '\r', '\n']).next()?.to_owned())
        })
        .collect();
    let answered: BTreeSet<String> = caller
        .sip_messages()
        .iter()
        .filter(|m| m.received && m.text.starts_with("SIP/2.0 200") && m.text.contains("m=audio"))
        .filter_map(|m| {
            let (_, k) = m.text.split_once("inline:")?;
            Some(k.split(['|', '\r', '\n']).next()?.to_owned())
        })
        .collect();
    assert_eq!(answered.len(), 1, "our answer's key");
    assert_eq!(ours, answered, "a re-INVITE changed our key");
    // baresip decrypts what we send after the resume.
    let log = caller.log();
    let resumed_at = log
        .rfind("\nINVITE sip:")
        .expect("the resume re-INVITE in the trace");
    assert!(
        !log[resumed_at..].contains("failed to decrypt"),
        "baresip failed to decrypt us after the resume"
    );
    agent.call_command(&inbound_id, "hangup", "");
    agent.wait_call_state(&inbound_id, "ended", T);
    caller.wait_event("CALL_CLOSED", T).unwrap();
    // A second call's audio goes beside the first's, named by the call.
    assert_heard(
        &tmp.path().join(format!("out-{inbound_id}.wav")),
        FAR_TONE_HZ,
    );

    // No key in the agent's log (its SIP trace is on) or status.
    let keys = sdes_keys(&[&far, &caller]);
    assert!(keys.len() >= 4, "keys seen: {}", keys.len());
    let (log, status) = (agent.log(), agent.status().to_string());
    for key in &keys {
        assert!(
            !log.contains(key.as_str()),
            "an SRTP key in the agent's log"
        );
        assert!(!status.contains(key.as_str()), "an SRTP key in the status");
    }
    assert!(
        log.contains("inline:<redacted>"),
        "the trace shows no redacted key"
    );

    // Nothing of the tone in any datagram between the two sides' media ports.
    let pcap = capture.finish().unwrap();
    let ports = media_ports(&[&far, &caller]);
    let datagrams = udp_payloads(&pcap, &ports);
    assert!(
        datagrams.len() > 200,
        "only {} media datagrams captured (ports {ports:?})",
        datagrams.len()
    );
    let clear = datagrams.iter().filter(|d| carries_the_tone(d)).count();
    assert_eq!(clear, 0, "{clear} datagrams carry the tone in clear");
    assert_no_sip_text(&sip_tls.finish().unwrap(), &sip_clear.finish().unwrap());
}

/// Every call's signaling rode TLS: records of application data on the TLS port and no SIP
/// text there, and none at all on the PBX's clear port.
fn assert_no_sip_text(tls: &[u8], clear: &[u8]) {
    testbed::capture::assert_tls_only(tls);
    for text in testbed::capture::SIP_TEXT {
        assert!(
            !testbed::capture::contains(clear, text),
            "SIP in clear on the PBX's UDP/TCP port"
        );
    }
}

#[test]
fn mandatory_refuses_a_clear_offer_with_488_and_says_why() {
    testbed::require!("kamailio", "kamcmd", "baresip");
    let pbx = tls_pbx();
    let far = far_end(&pbx, "1002", BaresipAudio::Echo, None);
    let tmp = tempfile::tempdir().unwrap();
    let agent = agent(&pbx, "mandatory", &tmp.path().join("out.wav"));
    let mut events = agent.events("");

    far.dial(&format!("sip:1001@{}", pbx.kam.tls_addr().unwrap()))
        .unwrap();
    let response = far.wait_received("SIP/2.0 488", T).unwrap();
    assert!(
        response.contains("Warning: 399") && response.contains("encryption required"),
        "{response}"
    );
    far.wait_event("CALL_CLOSED", T).unwrap();
    // The page lists the call as ended, with the reason; it never rang.
    let seen = events.until(T, |e| e["event"] == "call" && e["call"]["state"] == "ended");
    let call = &seen.last().unwrap()["call"];
    assert_eq!(call["end_reason"]["code"], "incompatible", "{call}");
    assert_eq!(call["end_reason"]["sip_status"], 488, "{call}");
    let message = call["end_reason"]["message"].as_str().unwrap();
    assert!(message.contains("encryption required"), "{message}");
    assert!(
        !seen.iter().any(|e| e["event"] == "incoming"),
        "the call rang: {seen:?}"
    );

    // We call a far end that cannot do SRTP: our RTP/SAVP offer is refused, the call ends.
    let id = agent.dial("1002");
    let ended = agent.wait_call_state(&id, "ended", T);
    assert_eq!(ended["encrypted"], false, "{ended}");
    assert!(ended["answered_at"].is_null(), "{ended}");
}

#[test]
fn optional_calls_a_clear_far_end_in_clear_and_the_capture_sees_the_tone() {
    testbed::require!("kamailio", "kamcmd", "baresip", "tcpdump");
    let pbx = tls_pbx();
    let far = far_end(&pbx, "1002", BaresipAudio::Echo, None);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.wav");
    let agent = agent(&pbx, "optional", &out);
    let mut events = agent.events("");
    let capture = Capture::start("udp").unwrap();

    let id = agent.dial("1002");
    agent.wait_call_state(&id, "connected", T);
    far.wait_event("CALL_ESTABLISHED", T).unwrap();
    let call = agent.call(&id).unwrap();
    assert_eq!(call["encrypted"], false, "{call}");
    assert!(call["srtp_suite"].is_null(), "{call}");
    events.until(Duration::from_secs(20), |e| {
        e["event"] == "call_quality"
            && e["call_id"] == id.as_str()
            && e["quality"]["packets_received"].as_u64() > Some(100)
    });
    agent.call_command(&id, "hangup", "");
    agent.wait_call_state(&id, "ended", T);
    assert_heard(&out, TONE_HZ);

    let pcap = capture.finish().unwrap();
    let datagrams = udp_payloads(&pcap, &media_ports(&[&far]));
    let clear = datagrams.iter().filter(|d| carries_the_tone(d)).count();
    assert!(
        clear > 100,
        "the check found the tone in only {clear} of {} clear datagrams",
        datagrams.len()
    );
}
