//! Logging: `tracing` to stderr and to `softphone.log` in the data directory.
//!
//! The SIP message trace is its own target (`sip_trace`), switched on by `[log] sip_trace`.
//! SIP messages carry digests, never passwords, and the config types redact the password in
//! their `Debug` output, so no log line can hold one.

use crate::config::Config;
use std::fs::OpenOptions;
use std::sync::Mutex;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// The `tracing` target of the SIP message trace.
pub const SIP_TRACE: &str = "sip_trace";

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
