//! SDP offer/answer (RFC 3264) for one audio stream: Opus (RFC 7587), G.722 and G.711
//! PCMU/PCMA (RFC 3551), telephone-event, ptime and direction; tracks our side's `o=` line
//! across rounds.

use std::fmt;
use std::net::SocketAddr;

use crate::codec::OpusSettings;
use crate::sdes::{CryptoAttribute, CryptoSuite};
use crate::sdp::{Attribute, Connection, MediaDescription, Origin, SdpError, SessionDescription};
use crate::srtp::SrtpKeys;

/// Whether calls are encrypted with SRTP (SDES keys, RFC 4568): `[media] srtp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SrtpMode {
    /// Clear RTP only: `a=crypto` is ignored, an `RTP/SAVP`-only offer is refused.
    Off,
    /// Best effort: offers `RTP/AVP` with `a=crypto`; answers with SRTP when the offer
    /// carries a usable key, in clear otherwise.
    #[default]
    Optional,
    /// Encrypted or not at all: offers `RTP/SAVP`; an offer or answer without a usable
    /// key fails the call.
    Mandatory,
}

impl SrtpMode {
    /// Every mode.
    pub const ALL: [SrtpMode; 3] = [SrtpMode::Off, SrtpMode::Optional, SrtpMode::Mandatory];

    /// The name in `[media] srtp`.
    pub fn config_name(self) -> &'static str {
        match self {
            SrtpMode::Off => "off",
            SrtpMode::Optional => "optional",
            SrtpMode::Mandatory => "mandatory",
        }
    }

    /// The mode `[media] srtp` names.
    pub fn from_config_name(name: &str) -> Option<SrtpMode> {
        SrtpMode::ALL
            .into_iter()
            .find(|m| m.config_name().eq_ignore_ascii_case(name))
    }
}

/// Audio codecs we can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 mu-law (PT 0), 8 kHz.
    Pcmu,
    /// G.711 A-law (PT 8), 8 kHz.
    Pcma,
    /// Opus at 48 kHz; we send and receive mono (`stereo=0`).
    Opus,
    /// G.722 (PT 9), 64 kbit/s: 16 kHz audio on an 8000 Hz RTP clock (RFC 3551 §4.5.2).
    G722,
}

impl Codec {
    /// Every codec we implement.
    pub const ALL: [Codec; 4] = [Codec::Opus, Codec::G722, Codec::Pcmu, Codec::Pcma];
    /// What we offer when the config does not say (`[media] codecs`): G.722 only when asked
    /// for, so calls to peers that offer it keep the codec they had.
    pub const DEFAULT: [Codec; 3] = [Codec::Opus, Codec::Pcmu, Codec::Pcma];

    /// The static payload type (RFC 3551), `None` for a dynamic one (Opus).
    pub fn static_payload_type(self) -> Option<u8> {
        match self {
            Codec::Pcmu => Some(0),
            Codec::Pcma => Some(8),
            Codec::G722 => Some(9),
            Codec::Opus => None,
        }
    }
    /// The payload type we offer: the static one, or [`OPUS_PT`].
    pub fn default_payload_type(self) -> u8 {
        self.static_payload_type().unwrap_or(OPUS_PT)
    }
    /// The rtpmap encoding name.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
            Codec::Opus => "opus",
            Codec::G722 => "G722",
        }
    }
    /// The name in `[media] codecs`.
    pub fn config_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "pcmu",
            Codec::Pcma => "pcma",
            Codec::Opus => "opus",
            Codec::G722 => "g722",
        }
    }
    /// The codec `[media] codecs` names (`opus`, `g722`, `pcmu`, `pcma`; any case).
    pub fn from_config_name(name: &str) -> Option<Codec> {
        Codec::ALL
            .into_iter()
            .find(|c| c.config_name().eq_ignore_ascii_case(name))
    }
    /// RTP clock rate in Hz: what timestamps count and the `rtpmap` says. For every codec
    /// but G.722 also the rate of its audio ([`sample_rate`](Self::sample_rate)).
    pub fn clock_rate(self) -> u32 {
        match self {
            Codec::Pcmu | Codec::Pcma | Codec::G722 => 8000,
            Codec::Opus => 48_000,
        }
    }
    /// Rate of the audio the codec encodes and decodes, in Hz: G.722 samples at 16 kHz
    /// although its RTP clock runs at 8000 (RFC 3551 §4.5.2).
    pub fn sample_rate(self) -> u32 {
        match self {
            Codec::G722 => 16_000,
            c => c.clock_rate(),
        }
    }
    /// The `encoding/rate[/channels]` of our rtpmap (RFC 7587: Opus is always `/2`).
    pub fn rtpmap_encoding(self) -> String {
        match self {
            Codec::Opus => format!("{}/{}/2", self.name(), self.clock_rate()),
            _ => format!("{}/{}", self.name(), self.clock_rate()),
        }
    }
    /// The packetisation time to use for a negotiated `ptime_ms`: G.711 takes any whole
    /// 10 ms; Opus frames are 10, 20, 40, 60, 80, 100 or 120 ms, so it takes the largest of
    /// those not above `ptime_ms`.
    pub fn frame_ms(self, ptime_ms: u32) -> u32 {
        let ms = ptime_ms.clamp(10, 120);
        match self {
            Codec::Opus => [120, 100, 80, 60, 40, 20, 10]
                .into_iter()
                .find(|&f| f <= ms)
                .unwrap_or(10),
            _ => ms,
        }
    }
    fn from_name(name: &str) -> Option<Codec> {
        Codec::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }
    fn from_static(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            9 => Some(Codec::G722),
            _ => None,
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Media direction (RFC 3264 §5.1), always from the point of view of the side that declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    #[default]
    /// Both ways.
    SendRecv,
    /// Only sending.
    SendOnly,
    /// Only receiving.
    RecvOnly,
    /// Neither (held both ways).
    Inactive,
}

