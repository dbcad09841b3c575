//! End-to-end calls between the agent and real far ends (baresip, linphonec) through the
//! testbed Kamailio: audio both ways (tones checked in the agent's output WAV), answering over
//! the bridge, hold/resume as seen by the far end, blind and attended transfers.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{Agent, AgentOptions, EventStream};
use testbed::audio::{dominant_frequency, rms, Wav};
use testbed::baresip::user_uri;
use testbed::{
    Baresip, BaresipAudio, BaresipOptions, Kamailio, KamailioOptions, Linphone, LinphoneOptions,
};

/// How long one step (registration, answer, re-INVITE, ...) may take.
const T: Duration = Duration::from_secs(8);
/// Hard upper bound of every peer's life: a test is done within 40 s.
const LIFETIME: Duration = Duration::from_secs(45);

fn kamailio() -> Kamailio {
    Kamailio::start_with_lifetime(KamailioOptions::md5(), LIFETIME).unwrap()
}

/// A registered baresip far end (auto-answer) sending `audio`, G.711 only.
fn baresip(kam: &Kamailio, user: &str, audio: BaresipAudio) -> Baresip {
    baresip_with_opus(kam, user, audio, false)
}

/// As [`baresip`]; `opus`: Opus offered first and accepted too.
fn baresip_with_opus(kam: &Kamailio, user: &str, audio: BaresipAudio, opus: bool) -> Baresip {
    let mut o = BaresipOptions::user(user, kam);
    o.audio = audio;
    o.opus = opus;
    o.lifetime = LIFETIME;
    common::registered_baresip(o, kam, T)
}

/// A registered linphonec far end (TCP, auto-answer).
fn linphone(kam: &Kamailio, user: &str) -> Linphone {
    let mut o = LinphoneOptions::user(user, kam);
    o.lifetime = LIFETIME;
    let l = Linphone::start(o).unwrap();
    l.wait_registered(T).unwrap();
    kam.wait_registered(user, T).unwrap();
    l
}

/// Where the agent writes what it hears: a WAV in a directory of its own.
struct Heard {
    dir: tempfile::TempDir,
}

impl Heard {
    fn path(&self) -> PathBuf {
        self.dir.path().join("out.wav")
    }

    /// The WAV once it is complete (finalized when the call's stream stops).
    fn wav(&self, agent: &Agent) -> Wav {
        common::complete_wav(&self.path(), T, || format!("agent log:\n{}", agent.log()))
    }
}

/// The agent as 1001, registered, sending `input`; what it hears goes to a WAV.
fn agent(kam: &Kamailio, input: &str) -> (Agent, Heard) {
    let heard = Heard {
        dir: tempfile::tempdir().unwrap(),
    };
    let agent = Agent::start(
        AgentOptions::new(kam.addr(), "1001", "secret1001").with_extra(&format!(
            "[audio]\ninput = \"{input}\"\noutput = \"file:{}\"",
            heard.path().display()
        )),
    );
    agent.wait_registered(T);
    kam.wait_registered("1001", T).unwrap();
    (agent, heard)
}

/// The PBX, a registered baresip 1002 (auto-answer) and the registered agent 1001. Bind
/// every field: one left in the struct is dropped (stopped) at once.
struct WithBaresip {
    agent: Agent,
    heard: Heard,
    far: Baresip,
    kam: Kamailio,
}

/// baresip sends `audio` (Opus offered first and accepted when `opus`), the agent `input`.
fn with_baresip(audio: BaresipAudio, opus: bool, input: &str) -> WithBaresip {
    let kam = kamailio();
    let far = baresip_with_opus(&kam, "1002", audio, opus);
    let (agent, heard) = agent(&kam, input);
    WithBaresip {
        agent,
        heard,
        far,
        kam,
    }
}

/// Polls `found` until it gives a value; panics naming `what` (and `context()`) after `T`.
fn wait_for<V>(
    what: &str,
    context: impl Fn() -> String,
    mut found: impl FnMut() -> Option<V>,
) -> V {
    testbed::wait_until(what, T, Duration::from_millis(50), || Ok(found()))
        .unwrap_or_else(|e: testbed::TimedOut| panic!("{e}\n{}", context()))
}

