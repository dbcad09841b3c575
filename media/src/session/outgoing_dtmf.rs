//! The digits a session sends (RFC 4733): the queue the call controller fills and the
//! sans-IO [`DtmfSender`] pacing them, tied to the session's RTP timestamps.

use std::collections::VecDeque;
use std::time::Instant;

use tracing::warn;

use super::DTMF_TONE_MS;
use crate::dtmf::{Digit, DtmfConfig, DtmfSender};

/// One telephone-event packet due, in RTP terms.
#[derive(Debug, Clone, Copy)]
pub(super) struct EventPacket {
    pub payload: [u8; 4],
    pub timestamp: u32,
    pub marker: bool,
    /// The first end packet of its event (the digit counts as sent).
    pub first_end: bool,
}

/// The sender and the RTP timestamp at its epoch.
struct Active {
    sender: DtmfSender,
    timestamp_at_epoch: u32,
    /// Timestamp of the last event whose end packet went out (counted once).
    last_end: Option<u32>,
}

#[derive(Default)]
pub(super) struct OutgoingDtmf {
    queue: VecDeque<Digit>,
    active: Option<Active>,
}

impl OutgoingDtmf {
    pub fn queue(&mut self, digits: impl IntoIterator<Item = Digit>) {
        self.queue.extend(digits);
    }

    /// No telephone-event negotiated: what was asked cannot be sent.
    pub fn drop_queue(&mut self) {
        if !self.queue.is_empty() {
            warn!(
                digits = self.queue.len(),
                "no telephone-event negotiated; DTMF dropped"
            );
            self.queue.clear();
        }
    }

    /// The event clock rate changed: the event on the way is abandoned.
    pub fn reset(&mut self) {
        self.active = None;
    }

    /// While an event is on, audio is held back.
    pub fn is_active(&self) -> bool {
        self.active.as_ref().is_some_and(|a| a.sender.is_active())
    }

    /// The packets due at `now`. `(rate, frame_ms)`: the event clock and the update
    /// interval; `audio_timestamp`: the RTP timestamp this period's audio would have, where
    /// a fresh sender's first event starts.
    pub fn poll(
        &mut self,
        now: Instant,
        (rate, frame_ms): (u32, u32),
        audio_timestamp: u32,
    ) -> Vec<EventPacket> {
        if !self.queue.is_empty() {
            if self.active.as_ref().is_none_or(|a| a.sender.is_idle()) {
                match DtmfSender::new(DtmfConfig::new(rate, frame_ms), now) {
                    Ok(sender) => {
                        self.active = Some(Active {
                            sender,
                            timestamp_at_epoch: audio_timestamp,
                            last_end: None,
                        })
                    }
                    Err(e) => {
                        warn!(error = %e, "DTMF cannot be sent");
                        self.queue.clear();
                        return Vec::new();
                    }
                }
            }
            if let Some(a) = self.active.as_mut() {
                for d in self.queue.drain(..) {
                    a.sender.start(d, DTMF_TONE_MS, now);
                }
            }
        }
        let Some(a) = self.active.as_mut() else {
            return Vec::new();
        };
        let mut due = Vec::new();
        while let Some(p) = a.sender.poll(now) {
            let timestamp = p.rtp_timestamp(a.timestamp_at_epoch);
            let first_end = p.end && a.last_end != Some(timestamp);
            if first_end {
                a.last_end = Some(timestamp);
            }
            due.push(EventPacket {
                payload: p.payload,
                timestamp,
                marker: p.marker,
                first_end,
            });
        }
        due
    }
}
