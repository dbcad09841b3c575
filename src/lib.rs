//! The agent's config file, as a library so that tools outside the binary (the fuzz targets
//! in `fuzz/`) can parse configs exactly as the agent does. Everything else lives in the
//! binary (`main.rs`).

pub mod config;
