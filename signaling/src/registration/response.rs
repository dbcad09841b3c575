//! Reading a registrar's response: the granted lifetime, the address it saw us at,
//! Retry-After and Min-Expires.

use crate::message::typed::{Contact, Expires, MinExpires, Via};
use crate::message::{HeaderName, Host, Response, Uri};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The lifetime granted to `ours` (RFC 3261 §10.2.4): the `expires` parameter of our
/// Contact in the 2xx, else the Expires header, else what we asked for.
pub(super) fn granted_expires(response: &Response, ours: SocketAddr, requested: u32) -> u32 {
    if let Ok(contacts) = response.headers.typed_all::<Contact>() {
        for contact in contacts {
            let Contact::Addr(addr) = contact else {
                continue;
            };
            if is_at(&addr.uri, ours) {
                if let Some(secs) = addr
                    .params
                    .value("expires")
                    .and_then(|v| v.trim().parse().ok())
                {
                    return secs;
                }
            }
        }
    }
    match response.headers.typed::<Expires>() {
        Ok(Some(Expires(secs))) => secs,
        _ => requested,
    }
}

/// Whether a contact URI points at `addr` (5060 when the port is left out).
fn is_at(uri: &Uri, addr: SocketAddr) -> bool {
    let Uri::Sip(sip) = uri else { return false };
    let ip_matches = match (&sip.host, addr.ip()) {
        (Host::V4(a), IpAddr::V4(b)) => *a == b,
        (Host::V6(a), IpAddr::V6(b)) => *a == b,
        _ => false,
    };
    ip_matches && sip.port.unwrap_or(5060) == addr.port()
}

/// The address the registrar saw our request come from (RFC 3581 `received` + `rport` in
/// the top Via), when it told us.
pub(super) fn observed_addr(response: &Response, local: SocketAddr) -> Option<SocketAddr> {
    let via = response.headers.typed::<Via>().ok()??;
    let ip: IpAddr = via
        .received()?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    let port = via.rport().flatten().unwrap_or(local.port());
    Some(SocketAddr::new(ip, port))
}

/// Retry-After (RFC 3261 §20.33): leading delta-seconds; comment and params ignored.
pub(super) fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers.get(&HeaderName::RetryAfter)?;
    let digits: String = value
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok().map(Duration::from_secs)
}

pub(super) fn min_expires(response: &Response) -> Option<u32> {
    match response.headers.typed::<MinExpires>() {
        Ok(Some(MinExpires(secs))) => Some(secs),
        _ => None,
    }
}
