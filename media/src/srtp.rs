//! SRTP and SRTCP (RFC 3711) protection of one call's datagrams, sans-IO: two
//! `webrtc-srtp` contexts, one per direction, keyed from the negotiated `a=crypto` lines.
//! Replay protection is on for both RTP and RTCP. Inputs are checked for length before the
//! crate sees them, so a short or junk datagram is an error, never a panic.

use std::fmt;

use webrtc_srtp::context::Context;
use webrtc_srtp::option::{srtcp_replay_protection, srtp_replay_protection};
use webrtc_srtp::protection_profile::ProtectionProfile;
use webrtc_srtp::Error as CrateError;

use crate::sdes::{CryptoSuite, KeyMaterial};

/// Replay window, in packets (RFC 3711 §3.3.2 asks for at least 64).
const REPLAY_WINDOW: usize = 128;
/// RTP fixed header.
const RTP_HEADER: usize = 12;
/// RTCP header with the sender's SSRC, then the E flag + SRTCP index.
const SRTCP_MIN: usize = 8 + 4;

/// The keys of one call: ours (we protect what we send) and the far end's (we check what
/// it sends). `Debug` shows the suite only.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKeys {
    /// The negotiated suite.
    pub suite: CryptoSuite,
    /// Our key and salt (the `a=crypto` we wrote).
    pub local: KeyMaterial,
    /// The far end's key and salt (its `a=crypto`).
    pub remote: KeyMaterial,
}

impl fmt::Debug for SrtpKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpKeys")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

/// Why a datagram was not protected or not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SrtpError {
    /// The authentication tag does not match (forged, corrupted, or another key).
    #[error("SRTP authentication failed")]
    AuthFailed,
    /// A packet index seen before or too old for the replay window.
    #[error("SRTP packet replayed")]
    Replayed,
    /// Too short or not an RTP/RTCP packet.
    #[error("not an SRTP/SRTCP packet")]
    Malformed,
    /// The contexts could not be made (a key of the wrong length).
    #[error("SRTP keys unusable")]
    BadKeys,
}

fn profile(suite: CryptoSuite) -> ProtectionProfile {
    match suite {
        CryptoSuite::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
        CryptoSuite::AesCm128HmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
        CryptoSuite::AeadAes128Gcm => ProtectionProfile::AeadAes128Gcm,
    }
}

fn classify(e: CrateError) -> SrtpError {
    match e {
        CrateError::SrtpSsrcDuplicated(..) | CrateError::SrtcpSsrcDuplicated(..) => {
            SrtpError::Replayed
        }
        CrateError::RtpFailedToVerifyAuthTag
        | CrateError::RtcpFailedToVerifyAuthTag
        | CrateError::ErrFailedToVerifyAuthTag => SrtpError::AuthFailed,
        // AES-GCM reports a tag mismatch as an AEAD error.
        CrateError::AesGcm(_) => SrtpError::AuthFailed,
        _ => SrtpError::Malformed,
    }
}

/// One direction's context, with replay protection.
fn context(suite: CryptoSuite, k: &KeyMaterial) -> Result<Context, SrtpError> {
    Context::new(
        k.key(suite),
        k.salt(suite),
        profile(suite),
        Some(srtp_replay_protection(REPLAY_WINDOW)),
        Some(srtcp_replay_protection(REPLAY_WINDOW)),
    )
    .map_err(|_| SrtpError::BadKeys)
}

/// Both directions of one call's SRTP.
pub struct Srtp {
    suite: CryptoSuite,
    outbound: Context,
    inbound: Context,
}

impl fmt::Debug for Srtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Srtp")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

impl Srtp {
    /// Contexts for `keys`.
    pub fn new(keys: &SrtpKeys) -> Result<Srtp, SrtpError> {
        let suite = keys.suite;
        Ok(Srtp {
            suite,
            outbound: context(suite, &keys.local)?,
            inbound: context(suite, &keys.remote)?,
        })
    }

    /// Follow new keys in the same suite, keeping the context of each direction whose key
    /// did not change: its rollover counter (which the far end tracks) and replay window
    /// go on. `old` are the keys these contexts were made with.
    pub fn rekey(&mut self, old: &SrtpKeys, new: &SrtpKeys) -> Result<(), SrtpError> {
        if old.suite != new.suite || new.suite != self.suite {
            *self = Srtp::new(new)?;
            return Ok(());
        }
        if old.local != new.local {
            self.outbound = context(new.suite, &new.local)?;
        }
        if old.remote != new.remote {
            self.inbound = context(new.suite, &new.remote)?;
        }
        Ok(())
    }

    /// The suite in force.
    pub fn suite(&self) -> CryptoSuite {
        self.suite
    }

    fn rtcp_tag_len(&self) -> usize {
        match self.suite {
            CryptoSuite::AeadAes128Gcm => 16,
            _ => 10,
        }
    }

    fn rtp_tag_len(&self) -> usize {
        match self.suite {
            CryptoSuite::AesCm128HmacSha1_80 => 10,
            CryptoSuite::AesCm128HmacSha1_32 => 4,
            CryptoSuite::AeadAes128Gcm => 16,
        }
    }

