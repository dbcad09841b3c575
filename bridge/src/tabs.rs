//! The pages connected to the agent ("tabs": every open Salesforce tab runs one) and which of
//! them leads. Only the leader pops records and saves call logs, so two tabs never do it
//! twice; the others show the calls and control them.
//!
//! A tab is one event WebSocket. The leader is the tab that said it was in front (`active`)
//! most recently, else the one connected longest; when it goes (closed, reloaded), the next
//! one takes over at once. Log deliveries a tab claimed go back to the outbox when it leaves.
//!
//! Sessions learn of changes through a `watch` of a version number, then read what concerns
//! them ([`Tabs::view`]).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};
use tokio::sync::watch;

/// How many popped calls are remembered (a call pops once; older calls have long ended).
const POPPED_KEPT: usize = 512;

/// A tab's id on the wire: `t` and a number.
pub fn tab_name(id: u64) -> String {
    format!("t{id}")
}

/// Parses a tab id from the wire.
pub fn parse_tab(s: &str) -> Option<u64> {
    s.strip_prefix('t')
        .filter(|d| !d.is_empty() && d.len() <= 19 && d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse().ok())
}

pub(crate) struct Tabs {
    inner: Mutex<Inner>,
    version: watch::Sender<u64>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    /// Bumped by every `active`: a larger value is more recent.
    clock: u64,
    /// Connected tabs in the order they joined, each with when it was last in front (0: never).
    tabs: Vec<(u64, u64)>,
    leader: Option<u64>,
    /// Call id -> the tab saving its log now.
    claims: HashMap<String, u64>,
    /// Claimed calls whose wrap-up changed while a tab was saving them: saved again after.
    redo: HashSet<String>,
    /// Calls whose record was popped, oldest first.
    popped: VecDeque<String>,
    popped_set: HashSet<String>,
    /// Bumped when calls go back to the outbox (a claim released, a wrap-up saved): the
    /// leader should claim again.
    outbox: u64,
}

/// What one tab needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TabView {
    pub leader: bool,
    /// Compare with the last seen value: changed means "claim the outbox again".
    pub outbox: u64,
}

impl Tabs {
    pub fn new() -> Tabs {
        Tabs {
            inner: Mutex::new(Inner::default()),
            version: watch::channel(0).0,
        }
    }

    /// A new tab connected; it leads if no other tab does.
    pub fn join(&self) -> u64 {
        self.change(|inner| {
            inner.next_id += 1;
            let id = inner.next_id;
            inner.tabs.push((id, 0));
            if inner.leader.is_none() {
                inner.leader = Some(id);
            }
            id
        })
    }

    /// Tab `id` is in front (focused, or used): it leads from now.
    pub fn active(&self, id: u64) {
        self.change(|inner| {
            inner.clock += 1;
            let clock = inner.clock;
            if let Some(tab) = inner.tabs.iter_mut().find(|(t, _)| *t == id) {
                tab.1 = clock;
                inner.leader = Some(id);
            }
        });
    }

    /// Tab `id` disconnected: its claims go back to the outbox and, if it led, the most
    /// recently active remaining tab leads.
    pub fn leave(&self, id: u64) {
        self.change(|inner| {
            inner.tabs.retain(|(t, _)| *t != id);
            let before = inner.claims.len();
            inner.claims.retain(|_, t| *t != id);
            let Inner { claims, redo, .. } = inner;
            redo.retain(|c| claims.contains_key(c));
            if inner.claims.len() != before {
                inner.outbox += 1;
            }
            if inner.leader == Some(id) {
                // The latest `active` wins; among tabs never active, the oldest.
                inner.leader = inner
                    .tabs
                    .iter()
                    .enumerate()
                    .max_by_key(|(i, (_, at))| (*at, std::cmp::Reverse(*i)))
                    .map(|(_, (t, _))| *t);
            }
        });
    }

    pub fn is_leader(&self, id: u64) -> bool {
        self.lock().leader == Some(id)
    }

    pub fn is_connected(&self, id: u64) -> bool {
        self.lock().tabs.iter().any(|(t, _)| *t == id)
    }

    pub fn view(&self, id: u64) -> TabView {
        let inner = self.lock();
        TabView {
            leader: inner.leader == Some(id),
            outbox: inner.outbox,
        }
    }

    /// Changes of anything [`Tabs::view`] shows.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// The first asker for call `id` gets true: that tab pops the record.
    pub fn claim_pop(&self, call: &str) -> bool {
        let mut inner = self.lock();
        if !inner.popped_set.insert(call.to_owned()) {
            return false;
        }
        inner.popped.push_back(call.to_owned());
        if inner.popped.len() > POPPED_KEPT {
            if let Some(old) = inner.popped.pop_front() {
                inner.popped_set.remove(&old);
            }
        }
        true
    }

