//! The localhost bridge: an HTTP and WebSocket API on 127.0.0.1 through which the softphone
//! page embedded in Salesforce, and local tools, watch and drive the agent.
//!
//! This crate knows nothing about SIP. The agent publishes status and events into a
//! [`Hub`] and answers [`CommandRequest`]s from an `mpsc` channel; the bridge serves them,
//! behind the checks of [`Security`]. `docs/bridge-protocol.md` is the contract.

mod commands;
mod delivery;
pub mod devices;
mod error;
mod events;
pub mod history;
mod hub;
mod page;
pub mod protocol;
mod security;
mod tabs;
pub mod token;

pub use commands::{CommandRequest, COMMAND_TIMEOUT};
pub use devices::{DeviceControl, DeviceControlError, DeviceEntry, DeviceList};
pub use error::ApiError;
pub use history::{CallHistory, HistoryError};
pub use hub::{Hub, DEFAULT_HISTORY};
pub use protocol::{
    AgentState, AgentStatus, AudioStatus, CallState, CallView, ChosenState, Command, CommandError,
    CommandErrorKind, CommandReply, DeviceFigures, Direction, EndReason, Event, EventBody,
    RegistrationState, RegistrationStatus, Remote, Status, TransferState,
};
pub use security::{is_loopback_host, OriginPolicy, Security, SALESFORCE_DEFAULT_ORIGINS};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, Uri};
use axum::routing::get;
use axum::{Json, Router};
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The largest request body accepted.
const BODY_LIMIT: usize = 16 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct AppState {
    hub: Arc<Hub>,
    commands: mpsc::Sender<CommandRequest>,
    /// Audio devices (`/api/v1/devices`); `None` answers 503.
    devices: Option<Arc<dyn DeviceControl>>,
}

/// Builds the whole API (separate from [`serve`] so tests can drive it without a socket).
pub fn router(hub: Arc<Hub>, commands: mpsc::Sender<CommandRequest>, security: Security) -> Router {
    router_with_devices(hub, commands, security, None)
}

/// [`router`] with the audio device endpoints served by `devices`.
pub fn router_with_devices(
    hub: Arc<Hub>,
    commands: mpsc::Sender<CommandRequest>,
    security: Security,
    devices: Option<Arc<dyn DeviceControl>>,
) -> Router {
    Router::new()
        .route("/api/v1/status", get(get_status))
        .route("/api/v1/events", get(events::events))
        .merge(commands::routes())
        .merge(devices::routes())
        .merge(page::routes(&security.allowed))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::map_response(error::json_errors))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(security),
            security::guard,
        ))
        .with_state(AppState {
            hub,
            commands,
            devices,
        })
}

/// Serves the bridge on an already bound loopback listener until `shutdown` resolves;
/// then closes the event sockets (`hub.close()`) and finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    hub: Arc<Hub>,
    commands: mpsc::Sender<CommandRequest>,
    security: Security,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_devices(listener, hub, commands, security, None, shutdown).await
}

/// [`serve`] with the audio device endpoints served by `devices`.
pub async fn serve_with_devices(
    listener: TcpListener,
    hub: Arc<Hub>,
    commands: mpsc::Sender<CommandRequest>,
    security: Security,
    devices: Option<Arc<dyn DeviceControl>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router_with_devices(hub.clone(), commands, security, devices);
    serve_router(listener, hub, app, shutdown).await
}

/// [`router_with_devices`] with `GET /api/v1/history` and the call log delivery routes
/// served from `history`.
pub fn router_with_history(
    hub: Arc<Hub>,
    commands: mpsc::Sender<CommandRequest>,
    security: Security,
    devices: Option<Arc<dyn DeviceControl>>,
    history: Arc<dyn CallHistory>,
) -> Router {
    let delivery = delivery::routes(hub.clone(), history.clone(), security.clone());
    let history = history::routes(history, security.clone());
    router_with_devices(hub, commands, security, devices)
        .merge(history)
        .merge(delivery)
}

/// Serves `app` (a router built by this crate around `hub`, e.g. [`router_with_history`])
/// until `shutdown` resolves; then closes the event sockets and finishes the requests in
/// flight.
pub async fn serve_router(
    listener: TcpListener,
    hub: Arc<Hub>,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            hub.close();
        })
        .await
}

async fn get_status(State(state): State<AppState>) -> Json<Status> {
    Json(state.hub.status())
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no such endpoint: {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}
