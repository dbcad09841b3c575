//! One measured call: the fixed sender (baresip playing the reference speech from a WAV,
//! `aufile`) calls the receiver under test directly, the impairment on for the call's
//! media, and what the receiver plays is recorded, in one of two ways ([`Capture`]):
//!
//! - `Devices` (the table's): both receivers play to the system's default output, as a
//!   user runs them, which is the private PulseAudio's null sink `speaker`, and `parec`
//!   records its monitor. This agent: `[audio] output = "device:default"`, its play clock
//!   pulling a frame per 20 ms from its jitter buffer into the shared playout device;
//!   baresip: its `alsa` module on ALSA `default` (the same PulseAudio), with its own jitter
//!   buffer and playout buffer (its defaults). Both pass through the same sound server.
//! - `Files`: each receiver writes a file itself. This agent: `file16k:` (wideband codecs)
//!   or `file:` (PCMU), written by its play clock, i.e. what its speaker would get; baresip:
//!   `sndfile`, which writes what its decoder hands on as it decodes, *before* its playout
//!   buffer: a late frame, an underrun, a delay change of its player are not in it, so the
//!   two files are not alike under jitter (kept as a cross-check).
//!
//! Either way both answer by themselves with only the codec under test (baresip: only that
//! codec's module besides g711; the agent: `[media] codecs`), baresip with its `plc` module
//! (concealment for G.711 and G.722; Opus conceals itself) unless told otherwise, and the
//! recording is resampled by sox to the reference's rate before it is scored.

use std::path::{Path, PathBuf};
use std::time::Duration;

use testbed::{Baresip, BaresipAudio, BaresipOptions, Kamailio};

use super::netns::{self, Condition, Impairment};
use super::speech::{self, Speech};
use crate::common::{Agent, AgentOptions};

/// How long one step (a start, an answer, a hang-up) may take on a loaded machine.
const STEP: Duration = Duration::from_secs(20);
/// Listened to after the speech's length, for what a jitter buffer still holds.
const TAIL: Duration = Duration::from_millis(2500);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Codec {
    Opus,
    G722,
    Pcmu,
}

impl Codec {
    pub const ALL: [Codec; 3] = [Codec::Opus, Codec::G722, Codec::Pcmu];

    pub fn name(self) -> &'static str {
        match self {
            Codec::Opus => "opus",
            Codec::G722 => "g722",
            Codec::Pcmu => "pcmu",
        }
    }

    pub fn from_name(name: &str) -> Option<Codec> {
        Codec::ALL.into_iter().find(|c| c.name() == name)
    }

    /// As the table says it.
    pub fn label(self) -> &'static str {
        match self {
            Codec::Opus => "Opus",
            Codec::G722 => "G.722",
            Codec::Pcmu => "PCMU",
        }
    }

    /// The reference's rate: PESQ wideband (16 kHz) or narrowband (8 kHz).
    pub fn rate(self) -> u32 {
        match self {
            Codec::Opus | Codec::G722 => 16_000,
            Codec::Pcmu => 8_000,
        }
    }

    /// How baresip's log names the encoder (`audio: Set audio encoder: opus 48000Hz 2ch`).
    fn baresip_name(self) -> &'static str {
        match self {
            Codec::Opus => "opus",
            Codec::G722 => "G722",
            Codec::Pcmu => "PCMU",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Receiver {
    #[serde(rename = "softphone")]
    Agent,
    #[serde(rename = "baresip")]
    Baresip,
}

impl Receiver {
    pub fn name(self) -> &'static str {
        match self {
            Receiver::Agent => "softphone",
            Receiver::Baresip => "baresip",
        }
    }

    pub fn from_name(name: &str) -> Option<Receiver> {
        [Receiver::Agent, Receiver::Baresip]
            .into_iter()
            .find(|r| r.name() == name)
    }
}

