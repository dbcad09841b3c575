//! The tokio driver that carries one call's audio: paced RTP sending from a source through
//! the negotiated codec (Opus, PCMU, PCMA; see [`crate::codec`]); receiving through the
//! adaptive jitter buffer into a sink, with loss concealment (PLC, Opus in-band FEC)
//! ([`receive`]); RFC 4733 DTMF both ways ([`crate::dtmf`]); RTCP reports, round-trip time
//! and call quality ([`crate::rtcp`], [`crate::quality`]); symmetric-RTP latching; live
//! updates after re-offers (a codec change swaps encoder, decoder and jitter buffer).
//!
//! One timer drives sending: every frame period it sends DTMF or audio and RTCP when due. A
//! second, the play clock ([`clock`]), pulls one frame per period from the jitter buffer
//! into the sink, its phase set just after the first packet's arrival so packets do not
//! wait up to a frame for a pull. Datagrams are handled as
//! they arrive. Junk (non-RTP, unknown payload type, oversized, bad RTCP) is dropped and
//! counted; the call goes on.
//!
//! Rates: the source is opened at the codec's clock rate and decoded audio goes to the sink
//! at it; the sink converts once if its rate differs (WAV file 8 kHz, shared device 48 kHz:
//! `crate::sink`, [`crate::device::RateConverter`]).

mod clock;
mod receive;
mod task;

pub use receive::{ReceiveCounters, Receiver};

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tracing::{debug, warn};

use crate::codec::OPUS_MAX_PACKET;
use crate::dtmf::{Digit, DtmfError, ReceivedDigit};
use crate::negotiate::Negotiated;
use crate::sink::{Sink, SinkSpec};
use crate::source::SourceSpec;

/// Largest G.711 payload accepted (120 ms at 8 kHz); bigger packets are dropped.
pub const MAX_PAYLOAD: usize = 960;
/// Largest Opus payload accepted (a 120 ms packet of three full frames).
pub const MAX_OPUS_PAYLOAD: usize = 3 * OPUS_MAX_PACKET + 7;
/// How long each DTMF tone we send lasts.
pub const DTMF_TONE_MS: u32 = 100;

/// Counters and quality figures of one stream. Bytes are RTP payload octets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RtpStats {
    pub packets_sent: u64,
    pub bytes_sent: u64,
    /// Valid RTP packets with the negotiated codec or telephone-event payload type.
    pub packets_received: u64,
    pub bytes_received: u64,
    /// Packets the peer sent that never came (RFC 3550 A.3, over every source seen).
    pub lost: u64,
    /// Duplicates and packets that came after their turn to play (not played).
    pub late: u64,
    /// Garbage, unknown payload type or oversized datagrams on the RTP port.
    pub dropped: u64,
    /// telephone-event packets (counted in `packets_received`).
    pub telephone_events: u64,
    /// DTMF digits received (RFC 4733) and sent.
    pub digits_received: u64,
    pub digits_sent: u64,
    /// Audio payloads the decoder refused (corrupt Opus); their time is concealed.
    pub decode_errors: u64,
    /// Lost frames recovered from the next packet's in-band FEC (Opus).
    pub fec_recovered: u64,
    /// Milliseconds of received audio made up by packet-loss concealment.
    pub concealed_ms: u64,
    /// Frames not sent because the Opus encoder was in DTX (silence).
    pub dtx_frames: u64,
    /// RFC 3550 interarrival jitter of the received stream, ms.
    pub jitter_ms: f32,
    /// Delay the jitter buffer added to the last frame played, ms.
    pub playout_delay_ms: f32,
    /// Round-trip time from the peer's last RTCP report about us, ms.
    pub rtt_ms: Option<f32>,
    /// E-model MOS estimate (1.0-4.5) from loss, delay and codec.
    pub mos: f32,
    /// RTCP compound packets sent and accepted; RTCP datagrams that did not parse.
    pub rtcp_sent: u64,
    pub rtcp_received: u64,
    pub rtcp_dropped: u64,
    /// Where we send now (latched source, else the SDP address).
    pub remote_addr: Option<SocketAddr>,
    /// Whether `remote_addr` was learnt from incoming RTP (symmetric RTP).
    pub latched: bool,
}

/// What a stream tells its owner as it happens.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The peer sent a DTMF digit (RFC 4733), reported when its event ended.
    Digit(ReceivedDigit),
    /// The figures after each RTCP report (about every 5 s).
    Quality(RtpStats),
    /// The task ended; the final figures.
    Stopped(RtpStats),
}

/// Where a stream's events go: a channel shared by several streams, each event tagged
/// (e.g. with the call it belongs to).
#[derive(Debug, Clone)]
pub struct EventSender {
    pub tag: u64,
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
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
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
        let shared = Arc::new(Shared::default());
        let sockets = task::Sockets {
            rtp: self.socket,
            rtcp: self.rtcp,
        };
        let task = task::Task::new(
            sockets,
            negotiated,
            source,
            sink,
            Arc::clone(&shared),
            events,
        );
        tokio::spawn(task.run(cmd_rx, done_tx));
        MediaHandle {
            commands: cmd_tx,
            shared,
            done: done_rx,
            local: self.local,
        }
    }
}

#[derive(Debug, Default)]
struct Shared {
    stats: Mutex<RtpStats>,
    digits: Mutex<std::collections::VecDeque<ReceivedDigit>>,
    muted: AtomicBool,
}

impl Shared {
    fn stats(&self) -> MutexGuard<'_, RtpStats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn digits(&self) -> MutexGuard<'_, std::collections::VecDeque<ReceivedDigit>> {
        self.digits.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Debug)]
enum Command {
    Update(Box<Negotiated>),
    Dtmf(Vec<Digit>),
    Stop,
}

/// Control of a running stream; cheap to clone, all methods but `stopped` are sync.
#[derive(Debug, Clone)]
pub struct MediaHandle {
    commands: mpsc::UnboundedSender<Command>,
    shared: Arc<Shared>,
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
        self.shared.muted.store(muted, Ordering::Relaxed);
    }

    /// Send `digits` (`0-9 * # A-D`) as RFC 4733 events, one after another: each tone
    /// [`DTMF_TONE_MS`] long with duration updates every frame, three end packets, a pause
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

    /// The next DTMF digit the peer sent (RFC 4733), oldest first.
    pub fn poll_digit(&self) -> Option<ReceivedDigit> {
        self.shared.digits().pop_front()
    }

    pub fn stats(&self) -> RtpStats {
        self.shared.stats().clone()
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
