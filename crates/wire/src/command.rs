//! Commands to the agent and its answers.

use crate::agent::ChosenState;
use serde::{Deserialize, Serialize};

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
    /// The agent picks its availability (`POST /api/v1/agent/status`).
    SetAgentStatus {
        state: ChosenState,
    },
}

impl Command {
    /// The call the command is about (`None` for `Dial` and `SetAgentStatus`).
    pub fn call_id(&self) -> Option<&str> {
        match self {
            Command::Dial { .. } | Command::SetAgentStatus { .. } => None,
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
