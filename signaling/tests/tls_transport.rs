//! The TLS driver against an in-process TLS server (tokio-rustls) with certificates made by
//! a test CA: one verified connection reused for every message, messages both ways, the
//! peer's certificate kept, a close reported, and each refused handshake worded with its
//! cause and the `[sip]` key to fix.

use signaling::{failure_of, Inbound, Peer, TlsClient, TlsSettings, TransportFailure, Transports};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testbed::tls::{Issued, TestCa, Validity};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

const OPTIONS: &str = "OPTIONS sip:pbx.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK1\r\nMax-Forwards: 70\r\nFrom: <sip:1001@pbx.test>;tag=1\r\nTo: <sip:pbx.test>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
const OK: &str = "SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK1\r\nFrom: <sip:1001@pbx.test>;tag=1\r\nTo: <sip:pbx.test>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

/// A TLS server presenting `cert`: answers each OPTIONS it reads with 200 OK; counts the
/// connections it accepted. `close_after` messages, it closes the connection.
struct Server {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

async fn server(cert: &Issued, close_after: Option<usize>) -> Server {
    server_asking(cert, close_after, None).await
}

/// Like [`server`], asking clients for a certificate signed by `client_ca`.
async fn server_asking(
    cert: &Issued,
    close_after: Option<usize>,
    client_ca: Option<&TestCa>,
) -> Server {
    let chain = vec![rustls::pki_types::CertificateDer::from(cert.der.clone())];
    let key = {
        use rustls::pki_types::pem::PemObject;
        rustls::pki_types::PrivateKeyDer::from_pem_file(&cert.key_file).unwrap()
    };
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            use rustls::pki_types::pem::PemObject;
            let mut roots = rustls::RootCertStore::empty();
            for c in rustls::pki_types::CertificateDer::pem_file_iter(ca.ca_file()).unwrap() {
                roots.add(c.unwrap()).unwrap();
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder.with_single_cert(chain, key).unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut seen = Vec::new();
                let mut answered = 0;
                let mut buf = [0u8; 4096];
                while let Ok(n) = tls.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    while let Some(end) = find(&seen, b"\r\n\r\n") {
                        seen.drain(..end + 4);
                        if tls.write_all(OK.as_bytes()).await.is_err() {
                            return;
                        }
                        answered += 1;
                        if close_after == Some(answered) {
                            let _ = tls.shutdown().await;
                            return;
                        }
                    }
                }
            });
        }
    });
    Server { addr, accepted }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn transports(settings: TlsSettings) -> (Transports, tokio::sync::mpsc::Receiver<Inbound>) {
    let (t, rx) = Transports::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (t.with_tls(TlsClient::new(&settings).unwrap()), rx)
}

fn settings(server: SocketAddr, name: &str, ca: &TestCa) -> TlsSettings {
    let mut s = TlsSettings::new(server, name);
    s.ca_file = Some(ca.ca_file());
    s
}

async fn next(rx: &mut tokio::sync::mpsc::Receiver<Inbound>) -> Inbound {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("something from the driver within 10 s")
        .expect("the channel is open")
}

