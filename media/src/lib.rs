//! The media side of the softphone: SDP offer/answer, codecs, RTP/RTCP, RFC 4733 DTMF,
//! headless audio sources and sinks, the shared audio devices, and the per-call stream.
//!
//! The modules are private; what other crates use is re-exported here:
//!
//! - SDP and offer/answer: [`SessionDescription`], [`SdpSession`], [`Negotiated`].
//! - One call's RTP: [`RtpSession`] (sans-IO: latching, DTMF, RTCP, statistics, playout)
//!   driven by [`AudioStream`]'s tokio task, controlled through [`MediaHandle`], reporting
//!   [`StreamEvent`]s.
//! - The parts a session is made of, usable alone: [`RtpPacket`]/[`RtpSender`],
//!   RTCP ([`RtcpSession`], [`parse_compound`]), RFC 4733 ([`DtmfSender`],
//!   [`DtmfReceiver`]), the jitter buffer ([`JitterBuffer`]), codecs ([`encoder`],
//!   [`decoder`]), the E-model ([`CodecModel`]).
//! - SRTP with SDES keys: [`CryptoAttribute`] (`a=crypto`), [`Srtp`] (protect/unprotect).
//! - Audio in and out: [`SourceSpec`], [`SinkSpec`], the echo canceller,
//!   noise suppressor and gain ([`VoiceProcessor`]), the devices ([`device`]) and the agent's tones ([`ToneGen`]:
//!   ringtone, call waiting, ringback).
//! - With the `test-support` feature (tests and benches only): `test_support`, signal
//!   measurements and the shapes tests share.

#![warn(missing_docs)]

mod aec;
mod codec;
pub mod device;
mod dtmf;
mod g711;
mod g722;
mod jitter;
mod negotiate;
mod probe;
mod quality;
mod rtcp;
mod rtp;
mod sdes;
mod sdp;
mod session;
mod sink;
mod source;
mod srtp;
mod stream;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
mod tones;
mod wav;

pub use aec::{AecStats, Processing, VoiceProcessor, SAMPLE_RATE as AEC_SAMPLE_RATE};
pub use codec::{
    decoder, encoder, opus_packet_has_fec, AudioDecoder, AudioEncoder, CodecError, OpusDecoder,
    OpusEncoder, OpusSettings, OPUS_RATE,
};
pub use dtmf::{
    Digit, DtmfConfig, DtmfError, DtmfPacket, DtmfReceiver, DtmfSender, ReceivedDigit,
    TelephoneEvent,
};
pub use jitter::{
    Adaptation, Inserted, JitterBuffer, JitterConfig, JitterStats, Playout, ReceivedFrame,
    TimeScale,
};
pub use negotiate::{
    AudioCaps, Codec, Direction, Negotiated, NegotiationError, SdpSession, SrtpMode,
};
pub use probe::Probe;
pub use quality::{CallQuality, CodecModel};
pub use rtcp::{
    parse_compound, write_compound, Bye, NtpTime, ReceiverReport, ReceptionStats, ReportBlock,
    RtcpConfig, RtcpError, RtcpEvent, RtcpPacket, RtcpSession, Sdes, SdesChunk, SdesItem,
    SenderReport,
};
pub use rtp::{RtpError, RtpHeader, RtpPacket, RtpSender};
pub use sdes::{CryptoAttribute, CryptoSuite, KeyMaterial, SdesError};
pub use sdp::{SdpError, SessionDescription};
pub use session::{
    Port, Received, RtpSession, RtpStats, StreamEvent, Transmit, DTMF_TONE_MS, MAX_OPUS_PAYLOAD,
    MAX_PAYLOAD,
};
pub use sink::SinkSpec;
pub use source::{Source, SourceSpec, SpecError};
pub use srtp::{Srtp, SrtpError, SrtpKeys};
pub use stream::{AudioStream, EventSender, MediaHandle};
pub use tones::{Cadence, Tone, ToneGen};
pub use wav::WavError;