    /// An RTP packet of ours, encrypted and tagged.
    pub fn protect_rtp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        if packet.len() < RTP_HEADER {
            return Err(SrtpError::Malformed);
        }
        self.outbound
            .encrypt_rtp(packet)
            .map(|b| b.to_vec())
            .map_err(classify)
    }

    /// A received SRTP packet, checked (tag, replay) and decrypted.
    pub fn unprotect_rtp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        if packet.len() < RTP_HEADER + self.rtp_tag_len() || packet[0] >> 6 != 2 {
            return Err(SrtpError::Malformed);
        }
        self.inbound
            .decrypt_rtp(packet)
            .map(|b| b.to_vec())
            .map_err(classify)
    }

    /// An RTCP compound packet of ours, as SRTCP.
    pub fn protect_rtcp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        if packet.len() < 8 {
            return Err(SrtpError::Malformed);
        }
        self.outbound
            .encrypt_rtcp(packet)
            .map(|b| b.to_vec())
            .map_err(classify)
    }

    /// A received SRTCP packet, checked and decrypted.
    pub fn unprotect_rtcp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        if packet.len() < SRTCP_MIN + self.rtcp_tag_len() || packet[0] >> 6 != 2 {
            return Err(SrtpError::Malformed);
        }
        self.inbound
            .decrypt_rtcp(packet)
            .map(|b| b.to_vec())
            .map_err(classify)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(suite: CryptoSuite) -> (SrtpKeys, SrtpKeys) {
        let a = KeyMaterial::generate(suite).unwrap();
        let b = KeyMaterial::generate(suite).unwrap();
        (
            SrtpKeys {
                suite,
                local: a.clone(),
                remote: b.clone(),
            },
            SrtpKeys {
                suite,
                local: b,
                remote: a,
            },
        )
    }

    fn rtp(seq: u16, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 160, 0x12, 0x34, 0x56, 0x78];
        p[2..4].copy_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    fn rtcp_rr() -> Vec<u8> {
        // An empty receiver report from SSRC 0x12345678.
        vec![0x80, 201, 0, 1, 0x12, 0x34, 0x56, 0x78]
    }

    #[test]
    fn round_trip_every_suite_rtp_and_rtcp() {
        for suite in CryptoSuite::ALL {
            let (a, b) = keys(suite);
            let (mut alice, mut bob) = (Srtp::new(&a).unwrap(), Srtp::new(&b).unwrap());
            let payload = [0x55u8; 160];
            for seq in 0..5u16 {
                let plain = rtp(seq, &payload);
                let wire = alice.protect_rtp(&plain).unwrap();
                assert_ne!(&wire[12..172], &payload[..], "{suite}: payload in clear");
                assert_eq!(bob.unprotect_rtp(&wire).unwrap(), plain, "{suite}");
            }
            let wire = bob.protect_rtcp(&rtcp_rr()).unwrap();
            assert_eq!(alice.unprotect_rtcp(&wire).unwrap(), rtcp_rr(), "{suite}");
        }
    }

    #[test]
    fn broken_tag_is_refused_then_the_stream_goes_on() {
        let (a, b) = keys(CryptoSuite::AesCm128HmacSha1_80);
        let (mut alice, mut bob) = (Srtp::new(&a).unwrap(), Srtp::new(&b).unwrap());
        let mut wire = alice.protect_rtp(&rtp(1, &[1; 160])).unwrap();
        let last = wire.len() - 1;
        wire[last] ^= 1;
        assert_eq!(bob.unprotect_rtp(&wire), Err(SrtpError::AuthFailed));
        let next = alice.protect_rtp(&rtp(2, &[2; 160])).unwrap();
        assert!(bob.unprotect_rtp(&next).is_ok());
    }

    #[test]
    fn replay_is_refused() {
        let (a, b) = keys(CryptoSuite::AesCm128HmacSha1_32);
        let (mut alice, mut bob) = (Srtp::new(&a).unwrap(), Srtp::new(&b).unwrap());
        let wire = alice.protect_rtp(&rtp(7, &[3; 160])).unwrap();
        assert!(bob.unprotect_rtp(&wire).is_ok());
        assert_eq!(bob.unprotect_rtp(&wire), Err(SrtpError::Replayed));
        let rtcp = alice.protect_rtcp(&rtcp_rr()).unwrap();
        assert!(bob.unprotect_rtcp(&rtcp).is_ok());
        assert_eq!(bob.unprotect_rtcp(&rtcp), Err(SrtpError::Replayed));
    }

    #[test]
    fn another_key_fails_authentication() {
        let (a, _) = keys(CryptoSuite::AesCm128HmacSha1_80);
        let (_, c) = keys(CryptoSuite::AesCm128HmacSha1_80);
        let mut alice = Srtp::new(&a).unwrap();
        let mut stranger = Srtp::new(&c).unwrap();
        let wire = alice.protect_rtp(&rtp(1, &[1; 160])).unwrap();
        assert_eq!(stranger.unprotect_rtp(&wire), Err(SrtpError::AuthFailed));
    }

    #[test]
    fn junk_never_panics() {
        for suite in CryptoSuite::ALL {
            let (a, _) = keys(suite);
            let mut s = Srtp::new(&a).unwrap();
            for len in 0..64 {
                for fill in [0u8, 0x80, 0xff] {
                    let mut junk = vec![fill; len];
                    if len > 1 {
                        junk[0] = 0x80;
                        junk[1] = 200;
                    }
                    let _ = s.unprotect_rtp(&junk);
                    let _ = s.unprotect_rtcp(&junk);
                    let _ = s.protect_rtcp(&junk);
                    let _ = s.protect_rtp(&junk);
                }
            }
        }
    }

    #[test]
    fn debug_shows_no_key() {
        let (a, _) = keys(CryptoSuite::AesCm128HmacSha1_80);
        let shown = format!("{a:?} {:?}", Srtp::new(&a).unwrap());
        assert!(!shown.contains("KeyMaterial"), "{shown}");
        assert!(shown.contains("AesCm128HmacSha1_80"));
    }
}
