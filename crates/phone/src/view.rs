//! What the page sees, with one owner: the status document, kept up to date change by
//! change, and the queue of events, each paired with the status it leads to.
//!
//! The controller tells the view what changed (a call's new view, the registration state, an
//! event that changes nothing in the status); the driver only carries the resulting
//! [`Update`]s to the bridge, which fans them out as they are.

use signaling::RegistrationState as SipRegistration;
use std::collections::VecDeque;
use std::time::Instant;
use wire::{
    AgentStatus, AudioStatus, CallView, EventBody, RecordsStatus, RegistrationState,
    RegistrationStatus, Status,
};

/// One event for the page and the status document right after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub event: EventBody,
    pub status: Status,
}

/// Who registers where, as the status document names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarView {
    /// The address of record, e.g. `sip:1001@pbx.example`.
    pub aor: String,
    /// The registrar as configured, e.g. `pbx.example:5060`.
    pub server: String,
    /// `udp` / `tcp` / `tls`.
    pub transport: String,
}

pub(crate) struct PageView {
    status: Status,
    outbox: VecDeque<Update>,
}

impl PageView {
    pub fn new(registrar: RegistrarView) -> Self {
        PageView {
            status: Status {
                version: env!("CARGO_PKG_VERSION").to_owned(),
                registration: RegistrationStatus {
                    state: RegistrationState::Registering,
                    aor: registrar.aor,
                    server: registrar.server,
                    transport: registrar.transport,
                    certificate: None,
                    expires: None,
                    error: None,
                    retry_in: None,
                },
                calls: Vec::new(),
                audio: None,
                records: None,
                agent: AgentStatus::default(),
                diagnostics: None,
            },
            outbox: VecDeque::new(),
        }
    }

    pub fn status(&self) -> &Status {
        &self.status
    }

    pub fn poll(&mut self) -> Option<Update> {
        self.outbox.pop_front()
    }

    /// The registration changed: the status's registration part and a `registration` event.
    pub fn registration(&mut self, state: &SipRegistration, now: Instant) {
        let reg = &mut self.status.registration;
        reg.expires = None;
        reg.error = None;
        reg.retry_in = None;
        reg.state = match state {
            SipRegistration::Registering => RegistrationState::Registering,
            SipRegistration::Unregistered => RegistrationState::Unregistered,
            SipRegistration::Registered { expires_at } => {
                let left = expires_at.saturating_duration_since(now).as_secs();
                reg.expires = Some(u32::try_from(left).unwrap_or(u32::MAX));
                RegistrationState::Registered
            }
            SipRegistration::Failed { error, retry_at } => {
                reg.error = Some(error.to_string());
                reg.retry_in = Some(retry_at.saturating_duration_since(now).as_secs());
                RegistrationState::Failed
            }
        };
        let registration = reg.clone();
        self.emit(EventBody::Registration { registration });
    }

    /// A call changed (or is new): its view replaces the old one, and the page hears of it
    /// (`incoming` for a new inbound call, else `call`).
    pub fn call(&mut self, view: CallView, incoming: bool) {
        self.store(view.clone());
        self.emit(if incoming {
            EventBody::Incoming { call: view }
        } else {
            EventBody::Call { call: view }
        });
    }

    /// A call's view changed in a way its own event reports (new audio figures).
    pub fn call_quietly(&mut self, view: CallView) {
        self.store(view);
    }

    /// An ended call the status no longer lists.
    pub fn forget_call(&mut self, id: &str) {
        self.status.calls.retain(|c| c.id != id);
    }

    /// An event that changes nothing in the status document (digits, transfer progress,
    /// a device switch).
    pub fn event(&mut self, event: EventBody) {
        self.emit(event);
    }

    /// The audio devices' counters: part of the status, announced by no event.
    pub fn set_audio(&mut self, audio: Option<AudioStatus>) {
        self.status.audio = audio;
    }

    /// What the agent holds (transactions, calls, heap): part of the status, announced by no
    /// event.
    pub fn set_diagnostics(&mut self, diagnostics: wire::Diagnostics) {
        self.status.diagnostics = Some(diagnostics);
    }

    /// The PBX's TLS certificate on the live connection: part of the registration, announced
    /// by no event of its own (the next `registration` event carries it).
    pub fn set_certificate(&mut self, certificate: Option<wire::PeerCertificate>) {
        self.status.registration.certificate = certificate;
    }

    /// Whether call records are kept: part of the status, announced by no event.
    pub fn set_records(&mut self, records: Option<RecordsStatus>) {
        self.status.records = records;
    }

