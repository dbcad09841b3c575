//! The agent run loop: a thin tokio driver around the sans-IO `Endpoint`.
//!
//! Wait for a datagram, the next deadline or a shutdown signal; feed it in; drain transmits
//! to the sockets and events to the bridge status. On SIGINT/SIGTERM, unregister first.

use crate::config::Config;
use crate::logging::SIP_TRACE;
use bridge::{RegistrationState as BridgeState, RegistrationStatus, Status};
use signaling::auth::Password;
use signaling::endpoint::{Endpoint, EndpointConfig, EndpointEvent};
use signaling::net::Peer;
use signaling::registration::{RegistrationConfig, RegistrationState};
use signaling::transaction::TimerConfig;
use signaling::transport::{Inbound, Transports};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long a clean shutdown waits for the unregister to finish.
const UNREGISTER_GRACE: Duration = Duration::from_secs(6);

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("[sip] server: cannot resolve {server}: {reason}")]
    Resolve { server: String, reason: String },
    #[error("[sip] listen: cannot bind {addr}: {source}")]
    SipBind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("[bridge] listen: cannot bind {addr}: {source} (is another softphone running?)")]
    BridgeBind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

pub async fn run(config: Config) -> Result<(), AgentError> {
    let server = resolve(&config).await?;
    let registrar = Peer {
        transport: config.sip.transport,
        addr: server,
    };

    let (transports, mut inbound) =
        Transports::bind(config.sip.listen)
            .await
            .map_err(|source| AgentError::SipBind {
                addr: config.sip.listen,
                source,
            })?;
    let local = transports.local_addr();
    tracing::info!("SIP listening on udp+tcp {local}");

    let mut reg = RegistrationConfig::new(
        registrar,
        &config.sip.domain,
        &config.sip.user,
        Password::new(config.sip.password.clone()),
        local,
    );
    reg.auth_user = Some(config.sip.auth_user.clone());
    reg.display_name = config.sip.display_name.clone();
    reg.expires = config.sip.expires;
    reg.user_agent = Some(format!("softphone/{}", env!("CARGO_PKG_VERSION")));
    let mut endpoint = Endpoint::new(EndpointConfig {
        registration: Some(reg),
        timers: TimerConfig::default(),
        deliver_calls: false,
        seed: rand::random(),
    });

    let listener = tokio::net::TcpListener::bind(config.bridge.listen)
        .await
        .map_err(|source| AgentError::BridgeBind {
            addr: config.bridge.listen,
            source,
        })?;
    let bridge_addr = listener.local_addr().unwrap_or(config.bridge.listen);
    let (status_tx, status_rx) = watch::channel(status_of(&config, None, Instant::now()));
    let (bridge_stop_tx, bridge_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let bridge_task = tokio::spawn(bridge::serve(listener, status_rx, async move {
        let _ = bridge_stop_rx.await;
    }));
    tracing::info!("bridge listening on http://{bridge_addr}/");

    endpoint.register(Instant::now());
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        flush(&mut endpoint, &transports, &config, &status_tx).await;
        let deadline = endpoint.poll_timeout();
        tokio::select! {
            Some(input) = inbound.recv() => feed(&mut endpoint, input),
            _ = sleep_until(deadline) => endpoint.handle_timeout(Instant::now()),
            _ = &mut shutdown => break,
        }
    }

    tracing::info!("shutting down: unregistering {}", config.sip.user);
    endpoint.unregister(Instant::now());
    let give_up = Instant::now() + UNREGISTER_GRACE;
    'unregister: loop {
        for event in flush(&mut endpoint, &transports, &config, &status_tx).await {
            if let EndpointEvent::Unregistered { clean } = event {
                tracing::info!(clean, "unregistered");
                break 'unregister;
            }
        }
        let deadline = endpoint.poll_timeout().map_or(give_up, |d| d.min(give_up));
        if Instant::now() >= give_up {
            tracing::warn!("no answer to the unregister; exiting anyway");
            break;
        }
        tokio::select! {
            Some(input) = inbound.recv() => feed(&mut endpoint, input),
            _ = sleep_until(Some(deadline)) => endpoint.handle_timeout(Instant::now()),
        }
    }
    transports.shutdown();
    let _ = bridge_stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(2), bridge_task).await;
    Ok(())
}

