//! baresip 1.0 as a scripted far end: registers with a Kamailio, dials, answers, echoes or
//! plays a tone, records what it hears, and reports call events.
//!
//! Each instance gets a scratch directory holding the `config` and `accounts` this module
//! renders (no template files: the project carries everything in this file), its log
//! (`baresip.log`: stdout+stderr with the SIP trace of `-s`), free ports on 127.0.0.1 for SIP,
//! RTP and `ctrl_tcp`, and runs under `timeout` with the [`loopback`](crate::loopback) shim.
//! Modules loaded: `g711 aubridge ausine aufile sndfile account menu ctrl_tcp`, plus `opus`,
//! `g722`, `srtp` (SDES media encryption, [`BaresipOptions::mediaenc`]) and `alsa` (the default
//! devices, [`BaresipAudio::Devices`]) when asked (never `httpd` or `cons`: they bind 0.0.0.0).
//! Control goes through `ctrl_tcp` ([`baresip_ctrl`](crate::baresip_ctrl)).

use std::ffi::OsString;
use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use tempfile::TempDir;

use crate::baresip_ctrl::{BaresipEvent, Ctrl};
use crate::loopback::{self, BoundSocket};
use crate::paths::scratch_dir;
use crate::port::{on_fresh_ports, Attempt};
use crate::process::{print_log_tail, Guarded};
use crate::tools::tool;
use crate::{free_port, wait_until, TestbedError};

/// What baresip sends into a call.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum BaresipAudio {
    /// Sends back what it receives (`aubridge` player → source, 8 kHz mono).
    #[default]
    Echo,
    /// A sine tone at `freq` Hz (`ausine`, which runs at 48 kHz stereo only).
    Tone { freq: u32 },
    /// Digital silence from a generated WAV (`aufile`, 8 kHz mono, 120 s at most: aufile
    /// stops sending at the end of the file).
    Silence,
    /// A WAV file of the caller's (`aufile`: mono 16-bit at its own rate, which becomes
    /// `ausrc_srate`, e.g. 8 kHz for G.711 and 16 kHz for wideband; sending stops at its end).
    File(PathBuf),
    /// The system's default devices, as a user runs it: the `alsa` module on ALSA `default`
    /// (the private PulseAudio's `speaker` and `mic.monitor` under `testbed::pulse`'s
    /// environment), at the codec's own rate.
    Devices,
}

/// How to start a [`Baresip`]. `BaresipOptions::new("1002", "secret1002", kam.addr())` or
/// `BaresipOptions::user("1002", &kam)`, then adjust the public fields.
#[derive(Debug, Clone)]
pub struct BaresipOptions {
    pub user: String,
    pub password: String,
    /// The Kamailio (or other registrar) on 127.0.0.1; also the outgoing proxy's domain.
    pub registrar: SocketAddr,
    /// Send REGISTER (default). `false`: only direct calls to [`Baresip::sip_addr`].
    pub register: bool,
    /// `answermode=auto`: incoming calls are answered at once (default `true`).
    pub auto_answer: bool,
    pub audio: BaresipAudio,
    /// A directory where `sndfile` writes one pair of WAVs per call (see
    /// [`Baresip::recordings`]); created if missing. `None`: nothing recorded.
    pub record: Option<PathBuf>,
    /// Hard upper bound of its life (default 60 s).
    pub lifetime: Duration,
    /// Load the opus module ahead of g711, so baresip offers Opus first and accepts it
    /// (default `false`: G.711 only). Module order is what sets baresip's codec order: 1.0
    /// ignores the account's `audio_codecs`.
    pub opus: bool,
    /// Load the g722 module ahead of g711 (after opus when both): baresip then offers and
    /// accepts G.722 (default `false`).
    pub g722: bool,
    /// Media encryption of the account (`;mediaenc=`), with the `srtp` module loaded:
    /// `"srtp"` (best effort: RTP/AVP with a=crypto), `"srtp-mand"` (RTP/SAVP only) or
    /// `"srtp-mandf"` (RTP/SAVPF). `None` (default): clear RTP, a=crypto ignored.
    pub mediaenc: Option<String>,
    /// SIP over TLS to `registrar` (set it to the TLS listener, `Kamailio::tls_addr`),
    /// trusting this CA file (`sip_cafile`). `None` (default): UDP. baresip serves no TLS
    /// itself (no certificate): the testbed Kamailio reaches it over the connection it
    /// opened (`fix_nated_register`, `set_contact_alias`). Dial through the TLS listener
    /// too (`sip:USER@TLS_ADDR`): baresip puts `;transport=tls` on what it dials.
    pub tls_ca: Option<PathBuf>,
    /// `call_max_calls`: calls at once (default 4, baresip's own); its RTP port range grows
    /// with it.
    pub max_calls: u32,
    /// Keep baresip's own receive side (default `false`): its default `jitter_buffer_delay`
    /// (5-10 frames in 1.0) and the codec's rate for the player, instead of the scripted far
    /// end's 1-10 frames and 8 kHz. For baresip as a receiver under test.
    pub own_playout: bool,
    /// Load the `plc` module (spandsp packet loss concealment, an audio filter for codecs
    /// without a concealment of their own: G.711, G.722), after `sndfile`, so that a
    /// recording holds the concealed audio (default `false`, as baresip ships).
    pub plc: bool,
}

