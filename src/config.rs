//! The agent's configuration file (TOML). This is a public contract: keys are added, never
//! renamed. Every key is documented in docs/configuration.md.
//!
//! Loading turns a broken file into a [`ConfigError`] that names the key and the fix.

mod codecs;

use bridge::OriginPolicy;
use media::device::{InputSpec, OutputSpec};
use phone::dialplan::{DialPlan, DialPlanConfig};
use serde::Deserialize;
use signaling::TransportKind;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Environment variable that overrides `[sip] password` (keeps secrets out of files).
pub const PASSWORD_ENV: &str = "SOFTPHONE_SIP_PASSWORD";
/// Environment variable that overrides the data directory.
pub const DATA_DIR_ENV: &str = "SOFTPHONE_DATA_DIR";

/// The parsed and validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub sip: SipConfig,
    pub bridge: BridgeConfig,
    pub calls: CallsConfig,
    pub audio: AudioConfig,
    /// `[media]`: the codecs calls offer and accept, in order, and Opus's settings.
    pub media: media::AudioCaps,
    pub dial_plan: DialPlanConfig,
    pub agent: AgentSettings,
    pub log: LogConfig,
    pub data_dir: PathBuf,
}

/// `[agent]`: availability and after-call work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSettings {
    /// After-call work after an answered call, in seconds (0..=3600); 0: none.
    pub wrapup_seconds: u32,
    /// 486 or 480: what an incoming call gets while the agent is not available.
    pub unavailable_response: u16,
    /// Where such calls go instead (302), a dial string the dial plan accepts.
    pub forward_to: Option<String>,
    /// The disposition codes the page offers.
    pub dispositions: Vec<String>,
}

/// The most disposition codes, and the longest one.
const MAX_DISPOSITIONS: usize = 50;
const MAX_DISPOSITION_LEN: usize = 80;

/// `[calls] media_timeout_seconds`: the default, and the range. Below 2 s a Wi-Fi roam or a
/// short stall would end calls.
const DEFAULT_MEDIA_TIMEOUT: u32 = 30;
const MIN_MEDIA_TIMEOUT: i64 = 2;
const MAX_MEDIA_TIMEOUT: i64 = 3600;

/// `[calls]`: how the agent treats calls.
#[derive(Debug, Clone)]
pub struct CallsConfig {
    /// Answer every incoming call at once (QA runs).
    pub auto_answer: bool,
    /// A second call while one is live rings as call waiting; false answers it 486 Busy.
    pub call_waiting: bool,
    /// RFC 4028 session interval asked for, in seconds; 0 disables session timers.
    pub session_expires: u32,
    /// A connected call whose far end sends no RTP this many seconds (neither side holding)
    /// is hung up with reason `network`; 0 turns it off.
    pub media_timeout_seconds: u32,
}

/// `[audio]`: where call audio comes from and goes to: a device (`device:NAME`,
/// `device:default`) or a headless source/sink (tone, file, silence, null).
#[derive(Debug, Clone)]
pub struct AudioConfig {
    pub input: InputSpec,
    pub output: OutputSpec,
    /// Take what the speaker plays out of what the microphone hears (devices only).
    pub echo_cancellation: bool,
    /// Take steady background noise out of the microphone (device input only).
    pub noise_suppression: bool,
    /// Bring the microphone's voice to a steady level (device input only).
    pub auto_gain: bool,
    /// Where incoming calls ring (`ring`).
    pub ring: RingOn,
}

impl AudioConfig {
    /// What the microphone's audio goes through (`echo_cancellation`, `noise_suppression`,
    /// `auto_gain`).
    pub fn processing(&self) -> media::Processing {
        media::Processing {
            echo_cancellation: self.echo_cancellation,
            noise_suppression: self.noise_suppression,
            auto_gain: self.auto_gain,
        }
    }
}

/// `[audio] ring`: where the ringtone of an incoming call plays.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RingOn {
    /// `"default"` or absent: where calls play (the `output` device; nowhere when `output`
    /// is a file or `null`).
    #[default]
    Output,
    /// `"device:NAME"` / `"device:default"`: a device of its own (laptop speakers while
    /// calls go to the headset).
    Device(media::device::DeviceSpec),
    /// `"none"`: no ringtone.
    Silent,
}

const RING_FORMS: &str = "\"device:default\", \"device:NAME\" (part of a device name), \"default\" (where calls play: the output device) or \"none\"";

impl RingOn {
    /// Parses the `ring` key's forms.
    pub fn parse(s: &str) -> Result<RingOn, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("default") {
            Ok(RingOn::Output)
        } else if t.eq_ignore_ascii_case("none") {
            Ok(RingOn::Silent)
        } else if media::device::DeviceSpec::is_device(t) {
            media::device::DeviceSpec::parse(t)
                .map(RingOn::Device)
                .map_err(|e| {
                    format!(
                        "invalid ring device {s:?}: {}; accepted forms are {RING_FORMS}",
                        e.reason
                    )
                })
        } else {
            Err(format!(
                "invalid ring {s:?}; accepted forms are {RING_FORMS}"
            ))
        }
    }
}

