//! The wire types of the bridge API: the status document, calls, commands, command replies
//! and events. They are SIP-agnostic: the agent translates its own state into them.
//!
//! `docs/bridge-protocol.md` is the contract these types implement; keep both in step.

use serde::{Deserialize, Serialize};

/// Registration state as the page sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationState {
    Registering,
    Registered,
    Failed,
    Unregistered,
}

/// The registration part of the status document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationStatus {
    pub state: RegistrationState,
    /// The address of record, e.g. `sip:1001@pbx.example`.
    pub aor: String,
    /// The registrar as configured, e.g. `pbx.example:5060`.
    pub server: String,
    pub transport: String,
    /// Seconds the registrar granted (present when registered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<u32>,
    /// Why registration failed, in words a person understands (present when failed or
    /// retrying after an error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Seconds until the next attempt after a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_in: Option<u64>,
}

/// The whole status document (`GET /api/v1/status`, and the `snapshot` event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The agent's version, e.g. `0.1.0`.
    pub version: String,
    pub registration: RegistrationStatus,
    /// Every call the agent currently knows, oldest first. Ended calls may linger briefly
    /// (state `ended`) so a page that reconnects still learns how they ended.
    #[serde(default)]
    pub calls: Vec<CallView>,
    /// The audio devices' counters, refreshed a few times a second while devices are open;
    /// omitted when the config uses no device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioStatus>,
}

/// The audio devices' part of the status document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioStatus {
    /// The capture device's counters (`null`: none open).
    pub input: Option<DeviceFigures>,
    /// The playout device's counters (`null`: none open).
    pub output: Option<DeviceFigures>,
}

/// Counters of one open audio device since it was opened. Sample counts are mono samples
/// at the device's `rate`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceFigures {
    /// The device's name, as in `GET /api/v1/devices`.
    pub device: String,
    /// What was opened: host, device, rate, channels, format, callback period.
    pub description: String,
    pub rate: u32,
    /// Device callbacks run.
    pub callbacks: u64,
    /// Samples the callbacks moved (per channel): with `callbacks`, the device's real pace.
    pub callback_samples: u64,
    /// The largest callback, in samples.
    pub largest_callback: u32,
    /// Playout callbacks that found too little audio (each played some silence).
    pub underruns: u64,
    /// Silence played in those underruns.
    pub silence_samples: u64,
    /// Late audio skipped after an underrun so that later audio keeps its timing.
    pub skipped_samples: u64,
    /// Playout drift correction: samples added (+) or removed (-) to hold the target fill.
    pub corrected_samples: i64,
    /// Dropped to bound latency (capture backlog trimmed, playout far beyond its target).
    pub dropped_samples: u64,
    /// Capture: samples the device delivered while the ring was full.
    pub overrun_samples: u64,
    /// Capture: frames padded with silence because too little had been captured.
    pub short_reads: u64,
    /// xrun notices from the sound system.
    pub xruns: u64,
    /// Audio waiting in the ring now, µs.
    pub buffered_us: u32,
    /// Latency the host reports between the device and the callback, µs.
    pub device_latency_us: u32,
    /// The stream failed at some point (the agent then falls back to the default device).
    pub failed: bool,
}

/// Where a call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallState {
    /// Outbound: the request is on its way, nothing heard back yet.
    Dialing,
    /// Inbound: alerting here. Outbound: the far end is alerting.
    Ringing,
    /// Outbound: the far end plays early media (ringback, announcements).
    Early,
    /// Answered and talking.
    Connected,
    /// Put on hold by us.
    Held,
    /// Over; `end_reason` says why.
    Ended,
}

/// Who started the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// The other party of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remote {
    /// The number (or user part) to show and to search records by, e.g. `+4930123456`.
    pub number: String,
    /// The display name the network gave, if any.
    pub display_name: Option<String>,
    /// The full address, e.g. `sip:+4930123456@pbx.example`.
    pub uri: String,
}

/// Why a call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndReason {
    /// Machine-readable: `busy`, `declined`, `not_found`, `unavailable`, `no_answer`,
    /// `network`, `cancelled`, `hangup_local`, `hangup_remote`, `transferred`, `failed`.
    pub code: String,
    /// Words a person reads, e.g. `"+4930123456 is busy"`.
    pub message: String,
    /// The SIP status code behind it, when there was one.
    pub sip_status: Option<u16>,
}