fn dbfs(level: f64) -> f64 {
    20.0 * level.max(1e-9).log10()
}

/// Checks the WAV is 8 kHz mono, has `freq` as its dominant frequency (±15 Hz) and a level
/// well above silence; returns (frequency, dBFS).
fn assert_tone(wav: &Wav, freq: f64, what: &str) -> (f64, f64) {
    assert_eq!(wav.sample_rate, 8000, "{what}: sample rate");
    // Skip the first half second (call set-up, jitter buffer filling).
    let body = &wav.samples[wav.samples.len().min(4000)..];
    let level = dbfs(rms(body));
    let f = dominant_frequency(body, wav.sample_rate);
    eprintln!(
        "{what}: {:.2} s, dominant {f:?} Hz, level {level:.1} dBFS",
        wav.duration_secs()
    );
    assert!(
        wav.duration_secs() > 1.5,
        "{what}: only {} s",
        wav.duration_secs()
    );
    let f = f.unwrap_or_else(|| panic!("{what}: silence ({level:.1} dBFS)"));
    assert!(
        (f - freq).abs() <= 15.0,
        "{what}: dominant {f} Hz, want {freq}"
    );
    assert!(level > -40.0, "{what}: level {level:.1} dBFS");
    (f, level)
}

fn end_reason(call: &serde_json::Value) -> String {
    call["end_reason"]["code"].as_str().unwrap_or("").to_owned()
}

/// Waits for call `id` to end; asserts it ended for `code`.
fn assert_ended(agent: &Agent, id: &str, code: &str) {
    let call = agent.wait_call_state(id, "ended", T);
    assert_eq!(end_reason(&call), code, "{call}");
}

/// The agent hangs up call `id`, which ends `hangup_local`.
fn hang_up(agent: &Agent, id: &str) {
    agent.call_command(id, "hangup", "");
    assert_ended(agent, id, "hangup_local");
}

/// Waits for the `incoming` event; the call it shows and its id.
fn incoming_call(events: &mut EventStream) -> (serde_json::Value, String) {
    let seen = events.until(T, |e| e["event"] == "incoming");
    let call = seen.last().unwrap()["call"].clone();
    let id = call["id"].as_str().unwrap().to_owned();
    (call, id)
}

#[test]
fn dial_out_to_echoing_baresip_hears_own_tone_back() {
    dial_out_and_hear_own_tone_back(false, "PCMU");
}

#[test]
fn opus_call_out_to_echoing_baresip_hears_own_tone_back() {
    dial_out_and_hear_own_tone_back(true, "OPUS");
}

/// The agent dials an echoing baresip (with `opus` or G.711 only): the answer picks `want`,
/// and the agent's 440 Hz tone comes back.
fn dial_out_and_hear_own_tone_back(opus: bool, want: &str) {
    testbed::require!("kamailio", "kamcmd", "baresip");
    let WithBaresip {
        kam: _kam,
        far,
        agent,
        heard,
    } = with_baresip(BaresipAudio::Echo, opus, "tone:440");

    let id = agent.dial("1002");
    agent.wait_call_state(&id, "connected", T);
    let incoming = far.wait_event("CALL_ESTABLISHED", T).unwrap();
    assert!(incoming.peer_uri.starts_with("sip:1001@"), "{incoming:?}");
    assert_eq!(answered_codec(&far, false), want);
    std::thread::sleep(Duration::from_secs(3));
    hang_up(&agent, &id);
    far.wait_event("CALL_CLOSED", T).unwrap();

    let wav = heard.wav(&agent);
    let (_, level) = assert_tone(&wav, 440.0, &format!("agent heard its echo over {want}"));
    // `tone:` sends a -12 dBFS peak sine (-15 dBFS RMS). Measured back: -15.0 over PCMU,
    // -17.6 over Opus (baresip's echo path mixes its stereo Opus down).
    assert!(
        (level - -15.0).abs() < 4.0,
        "echo over {want} came back at {level:.1} dBFS, sent -15 dBFS"
    );
}

