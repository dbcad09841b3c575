//! Events on the WebSocket.

use serde::{Deserialize, Serialize};

use crate::agent::AgentStatus;
use crate::call::{CallQuality, CallView};
use crate::status::{RegistrationStatus, Status};

/// Progress of a transfer, reported on the transferred call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferState {
    Trying,
    Ringing,
    Succeeded,
    Failed,
}

/// One event on the WebSocket: `{"event": "<kind>", "seq": N, ...fields of the kind}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// 1, 2, 3, ... within one agent run (one [`EventBody::Snapshot::instance`]). A
    /// snapshot carries the seq of the last event it includes (0 before any event).
    pub seq: u64,
    #[serde(flatten)]
    pub body: EventBody,
}

impl EventBody {
    /// Sent live only, never kept for resuming (the bridge's `Hub::publish_volatile`).
    pub fn is_volatile(&self) -> bool {
        matches!(self, EventBody::Levels { .. })
    }
}

/// What happened. The agent publishes every kind but `Snapshot`, which the bridge makes.
// `Snapshot` (a whole status) is the large one; it is made once per connection, so boxing
// it would cost every match for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventBody {
    /// The whole state, sent first on a connection that cannot be resumed, and after a
    /// client fell too far behind. `instance` names this agent run: pass it back with
    /// `since` when reconnecting.
    Snapshot { instance: String, status: Status },
    /// Registration changed.
    Registration { registration: RegistrationStatus },
    /// The agent's availability changed (state, chosen state, wrap-up start or end); the
    /// object is the status's whole `agent`.
    AgentStatus { agent: AgentStatus },
    /// A new inbound call (state `ringing`): apply it like `call`, and alert.
    Incoming { call: CallView },
    /// A call changed (state, mute, remote hold, ended); the view is the whole call.
    Call { call: CallView },
    /// The far end sent DTMF digits (SIP INFO or RFC 4733 in the media).
    Dtmf { call_id: String, digits: String },
    /// DTMF digits sent by SIP INFO did not reach the far end: it refused an INFO or did not
    /// answer. `digits` were not sent (the refused one and those queued after it).
    DtmfFailed {
        call_id: String,
        digits: String,
        sip_status: u16,
        message: String,
    },
    /// New audio figures of a call (about every 5 s while its media runs); `last`: the
    /// final ones, sent once its media stopped (the call may already be `ended`).
    CallQuality {
        call_id: String,
        quality: CallQuality,
        last: bool,
    },
    /// A transfer of `call_id` progressed.
    Transfer {
        call_id: String,
        state: TransferState,
        sip_status: Option<u16>,
        message: String,
    },
    /// An audio device was switched (`reason` "selected") or replaced because it failed or
    /// disappeared (`reason` says what happened; `to` is the device used now, `""` if none).
    DeviceChanged {
        direction: String,
        from: String,
        to: String,
        reason: String,
    },
    /// Audio levels of the active call: peaks over the last interval in whole dBFS (-96 is
    /// silence). Sent a few times a second while a call has the devices; not replayed on
    /// resume (it carries the seq of the event before it).
    Levels { input_dbfs: i32, output_dbfs: i32 },
}
