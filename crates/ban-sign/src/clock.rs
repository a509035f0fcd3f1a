//! Clocks: the system's, and a manual one for tests.

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of Unix time in seconds.
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now_unix(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

#[cfg(feature = "test-util")]
pub use manual::ManualClock;

#[cfg(feature = "test-util")]
mod manual {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::Clock;

    /// A clock that moves only when told: for tests that step time.
    ///
    /// ```
    /// # use ban_sign::{Clock, ManualClock};
    /// let clock = ManualClock::new(1_700_000_000);
    /// clock.advance(60);
    /// assert_eq!(clock.now_unix(), 1_700_000_060);
    /// ```
    #[derive(Debug, Default)]
    pub struct ManualClock(AtomicU64);

    impl ManualClock {
        /// A clock reading `now`.
        pub fn new(now: u64) -> Self {
            ManualClock(AtomicU64::new(now))
        }

        /// Sets the time.
        pub fn set(&self, now: u64) {
            self.0.store(now, Ordering::SeqCst);
        }

        /// Moves the time forward.
        pub fn advance(&self, secs: u64) {
            self.0.fetch_add(secs, Ordering::SeqCst);
        }
    }

    impl Clock for ManualClock {
        fn now_unix(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
    }
}