impl BaresipOptions {
    pub fn new(user: &str, password: &str, registrar: SocketAddr) -> BaresipOptions {
        BaresipOptions {
            user: user.to_string(),
            password: password.to_string(),
            registrar,
            register: true,
            auto_answer: true,
            audio: BaresipAudio::Echo,
            record: None,
            lifetime: Duration::from_secs(60),
            opus: false,
            g722: false,
            mediaenc: None,
            tls_ca: None,
            max_calls: 4,
            own_playout: false,
            plc: false,
        }
    }

    /// One of the test users of [`crate::USERS`] (password looked up), registering at `kam`.
    /// An unknown user gets an empty password (its registration then fails).
    pub fn user(user: &str, kam: &crate::Kamailio) -> BaresipOptions {
        let password = crate::kamailio::password_of(user).unwrap_or("");
        Self::new(user, password, kam.addr())
    }
}

/// The URI that reaches `user` through the registrar, e.g. `sip:1002@127.0.0.1:5070`
/// (the testbed's Kamailio routes it to the registered contact).
pub fn user_uri(user: &str, registrar: SocketAddr) -> String {
    format!("sip:{user}@{registrar}")
}

/// The two WAVs `sndfile` wrote for one call (16-bit PCM, 8 kHz mono with G.711). Complete
/// (right header) only once the call has closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// What baresip received and decoded (`dump-TIMESTAMP-dec.wav`).
    pub received: PathBuf,
    /// What baresip encoded and sent (`dump-TIMESTAMP-enc.wav`).
    pub sent: PathBuf,
}

/// One SIP message from baresip's trace (`-s`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedMessage {
    pub from: String,
    pub to: String,
    /// baresip received it (its destination is baresip's SIP address).
    pub received: bool,
    /// Start line, headers, body.
    pub text: String,
}

/// How long a start may take (it is ready in ~0.2 s here).
const READY_WITHIN: Duration = Duration::from_secs(10);
/// How long a ctrl_tcp command may take.
const COMMAND_WITHIN: Duration = Duration::from_secs(5);

/// A running baresip; stopped on drop (SIGTERM: it unregisters first).
pub struct Baresip {
    // Field order: the ctrl connection closes before the process is stopped.
    ctrl: Ctrl,
    process: Option<Guarded>,
    dir: TempDir,
    sip_port: u16,
    ctrl_port: u16,
    opts: BaresipOptions,
}

