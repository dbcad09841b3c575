//! The user agents under test, driven the same way: start registered as user 1001 on the
//! system's default audio devices (the private PulseAudio), dial the echoing far end, hang up.
//! Each keeps its own default settings otherwise.

use std::time::{Duration, Instant};

use testbed::{Baresip, BaresipAudio, BaresipOptions, Kamailio, Linphone, LinphoneOptions};

use super::procstat;
use crate::common::{Agent, AgentOptions};

/// How long one step (start, registration, answer, hang-up) may take.
const STEP: Duration = Duration::from_secs(15);

/// Which user agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Kind {
    #[serde(rename = "softphone")]
    Agent,
    #[serde(rename = "baresip")]
    Baresip,
    #[serde(rename = "linphonec")]
    Linphone,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Agent => "softphone",
            Kind::Baresip => "baresip",
            Kind::Linphone => "linphonec",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        [Kind::Agent, Kind::Baresip, Kind::Linphone]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

/// How a user agent under test is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// As a user runs it: it places the call.
    Calling,
    /// For the delay probe: it answers by itself, its echo canceller off (the probe's
    /// loopback is exactly the echo a canceller exists to remove).
    Probed,
    /// For SIPp load: it answers every call by itself, with no audio device (hundreds of
    /// calls at once), as QA runs it.
    Loaded,
}

/// A running user agent under test.
pub enum UnderTest {
    Agent(Box<Agent>),
    Baresip(Baresip),
    Linphone(Linphone),
}

/// The agent's audio on the system's default devices, and answering by itself.
const DEVICES: &str = "[audio]\ninput = \"device:default\"\noutput = \"device:default\"\n";
const ANSWERS: &str = "[calls]\nauto_answer = true\n";

/// The user every agent under test registers as.
pub const USER: &str = "1001";

impl UnderTest {
    /// Starts `kind` registered at `kam` (and waits until Kamailio holds its contact).
    /// `mode` says whether it answers calls by itself, for the delay probe.
    pub fn start(
        kind: Kind,
        kam: &Kamailio,
        lifetime: Duration,
        mode: Mode,
    ) -> Result<UnderTest, String> {
        let probed = mode == Mode::Probed;
        let loaded = mode == Mode::Loaded;
        let ua = match kind {
            Kind::Agent => {
                let extra = match mode {
                    Mode::Calling => DEVICES.to_owned(),
                    // Its default is off already; said here so the probe never depends on it.
                    Mode::Probed => format!("{DEVICES}echo_cancellation = false\n{ANSWERS}"),
                    Mode::Loaded => {
                        format!("[audio]\ninput = \"silence\"\noutput = \"null\"\n{ANSWERS}")
                    }
                };
                let mut o = AgentOptions::new(kam.addr(), USER, "secret1001").with_extra(&extra);
                // As shipped: info, no SIP trace.
                o.log_level = "info".into();
                o.sip_trace = false;
                let agent = Agent::start(o);
                agent.wait_registered(STEP);
                UnderTest::Agent(Box::new(agent))
            }
            Kind::Baresip => {
                let mut o = BaresipOptions::user(USER, kam);
                o.audio = if loaded {
                    BaresipAudio::Silence
                } else {
                    BaresipAudio::Devices
                };
                if loaded {
                    // Its default of 4 calls at once would refuse the load outright.
                    o.max_calls = 2000;
                }
                // No echo canceller module is loaded (baresip's default).
                o.auto_answer = probed || loaded;
                o.opus = true;
                o.g722 = true;
                o.lifetime = lifetime;
                let b = Baresip::start(o).map_err(|e| e.to_string())?;
                b.wait_registered(STEP).map_err(|e| e.to_string())?;
                UnderTest::Baresip(b)
            }
            Kind::Linphone => {
                let mut o = LinphoneOptions::user(USER, kam);
                o.auto_answer = probed || loaded;
                o.echo_cancellation = !probed;
                // Registered, it takes a GRUU from the testbed Kamailio and then refuses
                // the probe's direct call: probed, it stays unregistered.
                o.register = !probed;
                o.lifetime = lifetime;
                let l = Linphone::start(o).map_err(|e| e.to_string())?;
                if !probed {
                    l.wait_registered(STEP).map_err(|e| e.to_string())?;
                }
                UnderTest::Linphone(l)
            }
        };
        if !(probed && kind == Kind::Linphone) {
            kam.wait_registered(USER, STEP)
                .map_err(|e| format!("{}: {e}", kind.name()))?;
        }
        Ok(ua)
    }