impl Direction {
    /// The direction seen from the other side (sendonly <-> recvonly).
    pub fn reverse(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }
    /// Whether this side sends RTP.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }
    /// Whether this side receives RTP.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }
    /// The direction that sends if `send` and receives if `recv`.
    pub fn from_flags(send: bool, recv: bool) -> Direction {
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }
    /// What both allow.
    pub fn intersect(self, other: Direction) -> Direction {
        Direction::from_flags(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }
    /// The SDP attribute name.
    pub fn attribute(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
    fn from_attribute(name: &str) -> Option<Direction> {
        [
            Direction::SendRecv,
            Direction::SendOnly,
            Direction::RecvOnly,
            Direction::Inactive,
        ]
        .into_iter()
        .find(|d| d.attribute().eq_ignore_ascii_case(name))
    }
}

/// What we can do, in our preference order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioCaps {
    /// Codecs in our preference order (the order of our offers; an answer keeps the
    /// offerer's order). Default: Opus, PCMU, PCMA (`[media] codecs`).
    pub codecs: Vec<Codec>,
    /// Whether we offer and accept RFC 4733 telephone-event.
    pub telephone_event: bool,
    /// The packet time we ask for, ms.
    pub ptime_ms: u32,
    /// How we encode Opus; `fec` is also our `useinbandfec`.
    pub opus: OpusSettings,
    /// SRTP: off, best effort or required.
    pub srtp: SrtpMode,
}

impl Default for AudioCaps {
    fn default() -> Self {
        AudioCaps {
            codecs: Codec::DEFAULT.to_vec(),
            telephone_event: true,
            ptime_ms: 20,
            opus: OpusSettings::default(),
            srtp: SrtpMode::default(),
        }
    }
}

/// The outcome of one offer/answer round: what the stream should do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Where the peer wants RTP; `None` when it gave port 0 or `c=0.0.0.0` (RFC 2543 hold).
    pub remote_rtp: Option<SocketAddr>,
    /// The codec both sides send.
    pub codec: Codec,
    /// The payload type for `codec` on the wire.
    pub payload_type: u8,
    /// The telephone-event payload type the peer uses, if both sides have it.
    pub telephone_event: Option<u8>,
    /// Clock rate of that telephone-event format (RFC 4733 §7.1.1): 8000 with G.711, 48000
    /// with Opus when the peer offered it so; the RTP timestamps and durations of events
    /// count at this rate.
    pub telephone_event_rate: u32,
    /// Both sides agreed to multiplex RTCP on the RTP port (RFC 5761 `a=rtcp-mux`).
    pub rtcp_mux: bool,
    /// Where the peer wants RTCP when not multiplexed: its `a=rtcp` (RFC 3605), else the RTP
    /// port + 1. `None` when `remote_rtp` is.
    pub remote_rtcp: Option<SocketAddr>,
    /// Packetisation time to send with.
    pub ptime_ms: u32,
    /// What we do now.
    pub local_direction: Direction,
    /// What the peer declared (SendOnly/Inactive = the peer put us on hold). A `c=0.0.0.0`
    /// hold counts as the peer not receiving.
    pub remote_direction: Direction,
    /// How to encode when `codec` is Opus: our settings, the bitrate capped by the peer's
    /// `maxaveragebitrate`. Ignored for G.711.
    pub opus: OpusSettings,
    /// The SRTP suite and keys when the call is encrypted; `None`: clear RTP. Its `Debug`
    /// shows the suite only.
    pub srtp: Option<SrtpKeys>,
}

