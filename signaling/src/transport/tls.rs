//! The TLS driver (RFC 3261 §26.2): the agent is a TLS client only. The first send to the
//! PBX starts a connection in the background (what is sent meanwhile is queued, so a slow
//! PBX never holds up the agent's loop), verifies the PBX's certificate (always: nothing
//! turns verification off), and that connection carries every later request; the PBX sends
//! its own requests back over it (the agent has no server certificate to accept connections
//! with). A connect or handshake that fails comes back as [`Inbound::Closed`] with a
//! [`TransportFailure`] whose words name the cause and the setting to fix.

use super::stream::{ending, read_messages};
use super::{Inbound, TCP_CONNECT_TIMEOUT};
use crate::net::{Peer, TransportFailure};
use bytes::Bytes;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncWriteExt, WriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// How long a TLS handshake may take once TCP is connected, unless the settings say.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the TLS client needs to know, from `[sip]` in the agent's configuration.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// The registrar / outbound proxy. Connections to it expect `server_name` on its
    /// certificate; any other TLS destination must present its IP address.
    pub server: SocketAddr,
    /// The name the PBX's certificate must carry: a DNS name or an IP address
    /// (`[sip] tls_server_name`, else the host of `[sip] server`).
    pub server_name: String,
    /// Trust the CA certificates of this PEM file instead of the system's trust store
    /// (`[sip] ca_file`).
    pub ca_file: Option<PathBuf>,
    /// A client certificate chain and its private key, both PEM, for PBXs that ask for
    /// one (`[sip] tls_cert_file`, `[sip] tls_key_file`).
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// How long a handshake may take.
    pub handshake_timeout: Duration,
}

impl TlsSettings {
    /// Settings that trust the system's store and expect `server_name`.
    pub fn new(server: SocketAddr, server_name: &str) -> Self {
        TlsSettings {
            server,
            server_name: server_name.to_owned(),
            ca_file: None,
            client_cert: None,
            handshake_timeout: TLS_HANDSHAKE_TIMEOUT,
        }
    }
}

/// A TLS setting that cannot be used; `Display` names the key (`[sip] ca_file: ...`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[sip] {key}: {message}")]
pub struct TlsSetupError {
    /// The `[sip]` key to fix.
    pub key: &'static str,
    /// What is wrong with it.
    pub message: String,
}

fn setup_error(key: &'static str, message: String) -> TlsSetupError {
    TlsSetupError { key, message }
}

/// Where the trusted CAs come from, for the words of an untrusted-issuer error.
#[derive(Debug, Clone)]
enum Trust {
    System,
    CaFile(PathBuf),
}

/// A ready TLS client configuration: trust anchors, the name to expect, the client
/// certificate.
#[derive(Clone)]
pub struct TlsClient {
    connector: TlsConnector,
    server: SocketAddr,
    server_name: ServerName<'static>,
    trust: Trust,
    handshake_timeout: Duration,
}

impl fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClient")
            .field("server", &self.server)
            .field("server_name", &self.server_name)
            .field("trust", &self.trust)
            .finish()
    }
}

