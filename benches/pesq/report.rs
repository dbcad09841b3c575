//! The run's table: Markdown for docs/benchmarks.md (between two markers, replaced on each
//! run) and JSON beside it (docs/pesq.json), with the date, the machine and its load.

use std::fs;
use std::path::Path;

use super::call::{Capture, Codec, Receiver};
use super::netns::Condition;
use super::score::Score;

pub const BEGIN: &str = "<!-- pesq:begin (written by `make bench-pesq`) -->";
pub const END: &str = "<!-- pesq:end -->";

/// Where and when the run happened.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    pub date: String,
    pub cpu: String,
    pub cores: usize,
    pub kernel: String,
    /// `/proc/loadavg`'s first three figures when the run started and when it ended.
    pub load_start: String,
    pub load_end: String,
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

impl Machine {
    pub fn start() -> Machine {
        Machine {
            date: machine::date(),
            cpu: machine::cpu(),
            cores: machine::cores(),
            kernel: machine::kernel(),
            load_start: loadavg(),
            load_end: String::new(),
        }
    }

    pub fn end(&mut self) {
        self.load_end = loadavg();
    }
}

/// One call's outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Run {
    pub score: Option<Score>,
    pub encoder: Option<String>,
    /// What the impairer counted (seen, dropped, delayed), when the call was impaired.
    pub impaired: Option<serde_json::Value>,
    /// The agent's own figures of the call (lost, late, concealed, playout delay).
    pub quality: Option<serde_json::Value>,
    pub error: Option<String>,
}

/// The calls of one codec, condition and receiver.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Cell {
    pub codec: Codec,
    pub condition: Condition,
    pub receiver: Receiver,
    pub runs: Vec<Run>,
}

impl Cell {
    /// The scores that came out, sorted.
    pub fn scores(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self
            .runs
            .iter()
            .filter_map(|r| r.score.as_ref()?.pesq)
            .collect();
        v.sort_by(f64::total_cmp);
        v
    }

    pub fn median(&self) -> Option<f64> {
        let v = self.scores();
        match v.len() {
            0 => None,
            n if n % 2 == 1 => Some(v[n / 2]),
            n => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
        }
    }

    fn failed(&self) -> usize {
        self.runs.len() - self.scores().len()
    }

    /// `3.12 (3.05-3.20)`, with failures said.
    fn text(&self) -> String {
        let v = self.scores();
        let mut s = match (self.median(), v.first(), v.last()) {
            (Some(m), Some(lo), Some(hi)) if v.len() > 1 => format!("{m:.2} ({lo:.2}-{hi:.2})"),
            (Some(m), _, _) => format!("{m:.2}"),
            _ => "-".to_owned(),
        };
        if self.failed() > 0 {
            s.push_str(&format!(
                ", {} of {} failed",
                self.failed(),
                self.runs.len()
            ));
        }
        s
    }
}

/// What the run was.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Plan {
    pub capture: Capture,
    pub repeats: usize,
    pub speech_s: f64,
    pub baresip_plc: bool,
}

/// The Markdown section (markers included).
pub fn markdown(cells: &[Cell], machine: &Machine, plan: &Plan) -> String {
    let mut s = format!(
        "{BEGIN}\n\nRun {} on {} ({} cores, Linux {}), load average {} at the start and {} at \
         the end (1, 5, 15 min). Each cell: {} calls of {:.1} s of speech; PESQ MOS-LQO, \
         median (lowest-highest); Opus and G.722 scored wideband (P.862.2, 16 kHz), PCMU \
         narrowband (P.862.1, 8 kHz). {} baresip receives with its own jitter buffer{}.\n\n\
         | codec | condition | softphone | baresip | softphone - baresip (medians) |\n\
         |---|---|---:|---:|---:|\n",
        machine.date,
        machine.cpu,
        machine.cores,
        machine.kernel,
        machine.load_start,
        machine.load_end,
        plan.repeats,
        plan.speech_s,
        match plan.capture {
            Capture::Devices =>
                "Recorded: what each receiver played to the default output \
                                 (a PulseAudio null sink's monitor, `PESQ_CAPTURE=devices`).",
            Capture::Files =>
                "Recorded: each receiver's own file (`PESQ_CAPTURE=files`: the \
                               agent's play clock, baresip's decoder before its playout buffer).",
        },
        if plan.baresip_plc {
            " and its `plc` module"
        } else {
            ", without its `plc` module"
        },
    );
    let find = |codec, cond, rx| {
        cells
            .iter()
            .find(|c| c.codec == codec && c.condition == cond && c.receiver == rx)
    };
    let mut below = Vec::new();
    let mut judged = 0;
    for codec in Codec::ALL {
        for cond in Condition::ALL {
            let (us, them) = (
                find(codec, cond, Receiver::Agent),
                find(codec, cond, Receiver::Baresip),
            );
            if us.is_none() && them.is_none() {
                continue;
            }
            let text = |c: Option<&Cell>| c.map_or("not run".to_owned(), Cell::text);
            let diff = match (us.and_then(Cell::median), them.and_then(Cell::median)) {
                (Some(a), Some(b)) => {
                    judged += 1;
                    if a < b {
                        below.push(format!(
                            "{} {} ({:+.2})",
                            codec.label(),
                            cond.label(),
                            a - b
                        ));
                    }
                    format!("{:+.2}", a - b)
                }
                _ => "-".to_owned(),
            };
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                codec.label(),
                cond.label(),
                text(us),
                text(them),
                diff
            ));
        }
    }
    if judged > 0 {
        s.push_str(&format!(
            "\nAgainst the goal (softphone's median at or above baresip's in every cell): {}\n",
            if below.is_empty() {
                format!("met in all {judged} cells.")
            } else {
                format!(
                    "not met in {} of {judged} cells: {}.",
                    below.len(),
                    below.join(", ")
                )
            }
        ));
    }
    s.push('\n');
    s.push_str(END);
    s
}

/// The JSON document: the machine, the plan and every call.
pub fn json(cells: &[Cell], machine: &Machine, plan: &Plan) -> String {
    let doc = serde_json::json!({ "machine": machine, "plan": plan, "cells": cells });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

#[path = "../shared/doc_section.rs"]
mod doc_section;
#[path = "../shared/machine.rs"]
mod machine;

/// Writes the section into `benchmarks` (between this harness's markers) and the JSON to
/// `json_path`.
pub fn write(benchmarks: &Path, json_path: &Path, section: &str, json: &str) -> Result<(), String> {
    doc_section::write(benchmarks, json_path, section, json, (BEGIN, END))
}