/// What one call gave: the recording at the reference's rate, and the encoder the sender's
/// log names.
pub struct Received {
    pub wav: PathBuf,
    pub encoder: String,
    /// What the impairer counted (JSON: seen, dropped, delayed), empty when clean.
    pub impaired: String,
    /// The agent's own figures of the call just before it ended (its status document's
    /// `quality`: lost, late, concealed, playout delay); none for baresip.
    pub quality: Option<serde_json::Value>,
}

/// A receiver under test, started and answering by itself.
enum UnderTest {
    Agent(Box<Agent>, PathBuf),
    Baresip(Box<Baresip>),
}

impl UnderTest {
    fn start(
        receiver: Receiver,
        codec: Codec,
        bench: &Bench,
        dir: &Path,
    ) -> Result<UnderTest, String> {
        let kam = bench.kam;
        let devices = bench.capture == Capture::Devices;
        match receiver {
            Receiver::Agent => {
                let out = dir.join("agent.wav");
                let form = if codec.rate() == 16_000 {
                    "file16k"
                } else {
                    "file"
                };
                let output = if devices {
                    "device:default".to_owned()
                } else {
                    format!("{form}:{}", out.display())
                };
                let extra = format!(
                    "[calls]\nauto_answer = true\n\n[audio]\ninput = \"silence\"\noutput = \
                     \"{output}\"\n\n[media]\ncodecs = [\"{}\"]\n",
                    codec.name()
                );
                let mut o = AgentOptions::new(kam.addr(), "1001", "secret1001").with_extra(&extra);
                o.log_level = "info".into();
                o.sip_trace = false;
                let agent = Agent::start(o);
                agent.wait_registered(STEP);
                Ok(UnderTest::Agent(Box::new(agent), out))
            }
            Receiver::Baresip => {
                let mut o = BaresipOptions::user("1001", kam);
                o.register = false;
                o.auto_answer = true;
                if devices {
                    // Its source is the default input too: the silent `mic` sink's monitor.
                    o.audio = BaresipAudio::Devices;
                } else {
                    o.audio = BaresipAudio::Silence;
                    o.record = Some(dir.join("baresip-rec"));
                    o.own_playout = true;
                }
                o.opus = codec == Codec::Opus;
                o.g722 = codec == Codec::G722;
                o.plc = bench.baresip_plc;
                o.lifetime = Duration::from_secs(120);
                Baresip::start(o)
                    .map(|b| UnderTest::Baresip(Box::new(b)))
                    .map_err(|e| e.to_string())
            }
        }
    }

    fn uri(&self) -> String {
        let addr = match self {
            UnderTest::Agent(a, _) => a.sip_addr(),
            UnderTest::Baresip(b) => b.sip_addr(),
        };
        format!("sip:1001@{addr}")
    }

    /// After the call: the recording, complete.
    fn recording(&mut self) -> Result<PathBuf, String> {
        match self {
            UnderTest::Agent(agent, out) => {
                crate::common::complete_wav(out, STEP, || agent.log());
                Ok(out.clone())
            }
            UnderTest::Baresip(b) => {
                let found = testbed::wait_until(
                    "baresip's recording",
                    STEP,
                    Duration::from_millis(100),
                    || {
                        Ok::<_, testbed::TimedOut>(b.recordings().into_iter().next().filter(|r| {
                            testbed::audio::read_wav(&r.received)
                                .is_ok_and(|w| !w.samples.is_empty())
                        }))
                    },
                );
                found
                    .map(|r| r.received)
                    .map_err(|e| format!("{e}\n{}", b.log()))
            }
        }
    }

    fn log(&self) -> String {
        match self {
            UnderTest::Agent(a, _) => a.log(),
            UnderTest::Baresip(b) => b.log(),
        }
    }
}

/// Where what the receiver plays is recorded (see the module's doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Capture {
    Devices,
    Files,
}

impl Capture {
    pub fn from_name(name: &str) -> Option<Capture> {
        match name {
            "devices" => Some(Capture::Devices),
            "files" => Some(Capture::Files),
            _ => None,
        }
    }
}

