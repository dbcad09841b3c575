//! The PBX's TLS certificate in the status document: after each round of sends, the agent
//! looks at the certificate on the live connection to the registrar and, when it changed
//! (a new connection, or none any more), puts its subject and expiry in
//! `registration.certificate`.

use phone::Phone;
use signaling::{Peer, TransportKind, Transports};

/// Remembers the certificate last shown, to touch the status only when it changes.
pub struct TlsPeerWatch {
    registrar: Peer,
    shown: Option<Vec<u8>>,
}

impl TlsPeerWatch {
    /// A watch for `registrar`, when it is reached over TLS.
    pub fn new(registrar: Peer) -> Option<TlsPeerWatch> {
        (registrar.transport == TransportKind::Tls).then_some(TlsPeerWatch {
            registrar,
            shown: None,
        })
    }

    /// Whether the status changed (the caller publishes it).
    pub fn refresh(&mut self, transports: &Transports, phone: &mut Phone) -> bool {
        let now = transports.tls_peer_certificate(self.registrar.addr);
        if now == self.shown {
            return false;
        }
        let summary = now
            .as_deref()
            .and_then(signaling::certificate_summary)
            .map(|s| wire::PeerCertificate {
                subject: s.subject,
                expires: s.expires,
            });
        if let Some(c) = &summary {
            tracing::info!(subject = %c.subject, expires = %c.expires, "the PBX's TLS certificate");
        }
        phone.set_certificate(summary);
        self.shown = now;
        true
    }
}
