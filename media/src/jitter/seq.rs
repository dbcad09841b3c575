//! Sequence numbers and timestamps: unwrapping to 64 bits and spotting duplicates.

/// Extends a wrapping `u16` / `u32` counter to `i64`, relative to the highest value seen:
/// a value within half the range behind it is older, anything else is newer.
#[derive(Debug, Clone, Default)]
pub(crate) struct Unwrapper {
    highest: Option<i64>,
}

impl Unwrapper {
    pub(crate) fn seq(&mut self, v: u16) -> i64 {
        self.extend(v as u64, |h| v.wrapping_sub(h as u16) as i16 as i64)
    }

    pub(crate) fn timestamp(&mut self, v: u32) -> i64 {
        self.extend(v as u64, |h| v.wrapping_sub(h as u32) as i32 as i64)
    }

    fn extend(&mut self, raw: u64, delta: impl Fn(i64) -> i64) -> i64 {
        let ext = match self.highest {
            None => raw as i64,
            Some(h) => h + delta(h),
        };
        if self.highest.is_none_or(|h| ext > h) {
            self.highest = Some(ext);
        }
        ext
    }

    pub(crate) fn reset(&mut self) {
        self.highest = None;
    }
}

/// How many sequence numbers behind the highest are remembered.
pub(crate) const SEEN_WINDOW: i64 = 1024;

/// Whether a packet's sequence number was seen before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// First time (the packet is newer than the highest, or fills a hole).
    New {
        reordered: bool,
    },
    Duplicate,
    /// More than [`SEEN_WINDOW`] behind the highest: cannot tell, and too old anyway.
    TooOld,
}

/// A bitmap of the last [`SEEN_WINDOW`] extended sequence numbers.
#[derive(Debug, Clone)]
pub(crate) struct SeenWindow {
    highest: Option<i64>,
    bits: [u64; (SEEN_WINDOW / 64) as usize],
}

impl Default for SeenWindow {
    fn default() -> Self {
        SeenWindow {
            highest: None,
            bits: [0; (SEEN_WINDOW / 64) as usize],
        }
    }
}

impl SeenWindow {
    pub(crate) fn mark(&mut self, ext: i64) -> Seen {
        let Some(h) = self.highest else {
            self.highest = Some(ext);
            self.set(ext);
            return Seen::New { reordered: false };
        };
        if ext > h {
            if ext - h >= SEEN_WINDOW {
                self.bits = [0; (SEEN_WINDOW / 64) as usize];
            } else {
                for s in h + 1..ext {
                    self.clear(s);
                }
            }
            self.highest = Some(ext);
            self.set(ext);
            return Seen::New { reordered: false };
        }
        if h - ext >= SEEN_WINDOW {
            return Seen::TooOld;
        }
        if self.get(ext) {
            return Seen::Duplicate;
        }
        self.set(ext);
        Seen::New { reordered: true }
    }

    fn index(ext: i64) -> (usize, u64) {
        let i = ext.rem_euclid(SEEN_WINDOW) as usize;
        (i / 64, 1 << (i % 64))
    }
    fn set(&mut self, ext: i64) {
        let (w, b) = Self::index(ext);
        self.bits[w] |= b;
    }
    fn clear(&mut self, ext: i64) {
        let (w, b) = Self::index(ext);
        self.bits[w] &= !b;
    }
    fn get(&self, ext: i64) -> bool {
        let (w, b) = Self::index(ext);
        self.bits[w] & b != 0
    }

    pub(crate) fn reset(&mut self) {
        *self = SeenWindow::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_wraps_forward_and_back() {
        let mut u = Unwrapper::default();
        assert_eq!(u.seq(65534), 65534);
        assert_eq!(u.seq(65535), 65535);
        assert_eq!(u.seq(0), 65536);
        assert_eq!(u.seq(65535), 65535); // late, before the wrap
        assert_eq!(u.seq(1), 65537);
        let mut u = Unwrapper::default();
        assert_eq!(u.seq(3), 3);
        assert_eq!(u.seq(65535), -1); // reordered across the wrap, backwards
    }

    #[test]
    fn timestamp_wraps_at_2_pow_32() {
        let mut u = Unwrapper::default();
        let near = u32::MAX - 159;
        assert_eq!(u.timestamp(near), near as i64);
        assert_eq!(u.timestamp(0), 1 << 32);
        assert_eq!(u.timestamp(160), (1 << 32) + 160);
        assert_eq!(u.timestamp(near), near as i64);
    }

    #[test]
    fn duplicates_reorders_and_old() {
        let mut s = SeenWindow::default();
        assert_eq!(s.mark(10), Seen::New { reordered: false });
        assert_eq!(s.mark(12), Seen::New { reordered: false });
        assert_eq!(s.mark(11), Seen::New { reordered: true });
        assert_eq!(s.mark(11), Seen::Duplicate);
        assert_eq!(s.mark(12), Seen::Duplicate);
        assert_eq!(s.mark(12 + SEEN_WINDOW), Seen::New { reordered: false });
        assert_eq!(s.mark(12), Seen::TooOld);
        assert_eq!(s.mark(13), Seen::New { reordered: true });
        // Slots reused after the window moved are clear again.
        assert_eq!(s.mark(14 + SEEN_WINDOW), Seen::New { reordered: false });
    }
}
