//! The emulator's clock.

use std::sync::atomic::{AtomicU64, Ordering};

use ban_sign::{Clock, SystemClock};

/// The emulator's clock: the system's plus an offset that tests advance.
#[derive(Debug, Default)]
pub(crate) struct EmuClock {
    offset: AtomicU64,
}

/// The most the clock moves in one advance: 100 years. More is a mistake,
/// and would overflow the ban arithmetic.
pub(crate) const MAX_ADVANCE: u64 = 100 * 366 * 86_400;
/// The clock never passes 9999-12-31T23:59:59Z: times stay printable, and
/// a ban's end (now + a u32 duration) fits with room to spare.
pub(crate) const MAX_TIME: u64 = 253_402_300_799;

impl EmuClock {
    /// Moves the clock forward by `secs` (at most [`MAX_ADVANCE`] a step,
    /// and never past [`MAX_TIME`]); returns the new time, or why it was
    /// refused.
    pub(crate) fn advance(&self, secs: u64) -> Result<u64, ban_proto::SettingError> {
        if secs > MAX_ADVANCE {
            return Err(ban_proto::SettingError::new(
                "seconds",
                secs,
                format!("at most {MAX_ADVANCE} (100 years) a step"),
            ));
        }
        self.offset
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
                o.checked_add(secs)
                    .filter(|n| SystemClock.now_unix().saturating_add(*n) <= MAX_TIME)
            })
            .map_err(|_| {
                ban_proto::SettingError::new(
                    "seconds",
                    secs,
                    "small enough not to pass the year 9999",
                )
            })?;
        Ok(self.now_unix())
    }

    pub(crate) fn reset(&self) {
        self.offset.store(0, Ordering::SeqCst);
    }
}

impl Clock for EmuClock {
    fn now_unix(&self) -> u64 {
        SystemClock
            .now_unix()
            .saturating_add(self.offset.load(Ordering::SeqCst))
    }
}
