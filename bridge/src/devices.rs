//! The audio device endpoints: `GET /api/v1/devices` (what there is, the defaults, what is in
//! use) and `POST /api/v1/devices` (switch input, output and the ring device, also mid-call).
//!
//! The bridge knows nothing about audio: the agent hands it a [`DeviceControl`]. Its calls may
//! block (they ask the sound server), so they run on tokio's blocking pool.

use crate::commands::ApiJson;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The longest device name the bridge passes on.
const MAX_NAME_LEN: usize = 256;

/// One device as the page sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceEntry {
    /// The name to pass to `POST /api/v1/devices`.
    pub name: String,
    /// Words for a person (may equal `name`).
    pub description: String,
    /// The system's default input (or output).
    pub default: bool,
    /// The agent uses it now.
    pub in_use: bool,
}

/// The answer of both endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceList {
    pub inputs: Vec<DeviceEntry>,
    pub outputs: Vec<DeviceEntry>,
    /// The input in use (`null`: the config's input is not a device, or none is open).
    pub input: Option<String>,
    pub output: Option<String>,
    /// Where incoming calls ring: `"output"` (where calls play), a device name from
    /// `outputs`, or `"none"` (`null`: the agent does not say).
    #[serde(default)]
    pub ring: Option<String>,
}

/// Why a device request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceControlError {
    /// The config's input or output is not a device (tone, file...): 409 `not_a_device`.
    #[error("{0}")]
    NotADevice(String),
    /// No such device, or it cannot be opened: 422 `unknown_device`.
    #[error("{0}")]
    Device(String),
    /// The sound server cannot be reached: 503 `unavailable`.
    #[error("{0}")]
    Unavailable(String),
}

impl From<DeviceControlError> for ApiError {
    fn from(e: DeviceControlError) -> ApiError {
        match e {
            DeviceControlError::NotADevice(m) => {
                ApiError::new(StatusCode::CONFLICT, "not_a_device", m)
            }
            DeviceControlError::Device(m) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_device", m)
            }
            DeviceControlError::Unavailable(m) => ApiError::unavailable(m),
        }
    }
}

/// What the agent provides. Both may block.
pub trait DeviceControl: Send + Sync + 'static {
    fn list(&self) -> Result<DeviceList, DeviceControlError>;
    /// Switches the sides given (`"default"` is the system default) and the ring device
    /// (also `"output"` or `"none"`); answers the new list.
    fn select(
        &self,
        input: Option<&str>,
        output: Option<&str>,
        ring: Option<&str>,
    ) -> Result<DeviceList, DeviceControlError>;
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SelectBody {
    input: Option<String>,
    output: Option<String>,
    ring: Option<String>,
}

pub(crate) fn routes() -> axum::Router<AppState> {
    axum::Router::new().route("/api/v1/devices", get(list).post(select))
}

fn control(state: &AppState) -> Result<Arc<dyn DeviceControl>, ApiError> {
    state
        .devices
        .clone()
        .ok_or_else(|| ApiError::unavailable("this agent has no audio device control"))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DeviceControlError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::unavailable("the device request failed"))?
        .map_err(ApiError::from)
}

async fn list(State(state): State<AppState>) -> Result<Json<DeviceList>, ApiError> {
    let c = control(&state)?;
    blocking(move || c.list()).await.map(Json)
}

fn device_name(field: &str, v: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(v) = v else { return Ok(None) };
    let t = v.trim();
    if t.is_empty() || t.len() > MAX_NAME_LEN || t.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "{field}: a device name from GET /api/v1/devices, or \"default\"{} (1 to {MAX_NAME_LEN} characters, no control characters)",
            if field == "ring" { ", \"output\" or \"none\"" } else { "" }
        )));
    }
    Ok(Some(t.to_string()))
}

async fn select(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SelectBody>,
) -> Result<Json<DeviceList>, ApiError> {
    let input = device_name("input", body.input)?;
    let output = device_name("output", body.output)?;
    let ring = device_name("ring", body.ring)?;
    if input.is_none() && output.is_none() && ring.is_none() {
        return Err(ApiError::bad_request(
            "give \"input\", \"output\", \"ring\" or several: device names from GET /api/v1/devices, or \"default\" (for \"ring\" also \"output\" or \"none\")",
        ));
    }
    let c = control(&state)?;
    blocking(move || c.select(input.as_deref(), output.as_deref(), ring.as_deref()))
        .await
        .map(Json)
}
