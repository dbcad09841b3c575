//! Notices time the monotonic clock did not see. Linux stops `CLOCK_MONOTONIC` while the
//! machine is suspended and steps the wall clock forward on resume, so after a lunch-time
//! sleep every timer of the cores is as if no time had passed, while the PBX has long
//! dropped the registration. A timerfd on `CLOCK_REALTIME` armed with
//! `TFD_TIMER_CANCEL_ON_SET` is cancelled by the kernel whenever the wall clock steps
//! (a resume, or the clock set by hand; not NTP's slow slewing): no wake-up until then.

use std::time::{Duration, Instant, SystemTime};

/// A step smaller than this is noise (a clock set by a second or so), not a sleep.
pub const JUMP: Duration = Duration::from_secs(2);

/// How far the wall clock moved beyond the monotonic one since the last look (sans-IO).
#[derive(Debug, Clone, Copy)]
pub struct ClockSkew {
    mono: Instant,
    wall: SystemTime,
}

impl ClockSkew {
    pub fn new(mono: Instant, wall: SystemTime) -> Self {
        ClockSkew { mono, wall }
    }

    /// The time the monotonic clock did not see since the last look, when at least
    /// [`JUMP`] either way (a clock set back counts too); starts over from here.
    pub fn jumped(&mut self, mono: Instant, wall: SystemTime) -> Option<Duration> {
        let mono_passed = mono.saturating_duration_since(self.mono);
        let (wall_passed, back) = match wall.duration_since(self.wall) {
            Ok(d) => (d, false),
            Err(e) => (e.duration(), true),
        };
        *self = ClockSkew::new(mono, wall);
        let unseen = if back {
            wall_passed + mono_passed
        } else {
            wall_passed.abs_diff(mono_passed)
        };
        (unseen >= JUMP).then_some(unseen)
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::ClockSkew;
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::time::{Duration, Instant, SystemTime};
    use tokio::io::unix::AsyncFd;
    use tokio::io::Interest;

    /// The kernel's word that the wall clock stepped, turned into the unseen time.
    pub struct ClockWatch {
        fd: AsyncFd<OwnedFd>,
        skew: ClockSkew,
    }

    impl ClockWatch {
        pub fn new() -> io::Result<ClockWatch> {
            // SAFETY: plain syscall; the result is checked before use.
            let raw = unsafe {
                libc::timerfd_create(libc::CLOCK_REALTIME, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC)
            };
            if raw < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `raw` is a fresh descriptor owned by nothing else.
            let fd = unsafe { OwnedFd::from_raw_fd(raw) };
            // SAFETY: an `OwnedFd` keeps its one descriptor open until it is dropped with
            // the `AsyncFd`.
            let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
                .map_err(|e| e.into_parts().1)?;
            let watch = ClockWatch {
                fd,
                skew: ClockSkew::new(Instant::now(), SystemTime::now()),
            };
            watch.arm()?;
            Ok(watch)
        }

        /// An absolute expiry far away (it never fires), cancelled on every clock step.
        fn arm(&self) -> io::Result<()> {
            let spec = libc::itimerspec {
                it_interval: libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                },
                it_value: libc::timespec {
                    // 2200-01-01: within a 64-bit time_t, never reached.
                    tv_sec: 7_258_118_400,
                    tv_nsec: 0,
                },
            };
            // SAFETY: a valid descriptor and spec; no old value asked for.
            let r = unsafe {
                libc::timerfd_settime(
                    self.fd.as_raw_fd(),
                    libc::TFD_TIMER_ABSTIME | libc::TFD_TIMER_CANCEL_ON_SET,
                    &spec,
                    std::ptr::null_mut(),
                )
            };
            if r < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        }

        /// Waits for a step of the wall clock of at least [`super::JUMP`] beyond what the
        /// monotonic clock saw, and returns it.
        pub async fn jumped(&mut self) -> io::Result<Duration> {
            loop {
                let mut ready = self.fd.readable().await?;
                let mut buf = [0u8; 8];
                // SAFETY: reads at most 8 bytes into `buf`.
                let n =
                    unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                let err = io::Error::last_os_error();
                if n < 0 && err.kind() == io::ErrorKind::WouldBlock {
                    ready.clear_ready();
                    continue;
                }
                // ECANCELED: the clock stepped. Re-arm before anything else, so the next
                // step is not missed.
                ready.clear_ready();
                self.arm()?;
                if n < 0 && err.raw_os_error() != Some(libc::ECANCELED) {
                    return Err(err);
                }
                if let Some(unseen) = self.skew.jumped(Instant::now(), SystemTime::now()) {
                    return Ok(unseen);
                }
            }
        }
    }
}

#[cfg(target_os = "linux")]
pub use linux::ClockWatch;

/// Elsewhere: no word from the kernel; the cores' own timers are all there is.
#[cfg(not(target_os = "linux"))]
pub struct ClockWatch;

#[cfg(not(target_os = "linux"))]
impl ClockWatch {
    pub fn new() -> std::io::Result<ClockWatch> {
        Err(std::io::Error::other("not on this system"))
    }

    pub async fn jumped(&mut self) -> std::io::Result<Duration> {
        std::future::pending().await
    }
}

/// Waits for the next jump of `watch`; forever without one.
pub async fn next_jump(watch: &mut Option<ClockWatch>) -> Duration {
    match watch {
        Some(w) => match w.jumped().await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!("the clock watch stopped: {e}");
                *watch = None;
                std::future::pending().await
            }
        },
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_kernel_takes_the_watch() {
        // Created and armed (cancel-on-set, far expiry); a clock step cannot be made here
        // without changing the machine's time for everything else.
        ClockWatch::new().expect("timerfd armed");
    }

    #[test]
    fn a_sleep_is_the_wall_time_the_monotonic_clock_missed() {
        let (m0, w0) = (Instant::now(), SystemTime::now());
        let mut skew = ClockSkew::new(m0, w0);
        // Both clocks moved 10 s: no jump.
        let (m1, w1) = (m0 + Duration::from_secs(10), w0 + Duration::from_secs(10));
        assert_eq!(skew.jumped(m1, w1), None);
        // Suspended an hour: the monotonic clock saw 1 s of it.
        let (m2, w2) = (m1 + Duration::from_secs(1), w1 + Duration::from_secs(3601));
        assert_eq!(skew.jumped(m2, w2), Some(Duration::from_secs(3600)));
        // Set back a minute.
        let (m3, w3) = (m2, w2 - Duration::from_secs(60));
        assert_eq!(skew.jumped(m3, w3), Some(Duration::from_secs(60)));
        // A second's correction is noise.
        let (m4, w4) = (m3 + Duration::from_secs(5), w3 + Duration::from_secs(6));
        assert_eq!(skew.jumped(m4, w4), None);
    }
}