/// Why an offer or answer cannot be used. The Display text goes into a 488 reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NegotiationError {
    /// The SDP does not parse.
    #[error("malformed SDP: {0}")]
    Malformed(#[from] SdpError),
    /// No `m=audio` line.
    #[error("the SDP has no audio stream")]
    NoAudio,
    /// Audio only over a transport we do not speak (SRTP, DTLS...).
    #[error("audio is offered only over {proto}, which is not supported (RTP/AVP, or RTP/SAVP with SDES keys unless [media] srtp is \"off\")")]
    UnsupportedTransport {
        /// The transport offered.
        proto: String,
    },
    /// None of the offered codecs is one of ours.
    #[error("no common audio codec: offered {}; we support {}", list_or_none(.offered), .supported.join(", "))]
    NoCommonCodec {
        /// The codecs offered.
        offered: Vec<String>,
        /// Ours.
        supported: Vec<String>,
    },
    /// No `c=` line for the audio stream.
    #[error("the audio stream has no connection address (no c= line)")]
    NoConnection,
    /// A `c=` address that is not an IP address.
    #[error("connection address {0:?} is not an IP address")]
    BadAddress(String),
    /// The answer set the audio port to 0.
    #[error("the answer rejected the audio stream (port 0)")]
    Rejected,
    /// The answer's media lines do not pair with the offer's.
    #[error("the answer has {answered} media lines but the offer had {offered}")]
    MediaCountMismatch {
        /// Media lines in our offer.
        offered: usize,
        /// Media lines in the answer.
        answered: usize,
    },
    /// An answer without an offer of ours.
    #[error("an answer arrived but no offer of ours is pending")]
    NoOfferPending,
    /// SRTP is required (`[media] srtp = "mandatory"`, or an `RTP/SAVP` offer) and the
    /// far end's SDP has no key we can use.
    #[error("encryption required but the far end's {side} has no usable SRTP key: {detail}")]
    NoUsableCrypto {
        /// "offer" or "answer".
        side: &'static str,
        /// What was wrong with its `a=crypto` lines.
        detail: String,
    },
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "nothing".into()
    } else {
        v.join(", ")
    }
}

/// The telephone-event payload type we offer.
pub const TELEPHONE_EVENT_PT: u8 = 101;
/// The dynamic payload type we offer Opus with (what most phones use).
pub const OPUS_PT: u8 = 111;
/// Our `a=maxptime`: the longest packet we take (120 ms, Opus's longest packet).
pub const MAX_PTIME_MS: u32 = 120;

/// One side's SDP session across offer/answer rounds.
#[derive(Debug, Clone)]
pub struct SdpSession {
    local_rtp: SocketAddr,
    caps: AudioCaps,
    session_id: u64,
    /// Version for the next SDP we produce.
    next_version: u64,
    /// Our pending offer: its direction and how many m= lines it had.
    pending_offer: Option<Direction>,
    /// The `a=crypto` lines of our pending offer.
    offered_crypto: Vec<CryptoAttribute>,
    /// The keys in force: what our re-offers and our answer to a far end's re-offer that
    /// keeps its key carry.
    keys: Option<InForce>,
}

/// The SRTP keys agreed in the last round, with what our side of them is tied to.
#[derive(Debug, Clone)]
struct InForce {
    keys: SrtpKeys,
    /// The `a=crypto` tag they were agreed under.
    tag: u32,
    /// Our RTP address when they were agreed: a new address is a new key (RFC 4568 §7.1.4).
    local_rtp: SocketAddr,
}

impl SdpSession {
    /// A session receiving RTP at `local_rtp`, with `caps`; `session_id` goes into `o=`.
    pub fn new(local_rtp: SocketAddr, caps: AudioCaps, session_id: u64) -> Self {
        SdpSession {
            local_rtp,
            caps,
            session_id,
            next_version: session_id,
            pending_offer: None,
            offered_crypto: Vec::new(),
            keys: None,
        }
    }

    /// Our RTP address, as we put it in SDP.
    pub fn local_rtp(&self) -> SocketAddr {
        self.local_rtp
    }

    /// What we offer and accept.
    pub fn caps(&self) -> &AudioCaps {
        &self.caps
    }

    /// Change the local RTP address for later SDPs (e.g. after rebinding).
    pub fn set_local_rtp(&mut self, addr: SocketAddr) {
        self.local_rtp = addr;
    }