impl Baresip {
    /// Renders the config, starts baresip and waits until `ctrl_tcp` answers. Does not wait
    /// for the registration: see [`wait_registered`](Self::wait_registered).
    pub fn start(opts: BaresipOptions) -> Result<Baresip, TestbedError> {
        tool("baresip")?;
        let dir = scratch_dir("baresip-")?;
        if let Some(rec) = &opts.record {
            fs::create_dir_all(rec)
                .map_err(|e| TestbedError::io(format!("create {}", rec.display()), e))?;
        }
        if opts.audio == BaresipAudio::Silence {
            write_silence(&dir.path().join("silence.wav"), opts.lifetime)?;
        }
        let (process, ctrl, sip_port, ctrl_port) =
            on_fresh_ports("baresip", |_| match launch(&dir, &opts) {
                Err(TestbedError::ExitedEarly { what, status, log }) if log.contains("in use") => {
                    Attempt::PortTaken(Err(TestbedError::ExitedEarly { what, status, log }))
                }
                result => Attempt::Done(result),
            })?;
        Ok(Baresip {
            ctrl,
            process: Some(process),
            dir,
            sip_port,
            ctrl_port,
            opts,
        })
    }

    /// Its SIP address (UDP and TCP), `127.0.0.1:PORT`.
    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.sip_port))
    }

    /// Its `ctrl_tcp` address.
    pub fn ctrl_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.ctrl_port))
    }

    /// Its address of record, `sip:USER@REGISTRAR`: the URI others dial to reach it.
    pub fn aor(&self) -> String {
        user_uri(&self.opts.user, self.opts.registrar)
    }

    pub fn options(&self) -> &BaresipOptions {
        &self.opts
    }

    /// The scratch directory: `config`, `accounts`, `baresip.log`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Its stdout and stderr so far, SIP trace included.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("baresip.log")).unwrap_or_default()
    }

    /// Waits for `REGISTER_OK` (event, or the "200 OK ... binding" log line); fails at once on
    /// `REGISTER_FAIL`.
    pub fn wait_registered(&self, timeout: Duration) -> Result<(), TestbedError> {
        self.poll("its registration (REGISTER_OK)", timeout, || {
            let history = self.ctrl.history();
            if history.iter().any(|e| e.kind == "REGISTER_OK")
                || self
                    .log()
                    .lines()
                    .any(|l| l.contains("} 200 OK") && l.contains("binding"))
            {
                return Ok(Some(()));
            }
            // The event, or its log line "reg: sip:1002@...: 401 Unauthorized (...)" (the
            // failure may come before the ctrl_tcp connection).
            let failure = history
                .iter()
                .find(|e| e.kind == "REGISTER_FAIL")
                .map(|e| e.param.clone())
                .or_else(|| {
                    let log = self.log();
                    let line = log.lines().find_map(|l| l.split_once("reg: sip:"))?.1;
                    Some(
                        line.split_once(": ")
                            .map_or(line, |(_, why)| why)
                            .to_string(),
                    )
                });
            match failure {
                Some(why) => Err(TestbedError::Command {
                    command: format!("baresip REGISTER of {}", self.aor()),
                    status: format!("REGISTER_FAIL: {why}"),
                    output: self.log(),
                }),
                None => Ok(None),
            }
        })
    }

    /// Calls `uri` (e.g. [`user_uri`]`("1002", kam.addr())` or `sip:x@127.0.0.1:PORT`).
    pub fn dial(&self, uri: &str) -> Result<(), TestbedError> {
        self.command("dial", uri).map(|_| ())
    }

    /// Answers the ringing call (with `auto_answer: false`).
    pub fn accept(&self) -> Result<(), TestbedError> {
        self.command("accept", "").map(|_| ())
    }

    /// Hangs up the current call.
    pub fn hangup(&self) -> Result<(), TestbedError> {
        self.command("hangup", "").map(|_| ())
    }

    /// Puts the current call on hold (re-INVITE with `a=sendonly`).
    pub fn hold(&self) -> Result<(), TestbedError> {
        self.command("hold", "").map(|_| ())
    }

    /// Takes the current call off hold.
    pub fn resume(&self) -> Result<(), TestbedError> {
        self.command("resume", "").map(|_| ())
    }

    /// Sends DTMF digits (`0-9*#A-D`) on the current call (RTP events, RFC 4733).
    pub fn send_dtmf(&self, digits: &str) -> Result<(), TestbedError> {
        self.command("sndcode", digits).map(|_| ())
    }

    /// Any `ctrl_tcp` command (`listcalls`, `reginfo`, ...); returns its `data` text.
    pub fn command(&self, command: &str, params: &str) -> Result<String, TestbedError> {
        self.ctrl
            .command(command, params, COMMAND_WITHIN)
            .map_err(|why| TestbedError::Command {
                command: format!("baresip ctrl_tcp {command} {params}"),
                status: why,
                output: self.log(),
            })
    }

    /// Waits for the next event of type `kind` (`CALL_INCOMING`, `CALL_ESTABLISHED`,
    /// `CALL_CLOSED`, ...) not returned before, and consumes it: two waits for `CALL_CLOSED`
    /// need two calls to close. Events that arrived before this call count.
    pub fn wait_event(&self, kind: &str, timeout: Duration) -> Result<BaresipEvent, TestbedError> {
        self.ctrl
            .wait_event(|e| e.kind == kind, timeout)
            .ok_or_else(|| self.timeout(&format!("event {kind}"), timeout))
    }

    /// Every event received so far, in order.
    pub fn events(&self) -> Vec<BaresipEvent> {
        self.ctrl.history()
    }

    /// Waits until a log line contains `pattern`; returns that line.
    pub fn wait_log(&self, pattern: &str, timeout: Duration) -> Result<String, TestbedError> {
        self.poll(
            &format!("a log line containing {pattern:?}"),
            timeout,
            || {
                Ok(self
                    .log()
                    .lines()
                    .find(|l| l.contains(pattern))
                    .map(str::to_string))
            },
        )
    }

    /// The SIP messages baresip sent and received so far (from its `-s` trace).
    pub fn sip_messages(&self) -> Vec<TracedMessage> {
        parse_trace(&self.log(), self.sip_addr(), self.opts.registrar)
    }

    /// Waits until baresip has received a SIP message containing `pattern`, e.g.
    /// `wait_received("a=sendonly", ..)` after the other side put the call on hold; returns
    /// the whole message.
    pub fn wait_received(&self, pattern: &str, timeout: Duration) -> Result<String, TestbedError> {
        self.poll(
            &format!("a received SIP message containing {pattern:?}"),
            timeout,
            || {
                Ok(self
                    .sip_messages()
                    .into_iter()
                    .find(|m| m.received && m.text.contains(pattern))
                    .map(|m| m.text))
            },
        )
    }

    /// The calls recorded so far in [`BaresipOptions::record`], oldest first.
    pub fn recordings(&self) -> Vec<Recording> {
        self.opts
            .record
            .as_deref()
            .map(recordings_in)
            .unwrap_or_default()
    }

    /// The sockets baresip holds now (all on loopback thanks to the shim).
    pub fn sockets(&self) -> Vec<BoundSocket> {
        let dir = self.dir.path().to_string_lossy().into_owned();
        loopback::pids_with_arg(&dir)
            .into_iter()
            .flat_map(loopback::sockets_of)
            .collect()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.process
            .as_mut()
            .is_some_and(|p| p.try_wait().is_none())
    }

    /// SIGTERM and wait for it to exit (it unregisters first; SIGKILL after 12 s).
    /// Returns baresip's log, which then holds its shutdown (the un-REGISTER).
    pub fn stop(mut self) -> String {
        self.shutdown();
        self.log()
    }

    fn shutdown(&mut self) {
        if let Some(mut p) = self.process.take() {
            // baresip unregisters on the first SIGTERM and quits at once on a second one, so
            // the first phase (a quarter of the grace) must outlast a challenged un-REGISTER
            // on a loaded machine.
            p.terminate(Duration::from_secs(12));
        }
    }

    fn poll<T>(
        &self,
        what: &str,
        timeout: Duration,
        found: impl FnMut() -> Result<Option<T>, TestbedError>,
    ) -> Result<T, TestbedError> {
        wait_until(what, timeout, Duration::from_millis(50), found).map_err(|e| match e {
            TestbedError::Timeout { .. } => self.timeout(what, timeout),
            e => e,
        })
    }

    fn timeout(&self, what: &str, waited: Duration) -> TestbedError {
        let events: Vec<String> = self
            .ctrl
            .history()
            .iter()
            .filter(|e| e.kind != "CALL_RTCP")
            .map(|e| format!("{} {} {}", e.kind, e.peer_uri, e.param))
            .collect();
        TestbedError::Timeout {
            what: format!(
                "{what} from baresip {} ({})",
                self.opts.user,
                self.sip_addr()
            ),
            waited,
            detail: format!(
                "--- events ---\n{}\n--- log ---\n{}",
                events.join("\n"),
                self.log()
            ),
        }
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        self.shutdown();
        if thread::panicking() {
            let name = format!("baresip {} ({}) log", self.opts.user, self.sip_addr());
            print_log_tail(&name, &self.log(), 60);
        }
    }
}

