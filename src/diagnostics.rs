//! The status document's `diagnostics` (what the agent holds: SIP transactions and calls,
//! heap in use), refreshed by the agent loop about once a second while it holds anything.

use phone::Phone;
use std::time::Duration;

/// How often the agent loop refreshes the figures while it holds a transaction or a call.
pub const EVERY: Duration = Duration::from_secs(1);

/// Whether the figures need refreshing: the agent holds something, or the status still
/// shows it holding something. An idle agent whose status shows it idle is not woken.
pub fn due(phone: &Phone, shown: Option<wire::Diagnostics>) -> bool {
    let now = phone.diagnostics(None);
    let holds = |d: &wire::Diagnostics| d.sip_transactions > 0 || d.sip_calls > 0;
    holds(&now) || shown.is_none_or(|s| holds(&s))
}

/// Bytes of heap in use: allocated by the program and not yet freed, whatever the
/// allocator keeps from the system besides (which RSS includes). glibc's `mallinfo2`:
/// `uordblks` (in use in the arenas) + `hblkhd` (large blocks mapped on their own).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn heap_in_use() -> Option<u64> {
    // SAFETY: mallinfo2 takes no arguments and only reads the allocator's own counters
    // under its locks; it is safe to call from any thread at any time.
    let info = unsafe { libc::mallinfo2() };
    Some((info.uordblks + info.hblkhd) as u64)
}

/// Other allocators give no figure.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn heap_in_use() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn heap_in_use_counts_a_live_allocation() {
        let before = heap_in_use().expect("glibc reports its heap");
        let block = vec![1u8; 4 << 20];
        let during = heap_in_use().expect("glibc reports its heap");
        assert!(during >= before + (4 << 20) - 4096, "{before} -> {during}");
        drop(block);
        let after = heap_in_use().expect("glibc reports its heap");
        assert!(after + (4 << 20) - 4096 <= during, "{during} -> {after}");
    }
}
