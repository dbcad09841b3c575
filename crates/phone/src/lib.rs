//! The call controller: ties each SIP call (`signaling::UserAgent`) to an SDP session and an RTP
//! stream (`media`), applies the dial plan and the agent's call policies, and keeps the call
//! list and events the softphone page sees (`wire`). Sans-IO like the cores it
//! drives: commands and datagrams in; transmits, media actions and page events out.

mod availability;
mod controller;
pub mod dialplan;
mod record;
mod sdp;
pub mod tones;
mod view;
pub mod wallclock;

pub use availability::{AgentConfig, DEFAULT_DISPOSITIONS};
pub use controller::{MediaAction, Phone, PhoneConfig};
pub use record::CallIds;
pub use view::{RegistrarView, Update};