    /// The SDP for an INVITE / re-INVITE.
    pub fn create_offer(&mut self, direction: Direction) -> String {
        self.pending_offer = Some(direction);
        let mut formats = Vec::new();
        let mut attrs = Vec::new();
        for &c in dedup(&self.caps.codecs).iter() {
            let pt = c.default_payload_type();
            formats.push(pt.to_string());
            self.codec_attributes(c, pt, &mut attrs);
        }
        if self.caps.telephone_event {
            formats.push(TELEPHONE_EVENT_PT.to_string());
            attrs.push(rtpmap(TELEPHONE_EVENT_PT, "telephone-event/8000"));
            attrs.push(Attribute::value(
                "fmtp",
                format!("{TELEPHONE_EVENT_PT} 0-16"),
            ));
        }
        attrs.push(Attribute::value("maxptime", MAX_PTIME_MS.to_string()));
        attrs.push(Attribute::value("ptime", self.caps.ptime_ms.to_string()));
        attrs.push(Attribute::flag(direction.attribute()));
        // RTCP on the RTP port if the peer agrees (RFC 5761); else on port + 1, which the
        // stream binds too.
        attrs.push(Attribute::flag("rtcp-mux"));
        // Our re-offers (hold, resume) keep the key in force while our address is the same
        // (RFC 4568 §7.1.4): some far ends (baresip 1.0) store a re-offer's new key but keep
        // decrypting with the first. A first offer, or a new address, gets fresh keys.
        self.offered_crypto = match self.kept_crypto_line() {
            Some(kept) => vec![kept],
            None => self.fresh_crypto_lines(),
        };
        for c in &self.offered_crypto {
            attrs.push(Attribute::value("crypto", c.to_value()));
        }
        // Optional SRTP rides RTP/AVP (what baresip's `mediaenc srtp` does): a far end that
        // ignores a=crypto still talks to us, in clear.
        let proto = if self.caps.srtp == SrtpMode::Mandatory {
            "RTP/SAVP"
        } else {
            "RTP/AVP"
        };
        let media = MediaDescription {
            media: "audio".into(),
            port: self.local_rtp.port(),
            num_ports: None,
            proto: proto.into(),
            formats,
            connection: None,
            attributes: attrs,
            other: Vec::new(),
        };
        self.render(vec![media])
    }

    /// Take the peer's answer to our last offer.
    pub fn receive_answer(&mut self, answer: &str) -> Result<Negotiated, NegotiationError> {
        let offered_dir = self.pending_offer.ok_or(NegotiationError::NoOfferPending)?;
        let sdp = SessionDescription::parse(answer)?;
        if sdp.media.len() != 1 {
            return Err(NegotiationError::MediaCountMismatch {
                offered: 1,
                answered: sdp.media.len(),
            });
        }
        let m = &sdp.media[0];
        if !m.media.eq_ignore_ascii_case("audio") {
            return Err(NegotiationError::NoAudio);
        }
        if m.port == 0 {
            self.pending_offer = None;
            return Err(NegotiationError::Rejected);
        }
        // The answer lists a subset of our offer; take its first one we support.
        let (codec, payload_type) = self.pick_codec(m).ok_or_else(|| self.no_common_codec(m))?;
        let remote_rtp = remote_addr(&sdp, m)?;
        let srtp = self.answered_crypto(m)?;
        let declared = declared_direction(&sdp, m);
        let remote_direction = effective_remote(declared, remote_rtp);
        let tag = self.answered_tag(m);
        self.pending_offer = None;
        self.offered_crypto.clear();
        self.keys = self.in_force(srtp.clone(), tag);
        let event = self
            .caps
            .telephone_event
            .then(|| telephone_event_pt(m, codec.clock_rate()))
            .flatten();
        Ok(Negotiated {
            remote_rtp,
            codec,
            payload_type,
            telephone_event: event.map(|(pt, _)| pt),
            telephone_event_rate: event.map_or(8000, |(_, rate)| rate),
            rtcp_mux: has_rtcp_mux(m),
            remote_rtcp: remote_rtcp(m, remote_rtp),
            ptime_ms: ptime(&sdp, m).unwrap_or(self.caps.ptime_ms),
            local_direction: offered_dir.intersect(remote_direction.reverse()),
            remote_direction,
            opus: self.opus_settings(m, codec, payload_type),
            srtp,
        })
    }