/// The codec the SDP answer chose (the first payload type of its `m=audio` line), from the
/// 200 OK that baresip sent (`received == false`) or received.
fn answered_codec(far: &Baresip, received: bool) -> String {
    // baresip's trace reaches its log file a little after the call event that reported it.
    let what = format!(
        "a 200 OK with SDP {} by baresip",
        if received { "received" } else { "sent" }
    );
    let answer = wait_for(
        &what,
        || far.log(),
        || {
            far.sip_messages().into_iter().find(|m| {
                m.received == received
                    && m.text.starts_with("SIP/2.0 200")
                    && m.text.contains("m=audio")
            })
        },
    );
    let pt = answer
        .text
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|m| m.split_whitespace().nth(2))
        .unwrap_or_else(|| panic!("no payload type in {}", answer.text));
    let rtpmap = format!("a=rtpmap:{pt} ");
    match answer
        .text
        .lines()
        .find_map(|l| l.strip_prefix(rtpmap.as_str()))
    {
        Some(enc) => enc.split('/').next().unwrap_or("").to_ascii_uppercase(),
        // Static payload types may come without an rtpmap.
        None => match pt {
            "0" => "PCMU".into(),
            "8" => "PCMA".into(),
            _ => panic!("payload type {pt} without rtpmap in {}", answer.text),
        },
    }
}

#[test]
fn incoming_call_from_baresip_is_answered_over_the_bridge() {
    incoming_call_answered_and_heard(false, "PCMU");
}

#[test]
fn incoming_opus_call_from_baresip_is_answered_and_heard() {
    incoming_call_answered_and_heard(true, "OPUS");
}

/// baresip (offering Opus first when `opus`) calls the agent, which answers over the bridge
/// with `want` and hears baresip's 1000 Hz tone.
fn incoming_call_answered_and_heard(opus: bool, want: &str) {
    testbed::require!("kamailio", "kamcmd", "baresip");
    let tone = BaresipAudio::Tone { freq: 1000 };
    let WithBaresip {
        kam,
        far,
        agent,
        heard,
    } = with_baresip(tone, opus, "silence");
    let mut events = agent.events("");

    far.dial(&user_uri("1001", kam.addr())).unwrap();
    let (call, id) = incoming_call(&mut events);
    assert_eq!(call["remote"]["number"], "1002", "{call}");
    assert_eq!(call["direction"], "inbound", "{call}");
    assert_eq!(call["state"], "ringing", "{call}");

    agent.call_command(&id, "answer", "");
    agent.wait_call_state(&id, "connected", T);
    let established = far.wait_event("CALL_ESTABLISHED", T).unwrap();
    assert_eq!(established.direction, "outgoing", "{established:?}");
    assert_eq!(answered_codec(&far, true), want);
    events.until(T, |e| {
        e["event"] == "call" && e["call"]["id"] == id.as_str() && e["call"]["state"] == "connected"
    });
    std::thread::sleep(Duration::from_secs(3));

    far.hangup().unwrap();
    assert_ended(&agent, &id, "hangup_remote");
    let wav = heard.wav(&agent);
    assert_tone(
        &wav,
        1000.0,
        &format!("agent heard baresip's tone over {want}"),
    );
}

/// Waits until baresip has received an INVITE containing `pattern` after the first `skip`
/// INVITEs it received; returns it.
fn wait_invite_after(far: &Baresip, skip: usize, pattern: &str) -> String {
    wait_for(
        &format!("an INVITE with {pattern:?} after the first {skip}"),
        || {
            format!(
                "received INVITEs:\n{}\n--- baresip log ---\n{}",
                received_invites(far).join("\n----\n"),
                far.log()
            )
        },
        || {
            let invites = received_invites(far);
            invites.into_iter().skip(skip).find(|m| m.contains(pattern))
        },
    )
}

fn received_invites(far: &Baresip) -> Vec<String> {
    far.sip_messages()
        .into_iter()
        .filter(|m| m.received && m.text.starts_with("INVITE "))
        .map(|m| m.text)
        .collect()
}

