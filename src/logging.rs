//! Logging: `tracing` to stderr and to `softphone.log` in the data directory.
//!
//! The SIP message trace is its own target (`sip_trace`), switched on by `[log] sip_trace`.
//! SIP messages carry digests, never passwords, and the config types redact the password in
//! their `Debug` output, so no log line can hold one. SDP bodies carry SRTP master keys
//! (`a=crypto ... inline:KEY`): the trace prints them as `inline:<redacted>` ([`trace_text`]).

use crate::config::Config;
use std::fs::OpenOptions;
use std::sync::Mutex;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// The `tracing` target of the SIP message trace.
pub const SIP_TRACE: &str = "sip_trace";

/// A SIP message as the trace prints it: lossy UTF-8, every SDES key (`inline:` up to `|`,
/// `;`, a space or the line's end) replaced by `<redacted>`.
pub fn trace_text(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    const MARK: &str = "inline:";
    let mut out = String::with_capacity(text.len());
    let mut rest: &str = &text;
    while let Some(at) = rest.to_ascii_lowercase().find(MARK) {
        let (head, tail) = rest.split_at(at + MARK.len());
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '|' || c == ';' || c.is_whitespace())
            .unwrap_or(tail.len());
        if end > 0 {
            out.push_str("<redacted>");
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

pub fn init(config: &Config) -> Result<(), String> {
    let mut filter = config.log.level.clone();
    filter.push_str(if config.log.sip_trace {
        ",sip_trace=trace"
    } else {
        ",sip_trace=off"
    });
    let make_filter = || {
        EnvFilter::try_new(&filter).map_err(|e| {
            format!(
                "[log] level: {:?} is not a valid filter ({e}); try \"info\" or \"debug\"",
                config.log.level
            )
        })
    };

    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        format!(
            "cannot create the data directory {} ({e}); set SOFTPHONE_DATA_DIR to a writable folder",
            config.data_dir.display()
        )
    })?;
    let log_path = config.data_dir.join("softphone.log");
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| format!("cannot open the log file {}: {e}", log_path.display()))?;

    tracing_subscriber::registry()
        .with(
            fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(make_filter()?),
        )
        .with(
            fmt::layer()
                .with_ansi(false)
                .with_writer(Mutex::new(file))
                .with_filter(make_filter()?),
        )
        .try_init()
        .map_err(|e| format!("cannot install the logger: {e}"))
}

#[cfg(test)]
mod trace_tests {
    use super::trace_text;

    #[test]
    fn sdes_keys_never_reach_the_trace() {
        let sdp = b"m=audio 4000 RTP/SAVP 0\r\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\r\n\
a=crypto:2 AES_CM_128_HMAC_SHA1_32 INLINE:d2hhdGV2ZXI=\r\n";
        let t = trace_text(sdp);
        assert!(!t.contains("WVNfX19z"), "{t}");
        assert!(!t.contains("d2hhdGV2ZXI"), "{t}");
        assert!(t.contains("inline:<redacted>|2^20|1:4\r\n"), "{t}");
        assert!(t.contains("INLINE:<redacted>\r\n"), "{t}");
        assert_eq!(
            trace_text(b"INVITE sip:a@b SIP/2.0"),
            "INVITE sip:a@b SIP/2.0"
        );
        assert_eq!(trace_text(b"inline:"), "inline:");
    }
}
