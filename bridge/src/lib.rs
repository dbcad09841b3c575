//! The localhost bridge: an HTTP (and later WebSocket) API on 127.0.0.1 through which the
//! softphone page embedded in Salesforce, and local tools, watch and drive the agent.
//!
//! This crate knows nothing about SIP: the agent publishes a [`Status`] snapshot through a
//! `tokio::sync::watch` channel and the bridge serves it.

mod error;
mod status;

pub use error::ApiError;
pub use status::{RegistrationState, RegistrationStatus, Status};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use std::future::Future;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// What the HTTP handlers share.
#[derive(Clone)]
struct AppState {
    status: watch::Receiver<Status>,
}

/// Builds the router (separate from `serve` so tests can drive it without a socket).
pub fn router(status: watch::Receiver<Status>) -> Router {
    Router::new()
        .route("/api/v1/status", get(get_status))
        .fallback(not_found)
        .with_state(AppState { status })
}

/// Serves the bridge on an already bound loopback listener until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    status: watch::Receiver<Status>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(status))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn get_status(State(state): State<AppState>) -> Json<Status> {
    Json(state.status.borrow().clone())
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no such endpoint: {}", uri.path()))
}