#[derive(Clone)]
pub struct SipConfig {
    /// Registrar / outbound proxy as written (`host:port`), resolved at start.
    pub server: String,
    pub server_host: String,
    pub server_port: u16,
    pub transport: TransportKind,
    pub user: String,
    pub auth_user: String,
    /// The SIP domain of the address of record; defaults to the server's host.
    pub domain: String,
    pub display_name: Option<String>,
    pub password: String,
    pub expires: u32,
    /// TCP and TLS: the CRLF keep-alive interval (RFC 5626), `None` for none.
    pub keepalive: Option<std::time::Duration>,
    /// Local SIP bind address; port 0 picks a free port.
    pub listen: SocketAddr,
    /// TLS only: what the PBX's certificate is checked against, and ours if it asks.
    pub tls: TlsConfig,
}

/// `[sip]` keys of `transport = "tls"` (all optional; paths resolved against the config
/// file's directory).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// Trust only the CA certificates in this PEM file, instead of the system's store.
    pub ca_file: Option<PathBuf>,
    /// The name the PBX's certificate must carry, when it is not the host of `server`.
    pub server_name: Option<String>,
    /// Our certificate chain (PEM) and its key (PEM), for PBXs that ask for one.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

impl SipConfig {
    /// The TLS client settings for a PBX at `server` (its resolved address).
    pub fn tls_settings(&self, server: SocketAddr) -> signaling::TlsSettings {
        self.tls.settings(server, &self.server_host)
    }
}

impl TlsConfig {
    /// Settings for a PBX at `server` whose certificate names `server_name` unless
    /// `tls_server_name` says otherwise.
    fn settings(&self, server: SocketAddr, host: &str) -> signaling::TlsSettings {
        let name = self.server_name.as_deref().unwrap_or(host);
        let mut settings = signaling::TlsSettings::new(server, name);
        settings.ca_file = self.ca_file.clone();
        settings.client_cert = self.cert_file.clone().zip(self.key_file.clone());
        settings
    }
}

impl fmt::Debug for SipConfig {
    // Hand-written so the password can never reach a log line through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SipConfig")
            .field("server", &self.server)
            .field("server_port", &self.server_port)
            .field("transport", &self.transport)
            .field("user", &self.user)
            .field("auth_user", &self.auth_user)
            .field("domain", &self.domain)
            .field("display_name", &self.display_name)
            .field("password", &"***")
            .field("expires", &self.expires)
            .field("listen", &self.listen)
            .field("tls", &self.tls)
            .finish()
    }
}

#[derive(Clone)]
pub struct BridgeConfig {
    pub listen: SocketAddr,
    pub token: Option<String>,
    /// Browser origins allowed to use the bridge (exact or `https://*.domain`).
    pub allowed_origins: OriginPolicy,
}

impl fmt::Debug for BridgeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BridgeConfig")
            .field("listen", &self.listen)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("allowed_origins", &self.allowed_origins)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    /// A `tracing` filter such as `info` or `softphone=debug,signaling=debug`.
    pub level: String,
    /// Log every SIP message sent and received (passwords never appear: digest only).
    pub sip_trace: bool,
}