impl TlsClient {
    /// Loads the trust anchors and the client certificate.
    pub fn new(settings: &TlsSettings) -> Result<TlsClient, TlsSetupError> {
        let server_name = ServerName::try_from(settings.server_name.clone()).map_err(|_| {
            setup_error(
                "tls_server_name",
                format!(
                    "{:?} is neither a host name nor an IP address",
                    settings.server_name
                ),
            )
        })?;
        let (roots, trust) = match &settings.ca_file {
            Some(path) => (roots_from_file(path)?, Trust::CaFile(path.clone())),
            None => (system_roots()?, Trust::System),
        };
        // ring: it builds with a C compiler alone. rustls 0.23.48 deprecates it only for
        // lacking post-quantum key exchange, which SIP PBXs do not offer yet.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| setup_error("transport", format!("TLS is unavailable: {e}")))?
            .with_root_certificates(roots);
        let config = match &settings.client_cert {
            None => builder.with_no_client_auth(),
            Some((cert_file, key_file)) => {
                let chain = certificates_from_file(cert_file, "tls_cert_file")?;
                let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| {
                    setup_error(
                        "tls_key_file",
                        format!(
                            "no private key read from {}: {e} (expected a PEM file with a PKCS#8, PKCS#1 or SEC1 key)",
                            key_file.display()
                        ),
                    )
                })?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    setup_error(
                        "tls_key_file",
                        format!(
                            "{} does not go with the certificate in tls_cert_file: {e}",
                            key_file.display()
                        ),
                    )
                })?
            }
        };
        Ok(TlsClient {
            connector: TlsConnector::from(Arc::new(config)),
            server: settings.server,
            server_name,
            trust,
            handshake_timeout: settings.handshake_timeout,
        })
    }

    /// The name `dest`'s certificate must carry.
    fn name_for(&self, dest: SocketAddr) -> ServerName<'static> {
        if dest == self.server {
            self.server_name.clone()
        } else {
            ServerName::IpAddress(dest.ip().into())
        }
    }

    /// Connects and completes the handshake, or says why not in words.
    async fn connect(&self, dest: SocketAddr) -> Result<TlsStream<TcpStream>, TransportFailure> {
        let tcp = match tokio::time::timeout(TCP_CONNECT_TIMEOUT, TcpStream::connect(dest)).await {
            Err(_) => {
                return Err(TransportFailure::Unreachable(format!(
                    "no answer to a TCP connect to {dest} within {} s",
                    TCP_CONNECT_TIMEOUT.as_secs()
                )))
            }
            Ok(Err(e)) => {
                return Err(TransportFailure::Unreachable(format!(
                    "cannot connect to {dest}: {e}"
                )))
            }
            Ok(Ok(tcp)) => tcp,
        };
        let _ = tcp.set_nodelay(true);
        let name = self.name_for(dest);
        match tokio::time::timeout(
            self.handshake_timeout,
            self.connector.connect(name.clone(), tcp),
        )
        .await
        {
            Err(_) => Err(TransportFailure::Unreachable(format!(
                "the TLS handshake with {dest} timed out after {} s: check that [sip] server names the PBX's TLS port (usually 5061)",
                self.handshake_timeout.as_secs_f32()
            ))),
            Ok(Err(e)) => Err(self.describe(&e, dest, &name)),
            Ok(Ok(stream)) => Ok(stream),
        }
    }

    /// A failed handshake in words that name the cause and the setting to fix.
    fn describe(&self, e: &io::Error, dest: SocketAddr, name: &ServerName<'_>) -> TransportFailure {
        let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) else {
            return TransportFailure::Unreachable(format!(
                "the TLS handshake with {dest} failed ({e}): check that [sip] server names the PBX's TLS port (usually 5061)"
            ));
        };
        let cert = format!("the PBX's TLS certificate at {dest}");
        let words = match tls {
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => match &self.trust
            {
                Trust::System => format!(
                    "{cert} has an untrusted issuer (no CA in this computer's trust store signed it): set [sip] ca_file to the PEM file of the CA that did"
                ),
                Trust::CaFile(path) => format!(
                    "{cert} has an untrusted issuer (the CA in [sip] ca_file, {}, did not sign it): set [sip] ca_file to the PEM file of the CA that did",
                    path.display()
                ),
            },
            rustls::Error::InvalidCertificate(CertificateError::ExpiredContext {
                not_after,
                ..
            }) => format!(
                "{cert} expired on {}: the PBX's administrator must renew it (or this computer's clock is wrong)",
                utc(*not_after)
            ),
            rustls::Error::InvalidCertificate(CertificateError::Expired) => format!(
                "{cert} has expired: the PBX's administrator must renew it (or this computer's clock is wrong)"
            ),
            rustls::Error::InvalidCertificate(CertificateError::NotValidYetContext {
                not_before,
                ..
            }) => format!(
                "{cert} is not valid before {}: check this computer's clock",
                utc(*not_before)
            ),
            rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
                presented,
                ..
            }) => format!(
                "{cert} is for {}, not for {} (wrong host name): set [sip] tls_server_name to a name the certificate carries, or correct [sip] server",
                if presented.is_empty() {
                    "no host name".to_owned()
                } else {
                    presented
                        .iter()
                        .map(|n| plain_name(n))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                show_name(name)
            ),
            rustls::Error::InvalidCertificate(CertificateError::NotValidForName) => format!(
                "{cert} is not for {} (wrong host name): set [sip] tls_server_name to a name the certificate carries, or correct [sip] server",
                show_name(name)
            ),
            rustls::Error::InvalidCertificate(other) => {
                format!("{cert} was refused ({other}): the PBX's administrator must replace it")
            }
            rustls::Error::AlertReceived(_) => {
                return refused_by_alert(tls, dest)
                    .unwrap_or_else(|| TransportFailure::Refused(tls.to_string()))
            }
            other => format!("TLS with the PBX at {dest} failed: {other}"),
        };
        TransportFailure::Refused(words)
    }
}

/// The PBX ended the handshake or the connection with an alert: with TLS 1.3 a refused (or
/// missing) client certificate shows only after our side of the handshake is done, as an
/// alert on the first read.
fn refused_by_alert(e: &rustls::Error, dest: SocketAddr) -> Option<TransportFailure> {
    let rustls::Error::AlertReceived(alert) = e else {
        return None;
    };
    Some(TransportFailure::Refused(format!(
        "the PBX at {dest} ended the TLS connection ({alert:?}): if it asks for a client certificate, set [sip] tls_cert_file and tls_key_file to one it trusts"
    )))
}

