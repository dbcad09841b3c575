//! The config file: TOML as an agent's administrator (or a broken deployment script) writes
//! it, parsed and validated exactly as the agent does at start.
//!
//! Property: nothing panics; a bad file is a typed error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
// All the crate paths this target uses, in one place.
use softphone::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Environment overrides are part of parsing: give every key one, half the time, so the
    // override paths see the same fuzzed values.
    let with_env = text.len() % 2 == 1;
    let env = |_key: &str| with_env.then(|| "from-the-environment".to_owned());
    let _ = Config::parse(text, Path::new("agent.toml"), env);
});
