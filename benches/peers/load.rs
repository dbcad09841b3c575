//! SIPp load as QA runs it: a user agent answering calls by itself, a SIPp UAC scenario with
//! media (`tests/sipp/load_uac_media.xml`, PCMA from sip-tester's pcap) at rising call rates;
//! the highest rate with zero failed calls and zero retransmissions, and what the user agent
//! used at each rate.

use std::path::Path;
use std::time::{Duration, Instant};

use testbed::{Kamailio, Sipp};

use super::procstat::{self, Usage};
use super::ua::{Kind, Mode, UnderTest, USER};

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub uas: Vec<Kind>,
    /// Calls per second, tried in order until one fails.
    pub rates: Vec<u32>,
    /// How long each rate runs.
    pub span: Duration,
    /// How long each call lasts after the answer.
    pub call: Duration,
}

impl LoadPlan {
    /// The longest its rates may take, for the PBX's lifetime.
    pub fn duration(&self) -> Duration {
        let steps = (self.uas.len() * self.rates.len()) as u32;
        (self.span + self.call + Duration::from_secs(30)) * steps
    }
}

/// One rate against one user agent.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadStep {
    pub rate: u32,
    pub calls: u64,
    pub successful: u64,
    pub failed: u64,
    pub retransmissions: u64,
    /// The user agent over the run.
    pub usage: Usage,
}

impl LoadStep {
    pub fn clean(&self) -> bool {
        self.failed == 0 && self.retransmissions == 0 && self.successful == self.calls
    }
}

/// Every rate tried against one user agent.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadRow {
    pub ua: Kind,
    pub steps: Vec<LoadStep>,
}

impl LoadRow {
    /// The highest rate with zero failures and retransmissions (the steps stop at the first
    /// that has any).
    pub fn best(&self) -> Option<&LoadStep> {
        self.steps
            .iter()
            .filter(|s| s.clean())
            .max_by_key(|s| s.rate)
    }
}

/// Runs `plan` against user agents registered at `kam`.
pub fn run(plan: &LoadPlan, kam: &Kamailio, workdir: &Path) -> Result<Vec<LoadRow>, String> {
    let mut rows = Vec::new();
    for &kind in &plan.uas {
        let mut steps = Vec::new();
        for &rate in &plan.rates {
            eprintln!("peers: load on {} at {rate} calls/s", kind.name());
            let lifetime = plan.span + plan.call + Duration::from_secs(60);
            let ua = UnderTest::start(kind, kam, lifetime, Mode::Loaded)?;
            let step = one_rate(&ua, rate, plan, workdir)?;
            drop(ua);
            let clean = step.clean();
            steps.push(step);
            if !clean {
                break;
            }
        }
        rows.push(LoadRow { ua: kind, steps });
    }
    Ok(rows)
}

fn one_rate(
    ua: &UnderTest,
    rate: u32,
    plan: &LoadPlan,
    workdir: &Path,
) -> Result<LoadStep, String> {
    let (addr, transport) = ua.sip();
    let pid = ua.pid()?;
    let calls = (u64::from(rate) * plan.span.as_secs()).max(1);
    let stats = workdir.join(format!("{}-{rate}.csv", ua.kind().name()));
    let _ = std::fs::remove_file(&stats);
    let args: Vec<String> = vec![
        "-s".into(),
        USER.into(),
        "-r".into(),
        rate.to_string(),
        "-m".into(),
        calls.to_string(),
        "-d".into(),
        plan.call.as_millis().to_string(),
        "-t".into(),
        transport.into(),
        "-trace_stat".into(),
        "-stf".into(),
        stats.display().to_string(),
        "-fd".into(),
        "1".into(),
        addr.to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let limit = plan.span + plan.call + Duration::from_secs(40);
    let start = procstat::sample(pid)?;
    let t0 = Instant::now();
    let sipp = Sipp::spawn("load_uac_media.xml", &args, limit).map_err(|e| e.to_string())?;
    let outcome = sipp.wait();
    let end = procstat::sample(pid)?;
    let csv = std::fs::read_to_string(&stats)
        .map_err(|e| format!("SIPp wrote no statistics ({e}); {outcome}"))?;
    let last = |name: &str| last_counter(&csv, name);
    let (successful, failed, retransmissions) = (
        last("SuccessfulCall(C)").unwrap_or(0),
        last("FailedCall(C)").unwrap_or(0),
        last("Retransmissions(C)").unwrap_or(0),
    );
    eprintln!(
        "peers: {} at {rate}/s: {successful} of {calls} calls in {:.0} s, {failed} failed, \
         {retransmissions} retransmissions",
        ua.kind().name(),
        t0.elapsed().as_secs_f64()
    );
    Ok(LoadStep {
        rate,
        calls,
        successful,
        failed,
        retransmissions,
        usage: procstat::usage(&start, &end),
    })
}

/// The value of column `name` in the last row of SIPp's `-trace_stat` CSV (`;`-separated,
/// a header row first).
pub fn last_counter(csv: &str, name: &str) -> Option<u64> {
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next()?.split(';').collect();
    let column = header.iter().position(|h| h.trim() == name)?;
    let last = lines.next_back()?;
    last.split(';').nth(column)?.trim().parse().ok()
}