/// Agent dials an echoing baresip 1002 and waits until both sides see the call established;
/// returns the call id and how many INVITEs baresip had received by then.
fn connected_call(agent: &Agent, far: &Baresip) -> (String, usize) {
    let id = agent.dial("1002");
    agent.wait_call_state(&id, "connected", T);
    far.wait_event("CALL_ESTABLISHED", T).unwrap();
    let invites = received_invites(far).len();
    assert!(invites >= 1);
    (id, invites)
}

#[test]
fn hold_is_seen_by_baresip_as_sendonly() {
    testbed::require!("kamailio", "kamcmd", "baresip");
    let call = with_baresip(BaresipAudio::Echo, false, "tone:440");
    let (agent, far) = (&call.agent, &call.far);
    let (id, before) = connected_call(agent, far);

    agent.call_command(&id, "hold", "");
    let hold = wait_invite_after(far, before, "a=sendonly");
    assert!(hold.contains("a=sendonly"), "{hold}");
    agent.wait_call_state(&id, "held", T);

    hang_up(agent, &id);
    far.wait_event("CALL_CLOSED", T).unwrap();
}

#[test]
fn hold_and_resume_are_seen_by_baresip_as_sendonly_then_sendrecv() {
    testbed::require!("kamailio", "kamcmd", "baresip");
    // A tone, not an echo: baresip's aubridge echo does not restart after a hold.
    let tone = BaresipAudio::Tone { freq: 1000 };
    let WithBaresip {
        kam: _kam,
        far,
        agent,
        heard,
    } = with_baresip(tone, false, "tone:440");
    let (id, before) = connected_call(&agent, &far);

    agent.call_command(&id, "hold", "");
    let hold = wait_invite_after(&far, before, "a=sendonly");
    assert!(hold.contains("a=sendonly"), "{hold}");
    let call = agent.wait_call_state(&id, "held", T);
    // Our own hold, answered a=recvonly: the far end did not put us on hold.
    assert_eq!(call["on_hold_by_remote"], false, "{call}");
    let held_invites = received_invites(&far).len();

    agent.call_command(&id, "resume", "");
    let resume = wait_invite_after(&far, held_invites, "INVITE ");
    assert!(
        resume.contains("a=sendrecv"),
        "the resuming re-INVITE is not sendrecv:\n{resume}"
    );
    let call = agent.wait_call_state(&id, "connected", T);
    assert_eq!(call["on_hold_by_remote"], false, "{call}");
    // After the resume the customer is heard again.
    std::thread::sleep(Duration::from_secs(3));

    hang_up(&agent, &id);
    far.wait_event("CALL_CLOSED", T).unwrap();
    let wav = heard.wav(&agent);
    let tail = &wav.samples[wav.samples.len().saturating_sub(16_000)..];
    let level = dbfs(rms(tail));
    let f = dominant_frequency(tail, wav.sample_rate);
    assert!(
        level > -40.0 && f.is_some_and(|f| (f - 1000.0).abs() <= 15.0),
        "after resume: {f:?} Hz at {level:.1} dBFS in the last 2 s\nagent log:\n{}",
        agent.log()
    );
}