/// Starts one process on fresh ports and connects to its ctrl_tcp.
fn launch(dir: &TempDir, opts: &BaresipOptions) -> Result<(Guarded, Ctrl, u16, u16), TestbedError> {
    let d = dir.path();
    let sip_port = free_port()?;
    let ctrl_port = free_port()?;
    let rtp = free_port()? & !1;
    let span = 40.max(opts.max_calls.saturating_mul(4)).min(20_000) as u16;
    let rtp = (rtp.min(65_000 - span), rtp.min(65_000 - span) + span);
    let config = render_config(opts, d, sip_port, ctrl_port, rtp);
    write(&d.join("config"), &config)?;
    write(&d.join("accounts"), &render_account(opts))?;
    let log_path = d.join("baresip.log");
    let log = File::create(&log_path).map_err(|e| TestbedError::io("create baresip.log", e))?;
    let shim = loopback::shim()?;
    let args: Vec<OsString> = vec![
        format!("LD_PRELOAD={}", shim.display()).into(),
        tool("baresip")?.into(),
        "-f".into(),
        d.as_os_str().to_owned(),
        // SIP trace into the log (TracedMessage, wait_received).
        "-s".into(),
    ];
    let mut process = Guarded::spawn_logging(&tool("env")?, &args, opts.lifetime, d, log)?;
    let ctrl_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, ctrl_port));
    let log = || fs::read_to_string(&log_path).unwrap_or_default();
    let ctrl = process.wait_ready(
        &format!("baresip {} on 127.0.0.1:{sip_port}", opts.user),
        READY_WITHIN,
        Duration::from_millis(20),
        log,
        || match log().contains("baresip is ready") {
            true => Ctrl::connect(ctrl_addr).ok(),
            false => None,
        },
    )?;
    Ok((process, ctrl, sip_port, ctrl_port))
}

