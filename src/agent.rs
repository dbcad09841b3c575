//! The agent run loop: a thin tokio driver around the sans-IO call controller (`phone`).
//!
//! Wait for a datagram, a bridge command, the next deadline or a shutdown signal; feed it
//! in; drain transmits to the sockets, media actions to the RTP streams and events to the
//! bridge. On SIGINT/SIGTERM, hang up and unregister first.

use crate::config::Config;
use crate::logging::SIP_TRACE;
use crate::media_driver::MediaDriver;
use crate::records::Records;
use bridge::protocol::CommandError;
use bridge::{CommandRequest, Hub, Security};
use phone::dialplan::DialPlan;
use phone::{Phone, PhoneConfig, RegistrarView};
use signaling::EndpointConfig;
use signaling::Password;
use signaling::Peer;
use signaling::RegistrationConfig;
use signaling::TimerConfig;
use signaling::{CallSettings, UaConfig, UserAgent};
use signaling::{Inbound, Transports};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc;

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
    #[error("cannot create the bridge token file in {dir}: {source} (set [bridge] token, or SOFTPHONE_DATA_DIR to a writable directory)")]
    Token {
        dir: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    DialPlan(String),
    #[error("{0}")]
    Tls(#[from] signaling::TlsSetupError),
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

    let (mut transports, mut inbound) =
        Transports::bind(config.sip.listen)
            .await
            .map_err(|source| AgentError::SipBind {
                addr: config.sip.listen,
                source,
            })?;
    let local = transports.local_addr();
    tracing::info!("SIP listening on udp+tcp {local}");
    if registrar.transport == signaling::TransportKind::Tls {
        let settings = config.sip.tls_settings(server);
        tracing::info!(
            "SIP over TLS to {server}, its certificate checked for {}",
            settings.server_name
        );
        transports = transports.with_tls(signaling::TlsClient::new(&settings)?);
    }

    // The bridge port is taken first: a second agent on the same data directory stops here,
    // before it could close the first one's live calls as interrupted.
    let token = match &config.bridge.token {
        Some(t) => t.clone(),
        None => {
            bridge::token::load_or_create(&config.data_dir).map_err(|source| AgentError::Token {
                dir: config.data_dir.clone(),
                source,
            })?
        }
    };
    let listener = tokio::net::TcpListener::bind(config.bridge.listen)
        .await
        .map_err(|source| AgentError::BridgeBind {
            addr: config.bridge.listen,
            source,
        })?;
    let bridge_addr = listener.local_addr().unwrap_or(config.bridge.listen);

    let (health_tx, mut health) = mpsc::unbounded_channel();
    let records = Records::open(&config.data_dir, health_tx);
    let chosen = records.agent_chosen();
    tracing::info!(
        chosen = chosen.name(),
        "agent status at start (kept from the last run)"
    );
    let mut phone = build_phone(&config, registrar, local, records.run_prefix(), chosen)?;
    phone.set_records(Some(records.status()));
    let mut heartbeat = tokio::time::interval(crate::records::HEARTBEAT_EVERY);
    // While no call is live the tick is not polled; when one starts, go on from now rather
    // than firing every tick missed meanwhile.
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // One device pair for the agent, shared by its calls (when [audio] names devices), open
    // only while calls need it.
    let devices = crate::audio_devices::open(&config.audio);
    let (device_tx, mut device_changes) = tokio::sync::mpsc::unbounded_channel();
    let mut device_use = devices
        .clone()
        .map(|d| crate::audio_devices::DeviceUse::start(d, device_tx.clone()));
    // The status's diagnostics (transactions, calls, heap): refreshed while the agent holds
    // anything, and once more when it holds nothing (the freed heap is then given back).
    let mut diagnostics_tick = tokio::time::interval(crate::diagnostics::EVERY);
    diagnostics_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut diagnostics_shown = None;
    let mut levels = tokio::time::interval(crate::audio_devices::LEVELS_EVERY);
    levels.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    phone.set_audio(
        devices
            .as_ref()
            .map(|_| crate::audio_devices::closed_status()),
    );
    // The agent's own tones (ringtone, call waiting, ringback), where `[audio] ring` and
    // `output` say; the bridge may switch the ring device.
    let ring_on: crate::ringing::SharedRingOn =
        std::sync::Arc::new(std::sync::Mutex::new(config.audio.ring.clone()));
    let mut tones = crate::ringing::Tones::new(
        ring_on.clone(),
        devices
            .clone()
            .filter(|_| matches!(config.audio.output, media::device::OutputSpec::Device(_))),
    );
    let mut media = MediaDriver::with_devices(
        media_ip(local.ip(), server),
        &config.audio.input,
        &config.audio.output,
        devices.clone(),
        phone.ids().clone(),
    );
    media.refill(&mut phone).await;

    let hub = Hub::new(phone.status().clone());
    let (command_tx, mut commands) = mpsc::channel::<CommandRequest>(64);
    let (bridge_stop_tx, bridge_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let security = Security::new(config.bridge.allowed_origins.clone(), token);
    let device_control: std::sync::Arc<dyn bridge::DeviceControl> = std::sync::Arc::new(
        crate::audio_devices::Control::new(devices.clone(), device_tx, ring_on),
    );
    let app = bridge::router_with_history(
        hub.clone(),
        command_tx,
        security,
        Some(device_control),
        records.history(),
    );
    let bridge_task = tokio::spawn(bridge::serve_router(
        listener,
        hub.clone(),
        app,
        async move {
            let _ = bridge_stop_rx.await;
        },
    ));
    tracing::info!("bridge listening on http://{bridge_addr}/");

    phone.register(Instant::now());
    let mut shutdown = std::pin::pin!(shutdown_signal());
    let mut tls_peer = crate::tls_peer::TlsPeerWatch::new(registrar);
    // With SIP on a wildcard address, media follows the address the system routes toward
    // the PBX from, which a network change moves.
    let follows_route = local.ip().is_unspecified();
    let mut net = match crate::net_watch::NetWatch::new(server) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::debug!("no word of network changes from the system: {e}");
            None
        }
    };
    let mut clock = match crate::clock_watch::ClockWatch::new() {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::debug!("no word of clock steps (suspend, resume) from the system: {e}");
            None
        }
    };
    // Over TLS, SIP in clear on the UDP/TCP port is no one we talk to.
    let tls_only = registrar.transport == signaling::TransportKind::Tls;
    loop {
        flush(&mut phone, &transports, &mut media, &hub, &records).await;
        if tls_peer
            .as_mut()
            .is_some_and(|w| w.refresh(&transports, &mut phone))
        {
            hub.set_status(phone.status().clone());
        }
        media.refill(&mut phone).await;
        let deadline = phone.poll_timeout();
        // Only live calls need the heartbeat: an idle agent must not wake for it.
        let calls_live = phone.has_live_calls();
        if let Some(u) = device_use.as_mut() {
            u.calls(Instant::now(), calls_live);
        }
        tones.set(phone.tone());
        let devices_open = device_use.as_ref().is_some_and(|u| u.is_open());
        let diagnostics_due = crate::diagnostics::due(&phone, diagnostics_shown);
        tokio::select! {
            Some(input) = inbound.recv() => feed(&mut phone, input, tls_only),
            Some(request) = commands.recv() => {
                let result = phone.command(Instant::now(), request.command.clone());
                // Send and publish what the command did before replying, so the INVITE
                // leaves first and a client that reads the status after the reply sees it.
                flush(&mut phone, &transports, &mut media, &hub, &records).await;
                request.respond(result);
            }
            _ = sleep_until(deadline) => phone.handle_timeout(Instant::now()),
            Some((call, event)) = media.next_event() => MediaDriver::deliver(&mut phone, call, event),
            Some(change) = device_changes.recv() => {
                phone.announce(crate::audio_devices::change_event(change));
            }
            _ = sleep_until(device_use.as_ref().and_then(|u| u.deadline())) => {
                if device_use.as_mut().is_some_and(|u| u.handle_timeout(Instant::now())) {
                    phone.set_audio(Some(crate::audio_devices::closed_status()));
                    hub.set_status(phone.status().clone());
                }
            }
            // Only open devices have levels to send; an idle agent need not wake for it.
            _ = levels.tick(), if devices_open => {
                if let Some(event) = devices.as_ref().and_then(crate::audio_devices::levels_event) {
                    hub.publish_volatile(event);
                }
                phone.set_audio(devices.as_ref().map(crate::audio_devices::audio_status));
                hub.set_status(phone.status().clone());
            }
            _ = diagnostics_tick.tick(), if diagnostics_due => {
                crate::diagnostics::refresh(&mut phone, &mut diagnostics_shown);
                hub.set_status(phone.status().clone());
            }
            _ = heartbeat.tick(), if calls_live => records.heartbeat(),
            source = crate::net_watch::next_change(&mut net) => {
                match source {
                    Some(ip) => tracing::info!("the network changed: the PBX is now reached from {ip}; registering again"),
                    None => tracing::warn!("the network changed: no route to the PBX any more"),
                }
                let media_ip = source.filter(|_| follows_route);
                if let Some(ip) = media_ip {
                    media.move_to(ip);
                }
                phone.handle_network_change(Instant::now(), media_ip);
            }
            unseen = crate::clock_watch::next_jump(&mut clock) => {
                tracing::info!("the clock stepped {unseen:?} past what the agent saw (a sleep and resume?): registering again");
                phone.handle_clock_jump(Instant::now());
            }
            Some(change) = health.recv() => {
                phone.set_records(Some(Records::status_after(change)));
                hub.set_status(phone.status().clone());
            }
            _ = &mut shutdown => break,
        }
    }

    tracing::info!(
        "shutting down: hanging up and unregistering {}",
        config.sip.user
    );
    tones.set(None);
    phone.shutdown(Instant::now());
    let give_up = Instant::now() + UNREGISTER_GRACE;
    loop {
        flush(&mut phone, &transports, &mut media, &hub, &records).await;
        if let Some(clean) = phone.unregistered() {
            tracing::info!(clean, "unregistered");
            break;
        }
        if Instant::now() >= give_up {
            tracing::warn!("no answer to the unregister; exiting anyway");
            break;
        }
        let deadline = phone.poll_timeout().map_or(give_up, |d| d.min(give_up));
        tokio::select! {
            Some(input) = inbound.recv() => feed(&mut phone, input, tls_only),
            Some(request) = commands.recv() => {
                request.respond(Err(CommandError::unavailable("the agent is shutting down")));
            }
            _ = sleep_until(Some(deadline)) => phone.handle_timeout(Instant::now()),
        }
    }
    media.stop_all().await;
    records.finish().await;
    transports.shutdown();
    let _ = bridge_stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(2), bridge_task).await;
    Ok(())
}

