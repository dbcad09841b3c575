//! How messages find their transaction: client keys (RFC 3261 §17.1.3: top Via branch + CSeq
//! method) and server keys (§17.2.3: branch + sent-by + method, an ACK looking for its INVITE),
//! and branch generation.

use crate::message::typed::{CallId, From, Via};
use crate::message::{Host, Method, Request, SipStr};
use rand::Rng;

/// Marks a branch as RFC 3261-unique (§8.1.1.7).
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// A fresh branch: the magic cookie and 96 random bits.
pub fn new_branch<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!(
        "{MAGIC_COOKIE}{:016x}{:08x}",
        rng.random::<u64>(),
        rng.random::<u32>()
    )
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey {
    branch: SipStr,
    method: Method,
}

impl ClientKey {
    /// `None` when the Via has no branch (we never send one without).
    pub fn new(via: &Via, cseq_method: &Method) -> Option<ClientKey> {
        let branch = via.branch()?;
        Some(ClientKey {
            branch: SipStr::from(branch),
            method: cseq_method.clone(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ServerKey {
    branch: SipStr,
    sent_by_host: String,
    sent_by_port: Option<u16>,
    method: Method,
}

impl ServerKey {
    /// The key of `request` as the transaction of `method` would see it (an ACK passes
    /// `Method::Invite` to find the INVITE it acknowledges; a CANCEL does the same to find
    /// what it cancels).
    ///
    /// A top Via without the magic cookie comes from an RFC 2543 client. Instead of the full
    /// §17.2.3 legacy comparison we key such requests on what stays the same across a
    /// retransmission and its ACK: the whole top Via, Call-ID, CSeq number and From tag.
    pub fn new(via: &Via, request: &Request, cseq_seq: u32, method: Method) -> ServerKey {
        let branch = match via.branch() {
            Some(b) if b.starts_with(MAGIC_COOKIE) => SipStr::from(b),
            _ => {
                let call_id = match request.headers.typed::<CallId>() {
                    Ok(Some(CallId(id))) => id.to_string(),
                    _ => String::new(),
                };
                let from_tag = match request.headers.typed::<From>() {
                    Ok(Some(From(addr))) => addr.tag().unwrap_or_default().to_owned(),
                    _ => String::new(),
                };
                let via_text = super::build::print_typed(via);
                SipStr::from(format!(
                    "rfc2543|{via_text}|{call_id}|{cseq_seq}|{from_tag}"
                ))
            }
        };
        ServerKey {
            branch,
            sent_by_host: host_key(&via.host),
            sent_by_port: via.port,
            method,
        }
    }
}

fn host_key(host: &Host) -> String {
    match host {
        Host::Domain(d) => d.to_ascii_lowercase(),
        Host::V4(a) => a.to_string(),
        Host::V6(a) => a.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn branches_carry_the_cookie_and_differ() {
        let mut rng = StdRng::seed_from_u64(7);
        let a = new_branch(&mut rng);
        let b = new_branch(&mut rng);
        assert!(a.starts_with(MAGIC_COOKIE));
        assert_eq!(a.len(), MAGIC_COOKIE.len() + 24);
        assert_ne!(a, b);
    }
}