    /// Answer the peer's offer. `wanted` is what we would like (SendOnly to hold); the
    /// answer's direction is `wanted` ∩ the offer's reverse.
    pub fn receive_offer(
        &mut self,
        offer: &str,
        wanted: Direction,
    ) -> Result<(String, Negotiated), NegotiationError> {
        let sdp = SessionDescription::parse(offer)?;
        self.pending_offer = None;
        self.offered_crypto.clear();
        let audio: Vec<usize> = (0..sdp.media.len())
            .filter(|&i| sdp.media[i].media.eq_ignore_ascii_case("audio") && sdp.media[i].port != 0)
            .collect();
        if audio.is_empty() {
            return Err(NegotiationError::NoAudio);
        }
        // The first audio stream over RTP (or SRTP we can key) with a codec in common.
        let mut chosen = None;
        let mut first_error = None;
        for &i in &audio {
            let m = &sdp.media[i];
            let secure = is_secure_rtp(&m.proto);
            let usable = is_plain_rtp(&m.proto) || (secure && self.caps.srtp != SrtpMode::Off);
            if !usable {
                first_error.get_or_insert(NegotiationError::UnsupportedTransport {
                    proto: m.proto.clone(),
                });
                continue;
            }
            let crypto = match self.offered_key(m, secure) {
                Ok(c) => c,
                Err(e) => {
                    if !matches!(first_error, Some(NegotiationError::NoCommonCodec { .. })) {
                        first_error = Some(e);
                    }
                    continue;
                }
            };
            match self.pick_codec(m) {
                Some(c) => {
                    chosen = Some((i, c, crypto));
                    break;
                }
                None => {
                    let e = self.no_common_codec(m);
                    // A codec mismatch is more telling than an SRTP-only stream.
                    if !matches!(first_error, Some(NegotiationError::NoCommonCodec { .. })) {
                        first_error = Some(e);
                    }
                }
            }
        }
        let Some((index, (codec, payload_type), crypto)) = chosen else {
            return Err(first_error.unwrap_or(NegotiationError::NoAudio));
        };
        // Our side of the key exchange: the offer's tag and suite, a fresh key; but a
        // re-offer that keeps the far end's key keeps ours (RFC 4568 §7.1.4): some far ends
        // (baresip 1.0) never take a new receive key mid-call.
        let kept = crypto.as_ref().and_then(|theirs| {
            self.keys
                .as_ref()
                .filter(|f| f.local_rtp == self.local_rtp)
                .map(|f| &f.keys)
                .filter(|k| k.suite == theirs.suite && k.remote == theirs.key)
                .map(|k| CryptoAttribute {
                    tag: theirs.tag,
                    suite: theirs.suite,
                    key: k.local.clone(),
                    lifetime: None,
                })
        });
        let ours = match (&crypto, kept) {
            (Some(_), Some(kept)) => Some(kept),
            (Some(theirs), None) => Some(
                CryptoAttribute::generate(theirs.tag, theirs.suite).map_err(|e| {
                    NegotiationError::NoUsableCrypto {
                        side: "offer",
                        detail: e.to_string(),
                    }
                })?,
            ),
            (None, _) => None,
        };
        let srtp = crypto.zip(ours.clone()).map(|(theirs, ours)| SrtpKeys {
            suite: theirs.suite,
            local: ours.key,
            remote: theirs.key,
        });
        let m = &sdp.media[index];
        let remote_rtp = remote_addr(&sdp, m)?;
        let declared = declared_direction(&sdp, m);
        let remote_direction = effective_remote(declared, remote_rtp);
        let local_direction = wanted.intersect(remote_direction.reverse());
        let event = if self.caps.telephone_event {
            telephone_event_pt(m, codec.clock_rate())
        } else {
            None
        };
        let telephone_event = event.map(|(pt, _)| pt);
        let rtcp_mux = has_rtcp_mux(m);
        let ptime_ms = ptime(&sdp, m).unwrap_or(self.caps.ptime_ms);

        let mut answer_media = Vec::with_capacity(sdp.media.len());
        for (i, om) in sdp.media.iter().enumerate() {
            if i != index {
                answer_media.push(rejected(om));
                continue;
            }
            let mut formats = vec![payload_type.to_string()];
            let mut attrs = Vec::new();
            self.codec_attributes(codec, payload_type, &mut attrs);
            if let Some(pt) = telephone_event {
                // Keep the offer's clock rate for the event PT we take.
                let rate = rtpmap_of(om, pt).and_then(|(_, r)| r).unwrap_or(8000);
                formats.push(pt.to_string());
                attrs.push(rtpmap(pt, &format!("telephone-event/{rate}")));
                attrs.push(Attribute::value("fmtp", format!("{pt} 0-16")));
            }
            attrs.push(Attribute::value("maxptime", MAX_PTIME_MS.to_string()));
            attrs.push(Attribute::value("ptime", ptime_ms.to_string()));
            attrs.push(Attribute::flag(local_direction.attribute()));
            if rtcp_mux {
                attrs.push(Attribute::flag("rtcp-mux"));
            }
            if let Some(c) = &ours {
                attrs.push(Attribute::value("crypto", c.to_value()));
            }
            answer_media.push(MediaDescription {
                media: om.media.clone(),
                port: self.local_rtp.port(),
                num_ports: None,
                proto: om.proto.clone(),
                formats,
                connection: None,
                attributes: attrs,
                other: Vec::new(),
            });
        }
        let answer = self.render(answer_media);
        self.keys = self.in_force(srtp.clone(), ours.map_or(0, |c| c.tag));
        Ok((
            answer,
            Negotiated {
                remote_rtp,
                codec,
                payload_type,
                telephone_event,
                telephone_event_rate: event.map_or(8000, |(_, rate)| rate),
                rtcp_mux,
                remote_rtcp: remote_rtcp(m, remote_rtp),
                ptime_ms,
                local_direction,
                remote_direction,
                opus: self.opus_settings(m, codec, payload_type),
                srtp,
            },
        ))
    }

