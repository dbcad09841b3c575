//! What a process costs, read from `/proc`: CPU time (user + system, every thread's, exited
//! ones included), resident memory, threads, and context switches summed over its threads
//! (each is the thread going to sleep or being woken: the wake-ups a laptop pays for).

use std::fs;
use std::time::Instant;

/// Clock ticks per second of `/proc/PID/stat`'s CPU times (`getconf CLK_TCK`: 100 on
/// every Linux this runs on).
const TICKS_PER_S: f64 = 100.0;

/// One reading of a process.
#[derive(Debug, Clone)]
pub struct Sample {
    at: Instant,
    cpu_ticks: u64,
    rss_kb: u64,
    threads: u64,
    switches: u64,
}

/// What a process used between two samples.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Usage {
    /// CPU time as a share of one core, in percent.
    pub cpu_pct: f64,
    /// Resident memory at the end, MB.
    pub rss_mb: f64,
    pub threads: u64,
    /// Context switches per second, all threads.
    pub wakeups_per_s: f64,
}

/// Reads process `pid` now.
pub fn sample(pid: u32) -> Result<Sample, String> {
    let at = Instant::now();
    let stat = read(&format!("/proc/{pid}/stat"))?;
    // "pid (comm) state ppid ...": comm may hold spaces, so count from the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 of stat(5), i.e. 12 and 13 after comm.
    let tick = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    let cpu_ticks = tick(11).zip(tick(12)).map(|(u, s)| u + s);
    let cpu_ticks = cpu_ticks.ok_or_else(|| format!("unexpected /proc/{pid}/stat: {stat}"))?;
    let status = read(&format!("/proc/{pid}/status"))?;
    let rss_kb = status_field(&status, "VmRSS:").unwrap_or(0);
    let threads = status_field(&status, "Threads:").unwrap_or(0);
    let mut switches = 0;
    let tasks = fs::read_dir(format!("/proc/{pid}/task"))
        .map_err(|e| format!("list /proc/{pid}/task: {e}"))?;
    for task in tasks.flatten() {
        // A thread may exit between the listing and the read: it then counts nothing.
        let Ok(text) = fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        switches += status_field(&text, "voluntary_ctxt_switches:").unwrap_or(0);
        switches += status_field(&text, "nonvoluntary_ctxt_switches:").unwrap_or(0);
    }
    Ok(Sample {
        at,
        cpu_ticks,
        rss_kb,
        threads,
        switches,
    })
}

/// What the process used from `start` to `end`.
pub fn usage(start: &Sample, end: &Sample) -> Usage {
    let secs = end.at.duration_since(start.at).as_secs_f64().max(1e-3);
    let ticks = end.cpu_ticks.saturating_sub(start.cpu_ticks) as f64;
    Usage {
        cpu_pct: 100.0 * ticks / TICKS_PER_S / secs,
        rss_mb: end.rss_kb as f64 / 1024.0,
        threads: end.threads,
        wakeups_per_s: end.switches.saturating_sub(start.switches) as f64 / secs,
    }
}

/// The process among `candidates` whose command name (`/proc/PID/comm`) is `comm`: the
/// program itself rather than the `timeout` and `env` wrappers that share its arguments.
pub fn with_comm(candidates: &[u32], comm: &str) -> Option<u32> {
    candidates
        .iter()
        .copied()
        .find(|pid| fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm))
}

fn read(path: &str) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("read {path}: {e}"))
}

fn status_field(status: &str, name: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
