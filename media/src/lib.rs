//! The media side of the softphone: SDP offer/answer, G.711, RTP, headless audio sources and
//! sinks, and the tokio task that carries one call's audio.
//!
//! - [`sdp`]: SDP model, parser, printer.
//! - [`negotiate`]: RFC 3264 offer/answer for one audio stream ([`SdpSession`]).
//! - [`g711`]: PCMU/PCMA tables.
//! - [`codec`]: encoder/decoder traits for PCMU, PCMA and Opus (PLC, in-band FEC).
//! - [`probe`]: a click timed from mouth to ear (latency benches, QA).
//! - [`rtp`]: RTP fixed header and the sender's sequence/timestamp state.
//! - [`source`], [`sink`]: `tone:`/`file:`/`silence` inputs, `file:`/`null` outputs.
//! - [`stream`]: [`AudioStream`] (the socket) and [`MediaHandle`] (control of the task).
//! - [`analysis`]: frequency and level measurements for tests.
//! - [`aec`]: acoustic echo cancellation (WebRTC AEC2) for agents on speakers.
//! - [`jitter`]: the adaptive jitter buffer (sans-IO), which [`stream`] plays out through.
//! - [`dtmf`], [`rtcp`], [`quality`]: RFC 4733 events, RTCP reports and statistics, MOS.

pub mod aec;
pub mod analysis;
pub mod codec;
pub mod device;
pub mod dtmf;
pub mod g711;
pub mod jitter;
pub mod negotiate;
pub mod probe;
pub mod quality;
pub mod rtcp;
pub mod rtp;
pub mod sdp;
pub mod session;
pub mod sink;
pub mod source;
pub mod stream;
pub mod wav;

pub use codec::{AudioDecoder, AudioEncoder, CodecError, OpusSettings};
pub use jitter::{JitterBuffer, JitterConfig, Playout, ReceivedFrame};
pub use negotiate::{AudioCaps, Codec, Direction, Negotiated, NegotiationError, SdpSession};
pub use sdp::{SdpError, SessionDescription};
pub use session::{RtpSession, RtpStats, StreamEvent};
pub use sink::SinkSpec;
pub use source::{SourceSpec, SpecError};
pub use stream::{AudioStream, EventSender, MediaHandle};