/// What every call of a run shares.
pub struct Bench<'a> {
    pub capture: Capture,
    /// The sound server both receivers play to (with [`Capture::Devices`]).
    pub pulse: Option<&'a testbed::pulse::Pulse>,
    pub speech: &'a Speech,
    /// The agent's registrar (calls go directly from the sender to the receiver).
    pub kam: &'a Kamailio,
    /// Load baresip's `plc` module in baresip as a receiver.
    pub baresip_plc: bool,
}

/// One call of the speech from the sender to `receiver` with `codec` under `cond`; the files
/// of the call go into `dir`.
pub fn one(
    bench: &Bench,
    receiver: Receiver,
    codec: Codec,
    cond: Condition,
    seed: &str,
    impairment: &mut Impairment,
    dir: &Path,
) -> Result<Received, String> {
    let (speech, kam) = (bench.speech, bench.kam);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    impairment.clear();
    let mut under_test = UnderTest::start(receiver, codec, bench, dir)?;
    let mut o = BaresipOptions::user("1002", kam);
    o.register = false;
    o.audio = BaresipAudio::File(speech.at(codec.rate()).to_path_buf());
    o.opus = codec == Codec::Opus;
    o.g722 = codec == Codec::G722;
    o.lifetime = Duration::from_secs(120);
    let sender = Baresip::start(o).map_err(|e| e.to_string())?;
    impairment.apply(cond, seed, netns::baresip_rtp_ports(sender.dir())?, dir)?;
    let mut recorder = match (bench.capture, bench.pulse) {
        (Capture::Devices, Some(pulse)) => {
            let mut r = pulse.start_record_speaker().map_err(|e| e.to_string())?;
            r.wait_recording(STEP).map_err(|e| e.to_string())?;
            Some(r)
        }
        (Capture::Devices, None) => return Err("no sound server to record".into()),
        (Capture::Files, _) => None,
    };
    sender.dial(&under_test.uri()).map_err(|e| e.to_string())?;
    sender
        .wait_event("CALL_ESTABLISHED", STEP)
        .map_err(|e| format!("{e}\n--- receiver ---\n{}", under_test.log()))?;
    std::thread::sleep(speech.duration + TAIL);
    let quality = match &under_test {
        UnderTest::Agent(agent, _) => Some(agent.status()["calls"][0]["quality"].clone()),
        UnderTest::Baresip(_) => None,
    };
    sender.hangup().map_err(|e| e.to_string())?;
    sender
        .wait_event("CALL_CLOSED", STEP)
        .map_err(|e| e.to_string())?;
    let stats = impairment.clear().unwrap_or_default();
    let recorded = match recorder.take() {
        Some(r) => {
            let span = r.started.elapsed();
            let samples = r.finish(span).map_err(|e| e.to_string())?;
            let path = dir.join("speaker.wav");
            testbed::pulse::write_wav(&path, &samples, testbed::pulse::RATE)
                .map_err(|e| e.to_string())?;
            path
        }
        None => under_test.recording()?,
    };
    let log = sender.log();
    let encoder = log
        .lines()
        .find_map(|l| l.split("Set audio encoder: ").nth(1))
        .unwrap_or("")
        .trim()
        .to_owned();
    if !encoder.starts_with(codec.baresip_name()) {
        return Err(format!(
            "the sender encoded {encoder:?}, not {}",
            codec.baresip_name()
        ));
    }
    drop(sender);
    if let UnderTest::Agent(agent, _) = &mut under_test {
        agent.terminate();
    }
    // Kept with the recording (PESQ_KEEP): the receiver's own account of the call.
    std::fs::write(dir.join("receiver.log"), under_test.log()).ok();
    drop(under_test);
    std::fs::write(dir.join("impairment.json"), &stats).ok();
    let wav = dir.join("received.wav");
    speech::convert(&recorded, codec.rate(), &wav)?;
    Ok(Received {
        wav,
        encoder,
        impaired: stats,
        quality,
    })
}
