//! Past calls as the page's recent-calls list sees them (`GET /api/v1/history`), and whether
//! the agent can keep them (the status document's `records`).

use serde::{Deserialize, Serialize};

use crate::call::{CallQuality, Direction, EndReason, Remote};

/// Where a call's log is on its way to the CRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogState {
    /// Waiting to be offered to a page.
    Pending,
    /// Offered to a page, no answer yet.
    Delivered,
    /// The page saved it: `task_id` names the Task.
    Saved,
    /// The page could not save it: `log_error` says why.
    Failed,
}

/// One past (or live) call in the history, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The call's id (unique across agent runs).
    pub id: String,
    pub direction: Direction,
    pub remote: Remote,
    /// RFC 3339 UTC.
    pub started_at: String,
    pub answered_at: Option<String>,
    /// Null while the call is live.
    pub ended_at: Option<String>,
    /// Talk time in whole seconds, from answer to end (0 when never answered; so far, while
    /// live).
    pub duration_s: u64,
    /// Null while the call is live. `interrupted`: the agent stopped during the call, which
    /// was closed at the agent's next start at the last instant it was known live.
    pub end_reason: Option<EndReason>,
    pub log_state: LogState,
    /// The Salesforce Task saved for the call (`log_state` `saved`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// Why saving failed (`log_state` `failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// The Salesforce record the call was matched to (screen pop or click-to-dial), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm_record: Option<CrmRecord>,
    /// The call's last audio figures (as in the call view).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<CallQuality>,
}

/// A Salesforce record a call belongs to, as the page found it (`PUT /api/v1/calls/{id}/crm`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmRecord {
    /// The record's 15- or 18-character Salesforce id (`003...` a Contact, `00Q...` a Lead).
    pub id: String,
    /// Its name as Salesforce shows it.
    #[serde(default)]
    pub name: String,
    /// Its object type, e.g. `Contact`.
    #[serde(default)]
    pub object_type: String,
}

/// The answer of `GET /api/v1/history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// Newest first.
    pub calls: Vec<HistoryEntry>,
    /// Pass as `before` for the next (older) page; null when this page is the last.
    pub next_before: Option<String>,
}

/// Whether the agent keeps call records (the status document's `records`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordsStatus {
    /// Records are being written. False: calls still work, but are not recorded.
    pub ok: bool,
    /// What went wrong, in words a person reads: the store could not be opened or written, or
    /// a damaged store was moved aside at start (then `ok` is true again with a fresh store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