fn write(path: &Path, text: &str) -> Result<(), TestbedError> {
    fs::write(path, text).map_err(|e| TestbedError::io(format!("write {}", path.display()), e))
}

/// The `config` file. Every address in it is 127.0.0.1.
pub(crate) fn render_config(
    opts: &BaresipOptions,
    dir: &Path,
    sip_port: u16,
    ctrl_port: u16,
    rtp: (u16, u16),
) -> String {
    // (source, player, the source's rate and channels: None leaves them to the codec)
    let (source, player, ausrc) = match &opts.audio {
        BaresipAudio::Echo => (
            "aubridge,echo".to_string(),
            "aubridge,echo",
            Some((8000, 1)),
        ),
        BaresipAudio::Tone { freq } => {
            (format!("ausine,{freq}"), "aubridge,sink", Some((48000, 2)))
        }
        BaresipAudio::Silence => (
            format!("aufile,{}", dir.join("silence.wav").display()),
            "aubridge,sink",
            Some((8000, 1)),
        ),
        BaresipAudio::File(wav) => (
            format!("aufile,{}", wav.display()),
            "aubridge,sink",
            Some((wav_rate(wav).unwrap_or(8000), 1)),
        ),
        BaresipAudio::Devices => ("alsa,default".to_string(), "alsa,default", None),
    };
    let mut modules = vec!["g711", "aubridge", "ausine", "aufile"];
    if opts.audio == BaresipAudio::Devices {
        modules.push("alsa");
    }
    if opts.g722 {
        modules.insert(0, "g722");
    }
    if opts.opus {
        modules.insert(0, "opus");
    }
    if opts.record.is_some() {
        modules.push("sndfile");
    }
    if opts.plc {
        // Audio filters decode in the reverse of their load order: plc conceals before
        // sndfile records.
        modules.push("plc");
    }
    if opts.mediaenc.is_some() {
        modules.push("srtp");
    }
    let mut c = format!(
        "# rendered by testbed::baresip; loopback only\n\
         poll_method epoll\n\
         sip_listen 127.0.0.1:{sip_port}\n\
         net_interface 127.0.0.1\n\
         dns_server 127.0.0.1:53\n\
         call_local_timeout 120\n\
         call_max_calls {max_calls}\n\
         audio_player {player}\n\
         audio_source {source}\n\
         audio_alert aubridge,alert\n\
         rtp_ports {}-{}\n\
         rtcp_mux no\n\
         module_path /usr/lib/baresip/modules\n",
        rtp.0,
        rtp.1,
        max_calls = opts.max_calls
    );
    // A scripted far end: fixed rates and a short jitter buffer. On devices baresip keeps
    // its defaults, as a user runs it.
    if let Some((rate, channels)) = ausrc {
        c.push_str(&format!("ausrc_srate {rate}\nausrc_channels {channels}\n"));
        if !opts.own_playout {
            c.push_str("auplay_srate 8000\nauplay_channels 1\njitter_buffer_delay 1-10\n");
        }
    }
    for m in modules {
        c.push_str(&format!("module {m}.so\n"));
    }
    for m in ["account", "menu", "ctrl_tcp"] {
        c.push_str(&format!("module_app {m}.so\n"));
    }
    c.push_str(&format!("ctrl_tcp_listen 127.0.0.1:{ctrl_port}\n"));
    if let Some(rec) = &opts.record {
        c.push_str(&format!("snd_path {}\n", rec.display()));
    }
    if let Some(ca) = &opts.tls_ca {
        c.push_str(&format!("sip_cafile {}\n", ca.display()));
    }
    c
}

