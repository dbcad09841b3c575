//! One run of the comparison: for each user agent and codec, the same call through Kamailio
//! to an echoing baresip, with the same source played into the shared microphone, measured
//! idle (registered, no call) and in the call.

use std::path::Path;
use std::thread;
use std::time::Duration;

use testbed::pulse::{write_wav, Pulse, RATE};
use testbed::{Baresip, BaresipAudio, BaresipOptions, Kamailio};

use super::probe::{Delays, Prober};
use super::procstat::{self, Usage};
use super::ua::{Kind, Mode, UnderTest};

/// The echoing far end every call goes to.
const FAR_END: &str = "1002";
/// After the call connected, before measuring: the start-up work (threads, devices, first
/// RTCP) is not what a minute of use costs.
const SETTLE: Duration = Duration::from_secs(2);

/// The codec a run asks for: the far end offers and accepts only that family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Codec {
    #[serde(rename = "opus")]
    Opus,
    #[serde(rename = "pcmu")]
    Pcmu,
}

impl Codec {
    pub fn name(self) -> &'static str {
        match self {
            Codec::Opus => "opus",
            Codec::Pcmu => "pcmu",
        }
    }

    pub fn from_name(name: &str) -> Option<Codec> {
        [Codec::Opus, Codec::Pcmu]
            .into_iter()
            .find(|c| c.name() == name)
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub uas: Vec<Kind>,
    pub codecs: Vec<Codec>,
    /// How long each agent is measured registered and idle.
    pub idle: Duration,
    /// How long after registering the idle window starts: what the start and the REGISTER
    /// leave running (its transaction's linger timer, RFC 3261's Timer K of 5 s over UDP;
    /// worker threads that retire after 10 s unused) has ended by then, for every program.
    pub idle_settle: Duration,
    /// How long each call is measured.
    pub talk: Duration,
    /// How long each delay probe sends clicks (one a second); zero skips the probe.
    pub probe: Duration,
}

/// What one start, registration and hang-up may take beyond the measured spans.
const OVERHEAD: Duration = Duration::from_secs(30);

impl Plan {
    /// The longest its calls and probes may take, for the PBX's lifetime.
    pub fn duration(&self) -> Duration {
        let calls = (self.uas.len() * self.codecs.len()) as u32;
        let probes = self.uas.len() as u32;
        (self.idle_settle + self.idle + self.talk + OVERHEAD) * calls
            + (self.probe + OVERHEAD) * probes
    }
}

/// The figures of one user agent with one codec.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub ua: Kind,
    pub codec: Codec,
    /// The codec in the far end's answer (rtpmap encoding name).
    pub negotiated: String,
    /// From the dial command to the agent saying the call is connected, ms.
    pub dial_to_connected_ms: f64,
    pub idle: Usage,
    pub call: Usage,
}

/// The delay one user agent adds (its echo canceller off, answering the probe).
#[derive(Debug, Clone, serde::Serialize)]
pub struct DelayRow {
    pub ua: Kind,
    /// The loopback from its speaker to its microphone, ms (PulseAudio's `latency_msec`).
    pub loopback_ms: u64,
    /// The clicks, or why none could be measured.
    pub delays: Result<Delays, String>,
}

/// The loopback from the speaker's monitor to the microphone in the delay probe.
const LOOPBACK: Duration = Duration::from_millis(20);

/// Probes each user agent of `plan` in turn.
pub fn run_delays(plan: &Plan, kam: &Kamailio) -> Result<Vec<DelayRow>, String> {
    let pulse = shared_pulse(plan)?;
    let lifetime = plan.probe + Duration::from_secs(60);
    let _room = pulse
        .couple_speaker_to_mic(LOOPBACK, 0.0)
        .map_err(|e| e.to_string())?;
    // The loopback finds its latency in its first moments.
    thread::sleep(Duration::from_secs(1));
    let mut rows = Vec::new();
    for &kind in &plan.uas {
        eprintln!("peers: delay of {}", kind.name());
        let ua = UnderTest::start(kind, kam, lifetime, Mode::Probed)?;
        let (addr, transport) = ua.sip();
        let prober = Prober::bind()?;
        let port = prober.port().to_string();
        let hold = (plan.probe + Duration::from_secs(2))
            .as_millis()
            .to_string();
        let addr = addr.to_string();
        let sipp = testbed::Sipp::spawn(
            "probe_uac.xml",
            &[
                "-key",
                "probe_port",
                &port,
                "-d",
                &hold,
                "-s",
                super::ua::USER,
                "-t",
                transport,
                &addr,
            ],
            plan.probe + Duration::from_secs(30),
        )
        .map_err(|e| e.to_string())?;
        let delays = prober.run(Duration::from_secs(15), plan.probe, || {
            super::probe::answered_rtp(&sipp.messages())
        });
        let outcome = sipp.wait();
        match &delays {
            Err(e) => eprintln!(
                "peers: no delay for {}: {e}\n{outcome}\n{}",
                kind.name(),
                ua.log()
            ),
            Ok(d) if d.round_trips_ms.is_empty() => {
                eprintln!(
                    "peers: no click came back from {}:\n{}",
                    kind.name(),
                    ua.log()
                )
            }
            Ok(_) => {}
        }
        drop(ua);
        rows.push(DelayRow {
            ua: kind,
            loopback_ms: LOOPBACK.as_millis() as u64,
            delays,
        });
    }
    Ok(rows)
}

