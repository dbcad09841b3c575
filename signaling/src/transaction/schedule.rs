//! The layer's wake-up schedule: each transaction's next deadline, ordered by time, so the
//! earliest is found without looking at the others and only due transactions are touched.
//!
//! A transaction has at most one entry (its table's minimum); the layer re-files it after
//! every input the transaction handled. Entries are removed exactly (no lazy tombstones),
//! so the schedule's size is the number of transactions with a running timer.

use super::TransactionId;
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

#[derive(Debug, Default)]
pub(crate) struct Schedule {
    // (deadline, id): ties fire in id order, the same on every run.
    queue: BTreeSet<(Instant, TransactionId)>,
    filed: HashMap<TransactionId, Instant>,
}

impl Schedule {
    /// Files `id` at `deadline`, replacing its previous entry; `None` takes it out.
    pub fn set(&mut self, id: TransactionId, deadline: Option<Instant>) {
        let previous = match deadline {
            Some(at) => self.filed.insert(id, at),
            None => self.filed.remove(&id),
        };
        if previous == deadline {
            return;
        }
        if let Some(old) = previous {
            self.queue.remove(&(old, id));
        }
        if let Some(at) = deadline {
            self.queue.insert((at, id));
        }
    }

    /// The earliest deadline of all.
    pub fn next(&self) -> Option<Instant> {
        self.queue.first().map(|&(at, _)| at)
    }

    /// Takes out the earliest entry if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<TransactionId> {
        let &(at, id) = self.queue.first()?;
        if at > now {
            return None;
        }
        self.queue.pop_first();
        self.filed.remove(&id);
        Some(id)
    }

    /// Gives back the room of an emptied index (the ordered queue frees its nodes itself).
    pub fn shrink_to_fit(&mut self) {
        self.filed.shrink_to_fit();
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    #[cfg(test)]
    pub fn room(&self) -> usize {
        self.filed.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::{ClientTransactionId, ServerTransactionId};
    use std::time::Duration;

    fn client(n: u64) -> TransactionId {
        TransactionId::Client(ClientTransactionId(n))
    }

    fn server(n: u64) -> TransactionId {
        TransactionId::Server(ServerTransactionId(n))
    }

    #[test]
    fn next_is_the_earliest_and_moves_when_an_entry_is_refiled() {
        let t0 = Instant::now();
        let s = |ms| Some(t0 + Duration::from_millis(ms));
        let mut schedule = Schedule::default();
        assert_eq!(schedule.next(), None);
        schedule.set(client(1), s(500));
        schedule.set(server(2), s(32_000));
        schedule.set(client(3), s(100));
        assert_eq!(schedule.next(), s(100));
        // Re-filing replaces the old entry instead of adding one.
        schedule.set(client(3), s(1_000));
        assert_eq!(schedule.next(), s(500));
        assert_eq!(schedule.len(), 3);
        schedule.set(client(1), None);
        schedule.set(client(1), None);
        assert_eq!(schedule.next(), s(1_000));
        assert_eq!(schedule.len(), 2);
    }

    #[test]
    fn pop_due_yields_due_entries_in_deadline_then_id_order() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut schedule = Schedule::default();
        schedule.set(server(9), Some(at(200)));
        schedule.set(client(4), Some(at(200)));
        schedule.set(client(7), Some(at(100)));
        schedule.set(server(1), Some(at(300)));
        assert_eq!(schedule.pop_due(at(50)), None);
        let due: Vec<_> = std::iter::from_fn(|| schedule.pop_due(at(250))).collect();
        assert_eq!(due, [client(7), client(4), server(9)]);
        assert_eq!(schedule.next(), Some(at(300)));
        // A popped entry is gone: filing it again works like a fresh one.
        schedule.set(client(7), Some(at(400)));
        assert_eq!(schedule.len(), 2);
    }
}