    /// The agent's availability: part of the status; `announce` sends an `agent_status` event.
    pub fn agent(&mut self, agent: AgentStatus, announce: bool) {
        self.status.agent = agent.clone();
        if announce {
            self.emit(EventBody::AgentStatus { agent });
        }
    }

    /// Calls are listed in the order they were created; a new one goes last.
    fn store(&mut self, view: CallView) {
        match self.status.calls.iter_mut().find(|c| c.id == view.id) {
            Some(slot) => *slot = view,
            None => self.status.calls.push(view),
        }
    }

    fn emit(&mut self, event: EventBody) {
        self.outbox.push_back(Update {
            event,
            status: self.status.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signaling::RegistrationError;
    use std::time::Duration;
    use wire::{CallState, Direction, Remote};

    fn view() -> PageView {
        PageView::new(RegistrarView {
            aor: "sip:1001@pbx.test".into(),
            server: "pbx.test:5060".into(),
            transport: "udp".into(),
        })
    }

    fn call(id: &str, state: CallState) -> CallView {
        let remote = Remote {
            number: "+15550102000".into(),
            display_name: None,
            uri: "sip:+15550102000@carrier.test".into(),
        };
        let started_at = "2026-12-06T18:00:00Z".into();
        CallView::new(id.into(), Direction::Inbound, state, remote, started_at)
    }

    #[test]
    fn registration_is_rendered_once_with_times_from_now() {
        let mut v = view();
        let now = Instant::now();
        v.registration(
            &SipRegistration::Registered {
                expires_at: now + Duration::from_secs(300),
            },
            now,
        );
        let update = v.poll().expect("an update");
        let EventBody::Registration { registration } = &update.event else {
            panic!("{:?}", update.event);
        };
        assert_eq!(registration.state, RegistrationState::Registered);
        assert_eq!(registration.expires, Some(300));
        assert_eq!(&update.status.registration, registration);

        v.registration(
            &SipRegistration::Failed {
                error: RegistrationError::NoAnswer {
                    registrar: "pbx.test:5060".into(),
                },
                retry_at: now + Duration::from_secs(30),
            },
            now,
        );
        let reg = v.poll().expect("an update").status.registration;
        assert_eq!(reg.state, RegistrationState::Failed);
        assert_eq!((reg.expires, reg.retry_in), (None, Some(30)));
        assert!(reg.error.is_some());
        assert!(v.poll().is_none());
    }

    #[test]
    fn each_update_carries_the_status_right_after_its_event() {
        let mut v = view();
        v.call(call("c1", CallState::Ringing), true);
        v.call(call("c2", CallState::Ringing), true);
        v.call(call("c1", CallState::Connected), false);
        v.forget_call("c2");
        v.event(EventBody::Dtmf {
            call_id: "c1".into(),
            digits: "5".into(),
        });
        let states = |u: &Update| -> Vec<(String, CallState)> {
            u.status
                .calls
                .iter()
                .map(|c| (c.id.clone(), c.state))
                .collect()
        };
        let updates: Vec<Update> = std::iter::from_fn(|| v.poll()).collect();
        assert_eq!(updates.len(), 4);
        assert!(matches!(updates[0].event, EventBody::Incoming { .. }));
        assert_eq!(states(&updates[0]), [("c1".into(), CallState::Ringing)]);
        assert_eq!(
            states(&updates[2]),
            [
                ("c1".into(), CallState::Connected),
                ("c2".into(), CallState::Ringing)
            ],
            "updated in place, creation order kept"
        );
        assert_eq!(states(&updates[3]), [("c1".into(), CallState::Connected)]);
    }

    #[test]
    fn audio_counters_stay_in_the_status_across_events() {
        let mut v = view();
        v.set_audio(Some(AudioStatus::default()));
        assert!(v.poll().is_none(), "no event for the counters");
        v.call(call("c1", CallState::Ringing), true);
        assert!(v.poll().expect("an update").status.audio.is_some());
        v.set_audio(None);
        assert!(v.status().audio.is_none());
    }

    #[test]
    fn diagnostics_stay_in_the_status_without_an_event() {
        let mut v = view();
        let d = wire::Diagnostics {
            sip_transactions: 3,
            sip_calls: 1,
            heap_in_use: Some(1 << 20),
        };
        v.set_diagnostics(d);
        assert!(v.poll().is_none(), "no event for the diagnostics");
        v.call(call("c1", CallState::Ringing), true);
        assert_eq!(v.poll().expect("an update").status.diagnostics, Some(d));
    }
}
