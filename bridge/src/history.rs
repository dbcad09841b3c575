//! `GET /api/v1/history?limit=&before=`: the page's list of recent calls, newest first.
//!
//! The bridge keeps no records: the agent hands it a [`CallHistory`]. Its calls may block
//! (they read a file), so they run on tokio's blocking pool.

use crate::error::ApiError;
use crate::security::{self, Security};
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use std::collections::HashMap;
use std::sync::Arc;
use wire::{CrmRecord, HistoryEntry, HistoryPage};

/// Calls per page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 20;
/// The largest `limit` accepted.
pub const MAX_LIMIT: usize = 200;
/// The longest call id (as the commands accept).
const MAX_ID_LEN: usize = 128;

/// Why a history request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// `before` names no recorded call: 400 `bad_request`.
    #[error("{0}")]
    UnknownCursor(String),
    /// Records cannot be read (no store, or it failed): 503 `unavailable`.
    #[error("{0}")]
    Unavailable(String),
    /// No recorded call has this id: 404 `unknown_call`.
    #[error("no call with id {0} in the call records")]
    UnknownCall(String),
}

impl From<HistoryError> for ApiError {
    fn from(e: HistoryError) -> ApiError {
        match e {
            HistoryError::UnknownCursor(m) => ApiError::bad_request(m),
            HistoryError::Unavailable(m) => ApiError::unavailable(m),
            HistoryError::UnknownCall(id) => ApiError::unknown_call(&id),
        }
    }
}

/// The agent's call records, as the bridge reads and updates them. May block.
pub trait CallHistory: Send + Sync + 'static {
    /// Up to `limit` calls, newest first, older than the call `before` when given.
    fn page(&self, limit: usize, before: Option<&str>) -> Result<HistoryPage, HistoryError>;

    /// Ended calls whose Task is not saved yet, oldest first.
    fn outbox(&self) -> Result<Vec<HistoryEntry>, HistoryError>;

    /// These calls' logs were handed to a page.
    fn mark_delivered(&self, ids: &[String]) -> Result<(), HistoryError>;

    /// A page saved call `id`'s Task (`Ok(task id)`) or could not (`Err(why)`).
    fn logged(&self, id: &str, outcome: Result<String, String>) -> Result<(), HistoryError>;

    /// Call `id`'s log goes back to the outbox (`pending`, its Task id kept): what was saved
    /// is out of date.
    fn requeue(&self, id: &str) -> Result<(), HistoryError>;

    /// The Salesforce record call `id` matched.
    fn set_crm(&self, id: &str, record: CrmRecord) -> Result<(), HistoryError>;

    /// The agent's disposition and notes for call `id`.
    fn set_wrapup(
        &self,
        id: &str,
        disposition: Option<String>,
        notes: Option<String>,
    ) -> Result<(), HistoryError>;
}

/// The history route, behind the same checks and error shape as the rest of the API.
pub(crate) fn routes(history: Arc<dyn CallHistory>, security: Security) -> Router {
    Router::new()
        .route("/api/v1/history", get(page))
        .layer(axum::middleware::map_response(crate::error::json_errors))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(security),
            security::guard,
        ))
        .with_state(history)
}

/// The query, checked: `limit` 1 to [`MAX_LIMIT`], `before` a call id.
fn parse_query(query: &HashMap<String, String>) -> Result<(usize, Option<String>), ApiError> {
    if let Some(key) = query.keys().find(|k| *k != "limit" && *k != "before") {
        return Err(ApiError::bad_request(format!(
            "unknown query parameter {key:?}: use limit and before"
        )));
    }
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "limit: a whole number from 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"
                ))
            })?,
    };
    let before = match query.get("before") {
        None => None,
        Some(id) if id.is_empty() || id.len() > MAX_ID_LEN || id.chars().any(char::is_control) => {
            return Err(ApiError::bad_request(format!(
                "before: a call id from an earlier page (1 to {MAX_ID_LEN} characters, no control characters)"
            )))
        }
        Some(id) => Some(id.clone()),
    };
    Ok((limit, before))
}

async fn page(
    State(history): State<Arc<dyn CallHistory>>,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<HistoryPage>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (limit, before) = parse_query(&query)?;
    blocking("the history request failed", move || {
        history.page(limit, before.as_deref())
    })
    .await
    .map(Json)
}

/// Runs a call to the agent's records on tokio's blocking pool (they read and write a file);
/// `failure` answers 503 if the call itself dies.
pub(crate) async fn blocking<T: Send + 'static>(
    failure: &'static str,
    f: impl FnOnce() -> Result<T, HistoryError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::unavailable(failure))?
        .map_err(ApiError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_query_is_checked() {
        assert_eq!(parse_query(&q(&[])), Ok((DEFAULT_LIMIT, None)));
        assert_eq!(
            parse_query(&q(&[("limit", "200"), ("before", "r3c7")])),
            Ok((200, Some("r3c7".into())))
        );
        for bad in [
            q(&[("limit", "0")]),
            q(&[("limit", "201")]),
            q(&[("limit", "ten")]),
            q(&[("before", "")]),
            q(&[("before", "a\u{7}b")]),
            q(&[("before", &"x".repeat(129))]),
            q(&[("page", "2")]),
        ] {
            let e = parse_query(&bad).expect_err("refused");
            assert_eq!((e.status.as_u16(), e.code), (400, "bad_request"), "{bad:?}");
        }
    }
}