/// One call as the page sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallView {
    /// Opaque, stable for the call's life, unique within the agent's run.
    pub id: String,
    pub direction: Direction,
    pub state: CallState,
    pub remote: Remote,
    /// RFC 3339 UTC, e.g. `2025-01-31T09:15:02Z`.
    pub started_at: String,
    pub answered_at: Option<String>,
    pub ended_at: Option<String>,
    /// Our microphone is muted for this call.
    pub muted: bool,
    /// The far end put us on hold.
    pub on_hold_by_remote: bool,
    /// Present once the call is `ended`.
    pub end_reason: Option<EndReason>,
    /// The audio figures last reported (about every 5 s while the media runs; the final ones
    /// once it stopped). Null before the media starts.
    #[serde(default)]
    pub quality: Option<CallQuality>,
}

/// Audio figures of a call, receive direction unless said otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallQuality {
    /// RTP packets sent (audio and DTMF events).
    pub packets_sent: u64,
    /// Valid RTP packets received.
    pub packets_received: u64,
    /// Packets the far end sent that never arrived (RFC 3550).
    pub packets_lost: u64,
    /// Packets that arrived too late to play, or twice.
    pub late: u64,
    /// RFC 3550 interarrival jitter, ms (0.1 ms steps).
    pub jitter_ms: f64,
    /// Round-trip time from RTCP, ms; null until the far end reported on our stream.
    pub rtt_ms: Option<f64>,
    /// Received audio made up by loss concealment, ms.
    pub concealed_ms: u64,
    /// Delay the jitter buffer added to the last frame played, ms.
    pub playout_delay_ms: f64,
    /// E-model (ITU-T G.107) MOS estimate, 1.0-4.5 (0.01 steps).
    pub mos: f64,
    /// Datagrams dropped as junk on the media ports: not RTP, unknown payload type,
    /// oversized, unparsable RTCP.
    pub junk: u64,
    /// DTMF digits received in the media (RFC 4733).
    pub digits_received: u64,
}

// The numbers are finite by construction (rounded counters and estimates), so equality is
// an equivalence; the status document and events compare as `Eq`.
impl Eq for CallQuality {}

/// A command to the agent. The bridge validates the shape (ids, digits, non-empty
/// numbers); the agent decides everything else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    Dial {
        to: String,
    },
    Answer {
        id: String,
    },
    Reject {
        id: String,
    },
    Hangup {
        id: String,
    },
    Hold {
        id: String,
    },
    Resume {
        id: String,
    },
    Mute {
        id: String,
    },
    Unmute {
        id: String,
    },
    /// `digits`: 1 to 32 of `0-9 * # A-D` (upper case).
    Dtmf {
        id: String,
        digits: String,
    },
    BlindTransfer {
        id: String,
        to: String,
    },
    /// Connect call `id`'s far end with call `replaces`'s far end.
    AttendedTransfer {
        id: String,
        replaces: String,
    },
}

impl Command {
    /// The call the command is about (`None` for `Dial`).
    pub fn call_id(&self) -> Option<&str> {
        match self {
            Command::Dial { .. } => None,
            Command::Answer { id }
            | Command::Reject { id }
            | Command::Hangup { id }
            | Command::Hold { id }
            | Command::Resume { id }
            | Command::Mute { id }
            | Command::Unmute { id }
            | Command::Dtmf { id, .. }
            | Command::BlindTransfer { id, .. }
            | Command::AttendedTransfer { id, .. } => Some(id),
        }
    }
}

/// A successful answer to a command. Success means the agent accepted and started the
/// command; how it turns out arrives as events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandReply {
    /// A call was created (`Dial`): HTTP 201 `{"id": "..."}`.
    Created { id: String },
    /// HTTP 200 `{"ok": true}`.
    Accepted,
}

/// Why a command was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandErrorKind {
    /// No call with that id: HTTP 404 `unknown_call`.
    UnknownCall,
    /// The call is not in a state that allows it: HTTP 409 `invalid_state`.
    InvalidState,
    /// The number cannot be dialled: HTTP 422 `undialable_number`.
    Undialable,
    /// Anything else wrong with the request: HTTP 400 `bad_request`.
    BadRequest,
    /// The agent cannot take commands now (not registered, shutting down): HTTP 503
    /// `unavailable`.
    Unavailable,
}

