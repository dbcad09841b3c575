//! The tokio driver that carries one call's audio: the sockets (RTP, and RTCP on the next
//! port unless multiplexed), the source and the sink, and the send timer, around the
//! sans-IO [`RtpSession`](crate::session::RtpSession) that decides everything else
//! (packetization, symmetric-RTP latching, RFC 4733 DTMF, RTCP, statistics, playout).
//!
//! Rates: the source is opened at the codec's clock rate and decoded audio goes to the sink
//! at it; the sink converts once if its rate differs (WAV file 8 kHz, shared device 48 kHz:
//! `crate::sink`, [`crate::device::RateConverter`]).

mod task;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tracing::{debug, warn};

use crate::dtmf::{Digit, DtmfError};
use crate::negotiate::Negotiated;
use crate::session::StreamEvent;
use crate::sink::{Sink, SinkSpec};
use crate::source::SourceSpec;

/// Where a stream's events go: a channel shared by several streams, each event tagged
/// (e.g. with the call it belongs to).
#[derive(Debug, Clone)]
pub struct EventSender {
    /// Tagged on every event (e.g. the call).
    pub tag: u64,
    /// Where the tagged events go.
    pub tx: mpsc::UnboundedSender<(u64, StreamEvent)>,
}

impl EventSender {
    fn send(&self, event: StreamEvent) {
        let _ = self.tx.send((self.tag, event));
    }
}

/// A bound RTP socket (and its RTCP socket on the next port), not yet carrying audio.
#[derive(Debug)]
pub struct AudioStream {
    socket: UdpSocket,
    rtcp: Option<UdpSocket>,
    local: SocketAddr,
    media_timeout: Option<Duration>,
}

impl AudioStream {
    /// Bind a UDP socket on `ip` only, on an even ephemeral port with the next (odd) port
    /// for RTCP, as RFC 3550 §11 wants; after a few failed tries, any port without an RTCP
    /// socket (RTCP then works only multiplexed).
    pub async fn bind(ip: IpAddr) -> io::Result<AudioStream> {
        for _ in 0..16 {
            let socket = UdpSocket::bind((ip, 0)).await?;
            let local = socket.local_addr()?;
            if local.port() % 2 != 0 {
                continue;
            }
            let Some(next) = local.port().checked_add(1) else {
                continue;
            };
            if let Ok(rtcp) = UdpSocket::bind((ip, next)).await {
                return Ok(AudioStream {
                    socket,
                    rtcp: Some(rtcp),
                    local,
                    media_timeout: None,
                });
            }
        }
        let socket = UdpSocket::bind((ip, 0)).await?;
        let local = socket.local_addr()?;
        debug!(%local, "no RTP/RTCP port pair free; RTCP only multiplexed");
        Ok(AudioStream {
            socket,
            rtcp: None,
            local,
            media_timeout: None,
        })
    }

    /// The local RTP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Report the far end's RTP missing for `timeout` while neither side holds the other
    /// ([`StreamEvent::MediaTimeout`], see [`RtpSession::set_media_timeout`](crate::RtpSession::set_media_timeout));
    /// `None` (the default) or zero: never.
    pub fn with_media_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.media_timeout = timeout;
        self
    }

    /// The local RTCP address when not multiplexed (RTP port + 1), if bound.
    pub fn local_rtcp_addr(&self) -> Option<SocketAddr> {
        self.rtcp.as_ref().and_then(|s| s.local_addr().ok())
    }

    /// Spawn the task carrying the audio. Must be called inside a tokio runtime. A source or
    /// sink that cannot be opened is logged and replaced by silence / null. The task ends
    /// on [`MediaHandle::stop`] or when every handle is dropped.
    pub fn start(self, negotiated: Negotiated, source: SourceSpec, sink: SinkSpec) -> MediaHandle {
        self.start_with_events(negotiated, source, sink, None)
    }

    /// [`start`](Self::start), reporting [`StreamEvent`]s to `events`.
    pub fn start_with_events(
        self,
        negotiated: Negotiated,
        source: SourceSpec,
        sink: SinkSpec,
        events: Option<EventSender>,
    ) -> MediaHandle {
        let sink = sink.open().unwrap_or_else(|e| {
            warn!(error = %e, "audio output cannot be opened; discarding received audio");
            Sink::Null
        });
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (done_tx, done_rx) = watch::channel(false);
        let sockets = task::Sockets {
            rtp: self.socket,
            rtcp: self.rtcp,
        };
        let mut task = task::Task::new(sockets, negotiated, source, sink, events);
        task.set_media_timeout(self.media_timeout);
        tokio::spawn(task.run(cmd_rx, done_tx));
        MediaHandle {
            commands: cmd_tx,
            done: done_rx,
            local: self.local,
        }
    }
}

#[derive(Debug)]
enum Command {
    Update(Box<Negotiated>),
    Dtmf(Vec<Digit>),
    Mute(bool),
    Stop,
}

/// Control of a running stream; cheap to clone, all methods but `stopped` are sync.
#[derive(Debug, Clone)]
pub struct MediaHandle {
    commands: mpsc::UnboundedSender<Command>,
    done: watch::Receiver<bool>,
    local: SocketAddr,
}

impl MediaHandle {
    /// Apply a new negotiation (re-offer): remote address, codec, ptime, direction.
    pub fn update(&self, negotiated: Negotiated) {
        let _ = self.commands.send(Command::Update(Box::new(negotiated)));
    }

    /// Muted: keep sending RTP, with silence.
    pub fn set_muted(&self, muted: bool) {
        let _ = self.commands.send(Command::Mute(muted));
    }

    /// Send `digits` (`0-9 * # A-D`) as RFC 4733 events, one after another: each tone
    /// [`DTMF_TONE_MS`](crate::session::DTMF_TONE_MS) long with duration updates every frame, three end packets, a pause
    /// before the next digit; audio is held back meanwhile. Refuses the whole string on a
    /// bad key. Without a negotiated telephone-event the digits are dropped (logged): the
    /// caller sends SIP INFO instead.
    pub fn send_dtmf(&self, digits: &str) -> Result<(), DtmfError> {
        let digits = digits
            .chars()
            .map(|c| Digit::from_char(c).ok_or(DtmfError::BadKey(c)))
            .collect::<Result<Vec<_>, _>>()?;
        let _ = self.commands.send(Command::Dtmf(digits));
        Ok(())
    }

    /// The local RTP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Ask the task to end (an RTCP BYE is sent, the sink finalized before it exits).
    pub fn stop(&self) {
        let _ = self.commands.send(Command::Stop);
    }

    /// Resolves once the task is gone and the sink finalized.
    pub async fn stopped(&self) {
        let mut done = self.done.clone();
        let _ = done.wait_for(|d| *d).await;
    }
}