/// The call controller with its user agent, from the configuration.
fn build_phone(
    config: &Config,
    registrar: Peer,
    local: SocketAddr,
    run_prefix: &str,
    chosen: wire::ChosenState,
) -> Result<Phone, AgentError> {
    let password = Password::new(config.sip.password.clone());
    let user_agent = format!("softphone/{}", env!("CARGO_PKG_VERSION"));
    let mut reg = RegistrationConfig::new(
        registrar,
        &config.sip.domain,
        &config.sip.user,
        password.clone(),
        local,
    );
    reg.auth_user = Some(config.sip.auth_user.clone());
    reg.display_name = config.sip.display_name.clone();
    reg.expires = config.sip.expires;
    if registrar.transport.is_reliable() {
        reg.keepalive = config.sip.keepalive;
    }
    reg.user_agent = Some(user_agent.clone());
    let ua = UserAgent::new(UaConfig {
        endpoint: EndpointConfig {
            registration: Some(reg),
            timers: TimerConfig::default(),
            deliver_calls: true,
            seed: rand::random(),
        },
        proxy: registrar,
        user: config.sip.user.clone(),
        domain: config.sip.domain.clone(),
        display_name: config.sip.display_name.clone(),
        auth_user: config.sip.auth_user.clone(),
        password,
        local_addr: local,
        user_agent: Some(user_agent),
        settings: CallSettings {
            session_expires: config.calls.session_expires,
            min_se: 90,
        },
    });
    let dial_plan =
        DialPlan::new(config.dial_plan.clone()).map_err(|e| AgentError::DialPlan(e.to_string()))?;
    let phone_config = PhoneConfig {
        caps: config.media.clone(),
        auto_answer: config.calls.auto_answer,
        call_waiting: config.calls.call_waiting,
        // Numbers are dialled (and transfer targets named) at the PBX: with the default
        // domain that is the server's host, so keep its port for peers that route by URI.
        domain: if config.sip.domain == config.sip.server_host {
            config.sip.server.clone()
        } else {
            config.sip.domain.clone()
        },
        registrar: RegistrarView {
            aor: format!("sip:{}@{}", config.sip.user, config.sip.domain),
            server: config.sip.server.clone(),
            transport: config.sip.transport.to_string(),
        },
        agent: phone::AgentConfig {
            wrapup: Duration::from_secs(config.agent.wrapup_seconds.into()),
            unavailable_response: config.agent.unavailable_response,
            forward_to: config.agent.forward_to.clone(),
            dispositions: config.agent.dispositions.clone(),
            chosen,
        },
        media_timeout: (config.calls.media_timeout_seconds > 0)
            .then(|| Duration::from_secs(config.calls.media_timeout_seconds.into())),
    };
    Ok(Phone::new(
        ua,
        phone_config,
        dial_plan,
        Instant::now(),
        SystemTime::now(),
        run_prefix,
    ))
}

