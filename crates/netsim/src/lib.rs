//! Deterministic simulated network and virtual clock for protocol tests.
