//! The wire types of the bridge API: the status document, call views, commands, command
//! replies, events, the call history and the agent's availability. SIP-agnostic: the call controller (`phone`) builds them from its own
//! state, and the bridge serves them as JSON.
//!
//! A crate of its own, with no networking dependency, so that the sans-IO controller and the
//! HTTP bridge share one definition. `docs/bridge-protocol.md` is the contract these types
//! implement; keep both in step.

mod agent;
mod call;
mod command;
mod event;
mod history;
mod status;

pub use agent::{AgentState, AgentStatus, ChosenState};
pub use call::{CallCodec, CallQuality, CallState, CallView, Direction, EndReason, Remote};
pub use command::{Command, CommandError, CommandErrorKind, CommandReply};
pub use event::{Event, EventBody, TransferState};
pub use history::{CrmRecord, HistoryEntry, HistoryPage, LogState, RecordsStatus};
pub use status::{
    AudioStatus, DeviceFigures, Diagnostics, PeerCertificate, RegistrationState,
    RegistrationStatus, Status,
};