/// The address RTP binds: the SIP address, or when SIP listens on a wildcard, the local
/// address the system routes toward the PBX (a connected UDP socket sends nothing).
fn media_ip(sip_ip: IpAddr, server: SocketAddr) -> IpAddr {
    if !sip_ip.is_unspecified() {
        return sip_ip;
    }
    crate::net_watch::route_source(server).unwrap_or(sip_ip)
}

fn feed(phone: &mut Phone, input: Inbound, tls_only: bool) {
    let now = Instant::now();
    match input {
        Inbound::Message { source, .. }
            if tls_only && source.transport != signaling::TransportKind::Tls =>
        {
            tracing::debug!(%source, "dropping SIP that did not come over TLS");
        }
        Inbound::Message { source, bytes } => {
            tracing::trace!(target: SIP_TRACE, "recv {} bytes from {source}\n{}", bytes.len(), crate::logging::trace_text(&bytes));
            phone.handle_datagram(now, source, bytes);
        }
        Inbound::Closed {
            peer,
            reason,
            failure,
        } => {
            tracing::info!("connection to {peer} closed: {reason}");
            match failure {
                Some(why) => phone.handle_transport_failure(now, peer, why),
                None => phone.handle_transport_error(now, peer),
            }
        }
    }
}

/// Sends every pending transmit, carries out media actions and hands every page update
/// (an event with the status it leads to) to the call records and the bridge.
async fn flush(
    phone: &mut Phone,
    transports: &Transports,
    media: &mut MediaDriver,
    hub: &Hub,
    records: &Records,
) {
    loop {
        let mut progressed = false;
        // Before the transmits: what follows a close goes out over a new connection.
        while let Some(peer) = phone.poll_close() {
            progressed = true;
            tracing::info!("connection to {peer} given up (no answer to a keep-alive, or after a sleep): opening a new one");
            transports.close(peer);
            phone.handle_transport_error(Instant::now(), peer);
        }
        while let Some(t) = phone.poll_transmit() {
            progressed = true;
            tracing::trace!(target: SIP_TRACE, "send {} bytes to {}\n{}", t.bytes.len(), t.dest, crate::logging::trace_text(&t.bytes));
            if let Err(e) = transports.send(t.dest, t.bytes).await {
                tracing::warn!("cannot send to {}: {e}", t.dest);
                let why = signaling::failure_of(&e);
                phone.handle_transport_failure(Instant::now(), t.dest, why);
            }
        }
        while let Some(action) = phone.poll_media() {
            progressed = true;
            media.apply(action);
        }
        while let Some(update) = phone.poll_update() {
            progressed = true;
            records.feed(&update.event);
            hub.publish(update.status, update.event);
        }
        if !progressed {
            return;
        }
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