    /// The line that offers the keys in force again: their suite and tag, our key. None
    /// without keys in force or when our RTP address changed since they were agreed.
    fn kept_crypto_line(&self) -> Option<CryptoAttribute> {
        if self.caps.srtp == SrtpMode::Off {
            return None;
        }
        let f = self.keys.as_ref()?;
        (f.local_rtp == self.local_rtp).then(|| CryptoAttribute {
            tag: f.tag,
            suite: f.keys.suite,
            key: f.keys.local.clone(),
            lifetime: None,
        })
    }

    fn in_force(&self, keys: Option<SrtpKeys>, tag: u32) -> Option<InForce> {
        keys.map(|keys| InForce {
            keys,
            tag,
            local_rtp: self.local_rtp,
        })
    }

    /// The tag of the answer's `a=crypto` line that paired with our offer (0 if none).
    fn answered_tag(&self, m: &MediaDescription) -> u32 {
        crypto_values(m)
            .filter_map(|v| CryptoAttribute::parse(v).ok())
            .find(|theirs| {
                self.offered_crypto
                    .iter()
                    .any(|o| o.tag == theirs.tag && o.suite == theirs.suite)
            })
            .map_or(0, |c| c.tag)
    }

    /// The `a=crypto` lines of a new offer, one per suite we offer, each with a fresh key;
    /// none when SRTP is off. Without random numbers from the OS there is no key: the offer
    /// goes without (and a mandatory far end refuses it).
    fn fresh_crypto_lines(&self) -> Vec<CryptoAttribute> {
        if self.caps.srtp == SrtpMode::Off {
            return Vec::new();
        }
        CryptoSuite::OFFERED
            .into_iter()
            .zip(1..)
            .filter_map(|(suite, tag)| {
                CryptoAttribute::generate(tag, suite)
                    .inspect_err(|e| tracing::warn!(error = %e, "no SRTP key for the offer"))
                    .ok()
            })
            .collect()
    }

    /// The key the offer's stream `m` gives us, if we will encrypt: its first `a=crypto`
    /// line we can use (offerer's order). An error when encryption is required (an
    /// `RTP/SAVP` stream, or `[media] srtp = "mandatory"`) and no line fits.
    fn offered_key(
        &self,
        m: &MediaDescription,
        secure: bool,
    ) -> Result<Option<CryptoAttribute>, NegotiationError> {
        if self.caps.srtp == SrtpMode::Off {
            return Ok(None);
        }
        let mut why = None;
        for value in crypto_values(m) {
            match CryptoAttribute::parse(value) {
                Ok(c) => return Ok(Some(c)),
                Err(e) => {
                    why.get_or_insert(e.to_string());
                }
            }
        }
        if secure || self.caps.srtp == SrtpMode::Mandatory {
            return Err(NegotiationError::NoUsableCrypto {
                side: "offer",
                detail: why.unwrap_or_else(|| "it has no a=crypto line".into()),
            });
        }
        Ok(None)
    }

    /// The keys of an answer to our offer: its `a=crypto` must pair (tag and suite) with
    /// one of our offer's lines. Without one the call is clear, or fails when SRTP is
    /// mandatory.
    fn answered_crypto(&self, m: &MediaDescription) -> Result<Option<SrtpKeys>, NegotiationError> {
        if self.offered_crypto.is_empty() {
            return Ok(None);
        }
        let mut why = None;
        for value in crypto_values(m) {
            match CryptoAttribute::parse(value) {
                Ok(theirs) => {
                    let ours = self
                        .offered_crypto
                        .iter()
                        .find(|o| o.tag == theirs.tag && o.suite == theirs.suite);
                    match ours {
                        Some(ours) => {
                            return Ok(Some(SrtpKeys {
                                suite: theirs.suite,
                                local: ours.key.clone(),
                                remote: theirs.key,
                            }))
                        }
                        None => {
                            why.get_or_insert(format!(
                                "its a=crypto tag {} ({}) is not one we offered",
                                theirs.tag, theirs.suite
                            ));
                        }
                    }
                }
                Err(e) => {
                    why.get_or_insert(e.to_string());
                }
            }
        }
        if self.caps.srtp == SrtpMode::Mandatory || is_secure_rtp(&m.proto) {
            return Err(NegotiationError::NoUsableCrypto {
                side: "answer",
                detail: why.unwrap_or_else(|| "it has no a=crypto line".into()),
            });
        }
        Ok(None)
    }

    fn render(&mut self, media: Vec<MediaDescription>) -> String {
        let version = self.next_version;
        self.next_version = self.next_version.wrapping_add(1);
        let ip = self.local_rtp.ip();
        let conn = Connection::for_ip(ip);
        let sdp = SessionDescription {
            origin: Origin {
                username: "-".into(),
                session_id: self.session_id.to_string(),
                session_version: version.to_string(),
                net_type: conn.net_type.clone(),
                addr_type: conn.addr_type.clone(),
                address: conn.address.clone(),
            },
            session_name: "softphone".into(),
            connection: Some(conn),
            attributes: Vec::new(),
            media,
            other: vec![('t', "0 0".into())],
        };
        sdp.to_string()
    }