/// The `accounts` file: one account, digest password, answer mode, registration interval.
pub(crate) fn render_account(opts: &BaresipOptions) -> String {
    let mut line = format!(
        "<sip:{}@{};transport={}>;auth_pass={};regint={};answermode={}",
        opts.user,
        opts.registrar,
        if opts.tls_ca.is_some() { "tls" } else { "udp" },
        opts.password,
        if opts.register { 60 } else { 0 },
        if opts.auto_answer { "auto" } else { "manual" }
    );
    if let Some(enc) = &opts.mediaenc {
        line.push_str(&format!(";mediaenc={enc}"));
    }
    line.push('\n');
    line
}

/// Pairs of `dump-*-dec.wav` / `dump-*-enc.wav` in `dir`, oldest first.
pub fn recordings_in(dir: &Path) -> Vec<Recording> {
    let mut received: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("dump-") && n.ends_with("-dec.wav"))
                })
                .collect()
        })
        .unwrap_or_default();
    received.sort();
    received
        .into_iter()
        .map(|r| {
            let sent = PathBuf::from(r.to_string_lossy().replace("-dec.wav", "-enc.wav"));
            Recording { received: r, sent }
        })
        .collect()
}

/// Splits baresip's `-s` trace out of its log: each message is
/// `ESC[36;1m#\nPROTO SRC -> DST\nMESSAGE ESC[;m`.
/// baresip received a message sent to its SIP address, or sent by the registrar (over TLS
/// it reaches baresip on the connection baresip opened, from an ephemeral port).
pub(crate) fn parse_trace(log: &str, me: SocketAddr, registrar: SocketAddr) -> Vec<TracedMessage> {
    let (me, registrar) = (me.to_string(), registrar.to_string());
    log.split("\x1b[36;1m#\n")
        .skip(1)
        .filter_map(|block| {
            let block = block.split("\x1b[;m").next().unwrap_or(block);
            let (first, text) = block.split_once('\n')?;
            let mut words = first.split_whitespace();
            let _proto = words.next()?;
            let from = address_at_start(words.next()?)?;
            let _arrow = words.next().filter(|a| *a == "->")?;
            let to = address_at_start(words.next()?)?;
            Some(TracedMessage {
                received: to == me || from == registrar,
                from,
                to,
                // Another thread's log line can land in the middle of the trace's first line
                // (its own newline then follows): the message starts after blank lines.
                text: text.trim().to_string(),
            })
        })
        .collect()
}

