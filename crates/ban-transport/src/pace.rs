//! One command's pace in one process: governor's GCRA spacing calls evenly
//! at the limit's interval, slowed a step on each burst of 60007 and eased
//! back a step at a time once the service has stopped refusing.
//!
//! Each call takes [`CELLS`] cells of a quota whose cell is a twentieth of
//! the interval, with one cell of tolerance: a permit handed out a little
//! late (the timer wakes a tenth of a millisecond after its deadline) does
//! not push every later one back, so the pace holds the interval exactly
//! instead of drifting 2-3% under it. The tolerance lets one permit go at
//! most one cell (a twentieth of the interval) early, which
//! [`RateLimit::guard`] covers.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::RateLimit;

/// Cells a call takes.
const CELLS: NonZeroU32 = NonZeroU32::new(20).expect("nonzero");
/// Each back-off slows the pace by this many percent of its interval.
pub(crate) const SLOW_STEP_PERCENT: u32 = 5;
/// At most this many steps (the pace never falls below two thirds).
pub(crate) const MAX_SLOW_STEPS: u32 = 10;
/// 60007s within this of the last back-off are the same burst: calls sent
/// before the back-off come back refused after it.
pub(crate) const BURST: Duration = Duration::from_millis(500);
/// A step is eased back after this long without a 60007.
pub(crate) const EASE_AFTER: Duration = Duration::from_secs(10);

/// The pace of one command.
pub(crate) struct Pace {
    interval: Duration,
    burst: u32,
    state: Mutex<State>,
}

struct State {
    gcra: Arc<DefaultDirectRateLimiter>,
    /// Back-off steps in force.
    slow: u32,
    /// The last back-off, or the last step eased back.
    changed: Option<Instant>,
    /// The last 60007 seen.
    refused: Option<Instant>,
}

impl Pace {
    /// The pace of `rate`, checked by [`RateLimit::check`].
    pub(crate) fn new(rate: RateLimit) -> Pace {
        let interval = rate.interval();
        let burst = rate.burst.max(1);
        Pace {
            interval,
            burst,
            state: Mutex::new(State {
                gcra: Arc::new(gcra(interval, burst)),
                slow: 0,
                changed: None,
                refused: None,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The interval at `slow` back-off steps.
    fn interval_at(&self, slow: u32) -> Duration {
        self.interval * (100 + SLOW_STEP_PERCENT * slow) / 100
    }

    /// Resolves when the next call may go.
    pub(crate) async fn ready(&self) {
        let gcra = self.current(Instant::now());
        // The quota holds CELLS × burst + 1 cells, so CELLS always fit.
        let _ = gcra.until_n_ready(CELLS).await;
    }

    /// The limiter in force at `now`, a step eased back when it is due.
    fn current(&self, now: Instant) -> Arc<DefaultDirectRateLimiter> {
        let mut s = self.state();
        let due = |t: Option<Instant>| t.is_none_or(|t| now.duration_since(t) >= EASE_AFTER);
        if s.slow > 0 && due(s.changed) && due(s.refused) {
            s.slow -= 1;
            s.changed = Some(now);
            s.gcra = Arc::new(started(self.interval_at(s.slow), self.burst));
        }
        s.gcra.clone()
    }

    /// The service answered 60007: one step slower, unless this 60007 is
    /// of the burst already answered. Whether it slowed.
    pub(crate) fn refused(&self, now: Instant) -> bool {
        let mut s = self.state();
        s.refused = Some(now);
        let same_burst = s
            .changed
            .is_some_and(|t| now.duration_since(t) < BURST && s.slow > 0);
        if same_burst || s.slow >= MAX_SLOW_STEPS {
            return false;
        }
        s.slow += 1;
        s.changed = Some(now);
        s.gcra = Arc::new(started(self.interval_at(s.slow), self.burst));
        true
    }

    /// Calls per second at the pace in force.
    pub(crate) fn per_sec(&self) -> f64 {
        let slow = self.state().slow;
        1.0 / self.interval_at(slow).as_secs_f64()
    }
}

fn gcra(interval: Duration, burst: u32) -> DefaultDirectRateLimiter {
    let cell = (interval / CELLS.get()).max(Duration::from_nanos(1));
    let cells = NonZeroU32::new(CELLS.get().saturating_mul(burst).saturating_add(1))
        .expect("at least one cell");
    let quota = Quota::with_period(cell)
        .expect("a nonzero period")
        .allow_burst(cells);
    RateLimiter::direct(quota)
}

/// A fresh limiter whose first call is already spent, so the change of
/// pace does not let a call go at once right after the last one.
fn started(interval: Duration, burst: u32) -> DefaultDirectRateLimiter {
    let g = gcra(interval, burst);
    let _ = g.check_n(CELLS);
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pace() -> Pace {
        Pace::new(RateLimit::per_second(200))
    }

    #[test]
    fn a_burst_of_60007_slows_once_and_the_quiet_eases_it_back() {
        let p = pace();
        let t0 = Instant::now();
        assert!((p.per_sec() - 200.0).abs() < 0.01);
        assert!(p.refused(t0));
        // The rest of the burst: calls sent before the back-off.
        assert!(!p.refused(t0 + Duration::from_millis(300)));
        assert!((p.per_sec() - 200.0 / 1.05).abs() < 0.01, "{}", p.per_sec());
        // A second burst, later, slows again.
        assert!(p.refused(t0 + Duration::from_secs(2)));
        assert!((p.per_sec() - 200.0 / 1.10).abs() < 0.01);
        // Not eased while the 60007s are recent.
        let _ = p.current(t0 + Duration::from_secs(5));
        assert_eq!(p.state().slow, 2);
        let _ = p.current(t0 + Duration::from_secs(12));
        assert_eq!(p.state().slow, 1);
        // One step per quiet period, not all at once.
        let _ = p.current(t0 + Duration::from_secs(13));
        assert_eq!(p.state().slow, 1);
        let _ = p.current(t0 + Duration::from_secs(22));
        assert_eq!(p.state().slow, 0);
        assert!((p.per_sec() - 200.0).abs() < 0.01);
    }

    #[test]
    fn the_back_off_has_a_floor() {
        let p = pace();
        let t0 = Instant::now();
        for i in 0..50 {
            p.refused(t0 + Duration::from_secs(2 * i));
        }
        assert_eq!(p.state().slow, MAX_SLOW_STEPS);
        assert!((p.per_sec() - 200.0 / 1.5).abs() < 0.01);
    }

    #[test]
    fn a_new_pace_does_not_let_a_call_go_at_once() {
        let p = pace();
        let now = Instant::now();
        p.refused(now);
        assert!(matches!(p.current(now).check_n(CELLS), Ok(Err(_))));
        // A fresh pace does.
        assert!(matches!(pace().current(now).check_n(CELLS), Ok(Ok(()))));
    }
}
