//! Call logs on their way to Salesforce, through the leading page, exactly once:
//!
//! - `POST /api/v1/calls/{id}/pop` `{"tab"}`: may this tab pop the caller's record? Yes once
//!   per call, and only for the leader.
//! - `POST /api/v1/outbox/claim` `{"tab"}`: the leader takes the ended calls whose Task is not
//!   saved yet and that no other tab is saving (they become `delivered`).
//! - `POST /api/v1/calls/{id}/log` `{"tab", "task_id"}` or `{"tab", "error"}`: how saving went.
//! - `PUT /api/v1/calls/{id}/crm` `{"id", "name", "object_type"}`: the record a call matched.
//! - `POST /api/v1/calls/{id}/wrapup` `{"disposition", "notes"}`: the agent's wrap-up; the
//!   call's Task is updated through the outbox.
//!
//! The records live in the agent's store ([`CallHistory`]); which tab leads and who holds
//! which call is the hub's [`crate::tabs::Tabs`].

use crate::commands::{call_id, ApiJson};
use crate::error::ApiError;
use crate::history::{CallHistory, HistoryError};
use crate::hub::Hub;
use crate::security::{self, Security};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use wire::{CrmRecord, Direction, HistoryEntry};

/// Longest texts accepted, as Salesforce's Task fields allow.
const MAX_DISPOSITION: usize = 255;
const MAX_NOTES: usize = 32_000;
const MAX_ERROR: usize = 2_000;
const MAX_NAME: usize = 255;
const MAX_OBJECT_TYPE: usize = 80;

#[derive(Clone)]
struct Delivery {
    hub: Arc<Hub>,
    log: Arc<dyn CallHistory>,
}

pub(crate) fn routes(hub: Arc<Hub>, log: Arc<dyn CallHistory>, security: Security) -> Router {
    Router::new()
        .route("/api/v1/calls/{id}/pop", post(pop))
        .route("/api/v1/outbox/claim", post(claim))
        .route("/api/v1/calls/{id}/log", post(logged))
        .route("/api/v1/calls/{id}/crm", put(crm))
        .route("/api/v1/calls/{id}/wrapup", post(wrapup))
        .layer(axum::middleware::map_response(crate::error::json_errors))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(security),
            security::guard,
        ))
        .with_state(Delivery { hub, log })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TabBody {
    tab: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoggedBody {
    tab: String,
    task_id: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CrmBody {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    object_type: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WrapupBody {
    disposition: Option<String>,
    notes: Option<String>,
}

/// The tab named in a body: one this agent knows as connected.
fn connected_tab(d: &Delivery, tab: &str) -> Result<u64, ApiError> {
    crate::tabs::parse_tab(tab)
        .filter(|id| d.hub.tabs().is_connected(*id))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "unknown_tab",
                format!(
                    "tab {:?} is not connected: use the tab id of this page's event socket",
                    tab.chars().take(24).collect::<String>()
                ),
            )
        })
}

fn not_leader() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "not_leader",
        "another tab leads: only the leading tab pops records and saves call logs",
    )
}

async fn pop(
    State(d): State<Delivery>,
    id: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<TabBody>,
) -> Result<Json<Value>, ApiError> {
    let id = call_id(id)?;
    let tab = connected_tab(&d, &body.tab)?;
    let call = d
        .hub
        .status()
        .calls
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| ApiError::unknown_call(&id))?;
    if call.direction != Direction::Inbound {
        return Ok(Json(
            json!({"pop": false, "why": "outbound calls are not popped"}),
        ));
    }
    if !d.hub.tabs().is_leader(tab) {
        return Err(not_leader());
    }
    let pop = d.hub.tabs().claim_pop(&id);
    Ok(Json(if pop {
        json!({"pop": true})
    } else {
        json!({"pop": false, "why": "already popped"})
    }))
}

