//! The packets waiting to be played, kept in timestamp order.

use std::collections::VecDeque;

/// One stored packet, with its unwrapped timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stored {
    pub ts: i64,
    pub seq: u16,
    pub timestamp: u32,
    pub marker: bool,
    pub payload: Vec<u8>,
}

/// Packets sorted by unwrapped timestamp. A `VecDeque` rather than a tree: packets mostly
/// arrive in order (append at the back) and leave from the front, and the buffer holds a few
/// dozen at most.
#[derive(Debug, Clone, Default)]
pub(crate) struct PacketStore {
    packets: VecDeque<Stored>,
}

impl PacketStore {
    pub(crate) fn with_capacity(n: usize) -> Self {
        PacketStore {
            packets: VecDeque::with_capacity(n),
        }
    }

    /// Inserts in order; returns false (and drops the packet) if its timestamp is held already.
    pub(crate) fn insert(&mut self, p: Stored) -> bool {
        match self.packets.back() {
            Some(last) if last.ts < p.ts => {
                self.packets.push_back(p);
                true
            }
            None => {
                self.packets.push_back(p);
                true
            }
            Some(_) => match self.packets.binary_search_by_key(&p.ts, |s| s.ts) {
                Ok(_) => false,
                Err(i) => {
                    self.packets.insert(i, p);
                    true
                }
            },
        }
    }

    pub(crate) fn front(&self) -> Option<&Stored> {
        self.packets.front()
    }

    pub(crate) fn second(&self) -> Option<&Stored> {
        self.packets.get(1)
    }

    pub(crate) fn pop_front(&mut self) -> Option<Stored> {
        self.packets.pop_front()
    }

    pub(crate) fn len(&self) -> usize {
        self.packets.len()
    }

    pub(crate) fn clear(&mut self) {
        self.packets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(ts: i64) -> Stored {
        Stored {
            ts,
            seq: ts as u16,
            timestamp: ts as u32,
            marker: false,
            payload: vec![],
        }
    }

    #[test]
    fn keeps_timestamp_order_and_refuses_duplicates() {
        let mut s = PacketStore::default();
        for ts in [160, 480, 320, 0, 640] {
            assert!(s.insert(p(ts)));
        }
        assert!(!s.insert(p(320)));
        assert_eq!(s.len(), 5);
        assert_eq!(s.second().map(|x| x.ts), Some(160));
        let order: Vec<i64> = std::iter::from_fn(|| s.pop_front().map(|x| x.ts)).collect();
        assert_eq!(order, [0, 160, 320, 480, 640]);
    }
}
