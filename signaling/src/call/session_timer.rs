//! Session timers (RFC 4028): negotiating the interval and the refresher, and when to act.

use super::CallSettings;
use crate::message::typed::{MinSe, Refresher, Require, SessionExpires, Supported};
use crate::message::{Headers, Request, Response};
use std::time::{Duration, Instant};

/// A negotiated session timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SessionTimer {
    pub interval: u32,
    /// We send the refreshes; otherwise we only watch for the far end's.
    pub we_refresh: bool,
}

impl SessionTimer {
    /// When the refresher should refresh: half the interval (§7.2, §10).
    pub fn refresh_after(&self) -> Duration {
        Duration::from_secs(u64::from(self.interval.max(2) / 2))
    }

    /// When the other side gives up on a missing refresh (§10): the interval less a third or
    /// 32 s, whichever is less.
    pub fn expire_after(&self) -> Duration {
        let interval = u64::from(self.interval);
        Duration::from_secs(interval - (interval / 3).min(32))
    }

    /// The next deadline from `now`.
    pub fn deadline(&self, now: Instant) -> Instant {
        now + if self.we_refresh {
            self.refresh_after()
        } else {
            self.expire_after()
        }
    }
}

pub(super) fn supports(headers: &Headers, tag: &str) -> bool {
    headers
        .typed_all::<Supported>()
        .unwrap_or_default()
        .iter()
        .any(|t| t.0.eq_ignore_ascii_case(tag))
        || requires(headers, tag)
}

pub(super) fn requires(headers: &Headers, tag: &str) -> bool {
    headers
        .typed_all::<Require>()
        .unwrap_or_default()
        .iter()
        .any(|t| t.0.eq_ignore_ascii_case(tag))
}

/// What the UAS does with an INVITE's Session-Expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum UasTimer {
    /// No session timer for this call.
    None,
    /// Put `Session-Expires` (and `Require: timer` when the UAC supports it) in our 2xx.
    Use(SessionTimer, SessionExpires, bool),
    /// 422 Session Interval Too Small with this Min-SE.
    TooSmall(u32),
}

/// RFC 4028 §9: the UAS side of the negotiation.
pub(super) fn negotiate_uas(request: &Request, settings: &CallSettings) -> UasTimer {
    let uac_supports = supports(&request.headers, "timer");
    let asked = request.headers.typed::<SessionExpires>().ok().flatten();
    let interval = match &asked {
        Some(se) if se.delta_seconds < settings.min_se => {
            return UasTimer::TooSmall(settings.min_se)
        }
        Some(se) => se.delta_seconds,
        None if settings.session_expires == 0 => return UasTimer::None,
        // The UAC did not ask; we may still ask for one (§9) if it supports timers.
        None if uac_supports => settings.session_expires,
        None => return UasTimer::None,
    };
    let min_se = request
        .headers
        .typed::<MinSe>()
        .ok()
        .flatten()
        .map_or(0, |m| m.0);
    let interval = interval.max(min_se).max(settings.min_se.min(interval));
    let refresher = match asked.and_then(|se| se.refresher) {
        Some(r) => r,
        None if uac_supports => Refresher::Uac,
        None => Refresher::Uas,
    };
    let timer = SessionTimer {
        interval,
        we_refresh: refresher == Refresher::Uas,
    };
    UasTimer::Use(
        timer,
        SessionExpires::new(interval, Some(refresher)),
        uac_supports,
    )
}

/// The smallest session interval RFC 4028 allows (§4, Min-SE).
const SMALLEST_INTERVAL: u32 = 90;

/// RFC 4028 §7.2: the UAC learns the outcome from the 2xx. An interval below the RFC's
/// floor (a far end's `Session-Expires: 0`) is taken as the floor, so it cannot make us
/// refresh every second.
pub(super) fn from_uac_response(response: &Response) -> Option<SessionTimer> {
    let se = response.headers.typed::<SessionExpires>().ok().flatten()?;
    Some(SessionTimer {
        interval: se.delta_seconds.max(SMALLEST_INTERVAL),
        // Absent refresher in a 2xx means the UAC (us) refreshes (§7.2).
        we_refresh: se.refresher != Some(Refresher::Uas),
    })
}

/// The Min-SE a 422 asks for.
pub(super) fn min_se_of(response: &Response) -> Option<u32> {
    response
        .headers
        .typed::<MinSe>()
        .ok()
        .flatten()
        .map(|m| m.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    fn invite(extra: &str) -> Request {
        let text = format!(
            "INVITE sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK1\r\n\
             From: <sip:a@b>;tag=1\r\nTo: <sip:1001@127.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\
             {extra}Content-Length: 0\r\n\r\n"
        );
        match Message::parse(text.as_bytes()).unwrap() {
            Message::Request(r) => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn uas_keeps_the_uacs_interval_and_refresher() {
        let s = CallSettings::default();
        let r = invite("Supported: timer\r\nSession-Expires: 120;refresher=uac\r\n");
        match negotiate_uas(&r, &s) {
            UasTimer::Use(t, se, require) => {
                assert_eq!(t.interval, 120);
                assert!(!t.we_refresh);
                assert_eq!(se.refresher, Some(Refresher::Uac));
                assert!(require);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn uas_refuses_too_small_and_refreshes_for_a_uac_without_timer_support() {
        let s = CallSettings::default();
        assert_eq!(
            negotiate_uas(&invite("Session-Expires: 30\r\n"), &s),
            UasTimer::TooSmall(90)
        );
        match negotiate_uas(&invite("Session-Expires: 300\r\n"), &s) {
            UasTimer::Use(t, _, require) => {
                assert!(t.we_refresh);
                assert!(!require);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(negotiate_uas(&invite(""), &s), UasTimer::None);
    }

    #[test]
    fn uac_takes_a_too_small_interval_in_a_2xx_as_the_floor() {
        let text = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK1\r\n\
             From: <sip:a@b>;tag=1\r\nTo: <sip:1001@127.0.0.1>;tag=2\r\nCall-ID: c1\r\n\
             CSeq: 1 INVITE\r\nSession-Expires: 0;refresher=uac\r\nContent-Length: 0\r\n\r\n";
        let Ok(Message::Response(r)) = Message::parse(text.as_bytes()) else {
            panic!("the test response parses");
        };
        let t = from_uac_response(&r).expect("a session timer");
        assert_eq!(t.interval, 90);
        assert_eq!(t.refresh_after(), Duration::from_secs(45));
    }

    #[test]
    fn deadlines() {
        let t = SessionTimer {
            interval: 90,
            we_refresh: true,
        };
        assert_eq!(t.refresh_after(), Duration::from_secs(45));
        assert_eq!(t.expire_after(), Duration::from_secs(60));
        let long = SessionTimer {
            interval: 1800,
            we_refresh: false,
        };
        assert_eq!(long.expire_after(), Duration::from_secs(1768));
    }
}