/// The words of a failed first send to `server`: the send itself only queues (the connect
/// runs in the background), and the failure comes back as the connection's end.
async fn refused_send(settings: TlsSettings) -> TransportFailure {
    let server = settings.server;
    let (t, mut rx) = transports(settings).await;
    t.send(Peer::tls(server), OPTIONS.into())
        .await
        .expect("queued while connecting");
    match next(&mut rx).await {
        Inbound::Closed {
            peer,
            failure: Some(failure),
            ..
        } => {
            assert_eq!(peer, Peer::tls(server));
            failure
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn one_verified_connection_carries_every_message_both_ways() {
    let ca = TestCa::new("Test CA").unwrap();
    let cert = ca.issue("pbx", &["pbx.test"], Validity::Current).unwrap();
    let srv = server(&cert, None).await;
    let (t, mut rx) = transports(settings(srv.addr, "pbx.test", &ca)).await;
    // The first three are queued while the connection is made, then the rest go straight.
    for _ in 0..3 {
        t.send(Peer::tls(srv.addr), OPTIONS.into()).await.unwrap();
    }
    for round in 0..6 {
        if round >= 3 {
            t.send(Peer::tls(srv.addr), OPTIONS.into()).await.unwrap();
        }
        match next(&mut rx).await {
            Inbound::Message { source, bytes } => {
                assert_eq!(source, Peer::tls(srv.addr));
                assert!(bytes.starts_with(b"SIP/2.0 200 OK"), "{bytes:?}");
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        srv.accepted.load(Ordering::SeqCst),
        1,
        "one connection reused"
    );
    assert_eq!(t.tls_peer_certificate(srv.addr), Some(cert.der.clone()));
}

#[tokio::test]
async fn a_connection_the_server_closes_is_reported_and_reopened() {
    let ca = TestCa::new("Test CA").unwrap();
    let cert = ca.issue("pbx", &["127.0.0.1"], Validity::Current).unwrap();
    let srv = server(&cert, Some(1)).await;
    let (t, mut rx) = transports(settings(srv.addr, "127.0.0.1", &ca)).await;
    t.send(Peer::tls(srv.addr), OPTIONS.into()).await.unwrap();
    assert!(matches!(next(&mut rx).await, Inbound::Message { .. }));
    match next(&mut rx).await {
        Inbound::Closed { peer, .. } => assert_eq!(peer, Peer::tls(srv.addr)),
        other => panic!("{other:?}"),
    }
    t.send(Peer::tls(srv.addr), OPTIONS.into()).await.unwrap();
    assert!(matches!(next(&mut rx).await, Inbound::Message { .. }));
    assert_eq!(srv.accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_an_untrusted_issuer() {
    let ca = TestCa::new("Test CA").unwrap();
    let other = TestCa::new("Another CA").unwrap();
    let cert = other
        .issue("pbx", &["pbx.test"], Validity::Current)
        .unwrap();
    let srv = server(&cert, None).await;
    let failure = refused_send(settings(srv.addr, "pbx.test", &ca)).await;
    let TransportFailure::Refused(words) = failure else {
        panic!("{failure:?}");
    };
    assert!(words.contains("untrusted issuer"), "{words}");
    assert!(words.contains("[sip] ca_file"), "{words}");
    assert!(words.contains(&srv.addr.to_string()), "{words}");
}

#[tokio::test]
async fn the_system_store_does_not_trust_a_private_ca() {
    let other = TestCa::new("Private CA").unwrap();
    let cert = other
        .issue("pbx", &["pbx.test"], Validity::Current)
        .unwrap();
    let srv = server(&cert, None).await;
    let failure = refused_send(TlsSettings::new(srv.addr, "pbx.test")).await;
    let words = failure.detail();
    assert!(words.contains("untrusted issuer"), "{words}");
    assert!(words.contains("trust store"), "{words}");
}

#[tokio::test]
async fn an_expired_certificate_names_its_date() {
    let ca = TestCa::new("Test CA").unwrap();
    let cert = ca.issue("pbx", &["pbx.test"], Validity::Expired).unwrap();
    let srv = server(&cert, None).await;
    let failure = refused_send(settings(srv.addr, "pbx.test", &ca)).await;
    let TransportFailure::Refused(words) = failure else {
        panic!("{failure:?}");
    };
    assert!(words.contains("expired on 2021-01-01"), "{words}");
    assert!(words.contains("renew"), "{words}");
}

#[tokio::test]
async fn a_certificate_for_another_host_names_both_and_the_key() {
    let ca = TestCa::new("Test CA").unwrap();
    let cert = ca
        .issue("pbx", &["elsewhere.test"], Validity::Current)
        .unwrap();
    let srv = server(&cert, None).await;
    let failure = refused_send(settings(srv.addr, "pbx.test", &ca)).await;
    let TransportFailure::Refused(words) = failure else {
        panic!("{failure:?}");
    };
    assert!(
        words.contains("is for elsewhere.test, not for pbx.test"),
        "{words}"
    );
    assert!(words.contains("wrong host name"), "{words}");
    assert!(words.contains("[sip] tls_server_name"), "{words}");
}

#[tokio::test]
async fn a_pbx_that_asks_for_a_client_certificate_gets_ours() {
    let ca = TestCa::new("Test CA").unwrap();
    let cert = ca.issue("pbx", &["pbx.test"], Validity::Current).unwrap();
    let mine = ca
        .issue("agent", &["agent.test"], Validity::Current)
        .unwrap();
    let srv = server_asking(&cert, None, Some(&ca)).await;
    let mut s = settings(srv.addr, "pbx.test", &ca);
    s.client_cert = Some((mine.cert_file.clone(), mine.key_file.clone()));
    let (t, mut rx) = transports(s).await;
    t.send(Peer::tls(srv.addr), OPTIONS.into()).await.unwrap();
    assert!(matches!(next(&mut rx).await, Inbound::Message { .. }));
}

#[tokio::test]
async fn a_pbx_that_wants_a_client_certificate_we_lack_says_which_keys() {
    let ca = TestCa::new("Test CA").unwrap();
    let cert = ca.issue("pbx", &["pbx.test"], Validity::Current).unwrap();
    let srv = server_asking(&cert, None, Some(&ca)).await;
    let (t, mut rx) = transports(settings(srv.addr, "pbx.test", &ca)).await;
    // With TLS 1.3 the client finishes its side of the handshake first: the refusal may
    // come as the send's error or as the connection's end.
    t.send(Peer::tls(srv.addr), OPTIONS.into()).await.unwrap();
    let words = match next(&mut rx).await {
        Inbound::Closed { failure, .. } => failure.expect("words for the refusal"),
        other => panic!("{other:?}"),
    };
    let TransportFailure::Refused(words) = words else {
        panic!("{words:?}");
    };
    assert!(words.contains("[sip] tls_cert_file"), "{words}");
}

#[tokio::test]
async fn without_tls_settings_a_tls_send_fails_in_words() {
    let (t, _rx) = Transports::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let e = t
        .send(Peer::tls("127.0.0.1:5061".parse().unwrap()), OPTIONS.into())
        .await
        .unwrap_err();
    assert_eq!(
        failure_of(&e),
        TransportFailure::Unreachable("TLS is not configured".into())
    );
}

#[tokio::test]
async fn a_silent_server_is_a_handshake_timeout() {
    let ca = TestCa::new("Test CA").unwrap();
    // Accepts TCP (the kernel does, from the backlog) and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let mut s = settings(addr, "pbx.test", &ca);
    s.handshake_timeout = Duration::from_millis(300);
    let failure = refused_send(s).await;
    let TransportFailure::Unreachable(words) = failure else {
        panic!("{failure:?}");
    };
    assert!(words.contains("handshake"), "{words}");
    assert!(words.contains("timed out"), "{words}");
    assert!(words.contains("[sip] server"), "{words}");
    drop(silent);
}

#[test]
fn the_summary_names_the_subject_and_the_expiry_and_survives_truncation() {
    let ca = TestCa::new("Test CA").unwrap();
    let cert = ca
        .issue("pbx", &["pbx.test", "127.0.0.1"], Validity::Current)
        .unwrap();
    let summary = signaling::certificate_summary(&cert.der).expect("a summary");
    assert_eq!(summary.subject, "CN=pbx.test");
    assert_eq!(summary.expires, "2100-01-01T00:00:00Z");
    let old = ca.issue("old", &["old.test"], Validity::Expired).unwrap();
    let summary = signaling::certificate_summary(&old.der).expect("a summary");
    assert_eq!(
        (summary.subject.as_str(), summary.expires.as_str()),
        ("CN=old.test", "2021-01-01T00:00:00Z")
    );
    for len in 0..cert.der.len() {
        // Never a panic, whatever is cut off.
        let _ = signaling::certificate_summary(&cert.der[..len]);
    }
}

#[test]
fn settings_that_cannot_work_name_their_key() {
    let ca = TestCa::new("Test CA").unwrap();
    let server: SocketAddr = "127.0.0.1:5061".parse().unwrap();
    let mut s = TlsSettings::new(server, "pbx.test");
    s.ca_file = Some(ca.dir().join("missing.pem"));
    let e = TlsClient::new(&s).unwrap_err();
    assert_eq!(e.key, "ca_file", "{e}");
    assert!(e.to_string().starts_with("[sip] ca_file: "), "{e}");

    let not_pem = ca.dir().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    s.ca_file = Some(not_pem);
    let e = TlsClient::new(&s).unwrap_err();
    assert!(e.to_string().contains("holds no certificate"), "{e}");

    let s = TlsSettings::new(server, "not a name");
    assert_eq!(TlsClient::new(&s).unwrap_err().key, "tls_server_name");

    let mine = ca.issue("me", &["agent.test"], Validity::Current).unwrap();
    let other = ca
        .issue("other", &["other.test"], Validity::Current)
        .unwrap();
    let mut s = TlsSettings::new(server, "pbx.test");
    s.ca_file = Some(ca.ca_file());
    s.client_cert = Some((mine.cert_file.clone(), other.key_file.clone()));
    let e = TlsClient::new(&s).unwrap_err();
    assert_eq!(e.key, "tls_key_file", "{e}");
    s.client_cert = Some((mine.cert_file.clone(), mine.key_file.clone()));
    TlsClient::new(&s).expect("a matching client certificate and key");
}