fn feed(endpoint: &mut Endpoint, input: Inbound) {
    let now = Instant::now();
    match input {
        Inbound::Message { source, bytes } => {
            tracing::trace!(target: SIP_TRACE, "recv {} bytes from {source}\n{}", bytes.len(), String::from_utf8_lossy(&bytes));
            endpoint.handle_datagram(now, source, &bytes);
        }
        Inbound::Closed { peer, reason } => {
            tracing::info!("connection to {peer} closed: {reason}");
            endpoint.handle_transport_error(now, peer);
        }
    }
}

/// Sends every pending transmit and publishes every event; returns the events.
async fn flush(
    endpoint: &mut Endpoint,
    transports: &Transports,
    config: &Config,
    status: &watch::Sender<Status>,
) -> Vec<EndpointEvent> {
    let mut events = Vec::new();
    loop {
        let mut progressed = false;
        while let Some(t) = endpoint.poll_transmit() {
            progressed = true;
            tracing::trace!(target: SIP_TRACE, "send {} bytes to {}\n{}", t.bytes.len(), t.dest, String::from_utf8_lossy(&t.bytes));
            if let Err(e) = transports.send(t.dest, t.bytes).await {
                tracing::warn!("cannot send to {}: {e}", t.dest);
                endpoint.handle_transport_error(Instant::now(), t.dest);
            }
        }
        while let Some(event) = endpoint.poll_event() {
            progressed = true;
            if let EndpointEvent::RegistrationChanged(state) = &event {
                log_registration(state, config);
                status.send_replace(status_of(config, Some(state), Instant::now()));
            }
            events.push(event);
        }
        if !progressed {
            return events;
        }
    }
}

fn log_registration(state: &RegistrationState, config: &Config) {
    match state {
        RegistrationState::Registered { .. } => {
            tracing::info!("registered {} at {}", config.sip.user, config.sip.server)
        }
        RegistrationState::Failed { error, .. } => {
            tracing::warn!("registration failed: {error}")
        }
        RegistrationState::Registering => tracing::debug!("registering"),
        RegistrationState::Unregistered => tracing::info!("unregistered"),
    }
}

fn status_of(config: &Config, state: Option<&RegistrationState>, now: Instant) -> Status {
    let mut reg = RegistrationStatus {
        state: BridgeState::Registering,
        aor: format!("sip:{}@{}", config.sip.user, config.sip.domain),
        server: config.sip.server.clone(),
        transport: config.sip.transport.to_string(),
        expires: None,
        error: None,
        retry_in: None,
    };
    match state {
        None | Some(RegistrationState::Registering) => {}
        Some(RegistrationState::Unregistered) => reg.state = BridgeState::Unregistered,
        Some(RegistrationState::Registered { expires_at }) => {
            reg.state = BridgeState::Registered;
            reg.expires = Some(expires_at.saturating_duration_since(now).as_secs() as u32);
        }
        Some(RegistrationState::Failed { error, retry_at }) => {
            reg.state = BridgeState::Failed;
            reg.error = Some(error.to_string());
            reg.retry_in = Some(retry_at.saturating_duration_since(now).as_secs());
        }
    }
    Status {
        version: env!("CARGO_PKG_VERSION"),
        registration: reg,
    }
}

async fn resolve(config: &Config) -> Result<SocketAddr, AgentError> {
    let err = |reason: String| AgentError::Resolve {
        server: config.sip.server.clone(),
        reason,
    };
    let mut addrs =
        tokio::net::lookup_host((config.sip.server_host.as_str(), config.sip.server_port))
            .await
            .map_err(|e| err(e.to_string()))?;
    addrs.next().ok_or_else(|| err("no address found".into()))
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