impl CommandErrorKind {
    /// The `error.code` string on the wire.
    pub fn code(self) -> &'static str {
        match self {
            CommandErrorKind::UnknownCall => "unknown_call",
            CommandErrorKind::InvalidState => "invalid_state",
            CommandErrorKind::Undialable => "undialable_number",
            CommandErrorKind::BadRequest => "bad_request",
            CommandErrorKind::Unavailable => "unavailable",
        }
    }
}

/// A refused command: a kind for the program and a message for the person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub kind: CommandErrorKind,
    /// Words a person reads, e.g. `"call c7 is not ringing"`.
    pub message: String,
}

impl CommandError {
    pub fn new(kind: CommandErrorKind, message: impl Into<String>) -> Self {
        CommandError {
            kind,
            message: message.into(),
        }
    }

    /// `unknown_call` with a standard message naming the id.
    pub fn unknown_call(id: &str) -> Self {
        Self::new(
            CommandErrorKind::UnknownCall,
            format!("no call with id {id}"),
        )
    }

    pub fn invalid_state(message: impl Into<String>) -> Self {
        Self::new(CommandErrorKind::InvalidState, message)
    }

    pub fn undialable(message: impl Into<String>) -> Self {
        Self::new(CommandErrorKind::Undialable, message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(CommandErrorKind::BadRequest, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(CommandErrorKind::Unavailable, message)
    }
}

/// Progress of a transfer, reported on the transferred call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferState {
    Trying,
    Ringing,
    Succeeded,
    Failed,
}

/// One event on the WebSocket: `{"event": "<kind>", "seq": N, ...fields of the kind}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// 1, 2, 3, ... within one agent run (one [`EventBody::Snapshot::instance`]). A
    /// snapshot carries the seq of the last event it includes (0 before any event).
    pub seq: u64,
    #[serde(flatten)]
    pub body: EventBody,
}

impl EventBody {
    /// Sent live only, never kept for resuming ([`crate::Hub::publish_volatile`]).
    pub fn is_volatile(&self) -> bool {
        matches!(self, EventBody::Levels { .. })
    }
}

/// What happened. The agent publishes every kind but `Snapshot`, which the bridge makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventBody {
    /// The whole state, sent first on a connection that cannot be resumed, and after a
    /// client fell too far behind. `instance` names this agent run: pass it back with
    /// `since` when reconnecting.
    Snapshot { instance: String, status: Status },
    /// Registration changed.
    Registration { registration: RegistrationStatus },
    /// A new inbound call (state `ringing`): apply it like `call`, and alert.
    Incoming { call: CallView },
    /// A call changed (state, mute, remote hold, ended); the view is the whole call.
    Call { call: CallView },
    /// The far end sent DTMF digits (SIP INFO or RFC 4733 in the media).
    Dtmf { call_id: String, digits: String },
    /// DTMF digits sent by SIP INFO did not reach the far end: it refused an INFO or did not
    /// answer. `digits` were not sent (the refused one and those queued after it).
    DtmfFailed {
        call_id: String,
        digits: String,
        sip_status: u16,
        message: String,
    },
    /// New audio figures of a call (about every 5 s while its media runs); `last`: the
    /// final ones, sent once its media stopped (the call may already be `ended`).
    CallQuality {
        call_id: String,
        quality: CallQuality,
        last: bool,
    },
    /// A transfer of `call_id` progressed.
    Transfer {
        call_id: String,
        state: TransferState,
        sip_status: Option<u16>,
        message: String,
    },
    /// An audio device was switched (`reason` "selected") or replaced because it failed or
    /// disappeared (`reason` says what happened; `to` is the device used now, `""` if none).
    DeviceChanged {
        direction: String,
        from: String,
        to: String,
        reason: String,
    },
    /// Audio levels of the active call: peaks over the last interval in whole dBFS (-96 is
    /// silence). Sent a few times a second while a call has the devices; not replayed on
    /// resume (it carries the seq of the event before it).
    Levels { input_dbfs: i32, output_dbfs: i32 },
}
