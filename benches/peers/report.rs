//! The run's table: Markdown for docs/benchmarks.md (between two markers, replaced on each
//! run) and JSON beside it, with the date and the machine, and the ratios against the goals.

use std::path::Path;

use super::load::LoadRow;
use super::measure::{Codec, DelayRow, Row};
use super::ua::Kind;

pub const BEGIN: &str = "<!-- peers:begin (written by `cargo bench --bench peers`) -->";
pub const END: &str = "<!-- peers:end -->";

/// The goals of the comparison, as ratios of this agent's figure to baresip's.
const CPU_GOAL: f64 = 0.8;
const RSS_GOAL: f64 = 1.0;

/// Where and when the run happened.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    pub date: String,
    pub cpu: String,
    pub cores: usize,
    pub kernel: String,
}

impl Machine {
    pub fn this() -> Machine {
        Machine {
            date: machine::date(),
            cpu: machine::cpu(),
            cores: machine::cores(),
            kernel: machine::kernel(),
        }
    }
}

/// The Markdown section (markers included).
pub fn markdown(
    rows: &[Row],
    delays: &[DelayRow],
    load: &[LoadRow],
    machine: &Machine,
    talk_s: u64,
    idle_s: u64,
    idle_settle_s: u64,
) -> String {
    let mut s = format!(
        "{BEGIN}\n\nRun {} on {} ({} cores, Linux {}); each call {talk_s} s measured after \
         2 s, idle {idle_s} s measured {idle_settle_s} s after registering. CPU is user + system time as a \
         share of one core; wake-ups are context switches per second over all threads.\n\n\
         | user agent | codec asked | negotiated | dial to connected | CPU in call | CPU per call minute | RSS in call | threads in call | wake-ups/s in call | CPU idle | RSS idle | threads idle | wake-ups/s idle |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        machine.date, machine.cpu, machine.cores, machine.kernel
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {:.0} ms | {:.2}% | {:.2} s | {:.1} MB | {} | {:.0} | {:.2}% | {:.1} MB | {} | {:.1} |\n",
            r.ua.name(),
            r.codec.name(),
            r.negotiated,
            r.dial_to_connected_ms,
            r.call.cpu_pct,
            r.call.cpu_pct * 0.6,
            r.call.rss_mb,
            r.call.threads,
            r.call.wakeups_per_s,
            r.idle.cpu_pct,
            r.idle.rss_mb,
            r.idle.threads,
            r.idle.wakeups_per_s,
        ));
    }
    if !delays.is_empty() {
        s.push_str(&format!(
            "\nThe delay each adds (a prober calls it and sends a click a second; it plays them \
             on its speaker, a PulseAudio loopback of {} ms carries them into its microphone, \
             and it sends them back; echo cancellers off): round trip from a click leaving the \
             prober to its return, and the same less the loopback.\n\n\
             | user agent | clicks sent | clicks back | round trip median | p95 | added by the user agent (median) |\n\
             |---|---:|---:|---:|---:|---:|\n",
            delays[0].loopback_ms
        ));
        for d in delays {
            let clicks = match &d.delays {
                Ok(clicks) => clicks,
                Err(why) => {
                    s.push_str(&format!(
                        "| {} | - | - | not measured: {why} | | |\n",
                        d.ua.name()
                    ));
                    continue;
                }
            };
            let q = |x: f64| {
                clicks
                    .quantile(x)
                    .map_or("-".to_owned(), |v| format!("{v:.0} ms"))
            };
            let added = clicks.quantile(0.5).map_or("-".to_owned(), |v| {
                format!("{:.0} ms", v - d.loopback_ms as f64)
            });
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                d.ua.name(),
                clicks.sent,
                clicks.round_trips_ms.len(),
                q(0.5),
                q(0.95),
                added
            ));
        }
    }
    if !load.is_empty() {
        s.push_str(
            "\nSIPp load (`tests/sipp/load_uac_media.xml`: each user agent answering by itself, \
             no audio device, PCMA media from sip-tester's pcap), rising rates until one has a \
             failed call or a retransmission; the user agent's CPU, RSS and threads over each \
             rate's run. baresip runs with `call_max_calls 2000` (its default of 4 would refuse \
             the load).\n\n\
             | user agent | calls/s | calls | successful | failed | retransmissions | CPU | RSS | threads |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for row in load {
            for step in &row.steps {
                s.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} | {:.1}% | {:.1} MB | {} |\n",
                    row.ua.name(),
                    step.rate,
                    step.calls,
                    step.successful,
                    step.failed,
                    step.retransmissions,
                    step.usage.cpu_pct,
                    step.usage.rss_mb,
                    step.usage.threads,
                ));
            }
        }
    }
    let mut goals = goal_lines(rows);
    goals.extend(delay_goal(delays));
    goals.extend(load_goal(load));
    if !goals.is_empty() {
        s.push_str("\nAgainst the goals (softphone / baresip, same run):\n\n");
        for g in goals {
            s.push_str(&format!("- {g}\n"));
        }
    }
    s.push('\n');
    s.push_str(END);
    s
}