async fn claim(
    State(d): State<Delivery>,
    ApiJson(body): ApiJson<TabBody>,
) -> Result<Json<Value>, ApiError> {
    let tab = connected_tab(&d, &body.tab)?;
    if !d.hub.tabs().is_leader(tab) {
        return Err(not_leader());
    }
    let log = d.log.clone();
    let waiting = blocking(move || log.outbox()).await?;
    let ids: Vec<String> = waiting.iter().map(|e| e.id.clone()).collect();
    let mine = d.hub.tabs().claim_logs(tab, ids);
    let calls: Vec<HistoryEntry> = waiting
        .into_iter()
        .filter(|e| mine.contains(&e.id))
        .collect();
    if !mine.is_empty() {
        let log = d.log.clone();
        blocking(move || log.mark_delivered(&mine)).await?;
    }
    Ok(Json(json!({ "calls": calls })))
}

async fn logged(
    State(d): State<Delivery>,
    id: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<LoggedBody>,
) -> Result<Json<Value>, ApiError> {
    let id = call_id(id)?;
    // A tab that has gone since (reloaded) may still report: what it saved is saved.
    if crate::tabs::parse_tab(&body.tab).is_none() {
        return Err(ApiError::bad_request(
            "tab: the tab id of this page's event socket",
        ));
    }
    let outcome = match (body.task_id, body.error) {
        (Some(task), None) if is_record_id(&task) => Ok(task),
        (Some(_), None) => {
            return Err(ApiError::bad_request(
                "task_id: a Salesforce record id (15 or 18 letters and digits)",
            ))
        }
        (None, Some(e)) if !e.trim().is_empty() => Err(clip(e.trim(), MAX_ERROR)),
        _ => {
            return Err(ApiError::bad_request(
                "give task_id (the saved Task) or error (why it was not saved), not both",
            ))
        }
    };
    let saved = outcome.is_ok();
    let log = d.log.clone();
    let call = id.clone();
    let result = blocking(move || log.logged(&call, outcome)).await;
    let out_of_date = d.hub.tabs().release(&id);
    result?;
    if saved && out_of_date {
        // The wrap-up changed while this save was under way: save the Task again.
        let log = d.log.clone();
        let call = id.clone();
        blocking(move || log.requeue(&call)).await?;
        d.hub.tabs().outbox_changed();
    }
    Ok(Json(json!({"ok": true})))
}

async fn crm(
    State(d): State<Delivery>,
    id: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<CrmBody>,
) -> Result<Json<Value>, ApiError> {
    let id = call_id(id)?;
    if !is_record_id(&body.id) {
        return Err(ApiError::bad_request(
            "id: a Salesforce record id (15 or 18 letters and digits)",
        ));
    }
    let record = CrmRecord {
        id: body.id,
        name: clip(&body.name, MAX_NAME),
        object_type: clip(&body.object_type, MAX_OBJECT_TYPE),
    };
    let log = d.log.clone();
    blocking(move || log.set_crm(&id, record)).await?;
    Ok(Json(json!({"ok": true})))
}

async fn wrapup(
    State(d): State<Delivery>,
    id: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<WrapupBody>,
) -> Result<Json<Value>, ApiError> {
    let id = call_id(id)?;
    let disposition = body
        .disposition
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if disposition
        .as_ref()
        .is_some_and(|s| s.chars().count() > MAX_DISPOSITION || s.chars().any(char::is_control))
    {
        return Err(ApiError::bad_request(format!(
            "disposition: at most {MAX_DISPOSITION} characters on one line"
        )));
    }
    let notes = body
        .notes
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if notes
        .as_ref()
        .is_some_and(|s| s.chars().count() > MAX_NOTES)
    {
        return Err(ApiError::bad_request(format!(
            "notes: at most {MAX_NOTES} characters"
        )));
    }
    let log = d.log.clone();
    let call = id.clone();
    blocking(move || log.set_wrapup(&call, disposition, notes)).await?;
    d.hub.tabs().wrapup_changed(&id);
    d.hub.tabs().outbox_changed();
    Ok(Json(json!({"ok": true})))
}

/// 15 or 18 ASCII letters and digits.
fn is_record_id(s: &str) -> bool {
    (s.len() == 15 || s.len() == 18) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn clip(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// [`crate::history::blocking`] with this module's words.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, HistoryError> + Send + 'static,
) -> Result<T, ApiError> {
    crate::history::blocking("the call records request failed", f).await
}