/// A configuration problem, phrased for the admin who has to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}: [{section}] {key}: {message}")]
    Invalid {
        path: PathBuf,
        section: &'static str,
        key: &'static str,
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    sip: RawSip,
    #[serde(default)]
    bridge: RawBridge,
    #[serde(default)]
    calls: RawCalls,
    #[serde(default)]
    audio: RawAudio,
    #[serde(default)]
    media: codecs::RawMedia,
    #[serde(default)]
    dial_plan: Option<toml::Value>,
    #[serde(default)]
    agent: RawAgent,
    #[serde(default)]
    log: RawLog,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    wrapup_seconds: Option<i64>,
    unavailable_response: Option<i64>,
    forward_to: Option<String>,
    dispositions: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCalls {
    auto_answer: Option<bool>,
    call_waiting: Option<bool>,
    session_expires: Option<i64>,
    media_timeout_seconds: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAudio {
    input: Option<String>,
    output: Option<String>,
    echo_cancellation: Option<bool>,
    noise_suppression: Option<bool>,
    auto_gain: Option<bool>,
    ring: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSip {
    server: Option<String>,
    transport: Option<String>,
    user: Option<String>,
    password: Option<String>,
    auth_user: Option<String>,
    domain: Option<String>,
    display_name: Option<String>,
    expires: Option<i64>,
    keepalive_seconds: Option<i64>,
    listen: Option<String>,
    ca_file: Option<String>,
    tls_server_name: Option<String>,
    tls_cert_file: Option<String>,
    tls_key_file: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBridge {
    listen: Option<String>,
    token: Option<String>,
    allowed_origins: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLog {
    level: Option<String>,
    sip_trace: Option<bool>,
}

pub const DEFAULT_BRIDGE_LISTEN: &str = "127.0.0.1:18088";

impl Config {
    /// Reads and validates a config file. `env` supplies environment overrides (a closure so
    /// tests need not touch the process environment).
    pub fn load(path: &Path, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, path, env)
    }

    pub fn parse(
        text: &str,
        path: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_owned(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        let invalid = |section, key, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            section,
            key,
            message,
        };

        let transport = match raw.sip.transport.as_deref().unwrap_or("udp") {
            t if t.eq_ignore_ascii_case("udp") => TransportKind::Udp,
            t if t.eq_ignore_ascii_case("tcp") => TransportKind::Tcp,
            t if t.eq_ignore_ascii_case("tls") => TransportKind::Tls,
            other => {
                return Err(invalid(
                    "sip",
                    "transport",
                    format!("expected \"udp\", \"tcp\" or \"tls\", got {other:?}"),
                ))
            }
        };
        let server = required(
            raw.sip.server,
            "sip",
            "server",
            "\"pbx.example.com:5060\"",
            path,
        )?;
        // Over TLS the port may be left out: SIP over TLS listens on 5061 (RFC 3261 §19.1.2).
        let with_port = match transport {
            TransportKind::Tls if !server.contains(':') || server.ends_with(']') => {
                format!("{server}:5061")
            }
            _ => server.clone(),
        };
        let (server_host, server_port) = split_host_port(&with_port).ok_or_else(|| {
            invalid(
                "sip",
                "server",
                format!("expected host:port such as \"pbx.example.com:5060\", got {server:?}"),
            )
        })?;
        let user = required(raw.sip.user, "sip", "user", "\"1001\"", path)?;
        if user
            .chars()
            .any(|c| c.is_whitespace() || c == '@' || c == ':')
        {
            return Err(invalid(
                "sip",
                "user",
                format!("{user:?} is not a SIP user name (no spaces, '@' or ':')"),
            ));
        }
        let password = match env(PASSWORD_ENV) {
            Some(p) => p,
            None => raw.sip.password.ok_or_else(|| {
                invalid(
                    "sip",
                    "password",
                    format!("missing: set password = \"...\" or the {PASSWORD_ENV} environment variable"),
                )
            })?,
        };
        let expires = match raw.sip.expires {
            None => 3600,
            Some(e) if (10..=86400).contains(&e) => e as u32,
            Some(e) => {
                return Err(invalid(
                    "sip",
                    "expires",
                    format!("{e} is out of range: use seconds between 10 and 86400 (default 3600)"),
                ))
            }
        };
        let keepalive = match raw.sip.keepalive_seconds {
            None => Some(30),
            Some(0) => None,
            Some(k) if (5..=3600).contains(&k) => Some(k as u64),
            Some(k) => {
                return Err(invalid(
                    "sip",
                    "keepalive_seconds",
                    format!("{k} is out of range: use seconds between 5 and 3600 (default 30), or 0 for none"),
                ))
            }
        }
        .map(std::time::Duration::from_secs);
        let raw_tls = RawTls {
            ca_file: &raw.sip.ca_file,
            tls_server_name: &raw.sip.tls_server_name,
            tls_cert_file: &raw.sip.tls_cert_file,
            tls_key_file: &raw.sip.tls_key_file,
        };
        let tls = tls_config(raw_tls, transport, &server_host, path)
            .map_err(|(key, message)| invalid("sip", key, message))?;
        let listen_text = raw.sip.listen.unwrap_or_else(|| "127.0.0.1:0".into());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            invalid(
                "sip",
                "listen",
                format!("expected ip:port such as \"127.0.0.1:0\", got {listen_text:?}"),
            )
        })?;

        let bridge_text = raw
            .bridge
            .listen
            .unwrap_or_else(|| DEFAULT_BRIDGE_LISTEN.into());
        let bridge_listen: SocketAddr = bridge_text.parse().map_err(|_| {
            invalid(
                "bridge",
                "listen",
                format!("expected a loopback ip:port such as \"{DEFAULT_BRIDGE_LISTEN}\", got {bridge_text:?}"),
            )
        })?;
        if !bridge_listen.ip().is_loopback() {
            return Err(invalid(
                "bridge",
                "listen",
                format!(
                    "{bridge_listen} is not a loopback address; the bridge only listens on 127.0.0.0/8 or [::1] so no other machine can drive the phone"
                ),
            ));
        }
        if let Some(t) = &raw.bridge.token {
            if t.len() < 16 {
                return Err(invalid(
                    "bridge",
                    "token",
                    "too short: use at least 16 random characters, or remove it to have one generated".into(),
                ));
            }
        }

        let allowed_origins = match &raw.bridge.allowed_origins {
            None => OriginPolicy::salesforce_default(),
            Some(list) => OriginPolicy::parse(list)
                .map_err(|message| invalid("bridge", "allowed_origins", message))?,
        };

        let session_expires = match raw.calls.session_expires {
            None => 1800,
            Some(0) => 0,
            Some(s) if (90..=86400).contains(&s) => s as u32,
            Some(s) => {
                return Err(invalid(
                    "calls",
                    "session_expires",
                    format!("{s} is out of range: use seconds between 90 and 86400 (default 1800), or 0 to turn session timers off"),
                ))
            }
        };
        let media_timeout_seconds = match raw.calls.media_timeout_seconds {
            None => DEFAULT_MEDIA_TIMEOUT,
            Some(0) => 0,
            Some(s) if (MIN_MEDIA_TIMEOUT..=MAX_MEDIA_TIMEOUT).contains(&s) => s as u32,
            Some(s) => {
                return Err(invalid(
                    "calls",
                    "media_timeout_seconds",
                    format!("{s} is out of range: use seconds between {MIN_MEDIA_TIMEOUT} and {MAX_MEDIA_TIMEOUT} (default {DEFAULT_MEDIA_TIMEOUT}), or 0 to never hang up a silent call"),
                ))
            }
        };
        let media = raw
            .media
            .resolve()
            .map_err(|(key, message)| invalid("media", key, message))?;
        let input_text = raw.audio.input.unwrap_or_else(|| "silence".into());
        let input =
            InputSpec::parse(&input_text).map_err(|e| invalid("audio", "input", e.to_string()))?;
        let output_text = raw.audio.output.unwrap_or_else(|| "null".into());
        let output = OutputSpec::parse(&output_text)
            .map_err(|e| invalid("audio", "output", e.to_string()))?;
        let echo_cancellation = raw.audio.echo_cancellation.unwrap_or(false);
        if echo_cancellation
            && !(matches!(input, InputSpec::Device(_)) && matches!(output, OutputSpec::Device(_)))
        {
            return Err(invalid(
                "audio",
                "echo_cancellation",
                "needs input and output on devices (\"device:...\"); remove it or set it to false"
                    .into(),
            ));
        }
        let noise_suppression = raw.audio.noise_suppression.unwrap_or(false);
        let auto_gain = raw.audio.auto_gain.unwrap_or(false);
        for (key, on) in [
            ("noise_suppression", noise_suppression),
            ("auto_gain", auto_gain),
        ] {
            if on && !matches!(input, InputSpec::Device(_)) {
                return Err(invalid(
                    "audio",
                    key,
                    "needs input on a device (\"device:...\"); remove it or set it to false".into(),
                ));
            }
        }
        let ring = match &raw.audio.ring {
            None => RingOn::Output,
            Some(r) => RingOn::parse(r).map_err(|e| invalid("audio", "ring", e))?,
        };
        let dial_plan: DialPlanConfig = match raw.dial_plan {
            None => DialPlanConfig::default(),
            Some(value) => value
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Syntax {
                    path: path.to_owned(),
                    message: format!(
                        "[dial_plan]: {}",
                        e.to_string().trim_end().replace('\n', " ")
                    ),
                })?,
        };
        let plan =
            DialPlan::new(dial_plan.clone()).map_err(|e| invalid("dial_plan", e.key, e.problem))?;
        let unattended = raw.calls.auto_answer.unwrap_or(false);
        let agent = agent_settings(raw.agent, &plan, unattended)
            .map_err(|(key, message)| invalid("agent", key, message))?;

        let data_dir = match env(DATA_DIR_ENV) {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => dirs::data_dir()
                .unwrap_or_else(|| PathBuf::from("."))
                .join("softphone"),
        };

        Ok(Config {
            sip: SipConfig {
                auth_user: raw.sip.auth_user.unwrap_or_else(|| user.clone()),
                domain: raw.sip.domain.unwrap_or_else(|| server_host.clone()),
                display_name: raw.sip.display_name,
                server,
                server_host,
                server_port,
                transport,
                user,
                password,
                expires,
                keepalive,
                listen,
                tls,
            },
            bridge: BridgeConfig {
                listen: bridge_listen,
                token: raw.bridge.token,
                allowed_origins,
            },
            calls: CallsConfig {
                auto_answer: raw.calls.auto_answer.unwrap_or(false),
                call_waiting: raw.calls.call_waiting.unwrap_or(true),
                session_expires,
                media_timeout_seconds,
            },
            audio: AudioConfig {
                echo_cancellation,
                noise_suppression,
                auto_gain,
                ring,
                input,
                output,
            },
            media,
            dial_plan,
            agent,
            log: LogConfig {
                level: raw.log.level.unwrap_or_else(|| "info".into()),
                sip_trace: raw.log.sip_trace.unwrap_or(false),
            },
            data_dir,
        })
    }
}

/// The TLS keys of `[sip]` as written.
struct RawTls<'a> {
    ca_file: &'a Option<String>,
    tls_server_name: &'a Option<String>,
    tls_cert_file: &'a Option<String>,
    tls_key_file: &'a Option<String>,
}

