//! The wire types of the bridge API (status document, call views, commands, replies,
//! events). They live in the `wire` crate, which has no networking dependency, so the
//! sans-IO call controller shares them without linking the HTTP server.

pub use wire::*;