fn show_name(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(d) => d.as_ref().to_owned(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    }
}

/// A name as webpki presents it (`DnsName("pbx.test")`, `IpAddress(127.0.0.1)`), without
/// the wrapping.
fn plain_name(presented: &str) -> &str {
    presented
        .strip_prefix("DnsName(\"")
        .and_then(|n| n.strip_suffix("\")"))
        .or_else(|| {
            presented
                .strip_prefix("IpAddress(")
                .and_then(|n| n.strip_suffix(')'))
        })
        .unwrap_or(presented)
}

/// `2026-12-06 18:00 UTC`.
pub(crate) fn utc(t: UnixTime) -> String {
    let secs = t.as_secs();
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let in_day = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        in_day / 3600,
        (in_day % 3600) / 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn certificates_from_file(
    path: &PathBuf,
    key: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let unreadable = |e: &dyn fmt::Display| {
        setup_error(
            key,
            format!("cannot read certificates from {}: {e}", path.display()),
        )
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| unreadable(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unreadable(&e))?;
    if certs.is_empty() {
        return Err(setup_error(
            key,
            format!(
                "{} holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)",
                path.display()
            ),
        ));
    }
    Ok(certs)
}

fn roots_from_file(path: &PathBuf) -> Result<RootCertStore, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certificates_from_file(path, "ca_file")?);
    if added == 0 {
        return Err(setup_error(
            "ca_file",
            format!("{} holds no usable CA certificate", path.display()),
        ));
    }
    Ok(roots)
}

fn system_roots() -> Result<RootCertStore, TlsSetupError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        return Err(setup_error(
            "ca_file",
            "this computer's trust store holds no CA certificate (on Debian: install ca-certificates): set ca_file to the PEM file of the CA that signed the PBX's certificate".into(),
        ));
    }
    Ok(roots)
}

/// A [`TransportFailure`] carried through `io::Error`, so that `Transports::send` keeps
/// its signature; `super::failure_of` takes it out again (TLS itself reports connect
/// failures as [`Inbound::Closed`], as they happen in the background).
#[derive(Debug)]
pub(super) struct FailureError(pub TransportFailure);

impl fmt::Display for FailureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.detail())
    }
}

impl std::error::Error for FailureError {}

type Writer = Arc<tokio::sync::Mutex<WriteHalf<TlsStream<TcpStream>>>>;

struct Connection {
    writer: Writer,
    reader: JoinHandle<()>,
    /// The peer's end-entity certificate, as it presented it.
    certificate: Option<CertificateDer<'static>>,
}

/// A destination's connection, or the connect under way and what waits for it.
enum Slot {
    /// Connecting and shaking hands in a task of its own, so that a slow or silent PBX
    /// never holds up the agent's loop; what is sent meanwhile waits here, in order.
    Connecting {
        queue: Vec<Bytes>,
        task: JoinHandle<()>,
    },
    Open(Connection),
}

impl Slot {
    fn stop(self) {
        match self {
            Slot::Connecting { task, .. } => task.abort(),
            Slot::Open(c) => c.reader.abort(),
        }
    }
}

pub(super) struct TlsDriver {
    client: TlsClient,
    conns: Mutex<HashMap<SocketAddr, Slot>>,
    inbound: mpsc::Sender<Inbound>,
}

impl TlsDriver {
    pub(super) fn new(client: TlsClient, inbound: mpsc::Sender<Inbound>) -> Arc<Self> {
        Arc::new(TlsDriver {
            client,
            conns: Mutex::new(HashMap::new()),
            inbound,
        })
    }

    /// Sends over the open connection to `dest`; without one, starts connecting and queues
    /// `bytes` until the handshake is done. A connect that fails comes back later as
    /// [`Inbound::Closed`] with the failure's words.
    pub(super) async fn send(self: &Arc<Self>, dest: SocketAddr, bytes: Bytes) -> io::Result<()> {
        let writer = {
            let mut conns = lock(&self.conns);
            match conns.get_mut(&dest) {
                Some(Slot::Open(c)) => c.writer.clone(),
                Some(Slot::Connecting { queue, .. }) => {
                    queue.push(bytes);
                    return Ok(());
                }
                None => {
                    let task = tokio::spawn(connect(Arc::downgrade(self), dest));
                    let queue = vec![bytes];
                    conns.insert(dest, Slot::Connecting { queue, task });
                    return Ok(());
                }
            }
        };
        let mut w = writer.lock().await;
        let result = write(&mut w, &bytes).await;
        drop(w);
        if result.is_err() {
            self.forget(dest);
        }
        result
    }