    /// Its SIP address and the SIPp transport flag to reach it (`u1` UDP, `t1` TCP).
    pub fn sip(&self) -> (std::net::SocketAddr, &'static str) {
        match self {
            UnderTest::Agent(a) => (a.sip_addr(), "u1"),
            UnderTest::Baresip(b) => (b.sip_addr(), "u1"),
            UnderTest::Linphone(l) => (l.sip_addr(), "t1"),
        }
    }

    /// Its log (the agent's stderr, baresip's log, linphonec's console), to say why.
    pub fn log(&self) -> String {
        match self {
            UnderTest::Agent(a) => a.log(),
            UnderTest::Baresip(b) => b.log(),
            UnderTest::Linphone(l) => l.output(),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            UnderTest::Agent(_) => Kind::Agent,
            UnderTest::Baresip(_) => Kind::Baresip,
            UnderTest::Linphone(_) => Kind::Linphone,
        }
    }

    /// The program's own process (not the `timeout`/`env` wrappers around it).
    pub fn pid(&self) -> Result<u32, String> {
        let (needle, comm) = match self {
            UnderTest::Agent(a) => return Ok(a.pid()),
            UnderTest::Baresip(b) => (b.dir().display().to_string(), "baresip"),
            UnderTest::Linphone(l) => (
                l.dir().join("linphonerc").display().to_string(),
                "linphonec",
            ),
        };
        let candidates = testbed::loopback::pids_with_arg(&needle);
        procstat::with_comm(&candidates, comm)
            .ok_or_else(|| format!("no {comm} process among {candidates:?}"))
    }

    /// Dials `user` (the echoing far end) and waits until the call is connected; the time
    /// from the dial command to this agent reporting the call connected, as its user would
    /// see it (its bridge event, its ctrl event, its console line).
    pub fn call(&mut self, user: &str, kam: &Kamailio) -> Result<Duration, String> {
        let uri = testbed::baresip::user_uri(user, kam.addr());
        match self {
            UnderTest::Agent(a) => {
                let mut events = a.events("");
                let start = Instant::now();
                let id = a.dial(user);
                events.until(STEP, |e| {
                    e["event"] == "call"
                        && e["call"]["id"] == id.as_str()
                        && e["call"]["state"] == "connected"
                });
                Ok(start.elapsed())
            }
            UnderTest::Baresip(b) => {
                let start = Instant::now();
                b.dial(&uri).map_err(|e| e.to_string())?;
                b.wait_event("CALL_ESTABLISHED", STEP)
                    .map_err(|e| e.to_string())?;
                Ok(start.elapsed())
            }
            UnderTest::Linphone(l) => {
                let start = Instant::now();
                l.dial(&uri).map_err(|e| e.to_string())?;
                let marker = format!("with sip:{user}@");
                until(STEP, || {
                    l.output()
                        .lines()
                        .any(|line| line.contains(&marker) && line.contains("connected"))
                })
                .map_err(|_| {
                    format!(
                        "linphonec never printed the call connected:\n{}",
                        l.output()
                    )
                })?;
                Ok(start.elapsed())
            }
        }
    }

    /// Hangs up the call and waits until it is over.
    pub fn hang_up(&mut self) -> Result<(), String> {
        match self {
            UnderTest::Agent(a) => {
                let call = a.wait_any_call("connected", STEP);
                let id = call["id"].as_str().unwrap_or_default().to_owned();
                a.call_command(&id, "hangup", "{}");
                a.wait_call_state(&id, "ended", STEP);
                Ok(())
            }
            UnderTest::Baresip(b) => {
                b.hangup().map_err(|e| e.to_string())?;
                b.wait_event("CALL_CLOSED", STEP)
                    .map_err(|e| e.to_string())?;
                Ok(())
            }
            UnderTest::Linphone(l) => {
                l.hangup().map_err(|e| e.to_string())?;
                until(STEP, || {
                    l.output().lines().any(|line| line.contains("ended"))
                })
                .map_err(|_| "linphonec never printed the call ended".to_owned())
            }
        }
    }
}

/// Polls `done` every 20 ms until it holds, for at most `limit`.
fn until(limit: Duration, done: impl Fn() -> bool) -> Result<(), testbed::TimedOut> {
    testbed::wait_until("a condition", limit, Duration::from_millis(20), || {
        Ok::<_, testbed::TimedOut>(done().then_some(()))
    })
}
