//! What a bench table says about the machine it ran on (the peers and PESQ harnesses share
//! this): the CPU model, the kernel, and the time of the run.

use std::fs;

/// The CPU model from `/proc/cpuinfo`, or "unknown".
pub fn cpu() -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|v| v.split(':').nth(1))
        .unwrap_or("unknown")
        .trim()
        .to_owned()
}

/// The kernel release.
pub fn kernel() -> String {
    fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Now, to the minute, in UTC (`2026-12-07 01:54 UTC`).
pub fn date() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// The cores the run may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
