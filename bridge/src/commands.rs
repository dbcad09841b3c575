//! The command endpoints: `POST /api/v1/calls`, `POST /api/v1/calls/{id}/<action>` and
//! `POST /api/v1/agent/status`.
//! Each request is validated, handed to the agent as a [`CommandRequest`] and its reply
//! mapped to HTTP.

use crate::error::ApiError;
use crate::protocol::{ChosenState, Command, CommandError, CommandReply};
use crate::AppState;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, MethodRouter};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long the bridge waits for the agent to take and answer a command.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest call id the bridge passes on.
const MAX_ID_LEN: usize = 128;
/// The longest number or address the bridge passes on.
const MAX_TO_LEN: usize = 256;
/// The most DTMF digits in one command.
const MAX_DIGITS: usize = 32;

/// One command for the agent, with the channel for its answer. Answer every request
/// (dropping `reply` makes the HTTP answer a 503).
#[derive(Debug)]
pub struct CommandRequest {
    pub command: Command,
    pub reply: oneshot::Sender<Result<CommandReply, CommandError>>,
}

impl CommandRequest {
    /// Sends the answer; a client that went away meanwhile is not an error.
    pub fn respond(self, result: Result<CommandReply, CommandError>) {
        let _ = self.reply.send(result);
    }
}

/// A JSON body whose rejections are in our error shape.
pub(crate) struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| ApiJson(v))
            .map_err(ApiError::from_json_rejection)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DialBody {
    to: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DtmfBody {
    digits: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    to: Option<String>,
    replaces: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentStatusBody {
    /// Checked here rather than by serde, so a state that cannot be chosen is a
    /// `bad_request` naming the choices, not a JSON error.
    state: String,
}

/// The routes of this module.
pub(crate) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/api/v1/calls", post(dial))
        .route(
            "/api/v1/calls/{id}/answer",
            action(|id| Command::Answer { id }),
        )
        .route(
            "/api/v1/calls/{id}/reject",
            action(|id| Command::Reject { id }),
        )
        .route(
            "/api/v1/calls/{id}/hangup",
            action(|id| Command::Hangup { id }),
        )
        .route("/api/v1/calls/{id}/hold", action(|id| Command::Hold { id }))
        .route(
            "/api/v1/calls/{id}/resume",
            action(|id| Command::Resume { id }),
        )
        .route("/api/v1/calls/{id}/mute", action(|id| Command::Mute { id }))
        .route(
            "/api/v1/calls/{id}/unmute",
            action(|id| Command::Unmute { id }),
        )
        .route("/api/v1/calls/{id}/dtmf", post(dtmf))
        .route("/api/v1/calls/{id}/transfer", post(transfer))
        .route("/api/v1/agent/status", post(agent_status))
}

/// The agent picks available, away or dnd; `on_call` and `after_call_work` follow from its
/// calls and cannot be chosen.
async fn agent_status(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<AgentStatusBody>,
) -> Result<Response, ApiError> {
    let chosen = ChosenState::from_name(&body.state).ok_or_else(|| {
        let shown: String = body.state.chars().take(40).collect();
        ApiError::bad_request(format!(
            "\"state\" must be \"available\", \"away\" or \"dnd\" (on_call and after_call_work follow from calls), got {:?}",
            shown
        ))
    })?;
    dispatch(&state.commands, Command::SetAgentStatus { state: chosen }).await
}

/// A body-less action on one call.
fn action(make: fn(String) -> Command) -> MethodRouter<AppState> {
    post(
        move |State(state): State<AppState>, id: Result<Path<String>, PathRejection>| async move {
            let id = call_id(id)?;
            dispatch(&state.commands, make(id)).await
        },
    )
}

async fn dial(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<DialBody>,
) -> Result<Response, ApiError> {
    let to = destination(&body.to)?;
    dispatch(&state.commands, Command::Dial { to }).await
}

async fn dtmf(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<DtmfBody>,
) -> Result<Response, ApiError> {
    let id = call_id(id)?;
    let digits = dtmf_digits(&body.digits)?;
    dispatch(&state.commands, Command::Dtmf { id, digits }).await
}

async fn transfer(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<TransferBody>,
) -> Result<Response, ApiError> {
    let id = call_id(id)?;
    let command =
        match (body.to, body.replaces) {
            (Some(to), None) => Command::BlindTransfer {
                id,
                to: destination(&to)?,
            },
            (None, Some(replaces)) => {
                if !valid_id(&replaces) {
                    return Err(ApiError::bad_request(
                        "\"replaces\" must be the id of another call",
                    ));
                }
                if replaces == id {
                    return Err(ApiError::bad_request("a call cannot replace itself"));
                }
                Command::AttendedTransfer { id, replaces }
            }
            _ => return Err(ApiError::bad_request(
                "give exactly one of \"to\" (blind transfer) or \"replaces\" (attended transfer)",
            )),
        };
    dispatch(&state.commands, command).await
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && !id.chars().any(char::is_control)
}

/// The call id from the path; ids no agent could have issued are unknown calls.
pub(crate) fn call_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(id) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if !valid_id(&id) {
        let shown: String = id.chars().take(MAX_ID_LEN).collect();
        return Err(ApiError::unknown_call(&shown.escape_default().to_string()));
    }
    Ok(id)
}

