//! G.722 with baresip (its `g722` module) through Kamailio, both ways: the codec order of
//! `[media] codecs` is what the agent's offer lists, the call view shows the codec with its
//! two rates (RTP clock 8000, audio 16000), a tone crosses G.722 twice at its pitch, and a
//! 7 kHz tone (beyond anything 8 kHz audio carries) reaches the agent's speaker.

mod common;

use std::time::Duration;

use common::{pulse, Agent, AgentOptions};
use media::test_support::{dominant_frequency, rms_dbfs};
use testbed::pulse::RATE;
use testbed::{Baresip, BaresipAudio, BaresipOptions, Kamailio, KamailioOptions};

const T: Duration = Duration::from_secs(8);
const LIFETIME: Duration = Duration::from_secs(60);
const CODECS: &str = "[media]\ncodecs = [\"g722\", \"pcmu\"]\n";

fn baresip(kam: &Kamailio, audio: BaresipAudio) -> Baresip {
    let mut o = BaresipOptions::user("1002", kam);
    o.audio = audio;
    o.g722 = true;
    o.lifetime = LIFETIME;
    common::registered_baresip(o, kam, T)
}

fn assert_g722(call: &serde_json::Value) {
    assert_eq!(
        call["codec"],
        serde_json::json!({"name": "G722", "payload_type": 9, "clock_rate": 8000, "sample_rate": 16000}),
        "{call}"
    );
}

/// The agent dials an echoing baresip offering G.722 then PCMU; G.722 is taken and the
/// agent's 1 kHz tone comes back at 1 kHz.
#[test]
fn g722_call_out_to_echoing_baresip_hears_own_tone_back() {
    testbed::require!("kamailio", "kamcmd", "baresip");
    let kam = Kamailio::start_with_lifetime(KamailioOptions::md5(), LIFETIME).unwrap();
    let far = baresip(&kam, BaresipAudio::Echo);
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("heard.wav");
    let agent = Agent::start(
        AgentOptions::new(kam.addr(), "1001", "secret1001").with_extra(&format!(
            "{CODECS}[audio]\ninput = \"tone:1000\"\noutput = \"file:{}\"\n",
            wav.display()
        )),
    );
    agent.wait_registered(T);
    kam.wait_registered("1001", T).unwrap();

    let id = agent.dial("1002");
    let call = agent.wait_call_state(&id, "connected", T);
    far.wait_event("CALL_ESTABLISHED", T).unwrap();
    assert_g722(&call);
    // Our offer lists the codecs in the configured order (then telephone-event).
    let invite = far
        .sip_messages()
        .into_iter()
        .find(|m| m.received && m.text.starts_with("INVITE "))
        .expect("baresip received the INVITE");
    let m_line = invite
        .text
        .lines()
        .find(|l| l.starts_with("m=audio "))
        .unwrap_or_else(|| panic!("no m=audio in {}", invite.text));
    assert!(m_line.ends_with(" RTP/AVP 9 0 101"), "{m_line}");
    assert!(
        invite.text.contains("a=rtpmap:9 G722/8000"),
        "{}",
        invite.text
    );
    std::thread::sleep(Duration::from_secs(3));
    agent.call_command(&id, "hangup", "");
    agent.wait_call_state(&id, "ended", T);

    let heard = common::complete_wav(&wav, T, || agent.log());
    let body = &heard.samples[heard.samples.len().min(heard.sample_rate as usize)..];
    let f = dominant_frequency(body, heard.sample_rate);
    let level = rms_dbfs(body);
    eprintln!("echo over G.722: {f:?} Hz at {level:.1} dBFS");
    let f = f.unwrap_or_else(|| panic!("silence\n{}", agent.log()));
    assert!((f - 1000.0).abs() <= 10.0, "{f} Hz\n{}", agent.log());
    assert!((level - -15.0).abs() < 4.0, "{level:.1} dBFS");
}

/// baresip calls the agent with G.722 and a 7 kHz tone; the agent answers (auto) and its
/// speaker plays 7 kHz: wideband, end to end.
#[test]
fn an_incoming_g722_call_carries_7_khz_to_the_speaker() {
    const WIDE_HZ: f64 = 7000.0;
    let Some(_turn) = common::device_call_turn(module_path!()) else {
        return;
    };
    pulse();
    let kam = Kamailio::start_with_lifetime(KamailioOptions::md5(), LIFETIME).unwrap();
    let far = baresip(
        &kam,
        BaresipAudio::Tone {
            freq: WIDE_HZ as u32,
        },
    );
    let agent = Agent::start(AgentOptions::new(kam.addr(), "1001", "secret1001").with_extra(
        &format!(
            "{CODECS}[calls]\nauto_answer = true\n[audio]\ninput = \"silence\"\noutput = \"device:speaker\"\n"
        ),
    ));
    agent.wait_registered(T);
    kam.wait_registered("1001", T).unwrap();
    far.dial(&testbed::baresip::user_uri("1001", kam.addr()))
        .unwrap();
    let call = agent.wait_any_call("connected", T);
    far.wait_event("CALL_ESTABLISHED", T).unwrap();
    assert_g722(&call);

    let samples = pulse()
        .start_record("speaker.monitor")
        .unwrap()
        .finish(Duration::from_secs(3))
        .unwrap();
    let body = &samples[samples.len().min(RATE as usize)..];
    let level = rms_dbfs(body);
    let (f, tone) = testbed::audio::strongest_tone(body, RATE);
    eprintln!("speaker: level {level:.1} dBFS, strongest {f} Hz at {tone:.1} dBFS");
    assert!(
        (f - WIDE_HZ).abs() <= WIDE_HZ * 0.04 && tone > -40.0,
        "strongest {f} Hz at {tone:.1} dBFS (of {level:.1} dBFS), want {WIDE_HZ} Hz\n{}",
        agent.log()
    );
    far.hangup().unwrap();
    agent.wait_call_state(call["id"].as_str().unwrap(), "ended", T);
}
