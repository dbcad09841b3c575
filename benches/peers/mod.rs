//! The peers harness (`benches/peers.rs`), shared with its short version in `make test`
//! (`tests/peers_short.rs`).
#![allow(dead_code)] // the short version uses part of it

pub mod load;
pub mod measure;
pub mod probe;
pub mod procstat;
pub mod report;
pub mod ua;
