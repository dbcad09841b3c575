//! The agent's availability as the page sees it (the status document's `agent`, the
//! `agent_status` event) and what the agent may choose.

use serde::{Deserialize, Serialize};

/// The agent's effective state: what it chose, unless a call or its wrap-up says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    Available,
    Away,
    Dnd,
    /// A call is live (ringing, dialing, connected or held).
    OnCall,
    /// Wrap-up after an answered call: new calls are turned away until it ends.
    AfterCallWork,
}

/// What the agent can pick (`POST /api/v1/agent/status`); kept across restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChosenState {
    Available,
    Away,
    Dnd,
}

impl ChosenState {
    /// The wire name (`available`, `away`, `dnd`), also how the store keeps it.
    pub fn name(self) -> &'static str {
        match self {
            ChosenState::Available => "available",
            ChosenState::Away => "away",
            ChosenState::Dnd => "dnd",
        }
    }

    /// The choice a wire name names; `None` for anything else (`on_call` cannot be chosen).
    pub fn from_name(name: &str) -> Option<ChosenState> {
        match name {
            "available" => Some(ChosenState::Available),
            "away" => Some(ChosenState::Away),
            "dnd" => Some(ChosenState::Dnd),
            _ => None,
        }
    }
}

impl From<ChosenState> for AgentState {
    fn from(c: ChosenState) -> AgentState {
        match c {
            ChosenState::Available => AgentState::Available,
            ChosenState::Away => AgentState::Away,
            ChosenState::Dnd => AgentState::Dnd,
        }
    }
}

/// The status document's `agent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentStatus {
    pub state: AgentState,
    pub chosen: ChosenState,
    /// When `state` last changed (RFC 3339 UTC).
    pub since: String,
    /// When after-call work ends (RFC 3339 UTC); null unless `state` is `after_call_work`.
    pub wrapup_ends_at: Option<String>,
    /// The call whose wrap-up this is; null unless `state` is `after_call_work`.
    pub wrapup_call_id: Option<String>,
    /// The disposition codes the page offers (`[agent] dispositions`).
    pub dispositions: Vec<String>,
}

impl Default for AgentStatus {
    /// Available since the epoch, no dispositions: what a document without `agent` means.
    fn default() -> Self {
        AgentStatus {
            state: AgentState::Available,
            chosen: ChosenState::Available,
            since: "1970-01-01T00:00:00Z".to_owned(),
            wrapup_ends_at: None,
            wrapup_call_id: None,
            dispositions: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_contracts() {
        let status = AgentStatus {
            state: AgentState::AfterCallWork,
            chosen: ChosenState::Dnd,
            since: "2026-12-06T21:40:00Z".into(),
            wrapup_ends_at: Some("2026-12-06T21:41:00Z".into()),
            wrapup_call_id: Some("r3c5".into()),
            dispositions: vec!["Resolved".into()],
        };
        let json = serde_json::to_value(&status).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "state": "after_call_work", "chosen": "dnd", "since": "2026-12-06T21:40:00Z",
                "wrapup_ends_at": "2026-12-06T21:41:00Z", "wrapup_call_id": "r3c5",
                "dispositions": ["Resolved"]
            })
        );
        assert_eq!(
            serde_json::to_value(AgentState::OnCall).expect("serializes"),
            "on_call"
        );
        for c in [ChosenState::Available, ChosenState::Away, ChosenState::Dnd] {
            assert_eq!(ChosenState::from_name(c.name()), Some(c));
            assert_eq!(serde_json::to_value(c).expect("serializes"), c.name());
        }
        assert_eq!(ChosenState::from_name("on_call"), None);
        assert_eq!(ChosenState::from_name("after_call_work"), None);
    }
}