    /// Of `calls`, those no tab is saving now, claimed for tab `id` — if `id` is connected.
    pub fn claim_logs(&self, id: u64, calls: Vec<String>) -> Vec<String> {
        let mut inner = self.lock();
        if !inner.tabs.iter().any(|(t, _)| *t == id) {
            return Vec::new();
        }
        calls
            .into_iter()
            .filter(|c| {
                if inner.claims.contains_key(c) {
                    return false;
                }
                inner.claims.insert(c.clone(), id);
                true
            })
            .collect()
    }

    /// Call `call`'s log was acknowledged: no tab holds it any more. True when its wrap-up
    /// changed while it was being saved, so what was saved is out of date.
    pub fn release(&self, call: &str) -> bool {
        let mut inner = self.lock();
        inner.claims.remove(call);
        inner.redo.remove(call)
    }

    /// Call `call`'s wrap-up changed: if a tab is saving it now, it must be saved again once
    /// that save is acknowledged.
    pub fn wrapup_changed(&self, call: &str) {
        let mut inner = self.lock();
        if inner.claims.contains_key(call) {
            inner.redo.insert(call.to_owned());
        }
    }

    /// Calls went back to the outbox: tell the leader.
    pub fn outbox_changed(&self) {
        self.change(|inner| inner.outbox += 1);
    }

    fn change<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let out = f(&mut self.lock());
        self.version.send_modify(|v| *v += 1);
        out
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update leaves the data consistent; carry on after a panic elsewhere.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_tab_leads_until_another_is_used_and_leadership_moves_when_the_leader_goes() {
        let tabs = Tabs::new();
        let a = tabs.join();
        let b = tabs.join();
        let c = tabs.join();
        assert!(tabs.is_leader(a), "the first tab leads");
        tabs.active(c);
        assert!(tabs.is_leader(c) && !tabs.is_leader(a));
        tabs.active(b);
        tabs.leave(b);
        assert!(tabs.is_leader(c), "the most recently active remaining tab");
        tabs.leave(c);
        assert!(tabs.is_leader(a));
        tabs.leave(a);
        let d = tabs.join();
        assert!(tabs.is_leader(d), "a tab joining an empty room leads");
    }

    #[test]
    fn never_active_tabs_take_over_oldest_first() {
        let tabs = Tabs::new();
        let a = tabs.join();
        let b = tabs.join();
        let c = tabs.join();
        tabs.leave(a);
        assert!(tabs.is_leader(b));
        tabs.leave(b);
        assert!(tabs.is_leader(c));
    }

    #[test]
    fn a_call_pops_once() {
        let tabs = Tabs::new();
        assert!(tabs.claim_pop("r1c1"));
        assert!(!tabs.claim_pop("r1c1"));
        assert!(tabs.claim_pop("r1c2"));
    }

    #[test]
    fn claims_are_exclusive_and_a_leaving_tab_gives_its_back() {
        let tabs = Tabs::new();
        let a = tabs.join();
        let b = tabs.join();
        let calls = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(tabs.claim_logs(a, calls(&["x", "y"])), calls(&["x", "y"]));
        assert_eq!(tabs.claim_logs(b, calls(&["x", "y", "z"])), calls(&["z"]));
        assert!(!tabs.release("x"));
        tabs.wrapup_changed("y");
        tabs.wrapup_changed("q"); // not being saved: nothing to redo
        let before = tabs.view(b).outbox;
        tabs.leave(a);
        assert_eq!(tabs.view(b).outbox, before + 1, "the leader hears of y");
        assert_eq!(tabs.claim_logs(b, calls(&["x", "y"])), calls(&["x", "y"]));
        assert!(!tabs.release("y"), "the redo went with the tab that left");
        assert_eq!(tabs.claim_logs(b, calls(&["z2"])), calls(&["z2"]));
        tabs.wrapup_changed("z2");
        assert!(tabs.release("z2"), "changed while being saved: save again");
        assert!(
            tabs.claim_logs(a, calls(&["w"])).is_empty(),
            "a tab that left claims nothing"
        );
    }

    #[test]
    fn tab_names_round_trip_and_junk_is_refused() {
        assert_eq!(parse_tab(&tab_name(42)), Some(42));
        for bad in ["", "t", "42", "tx", "t-1", "t99999999999999999999", "T1"] {
            assert_eq!(parse_tab(bad), None, "{bad}");
        }
    }
}