/// One line per goal the rows can judge.
fn goal_lines(rows: &[Row]) -> Vec<String> {
    let find = |ua: Kind, codec: Codec| rows.iter().find(|r| r.ua == ua && r.codec == codec);
    let mut lines = Vec::new();
    for codec in [Codec::Opus, Codec::Pcmu] {
        let (Some(us), Some(them)) = (find(Kind::Agent, codec), find(Kind::Baresip, codec)) else {
            continue;
        };
        let verdict = |ok: bool| if ok { "met" } else { "not met" };
        let cpu = us.call.cpu_pct / them.call.cpu_pct.max(1e-9);
        let rss = us.call.rss_mb / them.call.rss_mb.max(1e-9);
        lines.push(format!(
            "{}: CPU in call {cpu:.2}x (goal at most {CPU_GOAL}x: {}), RSS in call {rss:.2}x \
             (goal at most {RSS_GOAL}x: {}), idle wake-ups {:.1}/s (goal 0: {})",
            codec.name(),
            verdict(cpu <= CPU_GOAL),
            verdict(rss <= RSS_GOAL),
            us.idle.wakeups_per_s,
            verdict(us.idle.wakeups_per_s < 0.5),
        ));
    }
    lines
}

/// The delay goal: this agent adds at most half of baresip's delay.
fn delay_goal(delays: &[DelayRow]) -> Option<String> {
    let added = |ua: Kind| {
        let d = delays.iter().find(|d| d.ua == ua)?;
        Some(d.delays.as_ref().ok()?.quantile(0.5)? - d.loopback_ms as f64)
    };
    let (us, them) = (added(Kind::Agent)?, added(Kind::Baresip)?);
    let ratio = us / them.max(1e-9);
    Some(format!(
        "delay added: {us:.0} ms against {them:.0} ms, {ratio:.2}x (goal at most 0.5x: {})",
        if ratio <= 0.5 { "met" } else { "not met" }
    ))
}

/// The load goal: this agent's highest clean rate at least baresip's.
fn load_goal(load: &[LoadRow]) -> Option<String> {
    let best = |ua: Kind| {
        let row = load.iter().find(|r| r.ua == ua)?;
        Some(row.best().map_or(0, |s| s.rate))
    };
    let (us, them) = (best(Kind::Agent)?, best(Kind::Baresip)?);
    Some(format!(
        "SIPp rate with zero failures and retransmissions: {us} against {them} calls/s \
         (goal at least baresip's: {})",
        if us >= them { "met" } else { "not met" }
    ))
}

/// The JSON document: the machine and every row.
pub fn json(rows: &[Row], delays: &[DelayRow], load: &[LoadRow], machine: &Machine) -> String {
    let doc =
        serde_json::json!({ "machine": machine, "rows": rows, "delays": delays, "load": load });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

#[path = "../shared/doc_section.rs"]
mod doc_section;
#[path = "../shared/machine.rs"]
mod machine;

/// Replaces this harness's section in `doc` (or appends it).
pub fn splice(doc: &str, section: &str) -> String {
    doc_section::splice(doc, section, BEGIN, END)
}

/// Writes the section into `benchmarks` (between this harness's markers) and the JSON to
/// `json_path`.
pub fn write(benchmarks: &Path, json_path: &Path, section: &str, json: &str) -> Result<(), String> {
    doc_section::write(benchmarks, json_path, section, json, (BEGIN, END))
}
