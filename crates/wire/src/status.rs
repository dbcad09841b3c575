//! The status document: registration, calls (see [`crate::call`]), audio device counters,
//! records health, the agent's availability (see [`crate::agent`]) and diagnostics.

use serde::{Deserialize, Serialize};

use crate::agent::AgentStatus;
use crate::call::CallView;
use crate::history::RecordsStatus;

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
    /// `udp`, `tcp` or `tls`.
    pub transport: String,
    /// TLS only: the certificate the PBX presented on the live connection (omitted while
    /// there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<PeerCertificate>,
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

/// The PBX's TLS certificate as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerCertificate {
    /// Its subject, e.g. `CN=pbx.example.com, O=Example Corp`.
    pub subject: String,
    /// When it expires (notAfter), RFC 3339 UTC, e.g. `2027-03-01T12:00:00Z`.
    pub expires: String,
}

/// The whole status document (`GET /api/v1/status`, and the `snapshot` event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The agent's version, e.g. `0.1.0`.
    pub version: String,
    pub registration: RegistrationStatus,
    /// Every call the agent currently knows, oldest first. The last few ended calls stay
    /// listed (state `ended`) so a page that reconnects still learns how they ended.
    #[serde(default)]
    pub calls: Vec<CallView>,
    /// The audio devices' counters, refreshed a few times a second while devices are open;
    /// omitted when the config uses no device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioStatus>,
    /// Whether call records are kept (`GET /api/v1/history`); omitted until the agent has
    /// opened its store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<RecordsStatus>,
    /// The agent's availability and wrap-up (always sent; a document from an older agent
    /// without it reads as available).
    #[serde(default)]
    pub agent: AgentStatus,
    /// What the agent holds (SIP transactions and calls, heap in use), for support and
    /// tests; omitted by agents that do not report it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<Diagnostics>,
}

/// What the agent holds, for support and tests (a page need not show it). Refreshed about
/// once a second while the agent holds a SIP transaction or a call, and once more when it
/// holds neither; no event announces it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// SIP transactions held, those lingering after their final response (RFC 3261 Timers
    /// D, I, J, K: up to 32 s over UDP) included.
    pub sip_transactions: u64,
    /// Calls (SIP dialogs, and INVITEs not yet answered) the SIP user agent holds.
    pub sip_calls: u64,
    /// Bytes of heap in use (allocated and not freed: glibc's `mallinfo2`, `uordblks` +
    /// `hblkhd`); `null` where the allocator cannot tell.
    pub heap_in_use: Option<u64>,
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
