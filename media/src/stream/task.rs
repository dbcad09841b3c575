//! The task of one stream: it owns the sockets, the source, the sink and the send timer,
//! and feeds an [`RtpSession`] with time, datagrams, commands and captured audio, then
//! carries out what the session asks (datagrams, frames to play, events).

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::sleep_until;
use tracing::{debug, warn};

use super::{Command, EventSender};
use crate::negotiate::{Codec, Negotiated};
use crate::rtp::RtpSender;
use crate::session::{Port, RtpSession, Transmit};
use crate::sink::Sink;
use crate::source::{Source, SourceSpec};

/// Receive buffer; a datagram filling it whole is treated as oversized.
const RECV_BUF: usize = 4096;
/// If a timer falls this many frames behind (suspended process), it jumps ahead.
const MAX_BEHIND_FRAMES: u32 = 5;

pub(super) struct Sockets {
    pub rtp: UdpSocket,
    pub rtcp: Option<UdpSocket>,
}

fn open_source(spec: &SourceSpec, codec: Codec) -> Source {
    spec.open_at(codec.sample_rate()).unwrap_or_else(|e| {
        warn!(error = %e, "audio input cannot be opened; sending silence");
        Source::Silence
    })
}

pub(super) struct Task {
    sockets: Sockets,
    session: RtpSession,
    source_spec: SourceSpec,
    source: Source,
    sink: Sink,
    events: Option<EventSender>,
    frame: Vec<i16>,
    playout: Vec<i16>,
}

impl Task {
    pub(super) fn new(
        sockets: Sockets,
        neg: Negotiated,
        source_spec: SourceSpec,
        sink: Sink,
        events: Option<EventSender>,
    ) -> Self {
        let rtcp_port = sockets.rtcp.is_some();
        Task {
            source: open_source(&source_spec, neg.codec),
            session: RtpSession::new(
                Instant::now(),
                SystemTime::now(),
                neg,
                rtcp_port,
                RtpSender::new(),
            ),
            source_spec,
            sockets,
            sink,
            events,
            frame: Vec::new(),
            playout: Vec::new(),
        }
    }

    pub(super) fn set_media_timeout(&mut self, timeout: Option<Duration>) {
        self.session.set_media_timeout(Instant::now(), timeout);
    }

    pub(super) async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        done: watch::Sender<bool>,
    ) {
        let mut buf = vec![0u8; RECV_BUF];
        let mut rtcp_buf = vec![0u8; RECV_BUF];
        let mut next_tick = tokio::time::Instant::now() + self.session.frame();
        loop {
            let session_due = self.session.poll_timeout();
            tokio::select! {
                biased;
                cmd = commands.recv() => match cmd {
                    Some(Command::Update(n)) => self.update(*n),
                    Some(Command::Dtmf(digits)) => self.session.send_dtmf(digits),
                    Some(Command::Mute(muted)) => self.session.set_muted(muted),
                    Some(Command::Stop) | None => break,
                },
                _ = sleep_until(next_tick) => {
                    self.tick(next_tick.into_std());
                    let ptime = self.session.frame();
                    next_tick += ptime;
                    let now = tokio::time::Instant::now();
                    if now > next_tick + ptime * MAX_BEHIND_FRAMES {
                        let behind = ((now - next_tick).as_nanos() / ptime.as_nanos()) as u32;
                        debug!(frames = behind, "media timer fell behind; skipping ahead");
                        self.session.handle_skipped(behind);
                        next_tick += ptime * behind;
                    }
                }
                _ = sleep_until(self.session.play_due().into()) => {
                    self.play();
                    // Starved: the sink still gets a frame for every period, so its clock
                    // stays whole.
                    let now = Instant::now();
                    while now > self.session.play_due() + self.session.frame() * MAX_BEHIND_FRAMES {
                        self.play();
                    }
                }
                _ = sleep_opt(session_due) => {
                    self.session.handle_timeout(Instant::now());
                }
                r = self.sockets.rtp.recv_from(&mut buf) => match r {
                    Ok((n, from)) => {
                        self.session.handle_datagram(Instant::now(), from, Port::Rtp, &buf[..n], n == buf.len());
                    }
                    Err(e) => debug!(error = %e, "RTP receive error"),
                },
                r = recv_opt(self.sockets.rtcp.as_ref(), &mut rtcp_buf) => match r {
                    Ok((n, from)) => {
                        self.session.handle_datagram(Instant::now(), from, Port::Rtcp, &rtcp_buf[..n], false);
                    }
                    Err(e) => debug!(error = %e, "RTCP receive error"),
                },
            }
            self.flush().await;
        }
        self.session.close(Instant::now());
        self.send_all().await;
        let sink = std::mem::replace(&mut self.sink, Sink::Null);
        if let Err(e) = sink.finalize() {
            warn!(error = %e, "audio output could not be finalized");
        }
        self.forward_events();
        let _ = done.send(true);
    }

    fn update(&mut self, neg: Negotiated) {
        let old = self.session.negotiated();
        if old.codec != neg.codec
            || old.codec.frame_ms(old.ptime_ms) != neg.codec.frame_ms(neg.ptime_ms)
        {
            self.source = open_source(&self.source_spec, neg.codec);
        }
        self.session.handle_update(Instant::now(), neg);
    }

    /// One send period: DTMF, or a frame of captured audio.
    fn tick(&mut self, at: Instant) {
        if let Some(samples) = self.session.handle_tick(at) {
            self.frame.resize(samples, 0);
            self.source.read(&mut self.frame);
            self.session.handle_audio(at, &self.frame);
        }
    }

    /// One frame from the session into the sink.
    fn play(&mut self) {
        let rate = self.session.play_frame(&mut self.playout);
        if let Err(e) = self.sink.write(rate, &self.playout) {
            warn!(error = %e, "audio output write failed; discarding received audio from now on");
            let sink = std::mem::replace(&mut self.sink, Sink::Null);
            let _ = sink.finalize();
        }
    }

    /// Hands out what the session produced.
    async fn flush(&mut self) {
        self.send_all().await;
        self.forward_events();
    }

    async fn send_all(&mut self) {
        while let Some(t) = self.session.poll_transmit() {
            send(&self.sockets, t).await;
        }
    }

    fn forward_events(&mut self) {
        while let Some(ev) = self.session.poll_event() {
            if let Some(events) = &self.events {
                events.send(ev);
            }
        }
    }
}

async fn send(sockets: &Sockets, t: Transmit) {
    let socket = match (t.port, &sockets.rtcp) {
        (Port::Rtcp, Some(s)) => s,
        _ => &sockets.rtp,
    };
    if let Err(e) = socket.send_to(&t.payload, t.to).await {
        debug!(error = %e, to = %t.to, "send failed");
    }
}

async fn recv_opt(
    socket: Option<&UdpSocket>,
    buf: &mut [u8],
) -> std::io::Result<(usize, SocketAddr)> {
    match socket {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

async fn sleep_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}