/// The address `word` starts with (`127.0.0.1:5070` of `127.0.0.1:5070aubridge:`, when
/// another thread's output was written right after it), as its canonical text.
fn address_at_start(word: &str) -> Option<String> {
    (1..=word.len())
        .rev()
        .find_map(|n| word.get(..n)?.parse::<SocketAddr>().ok())
        .map(|a| a.to_string())
}

/// The sample rate of the WAV at `path`, if it reads as one.
fn wav_rate(path: &Path) -> Option<u32> {
    hound::WavReader::open(path)
        .ok()
        .map(|r| r.spec().sample_rate)
}

/// 8 kHz mono silence, as long as the lifetime (at most 120 s).
fn write_silence(path: &Path, lifetime: Duration) -> Result<(), TestbedError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let err = |e: hound::Error| {
        TestbedError::io(
            format!("write {}", path.display()),
            std::io::Error::other(e.to_string()),
        )
    };
    let mut w = hound::WavWriter::create(path, spec).map_err(err)?;
    let samples = 8000 * lifetime.as_secs().clamp(1, 120);
    for _ in 0..samples {
        w.write_sample(0i16).map_err(err)?;
    }
    w.finalize().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> BaresipOptions {
        BaresipOptions::new("1002", "secret1002", "127.0.0.1:5070".parse().unwrap())
    }

    #[test]
    fn config_binds_loopback_and_loads_only_safe_modules() {
        let mut o = opts();
        o.record = Some(PathBuf::from("/tmp/rec"));
        o.opus = true;
        let c = render_config(&o, Path::new("/tmp/b"), 5080, 5081, (20000, 20040));
        assert!(c.contains("sip_listen 127.0.0.1:5080\n"));
        assert!(c.contains("ctrl_tcp_listen 127.0.0.1:5081\n"));
        assert!(c.contains("net_interface 127.0.0.1\n"));
        assert!(c.contains("snd_path /tmp/rec\n"));
        assert!(c.contains("module sndfile.so\n"));
        let opus = c.find("module opus.so\n").expect("opus loaded");
        assert!(
            opus < c.find("module g711.so\n").unwrap(),
            "opus first:\n{c}"
        );
        for bad in ["httpd", "cons", "4444", "0.0.0.0"] {
            assert!(!c.contains(bad), "{bad} in\n{c}");
        }
        let loaded: Vec<&str> = c
            .lines()
            .filter_map(|l| l.strip_prefix("module ").or(l.strip_prefix("module_app ")))
            .collect();
        for m in loaded {
            let m = m.trim_end_matches(".so");
            assert!(
                [
                    "g711", "aubridge", "ausine", "aufile", "sndfile", "opus", "account", "menu",
                    "ctrl_tcp", "srtp", "plc"
                ]
                .contains(&m),
                "{m}"
            );
        }
    }

    #[test]
    fn file_source_at_its_own_rate_and_own_playout() {
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("speech.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        hound::WavWriter::create(&wav, spec)
            .unwrap()
            .finalize()
            .unwrap();
        let mut o = opts();
        o.audio = BaresipAudio::File(wav);
        o.record = Some(PathBuf::from("/tmp/rec"));
        o.plc = true;
        let c = render_config(&o, Path::new("/tmp/b"), 1, 2, (3, 4));
        assert!(c.contains("ausrc_srate 16000\nausrc_channels 1\n"), "{c}");
        assert!(c.contains("jitter_buffer_delay 1-10\n"), "{c}");
        assert!(
            c.find("module plc.so").unwrap() > c.find("module sndfile.so").unwrap(),
            "{c}"
        );
        o.own_playout = true;
        let c = render_config(&o, Path::new("/tmp/b"), 1, 2, (3, 4));
        assert!(
            !c.contains("jitter_buffer_delay") && !c.contains("auplay_srate"),
            "{c}"
        );
    }

    #[test]
    fn tone_runs_ausine_at_48k_stereo() {
        let mut o = opts();
        o.audio = BaresipAudio::Tone { freq: 1000 };
        let c = render_config(&o, Path::new("/tmp/b"), 1, 2, (3, 4));
        assert!(c.contains("audio_source ausine,1000\n"));
        assert!(c.contains("ausrc_srate 48000\nausrc_channels 2\n"));
        assert!(!c.contains("sndfile"));
    }

    #[test]
    fn account_line() {
        let mut o = opts();
        assert_eq!(
            render_account(&o),
            "<sip:1002@127.0.0.1:5070;transport=udp>;auth_pass=secret1002;regint=60;answermode=auto\n"
        );
        o.auto_answer = false;
        o.register = false;
        assert!(render_account(&o).ends_with(";regint=0;answermode=manual\n"));
        o.mediaenc = Some("srtp-mand".into());
        o.tls_ca = Some(PathBuf::from("/tmp/ca.pem"));
        let line = render_account(&o);
        assert!(line.contains(";transport=tls>"), "{line}");
        assert!(line.ends_with(";mediaenc=srtp-mand\n"), "{line}");
        let c = render_config(&o, Path::new("/tmp/b"), 1, 2, (3, 4));
        assert!(c.contains("module srtp.so\n"), "{c}");
        assert!(c.contains("sip_cafile /tmp/ca.pem\n"), "{c}");
    }

    #[test]
    fn splits_the_sip_trace() {
        let log = "baresip is ready.\n\x1b[36;1m#\nUDP 127.0.0.1:5070 -> 127.0.0.1:5080\n\
                   INVITE sip:1002@127.0.0.1:5080 SIP/2.0\nVia: x\n\na=sendonly\n\x1b[;m\n\
                   call: got re-INVITE (SDP Offer)\n\x1b[36;1m#\nUDP 127.0.0.1:5080 -> 127.0.0.1:5070\n\
                   SIP/2.0 200 OK\n\na=recvonly\n\x1b[;m\n";
        let m = parse_trace(
            log,
            "127.0.0.1:5080".parse().unwrap(),
            "127.0.0.1:5070".parse().unwrap(),
        );
        assert_eq!(m.len(), 2);
        assert!(m[0].received && m[0].text.contains("a=sendonly"));
        assert!(!m[1].received && m[1].text.starts_with("SIP/2.0 200 OK"));
        assert_eq!(m[1].to, "127.0.0.1:5070");
        // Over TLS the registrar answers on baresip's own connection (an ephemeral port).
        let tls = "\x1b[36;1m#\nTLS 127.0.0.1:5071 -> 127.0.0.1:40000\nSIP/2.0 488 No\n\x1b[;m\n";
        let m = parse_trace(
            tls,
            "127.0.0.1:5080".parse().unwrap(),
            "127.0.0.1:5071".parse().unwrap(),
        );
        assert!(m[0].received, "{m:?}");
    }

    /// Seen in a CI run: baresip's audio thread logged in the middle of the trace's first
    /// line, so the address ran into its text and the message started after a blank line.
    #[test]
    fn a_log_line_inside_the_trace_header_is_left_out() {
        let log = "\x1b[36;1m#\nUDP 127.0.0.1:41815 -> 127.0.0.1:35962aubridge: thread start: \
                   8000 Hz, 1 channels, format=S16LE\n\nSIP/2.0 200 Answering\r\n\r\n\
                   m=audio 55582 RTP/AVP 111\r\n\x1b[;m\n";
        let m = parse_trace(
            log,
            "127.0.0.1:41815".parse().unwrap(),
            "127.0.0.1:35962".parse().unwrap(),
        );
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(!m[0].received, "{m:?}");
        assert_eq!(
            (m[0].from.as_str(), m[0].to.as_str()),
            ("127.0.0.1:41815", "127.0.0.1:35962")
        );
        assert!(m[0].text.starts_with("SIP/2.0 200 Answering"), "{m:?}");
    }
}
