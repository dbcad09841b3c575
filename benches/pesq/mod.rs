//! The PESQ harness (`benches/pesq.rs`), shared with its short version in `make test`
//! (`tests/pesq_short.rs`).
#![allow(dead_code)] // the short version uses part of it

pub mod call;
pub mod netns;
pub mod report;
pub mod score;
pub mod speech;