/// Agent calls baresip 1002 (the customer), transfers it blind to `to` (which names 1003);
/// 1002 calls 1003 (another baresip) and the agent's call ends `transferred`.
fn blind_transfer(to: impl Fn(&Kamailio) -> String) {
    let kam = kamailio();
    let customer = baresip(&kam, "1002", BaresipAudio::Echo);
    let third = baresip(&kam, "1003", BaresipAudio::Tone { freq: 700 });
    let (agent, _heard) = agent(&kam, "tone:440");
    let mut events = agent.events("");
    let (id, _) = connected_call(&agent, &customer);

    let target = to(&kam);
    agent.call_command(
        &id,
        "transfer",
        &serde_json::json!({ "to": target }).to_string(),
    );
    let refer = customer.wait_received("REFER ", T).unwrap();
    let refer_to = refer
        .lines()
        .find(|l| l.starts_with("Refer-To:"))
        .unwrap_or_else(|| panic!("no Refer-To in\n{refer}"));
    eprintln!("{refer_to}");
    assert!(refer_to.contains("sip:1003@"), "{refer}");
    let established = third.wait_event("CALL_ESTABLISHED", T).unwrap();
    assert_eq!(established.direction, "incoming", "{established:?}");
    assert!(
        established.peer_uri.starts_with("sip:1002@"),
        "{established:?}"
    );

    assert_ended(&agent, &id, "transferred");
    let seen = events.until(T, |e| {
        e["event"] == "transfer" && e["call_id"] == id.as_str() && e["state"] == "succeeded"
    });
    eprintln!(
        "transfer events: {:?}",
        seen.iter()
            .filter(|e| e["event"] == "transfer")
            .map(|e| format!("{} {}", e["state"], e["sip_status"]))
            .collect::<Vec<_>>()
    );
    // The customer and the third party still talk after the agent left.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !third.events().iter().any(|e| e.kind == "CALL_CLOSED"),
        "{:?}",
        third.events()
    );
}

#[test]
fn blind_transfer_to_a_sip_uri_lands_the_customer_on_a_third_party() {
    testbed::require!("kamailio", "kamcmd", "baresip");
    blind_transfer(|kam| user_uri("1003", kam.addr()));
}

#[test]
fn blind_transfer_to_a_number_lands_the_customer_on_a_third_party() {
    testbed::require!("kamailio", "kamcmd", "baresip");
    blind_transfer(|_| "1003".to_string());
}

/// An unregistered linphonec (auto-answer), reached directly at `sip:USER@ADDR;transport=tcp`
/// (see [`direct_uri`]). A registered linphonec gets a GRUU from the testbed Kamailio
/// (`Contact: <sip:1002@127.0.0.1;gr=urn:uuid:...>`) which Kamailio does not resolve for
/// in-dialog requests (loose_route relays them to 127.0.0.1:5060), so ACK, BYE and REFER
/// from the agent would never reach it.
fn linphone_direct(kam: &Kamailio, user: &str) -> Linphone {
    let mut o = LinphoneOptions::user(user, kam);
    o.register = false;
    o.lifetime = LIFETIME;
    Linphone::start(o).unwrap()
}

fn direct_uri(l: &Linphone, user: &str) -> String {
    format!("sip:{user}@{};transport=tcp", l.sip_addr())
}

#[test]
fn attended_transfer_joins_the_customer_and_the_consulted_party() {
    testbed::require!("kamailio", "kamcmd", "linphonec");
    let kam = kamailio();
    // linphonec on both sides: baresip 1.0 neither sends nor accepts Replaces.
    let customer = linphone_direct(&kam, "1002");
    let consulted = linphone_direct(&kam, "1003");
    let (agent, _heard) = agent(&kam, "tone:440");
    let mut events = agent.events("");

    let first = agent.dial(&direct_uri(&customer, "1002"));
    agent.wait_call_state(&first, "connected", T);
    customer.wait_output("connected", T).unwrap();
    let second = agent.dial(&direct_uri(&consulted, "1003"));
    agent.wait_call_state(&second, "connected", T);
    consulted.wait_output("connected", T).unwrap();

    agent.call_command(
        &first,
        "transfer",
        &serde_json::json!({ "replaces": second }).to_string(),
    );
    let seen = events.until(T, |e| {
        e["event"] == "transfer" && e["call_id"] == first.as_str() && e["state"] == "succeeded"
    });
    eprintln!(
        "transfer events: {:?}",
        seen.iter()
            .filter(|e| e["event"] == "transfer")
            .map(|e| format!("{} {}", e["state"], e["sip_status"]))
            .collect::<Vec<_>>()
    );
    assert_ended(&agent, &first, "transferred");
    // The consulted party dropped the consult leg when the customer's INVITE replaced it.
    assert_ended(&agent, &second, "hangup_remote");

    // The customer called 1003 with Replaces, and the two are connected.
    let replacing = linphone_line(&customer, &["sip:1003@", "?Replaces=", "connected"]);
    eprintln!("1002: {replacing}");
    let joined = linphone_line(&consulted, &["with sip:1002@", "connected"]);
    eprintln!("1003: {joined}");
    linphone_line(&consulted, &["with sip:1001@", "ended"]);
    std::thread::sleep(Duration::from_millis(500));
    let out = customer.output();
    assert!(
        !out.lines()
            .any(|l| l.contains("sip:1003@") && l.contains(" ended")),
        "the joined call ended early:\n{out}"
    );
}