    /// Makes a connection that completed its handshake the destination's, starts its
    /// reader, and writes what was queued before anything sent after.
    async fn adopt(self: &Arc<Self>, stream: TlsStream<TcpStream>, peer: SocketAddr) {
        let certificate = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|c| c.clone().into_owned());
        let (read, write_half) = tokio::io::split(stream);
        let writer: Writer = Arc::new(tokio::sync::Mutex::new(write_half));
        // Held while the queue is written, so later sends wait their turn.
        let mut w = writer.clone().lock_owned().await;
        let reader = tokio::spawn(read_loop(Arc::downgrade(self), read, peer));
        let conn = Connection {
            writer,
            reader,
            certificate,
        };
        let queue = match lock(&self.conns).insert(peer, Slot::Open(conn)) {
            Some(Slot::Connecting { queue, .. }) => queue,
            _ => Vec::new(),
        };
        for bytes in queue {
            if let Err(e) = write(&mut w, &bytes).await {
                drop(w);
                self.forget(peer);
                let failure = TransportFailure::Unreachable(format!("cannot send to {peer}: {e}"));
                self.report(peer, failure).await;
                return;
            }
        }
    }

    /// Tells the cores that the connection to `peer` could not be made or used.
    async fn report(&self, peer: SocketAddr, failure: TransportFailure) {
        let _ = self
            .inbound
            .send(Inbound::Closed {
                peer: Peer::tls(peer),
                reason: format!("could not connect: {}", failure.detail()),
                failure: Some(failure),
            })
            .await;
    }

    /// The certificate `peer` presented on the live connection to it, if there is one.
    pub(super) fn peer_certificate(&self, peer: SocketAddr) -> Option<CertificateDer<'static>> {
        match lock(&self.conns).get(&peer)? {
            Slot::Open(c) => c.certificate.clone(),
            Slot::Connecting { .. } => None,
        }
    }

    pub(super) fn forget(&self, peer: SocketAddr) {
        if let Some(slot) = lock(&self.conns).remove(&peer) {
            slot.stop();
        }
    }

    pub(super) fn shutdown(&self) {
        for (_, slot) in lock(&self.conns).drain() {
            slot.stop();
        }
    }
}

/// Writes one message; rustls buffers what it encrypts, so flush, or the record may wait
/// in memory.
async fn write(w: &mut WriteHalf<TlsStream<TcpStream>>, bytes: &[u8]) -> io::Result<()> {
    w.write_all(bytes).await?;
    w.flush().await
}

/// The connect task of one destination.
async fn connect(driver: std::sync::Weak<TlsDriver>, dest: SocketAddr) {
    let Some(client) = driver.upgrade().map(|d| d.client.clone()) else {
        return;
    };
    let result = client.connect(dest).await;
    let Some(d) = driver.upgrade() else { return };
    match result {
        Ok(stream) => d.adopt(stream, dest).await,
        Err(failure) => {
            // Only this task's own slot: a shutdown may have cleared it already.
            let mine = {
                let mut conns = lock(&d.conns);
                let connecting = matches!(conns.get(&dest), Some(Slot::Connecting { .. }));
                if connecting {
                    conns.remove(&dest);
                }
                connecting
            };
            if mine {
                d.report(dest, failure).await;
            }
        }
    }
}

async fn read_loop(
    driver: std::sync::Weak<TlsDriver>,
    read: tokio::io::ReadHalf<TlsStream<TcpStream>>,
    peer: SocketAddr,
) {
    let Some(inbound) = driver.upgrade().map(|d| d.inbound.clone()) else {
        return;
    };
    let Some(end) = read_messages(read, Peer::tls(peer), &inbound).await else {
        return;
    };
    let failure = end
        .as_ref()
        .err()
        .and_then(|e| e.get_ref()?.downcast_ref::<rustls::Error>())
        .and_then(|e| refused_by_alert(e, peer));
    if let Some(d) = driver.upgrade() {
        d.forget(peer);
        let _ = d
            .inbound
            .send(Inbound::Closed {
                peer: Peer::tls(peer),
                reason: ending(&end),
                failure,
            })
            .await;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another task panicked mid-update of a plain map.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presented_names_lose_their_wrapping() {
        assert_eq!(plain_name("DnsName(\"pbx.test\")"), "pbx.test");
        assert_eq!(plain_name("IpAddress(127.0.0.1)"), "127.0.0.1");
        assert_eq!(plain_name("URI(x)"), "URI(x)");
    }

    #[test]
    fn dates_read_as_utc() {
        assert_eq!(
            utc(UnixTime::since_unix_epoch(Duration::ZERO)),
            "1970-01-01 00:00 UTC"
        );
        // 2026-12-06 18:30:00 UTC
        let t = UnixTime::since_unix_epoch(Duration::from_secs(1_796_581_800));
        assert_eq!(utc(t), "2026-12-06 18:30 UTC");
        let leap = UnixTime::since_unix_epoch(Duration::from_secs(951_782_400));
        assert_eq!(utc(leap), "2000-02-29 00:00 UTC");
    }
}
