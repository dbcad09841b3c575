//! The status document's `diagnostics` (what the agent holds: SIP transactions and calls,
//! heap in use), refreshed by the agent loop about once a second while it holds anything;
//! and the freed heap handed back to the system when the agent goes idle.

use phone::Phone;
use std::time::Duration;

/// How often the agent loop refreshes the figures while it holds a transaction or a call.
pub const EVERY: Duration = Duration::from_secs(1);

/// Whether the figures need refreshing: the agent holds something, or the status still
/// shows it holding something. An idle agent whose status shows it idle is not woken.
pub fn due(phone: &Phone, shown: Option<wire::Diagnostics>) -> bool {
    let now = phone.diagnostics(None);
    holds(&now) || shown.is_none_or(|s| holds(&s))
}

/// Refreshes the status's figures. When the agent has just gone idle (no transaction, no
/// call), the heap the calls freed is first handed back to the system: glibc keeps freed
/// memory in its arenas (one per thread that allocated), so without this the agent's RSS
/// stays at its busiest moment's long after the calls ended.
pub fn refresh(phone: &mut Phone, shown: &mut Option<wire::Diagnostics>) {
    let now = phone.diagnostics(None);
    if went_idle(*shown, &now) {
        release_freed_memory();
    }
    let d = phone.diagnostics(heap_in_use());
    *shown = Some(d);
    phone.set_diagnostics(d);
}

fn holds(d: &wire::Diagnostics) -> bool {
    d.sip_transactions > 0 || d.sip_calls > 0
}

/// The agent held something when last shown and holds nothing now.
fn went_idle(shown: Option<wire::Diagnostics>, now: &wire::Diagnostics) -> bool {
    shown.is_some_and(|s| holds(&s)) && !holds(now)
}

/// Returns the free pages of every malloc arena to the system (`malloc_trim(0)`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_freed_memory() {
    // SAFETY: malloc_trim only walks the allocator's own free lists under its locks and
    // releases whole free pages; it is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() {}

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

    fn held(sip_transactions: u64, sip_calls: u64) -> wire::Diagnostics {
        wire::Diagnostics {
            sip_transactions,
            sip_calls,
            heap_in_use: None,
        }
    }

    #[test]
    fn memory_is_released_once_when_the_agent_goes_idle() {
        assert!(went_idle(Some(held(3, 1)), &held(0, 0)));
        assert!(
            went_idle(Some(held(2, 0)), &held(0, 0)),
            "the last transaction gone"
        );
        assert!(
            !went_idle(Some(held(0, 0)), &held(0, 0)),
            "once, not on every look"
        );
        assert!(!went_idle(Some(held(0, 0)), &held(1, 0)));
        assert!(
            !went_idle(Some(held(5, 2)), &held(0, 1)),
            "a call still held"
        );
        assert!(!went_idle(None, &held(0, 0)), "nothing to release at start");
    }

    /// One test for the heap figures (tests run on parallel threads; the margins absorb
    /// what the others allocate meanwhile).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn heap_in_use_follows_allocations_and_a_trim_leaves_it() {
        const BLOCK: u64 = 16 << 20;
        const SLACK: u64 = 1 << 20;
        let before = heap_in_use().expect("glibc reports its heap");
        let block = vec![1u8; BLOCK as usize];
        let during = heap_in_use().expect("glibc reports its heap");
        assert!(during + SLACK >= before + BLOCK, "{before} -> {during}");
        drop(block);
        let freed = heap_in_use().expect("glibc reports its heap");
        assert!(freed + BLOCK <= during + SLACK, "{during} -> {freed}");
        // Trimming gives free pages back to the system; what is in use does not change.
        release_freed_memory();
        let trimmed = heap_in_use().expect("glibc reports its heap");
        assert!(trimmed.abs_diff(freed) < SLACK, "{freed} -> {trimmed}");
    }
}