/// The TLS keys of `[sip]`, checked: on an error, the key and what to write instead. The
/// files are read here too, so `check-config` finds a wrong path or a key that does not
/// match its certificate.
fn tls_config(
    raw: RawTls<'_>,
    transport: TransportKind,
    host: &str,
    path: &Path,
) -> Result<TlsConfig, (&'static str, String)> {
    let keys = [
        ("ca_file", raw.ca_file),
        ("tls_server_name", raw.tls_server_name),
        ("tls_cert_file", raw.tls_cert_file),
        ("tls_key_file", raw.tls_key_file),
    ];
    if transport != TransportKind::Tls {
        if let Some((key, _)) = keys.iter().find(|(_, v)| v.is_some()) {
            return Err((
                key,
                format!("is only used with transport = \"tls\" (transport is \"{transport}\"): set transport = \"tls\" or remove {key}"),
            ));
        }
        return Ok(TlsConfig::default());
    }
    // Relative paths are read from the config file's directory, wherever the agent starts.
    let base = path.parent().unwrap_or(Path::new("."));
    let file = |v: &Option<String>| v.as_deref().map(|p| base.join(p.trim()));
    let tls = TlsConfig {
        ca_file: file(raw.ca_file),
        server_name: raw.tls_server_name.as_deref().map(|n| n.trim().to_owned()),
        cert_file: file(raw.tls_cert_file),
        key_file: file(raw.tls_key_file),
    };
    match (&tls.cert_file, &tls.key_file) {
        (Some(_), None) => {
            return Err((
                "tls_key_file",
                "missing: tls_cert_file needs the private key that goes with it (PEM)".into(),
            ))
        }
        (None, Some(_)) => {
            return Err((
                "tls_cert_file",
                "missing: tls_key_file needs the certificate that goes with it (PEM)".into(),
            ))
        }
        _ => {}
    }
    // Loads the trust anchors and our certificate as the agent will; the address is a
    // stand-in (the server is resolved only when the agent starts).
    let probe = tls.settings(([0, 0, 0, 0], 5061).into(), host);
    signaling::TlsClient::new(&probe).map_err(|e| (e.key, e.message))?;
    Ok(tls)
}

