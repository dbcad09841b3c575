//! `[media]`: which codecs calls offer and accept, in which order, how Opus encodes, and
//! whether calls are encrypted (SRTP).

use media::{AudioCaps, Codec, OpusSettings, SrtpMode};
use serde::Deserialize;

/// The accepted codec names, as the error messages list them.
const CODEC_NAMES: &str = "\"opus\", \"g722\", \"pcmu\", \"pcma\"";

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMedia {
    codecs: Option<Vec<String>>,
    ptime: Option<i64>,
    opus_bitrate: Option<i64>,
    opus_complexity: Option<i64>,
    opus_fec: Option<bool>,
    opus_dtx: Option<bool>,
    srtp: Option<String>,
}

impl RawMedia {
    /// The codecs and settings, or the key that is wrong and why.
    pub(super) fn resolve(self) -> Result<AudioCaps, (&'static str, String)> {
        let mut caps = AudioCaps::default();
        if let Some(names) = self.codecs {
            if names.is_empty() {
                return Err((
                    "codecs",
                    format!("empty: list at least one of {CODEC_NAMES}, in order of preference"),
                ));
            }
            let mut codecs = Vec::with_capacity(names.len());
            for name in &names {
                let codec = Codec::from_config_name(name.trim()).ok_or_else(|| {
                    (
                        "codecs",
                        format!("unknown codec {name:?}: accepted are {CODEC_NAMES}"),
                    )
                })?;
                if codecs.contains(&codec) {
                    return Err(("codecs", format!("{name:?} is listed twice")));
                }
                codecs.push(codec);
            }
            caps.codecs = codecs;
        }
        if let Some(ptime) = self.ptime {
            if !(10..=120).contains(&ptime) || ptime % 10 != 0 {
                return Err((
                    "ptime",
                    format!("{ptime} ms: a multiple of 10 from 10 to 120 (20 is usual)"),
                ));
            }
            caps.ptime_ms = ptime as u32;
        }
        let mut opus = OpusSettings::default();
        if let Some(b) = self.opus_bitrate {
            if !(6000..=510_000).contains(&b) {
                return Err((
                    "opus_bitrate",
                    format!("{b} bit/s: from 6000 to 510000 (leave it out to let Opus choose, about 32000 for voice)"),
                ));
            }
            opus.bitrate = Some(b as u32);
        }
        if let Some(c) = self.opus_complexity {
            if !(0..=10).contains(&c) {
                return Err((
                    "opus_complexity",
                    format!("{c}: from 0 (cheapest) to 10 (best, the default)"),
                ));
            }
            opus.complexity = c as u8;
        }
        if let Some(fec) = self.opus_fec {
            opus.fec = fec;
        }
        if let Some(dtx) = self.opus_dtx {
            opus.dtx = dtx;
        }
        caps.opus = opus;
        if let Some(mode) = self.srtp {
            caps.srtp = SrtpMode::from_config_name(mode.trim()).ok_or_else(|| {
                (
                    "srtp",
                    format!(
                        "unknown mode {mode:?}: accepted are \"off\", \"optional\", \"mandatory\""
                    ),
                )
            })?;
        }
        Ok(caps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(toml_text: &str) -> Result<AudioCaps, (&'static str, String)> {
        toml::from_str::<RawMedia>(toml_text).unwrap().resolve()
    }

    #[test]
    fn defaults_and_every_key() {
        let caps = resolve("").unwrap();
        assert_eq!(caps.codecs, vec![Codec::Opus, Codec::Pcmu, Codec::Pcma]);
        assert_eq!(caps.ptime_ms, 20);
        assert_eq!(caps.opus, OpusSettings::default());
        assert_eq!(caps.srtp, SrtpMode::Optional);
        let caps = resolve(
            "codecs = [\"G722\", \"pcma\"]\nptime = 40\nopus_bitrate = 24000\nopus_complexity = 5\nopus_fec = false\nopus_dtx = true\nsrtp = \"mandatory\"\n",
        )
        .unwrap();
        assert_eq!(caps.srtp, SrtpMode::Mandatory);
        assert_eq!(resolve("srtp = \"off\"").unwrap().srtp, SrtpMode::Off);
        assert_eq!(caps.codecs, vec![Codec::G722, Codec::Pcma]);
        assert_eq!(caps.ptime_ms, 40);
        assert_eq!(
            caps.opus,
            OpusSettings {
                bitrate: Some(24000),
                fec: false,
                dtx: true,
                complexity: 5
            }
        );
    }

    #[test]
    fn errors_name_the_key() {
        for (text, key, says) in [
            ("codecs = []", "codecs", "at least one"),
            ("codecs = [\"g729\"]", "codecs", "\"g729\""),
            ("codecs = [\"opus\", \"OPUS\"]", "codecs", "twice"),
            ("ptime = 25", "ptime", "multiple of 10"),
            ("ptime = 0", "ptime", "multiple of 10"),
            ("opus_bitrate = 500", "opus_bitrate", "6000"),
            ("opus_complexity = 11", "opus_complexity", "0"),
            (
                "srtp = \"on\"",
                "srtp",
                "\"off\", \"optional\", \"mandatory\"",
            ),
        ] {
            let (k, message) = resolve(text).unwrap_err();
            assert_eq!(k, key, "{text}");
            assert!(message.contains(says), "{text}: {message}");
        }
    }
}