/// The private PulseAudio every user agent plays and records on, alive for the whole plan
/// (calls and probes), whichever part asks first.
fn shared_pulse(plan: &Plan) -> Result<&'static Pulse, String> {
    Pulse::shared_for(plan.duration() + Duration::from_secs(60))
        .map_err(|e| format!("private PulseAudio: {e}"))
}

/// Runs `plan` through `kam`; rows in the plan's order (codec-major).
pub fn run(plan: &Plan, kam: &Kamailio, workdir: &Path) -> Result<Vec<Row>, String> {
    let pulse = shared_pulse(plan)?;
    let source = workdir.join("clicks.wav");
    write_wav(&source, &click_train(plan.talk + SETTLE * 3), RATE).map_err(|e| e.to_string())?;
    let lifetime = plan.idle_settle + plan.idle + plan.talk + Duration::from_secs(60);
    let mut rows = Vec::new();
    for &codec in &plan.codecs {
        for &kind in &plan.uas {
            eprintln!("peers: {} with {}", kind.name(), codec.name());
            rows.push(one(kind, codec, plan, kam, pulse, &source, lifetime)?);
        }
    }
    Ok(rows)
}

fn one(
    kind: Kind,
    codec: Codec,
    plan: &Plan,
    kam: &Kamailio,
    pulse: &Pulse,
    source: &Path,
    lifetime: Duration,
) -> Result<Row, String> {
    let mut far = BaresipOptions::user(FAR_END, kam);
    far.audio = BaresipAudio::Echo;
    far.opus = codec == Codec::Opus;
    far.lifetime = lifetime;
    let far = Baresip::start(far).map_err(|e| e.to_string())?;
    far.wait_registered(Duration::from_secs(15))
        .map_err(|e| e.to_string())?;
    kam.wait_registered(FAR_END, Duration::from_secs(15))
        .map_err(|e| e.to_string())?;

    let mut ua = UnderTest::start(kind, kam, lifetime, Mode::Calling)?;
    let pid = ua.pid()?;
    thread::sleep(plan.idle_settle);
    let idle = measure(pid, plan.idle)?;

    let talk = pulse
        .start_play_into_mic(source)
        .map_err(|e| e.to_string())?;
    let setup = ua.call(FAR_END, kam)?;
    thread::sleep(SETTLE);
    let call = measure(pid, plan.talk)?;
    ua.hang_up()?;
    // baresip's trace may lag behind on a loaded machine: give it a few seconds.
    let mut negotiated = answered_codec(&far);
    for _ in 0..50 {
        if negotiated.is_some() {
            break;
        }
        thread::sleep(Duration::from_millis(100));
        negotiated = answered_codec(&far);
    }
    let negotiated = negotiated.unwrap_or_else(|| "?".into());
    drop(ua);
    far.stop();
    // The source stops with its player.
    drop(talk);
    Ok(Row {
        ua: kind,
        codec,
        negotiated,
        dial_to_connected_ms: setup.as_secs_f64() * 1000.0,
        idle,
        call,
    })
}

/// What `pid` uses over `span`.
fn measure(pid: u32, span: Duration) -> Result<Usage, String> {
    let start = procstat::sample(pid)?;
    thread::sleep(span);
    let end = procstat::sample(pid)?;
    Ok(procstat::usage(&start, &end))
}

/// The source everyone sends: a 1 kHz burst of 5 ms every 500 ms over a quiet 200 Hz hum,
/// at 48 kHz (the sinks' rate): something to encode all the time, with marked clicks.
fn click_train(length: Duration) -> Vec<i16> {
    let n = (length.as_secs_f64() * f64::from(RATE)) as usize;
    let rate = f64::from(RATE);
    (0..n)
        .map(|i| {
            let t = i as f64 / rate;
            let hum = 0.05 * (std::f64::consts::TAU * 200.0 * t).sin();
            let in_click = (i % (RATE as usize / 2)) < RATE as usize / 200;
            let click = if in_click {
                0.5 * (std::f64::consts::TAU * 1000.0 * t).sin()
            } else {
                0.0
            };
            ((hum + click) * 32767.0) as i16
        })
        .collect()
}

/// The encoding of the first payload type in the far end's answer (its 200 OK to the INVITE).
fn answered_codec(far: &Baresip) -> Option<String> {
    let answer = far
        .sip_messages()
        .into_iter()
        .find(|m| !m.received && m.text.starts_with("SIP/2.0 200") && m.text.contains("m=audio"))?;
    let m_line = answer.text.lines().find(|l| l.starts_with("m=audio"))?;
    let pt = m_line.split_whitespace().nth(3)?.trim();
    let rtpmap = format!("a=rtpmap:{pt} ");
    let named = answer
        .text
        .lines()
        .find_map(|l| l.trim().strip_prefix(rtpmap.as_str()))
        .and_then(|v| v.split('/').next())
        .map(str::to_owned);
    named.or_else(|| match pt {
        "0" => Some("PCMU".into()),
        "8" => Some("PCMA".into()),
        "9" => Some("G722".into()),
        _ => None,
    })
}