    /// rtpmap (+ fmtp for Opus) of one codec in our SDP.
    fn codec_attributes(&self, codec: Codec, pt: u8, attrs: &mut Vec<Attribute>) {
        attrs.push(rtpmap(pt, &codec.rtpmap_encoding()));
        if codec == Codec::Opus {
            // `[media]`'s Opus settings, asked of the far end too (RFC 7587 §6.1: these
            // say what we prefer to receive): the same bitrate cap and DTX as we send.
            let opus = &self.caps.opus;
            let mut fmtp = format!(
                "{pt} useinbandfec={};maxplaybackrate=48000;stereo=0;sprop-stereo=0",
                u8::from(opus.fec)
            );
            if let Some(b) = opus.bitrate {
                fmtp.push_str(&format!(";maxaveragebitrate={b}"));
            }
            if opus.dtx {
                fmtp.push_str(";usedtx=1");
            }
            attrs.push(Attribute::value("fmtp", fmtp));
        }
    }

    /// Our Opus settings for this call: the bitrate capped by the peer's
    /// `maxaveragebitrate` (RFC 7587 §6.1).
    fn opus_settings(&self, m: &MediaDescription, codec: Codec, pt: u8) -> OpusSettings {
        let mut s = self.caps.opus;
        if codec == Codec::Opus {
            let cap = fmtp_params(m, pt)
                .find(|(k, _)| k.eq_ignore_ascii_case("maxaveragebitrate"))
                .and_then(|(_, v)| v.parse::<u32>().ok())
                .filter(|&b| b >= 6000);
            if let Some(cap) = cap {
                s.bitrate = Some(s.bitrate.map_or(cap, |b| b.min(cap)));
            }
        }
        s
    }

    /// The first format in `m` (in its order) that we support, with the PT it uses.
    fn pick_codec(&self, m: &MediaDescription) -> Option<(Codec, u8)> {
        m.formats.iter().find_map(|f| {
            let pt: u8 = f.parse().ok().filter(|pt| *pt < 128)?;
            let codec = match rtpmap_of(m, pt) {
                Some((name, rate)) => {
                    Codec::from_name(name).filter(|c| rate == Some(c.clock_rate()))?
                }
                None => Codec::from_static(pt)?,
            };
            self.caps.codecs.contains(&codec).then_some((codec, pt))
        })
    }

    fn no_common_codec(&self, m: &MediaDescription) -> NegotiationError {
        let offered = m
            .formats
            .iter()
            .map(
                |f| match f.parse::<u8>().ok().and_then(|pt| rtpmap_value(m, pt)) {
                    Some(v) => v.to_string(),
                    None => match f.parse::<u8>().ok().and_then(Codec::from_static) {
                        Some(c) => c.name().to_string(),
                        None => format!("payload type {f}"),
                    },
                },
            )
            .collect();
        NegotiationError::NoCommonCodec {
            offered,
            supported: dedup(&self.caps.codecs)
                .iter()
                .map(|c| c.name().to_string())
                .collect(),
        }
    }
}

/// `a=rtpmap:<pt> <encoding>` where `encoding` is `name/rate[/channels]`.
fn rtpmap(pt: u8, encoding: &str) -> Attribute {
    Attribute::value("rtpmap", format!("{pt} {encoding}"))
}

/// `codecs` without repeats, order kept.
fn dedup(codecs: &[Codec]) -> Vec<Codec> {
    let mut out: Vec<Codec> = Vec::with_capacity(codecs.len());
    for &c in codecs {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// The `key=value` parameters of `a=fmtp:<pt> ...` (`;`-separated).
fn fmtp_params(m: &MediaDescription, pt: u8) -> impl Iterator<Item = (&str, &str)> {
    m.attributes
        .iter()
        .filter(|a| a.name.eq_ignore_ascii_case("fmtp"))
        .filter_map(|a| a.value.as_deref())
        .filter_map(move |v| {
            let (p, rest) = v.trim().split_once(char::is_whitespace)?;
            (p.parse::<u8>().ok()? == pt).then_some(rest)
        })
        .flat_map(|rest| rest.split(';'))
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.trim(), v.trim()))
        })
}

fn is_plain_rtp(proto: &str) -> bool {
    proto.eq_ignore_ascii_case("RTP/AVP") || proto.eq_ignore_ascii_case("RTP/AVPF")
}

/// SDES-keyed SRTP (RFC 4568 §3.1.4); not DTLS (`UDP/TLS/RTP/SAVP`).
fn is_secure_rtp(proto: &str) -> bool {
    proto.eq_ignore_ascii_case("RTP/SAVP") || proto.eq_ignore_ascii_case("RTP/SAVPF")
}

/// The values of the `a=crypto` lines of `m`, in order.
fn crypto_values(m: &MediaDescription) -> impl Iterator<Item = &str> {
    m.attributes
        .iter()
        .filter(|a| a.name.eq_ignore_ascii_case("crypto"))
        .filter_map(|a| a.value.as_deref())
}