/// `[agent]`, checked: on an error, the key and what to write instead.
/// `unattended` (`[calls] auto_answer`): nobody wraps up, so wrap-up time is off unless set.
fn agent_settings(
    raw: RawAgent,
    plan: &DialPlan,
    unattended: bool,
) -> Result<AgentSettings, (&'static str, String)> {
    let wrapup_seconds = match raw.wrapup_seconds {
        None if unattended => 0,
        None => 30,
        Some(s) if (0..=3600).contains(&s) => s as u32,
        Some(s) => {
            return Err((
                "wrapup_seconds",
                format!("{s} is out of range: use seconds between 0 and 3600 (default 30, 0 with auto_answer); 0 turns after-call work off"),
            ))
        }
    };
    let unavailable_response = match raw.unavailable_response {
        None => 486,
        Some(code @ (486 | 480)) => code as u16,
        Some(code) => {
            return Err((
                "unavailable_response",
                format!("{code} is not offered: use 486 (Busy Here, the default) or 480 (Temporarily Unavailable)"),
            ))
        }
    };
    let forward_to = match raw.forward_to {
        None => None,
        Some(to) => {
            if let Err(e) = plan.normalize(&to) {
                return Err((
                    "forward_to",
                    format!("{to:?} cannot be dialled: {e}; give a number or SIP address such as \"2000\", or remove the key to reject instead"),
                ));
            }
            Some(to.trim().to_owned())
        }
    };
    let dispositions = match raw.dispositions {
        None => phone::DEFAULT_DISPOSITIONS.map(str::to_owned).to_vec(),
        Some(list) => {
            if list.is_empty() || list.len() > MAX_DISPOSITIONS {
                return Err((
                    "dispositions",
                    format!("has {} codes: give 1 to {MAX_DISPOSITIONS}, or remove the key for the defaults", list.len()),
                ));
            }
            let mut codes = Vec::with_capacity(list.len());
            for code in list {
                let trimmed = code.trim();
                if trimmed.is_empty() || trimmed.chars().count() > MAX_DISPOSITION_LEN {
                    return Err((
                        "dispositions",
                        format!("{code:?}: each code needs 1 to {MAX_DISPOSITION_LEN} characters"),
                    ));
                }
                codes.push(trimmed.to_owned());
            }
            codes
        }
    };
    Ok(AgentSettings {
        wrapup_seconds,
        unavailable_response,
        forward_to,
        dispositions,
    })
}

