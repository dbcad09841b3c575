//! The `GET /api/v1/status` document.

use serde::Serialize;

/// Registration state as the page sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationState {
    Registering,
    Registered,
    Failed,
    Unregistered,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistrationStatus {
    pub state: RegistrationState,
    /// The address of record, e.g. `sip:1001@pbx.example`.
    pub aor: String,
    /// The registrar as configured, e.g. `pbx.example:5060`.
    pub server: String,
    pub transport: String,
    /// Seconds the registrar granted (present when registered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<u32>,
    /// Why registration failed, in words a person understands (present when failed or
    /// retrying after an error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Seconds until the next attempt after a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_in: Option<u64>,
}

/// The whole status document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub version: &'static str,
    pub registration: RegistrationStatus,
}