/// Waits until linphonec printed a line containing every one of `parts`; returns it.
fn linphone_line(l: &Linphone, parts: &[&str]) -> String {
    wait_for(
        &format!("linphonec to print a line with {parts:?}"),
        || l.output(),
        || {
            let out = l.output();
            out.lines()
                .find(|line| parts.iter().all(|p| line.contains(p)))
                .map(str::to_string)
        },
    )
}

#[test]
fn linphonec_calls_the_agent_which_answers_and_linphonec_hangs_up() {
    testbed::require!("kamailio", "kamcmd", "linphonec");
    let kam = kamailio();
    let far = linphone(&kam, "1003");
    let (agent, _heard) = agent(&kam, "tone:440");
    let mut events = agent.events("");

    far.dial(&user_uri("1001", kam.addr())).unwrap();
    let (call, id) = incoming_call(&mut events);
    assert_eq!(call["remote"]["number"], "1003", "{call}");
    agent.call_command(&id, "answer", "");
    agent.wait_call_state(&id, "connected", T);
    linphone_line(&far, &["with sip:1001@", "connected"]);
    std::thread::sleep(Duration::from_secs(1));

    far.hangup().unwrap();
    assert_ended(&agent, &id, "hangup_remote");
    linphone_line(&far, &["with sip:1001@", "ended"]);
}

#[test]
fn agent_calls_linphonec_and_hangs_up() {
    testbed::require!("kamailio", "kamcmd", "linphonec");
    let kam = kamailio();
    // Reached directly (TCP, through Kamailio): see linphone_direct for why not by number.
    let far = linphone_direct(&kam, "1003");
    let (agent, _heard) = agent(&kam, "tone:440");

    let id = agent.dial(&direct_uri(&far, "1003"));
    agent.wait_call_state(&id, "connected", T);
    linphone_line(&far, &["with sip:1001@", "connected"]);
    std::thread::sleep(Duration::from_secs(1));

    hang_up(&agent, &id);
    let ended = linphone_line(&far, &["with sip:1001@", "ended"]);
    assert!(ended.contains("No error"), "{ended}");
}

#[test]
fn rfc4733_digits_from_the_agent_reach_baresip_in_the_media() {
    testbed::require!("kamailio", "kamcmd", "baresip");
    let call = with_baresip(BaresipAudio::Echo, false, "tone:440");
    let (agent, far) = (&call.agent, &call.far);
    let (id, _) = connected_call(agent, far);

    agent.call_command(&id, "dtmf", r#"{"digits": "123#"}"#);
    // baresip reports each telephone-event it decodes as CALL_DTMF_START with the digit.
    let decoded = || -> String {
        far.events()
            .iter()
            .filter(|e| e.kind == "CALL_DTMF_START")
            .map(|e| e.param.trim().to_owned())
            .collect()
    };
    let four = || Ok::<_, testbed::TimedOut>(Some(decoded()).filter(|d| d.len() >= 4));
    // Fewer than four by the deadline: the assertion below shows which arrived.
    let digits = testbed::wait_until("four digits", T, Duration::from_millis(50), four)
        .unwrap_or_else(|_| decoded());
    assert_eq!(digits, "123#", "digits baresip decoded\n{}", far.log());
    let infos = far
        .sip_messages()
        .into_iter()
        .filter(|m| m.received && m.text.starts_with("INFO "))
        .count();
    assert_eq!(
        infos, 0,
        "telephone-event was negotiated: no SIP INFO expected"
    );
    agent.call_command(&id, "hangup", "");
    agent.wait_call_state(&id, "ended", T);
}