fn required(
    value: Option<String>,
    section: &'static str,
    key: &'static str,
    example: &str,
    path: &Path,
) -> Result<String, ConfigError> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v.trim().to_owned()),
        _ => Err(ConfigError::Invalid {
            path: path.to_owned(),
            section,
            key,
            message: format!("missing: add {key} = {example} under [{section}]"),
        }),
    }
}

/// Splits `host:port` / `[v6]:port`; the port is required.
fn split_host_port(s: &str) -> Option<(String, u16)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, port) = rest.split_once("]:")?;
        return Some((host.to_owned(), port.parse().ok().filter(|p| *p != 0)?));
    }
    let (host, port) = s.rsplit_once(':')?;
    if host.is_empty() || host.contains(':') {
        return None;
    }
    Some((host.to_owned(), port.parse().ok().filter(|p| *p != 0)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("agent.toml"), |_| None)
    }

    const MINIMAL: &str =
        "[sip]\nserver = \"127.0.0.1:5070\"\nuser = \"1001\"\npassword = \"secret1001\"\n";

    #[test]
    fn minimal_config_gets_defaults() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.sip.transport, TransportKind::Udp);
        assert_eq!(c.sip.auth_user, "1001");
        assert_eq!(c.sip.domain, "127.0.0.1");
        assert_eq!(c.sip.server_port, 5070);
        assert_eq!(c.sip.expires, 3600);
        assert_eq!(c.sip.keepalive, Some(std::time::Duration::from_secs(30)));
        assert_eq!(c.bridge.listen.to_string(), DEFAULT_BRIDGE_LISTEN);
    }

    #[test]
    fn keepalive_seconds_is_bounded_and_0_turns_it_off() {
        let with = |k: &str| {
            parse(&MINIMAL.replace("[sip]\n", &format!("[sip]\nkeepalive_seconds = {k}\n")))
        };
        assert_eq!(with("0").unwrap().sip.keepalive, None);
        assert_eq!(
            with("5").unwrap().sip.keepalive,
            Some(std::time::Duration::from_secs(5))
        );
        for bad in ["4", "3601", "-1"] {
            let e = with(bad).unwrap_err().to_string();
            assert!(
                e.contains("[sip] keepalive_seconds:") && e.contains("between 5 and 3600"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn errors_name_the_key_and_the_fix() {
        let e = parse("[sip]\nuser = \"1001\"\npassword = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "agent.toml: [sip] server: missing: add server = \"pbx.example.com:5060\" under [sip]"
        );
        let e = parse(&MINIMAL.replace("127.0.0.1:5070", "pbx"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("[sip] server: expected host:port"), "{e}");
        let e = parse(&format!("{MINIMAL}transport = \"sctp\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[sip] transport: expected \"udp\", \"tcp\" or \"tls\", got \"sctp\""),
            "{e}"
        );
        let e = parse(&format!("{MINIMAL}[bridge]\nlisten = \"0.0.0.0:18088\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[bridge] listen: 0.0.0.0:18088 is not a loopback address"),
            "{e}"
        );
    }

    #[test]
    fn tls_takes_port_5061_by_default_and_checks_its_files() {
        let ca = testbed::tls::TestCa::new("Config CA").unwrap();
        let tls = format!(
            "[sip]\nserver = \"pbx.example.com\"\ntransport = \"tls\"\nuser = \"1001\"\npassword = \"x\"\nca_file = \"{}\"\n",
            ca.ca_file().display()
        );
        let c = parse(&tls).unwrap();
        assert_eq!(c.sip.transport, TransportKind::Tls);
        assert_eq!(
            (c.sip.server_host.as_str(), c.sip.server_port),
            ("pbx.example.com", 5061)
        );
        let s = c.sip.tls_settings("192.0.2.1:5061".parse().unwrap());
        assert_eq!(s.server_name, "pbx.example.com");
        assert_eq!(s.ca_file, Some(ca.ca_file()));
        let named = parse(&format!("{tls}tls_server_name = \"sip.example.com\"\n")).unwrap();
        let s = named.sip.tls_settings("192.0.2.1:5061".parse().unwrap());
        assert_eq!(s.server_name, "sip.example.com");
        let c = parse(&tls.replace("pbx.example.com", "pbx.example.com:5062")).unwrap();
        assert_eq!(c.sip.server_port, 5062);

        let e = parse(&tls.replace(&ca.ca_file().display().to_string(), "/nonexistent/ca.pem"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[sip] ca_file: cannot read certificates from /nonexistent/ca.pem"),
            "{e}"
        );
        let e = parse(&format!("{tls}tls_cert_file = \"me.pem\"\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("[sip] tls_key_file: missing"), "{e}");
        let e = parse(&format!("{MINIMAL}ca_file = \"ca.pem\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[sip] ca_file: is only used with transport = \"tls\""),
            "{e}"
        );
        // Relative paths are read beside the config file.
        let c = Config::parse(
            &tls.replace(&ca.ca_file().display().to_string(), "ca.pem"),
            &ca.dir().join("agent.toml"),
            |_| None,
        )
        .unwrap();
        assert_eq!(c.sip.tls.ca_file, Some(ca.ca_file()));
    }

    #[test]
    fn audio_devices_are_accepted() {
        let c = parse(&format!(
            "{MINIMAL}[audio]\ninput = \"device:default\"\noutput = \"device:USB Headset\"\n"
        ))
        .unwrap();
        assert_eq!(c.audio.input, InputSpec::parse("device:default").unwrap());
        assert_eq!(c.audio.output.to_string(), "device:USB Headset");
        let e = parse(&format!("{MINIMAL}[audio]\ninput = \"mic\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[audio] input:") && e.contains("device:NAME") && e.contains("tone:FREQ"),
            "{e}"
        );
    }

    #[test]
    fn echo_cancellation_needs_devices() {
        let devices = "[audio]\ninput = \"device:default\"\noutput = \"device:default\"\n";
        let c = parse(&format!("{MINIMAL}{devices}")).unwrap();
        assert!(!c.audio.echo_cancellation);
        let c = parse(&format!("{MINIMAL}{devices}echo_cancellation = true\n")).unwrap();
        assert!(c.audio.echo_cancellation);
        let e = parse(&format!(
            "{MINIMAL}[audio]\ninput = \"device:default\"\necho_cancellation = true\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("[audio] echo_cancellation: needs input and output on devices"),
            "{e}"
        );
    }

    #[test]
    fn noise_suppression_and_auto_gain_need_a_device_input() {
        let c = parse(&format!("{MINIMAL}[audio]\ninput = \"device:default\"\n")).unwrap();
        assert!(!c.audio.noise_suppression && !c.audio.auto_gain);
        let c = parse(&format!(
            "{MINIMAL}[audio]\ninput = \"device:default\"\nnoise_suppression = true\n\
             auto_gain = true\n"
        ))
        .unwrap();
        assert!(c.audio.noise_suppression && c.audio.auto_gain);
        assert_eq!(
            c.audio.processing(),
            media::Processing {
                echo_cancellation: false,
                noise_suppression: true,
                auto_gain: true
            }
        );
        for key in ["noise_suppression", "auto_gain"] {
            let e = parse(&format!("{MINIMAL}[audio]\n{key} = true\n"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(&format!("[audio] {key}: needs input on a device")),
                "{e}"
            );
        }
    }

    #[test]
    fn the_ring_device_is_chosen_or_follows_the_output() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.audio.ring, RingOn::Output);
        for (text, want) in [
            ("default", RingOn::Output),
            ("none", RingOn::Silent),
            (
                "device:Built-in Speakers",
                RingOn::Device(media::device::DeviceSpec::Named("Built-in Speakers".into())),
            ),
            (
                "device:default",
                RingOn::Device(media::device::DeviceSpec::Default),
            ),
        ] {
            let c = parse(&format!("{MINIMAL}[audio]\nring = \"{text}\"\n")).unwrap();
            assert_eq!(c.audio.ring, want, "{text}");
        }
        for bad in ["speaker", "device:", "tone:440", ""] {
            let e = parse(&format!("{MINIMAL}[audio]\nring = \"{bad}\"\n"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("[audio] ring:") && e.contains("device:NAME") && e.contains("none"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn call_audio_and_dial_plan_errors_name_the_key() {
        let cases = [
            (
                "[calls]\nsession_expires = 30\n",
                "[calls] session_expires: 30 is out of range",
            ),
            (
                "[calls]\nmedia_timeout_seconds = 1\n",
                "[calls] media_timeout_seconds: 1 is out of range",
            ),
            (
                "[calls]\nmedia_timeout_seconds = -5\n",
                "[calls] media_timeout_seconds: -5 is out of range",
            ),
            (
                "[calls]\nmedia_timeout_seconds = 3601\n",
                "[calls] media_timeout_seconds: 3601 is out of range",
            ),
            ("[audio]\ninput = \"microphone\"\n", "[audio] input:"),
            ("[audio]\noutput = \"speaker\"\n", "[audio] output:"),
            ("[audio]\ninput = \"device:\"\n", "[audio] input:"),
            ("[audio]\noutput = \"device: \"\n", "[audio] output:"),
            (
                "[dial_plan]\ncountry_code = \"+1\"\n",
                "[dial_plan] country_code:",
            ),
            (
                "[dial_plan]\noutside_prefix = \"9\"\n",
                "[dial_plan]: unknown field `outside_prefix`",
            ),
            (
                "[bridge]\nallowed_origins = [\"*\"]\n",
                "[bridge] allowed_origins:",
            ),
        ];
        for (extra, expected) in cases {
            let e = parse(&format!("{MINIMAL}{extra}")).unwrap_err().to_string();
            assert!(e.contains(expected), "{extra:?}: {e}");
        }
        let ok = parse(&format!(
            "{MINIMAL}[calls]\nauto_answer = true\nsession_expires = 0\n[audio]\ninput = \"tone:440\"\noutput = \"file:/tmp/x.wav\"\n[bridge]\nallowed_origins = [\"https://*.example.com\"]\n"
        ))
        .unwrap();
        assert!(ok.calls.auto_answer);
        assert_eq!(
            ok.agent.wrapup_seconds, 0,
            "an unattended agent has no wrap-up unless asked"
        );
        assert_eq!(ok.calls.session_expires, 0);
        assert_eq!(ok.calls.media_timeout_seconds, 30, "the default");
        for (value, resolved) in [(0, 0), (2, 2), (3600, 3600)] {
            let c = parse(&format!(
                "{MINIMAL}[calls]\nmedia_timeout_seconds = {value}\n"
            ))
            .unwrap();
            assert_eq!(c.calls.media_timeout_seconds, resolved);
        }
        assert!(ok.bridge.allowed_origins.allows("https://a.example.com"));
        assert!(!ok.bridge.allowed_origins.allows("https://evil.com"));
    }

    #[test]
    fn agent_keys_get_defaults_and_errors_name_the_key() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.agent.wrapup_seconds, 30);
        assert_eq!(c.agent.unavailable_response, 486);
        assert_eq!(c.agent.forward_to, None);
        assert_eq!(c.agent.dispositions[0], "Resolved");
        assert_eq!(c.agent.dispositions.len(), 5);

        let c = parse(&format!(
            "{MINIMAL}[agent]\nwrapup_seconds = 0\nunavailable_response = 480\nforward_to = \"2000\"\ndispositions = [\"Sale\", \"No sale\"]\n"
        ))
        .unwrap();
        assert_eq!(c.agent.wrapup_seconds, 0);
        assert_eq!(c.agent.unavailable_response, 480);
        assert_eq!(c.agent.forward_to.as_deref(), Some("2000"));
        assert_eq!(c.agent.dispositions, ["Sale", "No sale"]);

        let long = "x".repeat(81);
        let many = vec!["\"a\""; 51].join(", ");
        let cases = [
            (
                "wrapup_seconds = 3601",
                "[agent] wrapup_seconds: 3601 is out of range",
            ),
            (
                "wrapup_seconds = -1",
                "[agent] wrapup_seconds: -1 is out of range",
            ),
            (
                "unavailable_response = 404",
                "[agent] unavailable_response: 404 is not offered: use 486",
            ),
            (
                "forward_to = \"<script>\"",
                "[agent] forward_to: \"<script>\" cannot be dialled",
            ),
            (
                "dispositions = []",
                "[agent] dispositions: has 0 codes: give 1 to 50",
            ),
            (
                &format!("dispositions = [{many}]"),
                "[agent] dispositions: has 51 codes",
            ),
            (
                "dispositions = [\"ok\", \" \"]",
                "[agent] dispositions: \" \": each code needs 1 to 80",
            ),
            (
                &format!("dispositions = [\"{long}\"]"),
                "each code needs 1 to 80 characters",
            ),
            ("wrap_up = 3", "unknown field `wrap_up`"),
        ];
        for (line, expected) in cases {
            let e = parse(&format!("{MINIMAL}[agent]\n{line}\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(expected), "{line:?}: {e}");
        }
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = parse(&format!("{MINIMAL}pasword = \"typo\"\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("pasword"), "{e}");
    }

    #[test]
    fn password_comes_from_the_environment_when_set() {
        let c = Config::parse(
            "[sip]\nserver = \"127.0.0.1:5070\"\nuser = \"1001\"\n",
            Path::new("a.toml"),
            |k| (k == PASSWORD_ENV).then(|| "fromenv".to_string()),
        )
        .unwrap();
        assert_eq!(c.sip.password, "fromenv");
        let e = parse("[sip]\nserver = \"127.0.0.1:5070\"\nuser = \"1001\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("SOFTPHONE_SIP_PASSWORD"), "{e}");
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let c = parse(MINIMAL).unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("secret1001"), "{dbg}");
    }

    #[test]
    fn data_dir_is_overridden_by_the_environment() {
        let c = Config::parse(MINIMAL, Path::new("a.toml"), |k| {
            (k == DATA_DIR_ENV).then(|| "/tmp/sp-data".to_string())
        })
        .unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/tmp/sp-data"));
    }

    #[test]
    fn ipv6_server_is_accepted() {
        let c = parse(&MINIMAL.replace("127.0.0.1:5070", "[::1]:5070")).unwrap();
        assert_eq!(c.sip.server_host, "::1");
    }

    #[test]
    fn shipped_example_parses() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/config/example.toml"
        ));
        let c = Config::load(path, |_| None).unwrap();
        assert_eq!(c.sip.user, "1001");
    }
}