/// The raw `encoding/rate[/params]` of `a=rtpmap:<pt> ...`.
fn rtpmap_value(m: &MediaDescription, pt: u8) -> Option<&str> {
    m.attributes
        .iter()
        .filter(|a| a.name.eq_ignore_ascii_case("rtpmap"))
        .filter_map(|a| a.value.as_deref())
        .find_map(|v| {
            let (p, rest) = v.trim().split_once(char::is_whitespace)?;
            (p.parse::<u8>().ok()? == pt).then_some(rest.trim())
        })
}

/// `(encoding name, clock rate)` from the rtpmap of `pt`.
fn rtpmap_of(m: &MediaDescription, pt: u8) -> Option<(&str, Option<u32>)> {
    let v = rtpmap_value(m, pt)?;
    let mut parts = v.split('/');
    let name = parts.next()?.trim();
    let rate = parts.next().and_then(|r| r.trim().parse().ok());
    Some((name, rate))
}

/// The telephone-event PT of `m` and its clock rate: at the audio codec's clock rate
/// (RFC 4733 §7.1.1), else at 8000 (what most peers pair with any codec).
fn telephone_event_pt(m: &MediaDescription, clock_rate: u32) -> Option<(u8, u32)> {
    let at = |want: u32| {
        m.formats.iter().find_map(|f| {
            let pt: u8 = f.parse().ok()?;
            let (name, rate) = rtpmap_of(m, pt)?;
            (name.eq_ignore_ascii_case("telephone-event") && rate == Some(want))
                .then_some((pt, want))
        })
    };
    at(clock_rate).or_else(|| at(8000))
}

fn has_rtcp_mux(m: &MediaDescription) -> bool {
    m.attributes
        .iter()
        .any(|a| a.value.is_none() && a.name.eq_ignore_ascii_case("rtcp-mux"))
}

/// The peer's RTCP address: `a=rtcp:<port> [IN IP4 <addr>]` (RFC 3605), else RTP port + 1.
fn remote_rtcp(m: &MediaDescription, rtp: Option<SocketAddr>) -> Option<SocketAddr> {
    let rtp = rtp?;
    let Some(v) = m.attribute("rtcp") else {
        return Some(SocketAddr::new(rtp.ip(), rtp.port().checked_add(1)?));
    };
    let mut parts = v.split_whitespace();
    let port: u16 = parts.next()?.parse().ok().filter(|p| *p != 0)?;
    let ip = match (parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(_), Some(addr)) => addr.parse().ok()?,
        _ => rtp.ip(),
    };
    Some(SocketAddr::new(ip, port))
}

fn ptime(sdp: &SessionDescription, m: &MediaDescription) -> Option<u32> {
    let v = m.attribute("ptime").or_else(|| sdp.attribute("ptime"))?;
    let ms: u32 = v.trim().parse().ok()?;
    // Only whole 10 ms frames in a sane range; otherwise fall back to our default.
    (10..=120).contains(&ms).then_some(ms - ms % 10)
}

fn declared_direction(sdp: &SessionDescription, m: &MediaDescription) -> Direction {
    let from = |attrs: &[Attribute]| {
        attrs
            .iter()
            .filter(|a| a.value.is_none())
            .find_map(|a| Direction::from_attribute(&a.name))
    };
    from(&m.attributes)
        .or_else(|| from(&sdp.attributes))
        .unwrap_or_default()
}

/// RFC 2543 hold (`c=0.0.0.0`) or port 0: the peer receives nothing.
fn effective_remote(declared: Direction, remote: Option<SocketAddr>) -> Direction {
    if remote.is_none() {
        Direction::from_flags(declared.sends(), false)
    } else {
        declared
    }
}

fn remote_addr(
    sdp: &SessionDescription,
    m: &MediaDescription,
) -> Result<Option<SocketAddr>, NegotiationError> {
    let conn = m
        .connection
        .as_ref()
        .or(sdp.connection.as_ref())
        .ok_or(NegotiationError::NoConnection)?;
    let ip = conn
        .ip()
        .ok_or_else(|| NegotiationError::BadAddress(conn.address.clone()))?;
    if m.port == 0 || ip.is_unspecified() {
        return Ok(None);
    }
    Ok(Some(SocketAddr::new(ip, m.port)))
}

/// The answer's line for a stream we do not take: same media/proto/formats, port 0.
fn rejected(m: &MediaDescription) -> MediaDescription {
    let formats = if m.formats.is_empty() {
        vec!["0".to_string()]
    } else {
        m.formats.clone()
    };
    MediaDescription {
        media: m.media.clone(),
        port: 0,
        num_ports: None,
        proto: m.proto.clone(),
        formats,
        connection: None,
        attributes: Vec::new(),
        other: Vec::new(),
    }
}
