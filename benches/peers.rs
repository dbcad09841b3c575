//! Side by side with baresip and linphonec: the same call through Kamailio to an echoing
//! baresip, for each user agent and codec, with CPU, memory, threads, wake-ups and the time
//! from dial to connected, and the delay each adds (benches/peers/probe.rs), from the same
//! run on this machine. Writes the table into
//! docs/benchmarks.md (between the peers markers) and docs/peers.json.
//!
//! `cargo bench --bench peers` (or `make bench-peers`). Environment:
//! `PEERS_UAS` (default `softphone,baresip,linphonec`), `PEERS_CODECS` (`opus,pcmu`),
//! `PEERS_TALK_SECS` (20), `PEERS_IDLE_SECS` (10), `PEERS_IDLE_SETTLE_SECS` (15: from
//! registered to the idle window), `PEERS_PROBE_SECS` (20: how long each
//! delay probe sends clicks, one a second; 0 skips it), `PEERS_LOAD_RATES` (`5,10,20,40,80`
//! calls/s, tried in order until one fails; empty skips the load), `PEERS_LOAD_SECS` (60, per
//! rate), `PEERS_LOAD_CALL_SECS` (8, each call's length), `PEERS_WRITE` (`1`: write the docs;
//! `0`: print only).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "peers/mod.rs"]
mod peers;

use std::path::Path;
use std::time::Duration;

use peers::measure::{Codec, Plan};
use peers::ua::Kind;

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter this harness ignores.
    if !testbed::require_tools(
        "peers",
        &[
            "kamailio",
            "kamcmd",
            "baresip",
            "linphonec",
            "pulseaudio",
            "pactl",
            "pacat",
        ],
    ) {
        return;
    }
    let list = |var: &str, default: &str| -> Vec<String> {
        std::env::var(var)
            .unwrap_or_else(|_| default.into())
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let secs = |var: &str, default: u64| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let uas: Vec<Kind> = list("PEERS_UAS", "softphone,baresip,linphonec")
        .iter()
        .map(|n| {
            Kind::from_name(n).unwrap_or_else(|| panic!("PEERS_UAS: unknown user agent {n:?}"))
        })
        .collect();
    let codecs: Vec<Codec> = list("PEERS_CODECS", "opus,pcmu")
        .iter()
        .map(|n| Codec::from_name(n).unwrap_or_else(|| panic!("PEERS_CODECS: unknown codec {n:?}")))
        .collect();
    let (talk, idle) = (secs("PEERS_TALK_SECS", 20), secs("PEERS_IDLE_SECS", 10));
    let idle_settle = secs("PEERS_IDLE_SETTLE_SECS", 15);
    let plan = Plan {
        uas,
        codecs,
        idle: Duration::from_secs(idle),
        idle_settle: Duration::from_secs(idle_settle),
        talk: Duration::from_secs(talk),
        probe: Duration::from_secs(secs("PEERS_PROBE_SECS", 20)),
    };
    let load_plan = peers::load::LoadPlan {
        // linphonec is not loaded: the reference is baresip, and registered
        // linphonec refuses direct calls (its GRUU).
        uas: plan
            .uas
            .iter()
            .copied()
            .filter(|k| *k != Kind::Linphone)
            .collect(),
        rates: list("PEERS_LOAD_RATES", "5,10,20,40,80")
            .iter()
            .map(|r| {
                r.parse()
                    .unwrap_or_else(|_| panic!("PEERS_LOAD_RATES: not a rate {r:?}"))
            })
            .collect(),
        span: Duration::from_secs(secs("PEERS_LOAD_SECS", 60)),
        call: Duration::from_secs(secs("PEERS_LOAD_CALL_SECS", 8)),
    };
    let work = tempfile::tempdir().expect("a scratch directory");
    let kam =
        peers::pbx(plan.duration() + load_plan.duration()).unwrap_or_else(|e| panic!("peers: {e}"));
    let rows =
        peers::measure::run(&plan, &kam, work.path()).unwrap_or_else(|e| panic!("peers: {e}"));
    let delays = if plan.probe.is_zero() {
        Vec::new()
    } else {
        peers::measure::run_delays(&plan, &kam).unwrap_or_else(|e| panic!("peers: {e}"))
    };
    let load = if load_plan.rates.is_empty() || load_plan.span.is_zero() {
        Vec::new()
    } else {
        peers::load::run(&load_plan, &kam, work.path()).unwrap_or_else(|e| panic!("peers: {e}"))
    };
    let machine = peers::report::Machine::this();
    let section = peers::report::markdown(&rows, &delays, &load, &machine, talk, idle, idle_settle);
    println!("{section}");
    if std::env::var("PEERS_WRITE").map_or(true, |v| v != "0") {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let json = peers::report::json(&rows, &delays, &load, &machine);
        peers::report::write(
            &root.join("docs/benchmarks.md"),
            &root.join("docs/peers.json"),
            &section,
            &json,
        )
        .unwrap_or_else(|e| panic!("peers: {e}"));
        println!("written: docs/benchmarks.md (peers section), docs/peers.json");
    }
}