/// A number or address to dial: trimmed, non-empty, at most 256 characters, no control
/// characters. Whether it is dialable is the agent's call.
fn destination(to: &str) -> Result<String, ApiError> {
    let to = to.trim();
    if to.is_empty() {
        return Err(ApiError::bad_request(
            "\"to\" is empty: give a number or SIP address",
        ));
    }
    if to.chars().count() > MAX_TO_LEN {
        return Err(ApiError::bad_request(format!(
            "\"to\" is longer than {MAX_TO_LEN} characters"
        )));
    }
    if to.chars().any(char::is_control) {
        return Err(ApiError::bad_request("\"to\" contains control characters"));
    }
    Ok(to.to_owned())
}

/// 1 to 32 of `0-9 * # A-D` (lower-case `a-d` accepted and upper-cased).
fn dtmf_digits(digits: &str) -> Result<String, ApiError> {
    if digits.is_empty() || digits.chars().count() > MAX_DIGITS {
        return Err(ApiError::bad_request(format!(
            "\"digits\" must have 1 to {MAX_DIGITS} characters"
        )));
    }
    if let Some(bad) = digits
        .chars()
        .find(|c| !matches!(c, '0'..='9' | '*' | '#' | 'A'..='D' | 'a'..='d'))
    {
        return Err(ApiError::bad_request(format!(
            "\"digits\" may only contain 0-9, *, # and A-D; found {:?}",
            bad
        )));
    }
    Ok(digits.to_ascii_uppercase())
}

/// Hands a command to the agent and maps its answer to HTTP.
async fn dispatch(
    commands: &mpsc::Sender<CommandRequest>,
    command: Command,
) -> Result<Response, ApiError> {
    let (reply, answer) = oneshot::channel();
    let exchange = async {
        commands
            .send(CommandRequest { command, reply })
            .await
            .map_err(|_| ApiError::unavailable("the agent is not running"))?;
        answer
            .await
            .map_err(|_| ApiError::unavailable("the agent dropped the command"))
    };
    let result = tokio::time::timeout(COMMAND_TIMEOUT, exchange)
        .await
        .map_err(|_| {
            ApiError::unavailable(format!(
                "the agent did not answer within {} s",
                COMMAND_TIMEOUT.as_secs()
            ))
        })??;
    match result {
        Ok(CommandReply::Created { id }) => {
            let location = format!("/api/v1/calls/{id}");
            let mut response =
                (StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response();
            if let Ok(v) = header::HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, v);
            }
            Ok(response)
        }
        Ok(CommandReply::Accepted) => Ok(Json(serde_json::json!({ "ok": true })).into_response()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits() {
        assert_eq!(dtmf_digits("12#*abcD").unwrap(), "12#*ABCD");
        assert!(dtmf_digits("").is_err());
        assert!(dtmf_digits("1 2").is_err());
        assert!(dtmf_digits("E").is_err());
        assert!(dtmf_digits(&"1".repeat(33)).is_err());
        assert!(dtmf_digits(&"1".repeat(32)).is_ok());
    }

    #[test]
    fn destinations() {
        assert_eq!(destination(" +49 30 1234 ").unwrap(), "+49 30 1234");
        assert!(destination("  ").is_err());
        assert!(destination("1\n2").is_err());
        assert!(destination(&"1".repeat(257)).is_err());
    }
}
