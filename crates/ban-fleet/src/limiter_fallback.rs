//! The limiter's circuit breaker and the local share it falls back to
//! while Redis is down or slow.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ban_transport::{LocalLimiter, RateLimit};
use tokio::time::Instant;

use super::{lock, Inner};
use crate::config::{DownPolicy, DEGRADED_MARGIN};

impl Inner {
    /// Whether this call asks Redis: always while the breaker is closed;
    /// while open, one call a probe period does.
    pub(super) fn should_ask(&self) -> bool {
        let mut b = lock(&self.breaker);
        match b.down_since {
            None => true,
            Some(_) if Instant::now() >= b.next_probe => {
                b.next_probe = Instant::now() + self.config.probe_every;
                true
            }
            Some(_) => false,
        }
    }

    pub(super) fn redis_ok(&self) {
        let mut b = lock(&self.breaker);
        if let Some(since) = b.down_since.take() {
            b.degraded += since.elapsed();
            self.counters.to_redis.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                degraded_ms = since.elapsed().as_millis() as u64,
                "Redis answers again: the fleet shares one budget again"
            );
        }
    }

    pub(super) fn redis_failed(&self, why: &str, stalled: Duration) {
        self.counters
            .max_stall_us
            .fetch_max(stalled.as_micros() as u64, Ordering::Relaxed);
        let mut b = lock(&self.breaker);
        if b.down_since.is_none() {
            b.down_since = Some(Instant::now());
            b.next_probe = Instant::now() + self.config.probe_every;
            self.counters.to_local.fetch_add(1, Ordering::Relaxed);
            let live = self.live.load(Ordering::Relaxed).max(1);
            match self.config.when_down {
                DownPolicy::LocalShare => tracing::warn!(
                    error = why,
                    share_per_sec = self.share(live),
                    live,
                    "Redis is unreachable: going on with this process's share of the budget"
                ),
                _ => tracing::warn!(
                    error = why,
                    "Redis is unreachable: sending nothing until it answers (policy closed)"
                ),
            }
        }
    }

    /// When the local share may start: after every slot the fleet may
    /// still hold. Slots reserved before Redis was lost run until at most
    /// the loss plus the longest horizon seen (later reservations by other
    /// processes are unknown here), and never before the furthest slot
    /// this process saw. Those slots were the fleet's queue: a call waits
    /// no longer than the shared schedule would have made it.
    pub(super) fn local_start(&self) -> Instant {
        let seen = *lock(&self.reserved_until);
        let lost = lock(&self.breaker).down_since.unwrap_or_else(Instant::now);
        let horizon = Duration::from_micros(self.horizon_us.load(Ordering::Relaxed));
        seen.max(lost + horizon)
    }

    /// This process's share while Redis is down: the rate ÷ processes
    /// alive, less [`DEGRADED_MARGIN`] (separate clocks cannot interleave
    /// their calls as one schedule does, so their sum needs slack).
    pub(super) fn share(&self, live: usize) -> u32 {
        let rate = f64::from(self.config.rate.per_sec) * (1.0 - DEGRADED_MARGIN);
        ((rate / live as f64) as u32).max(1)
    }

    /// The local limiter for this process's share.
    pub(super) fn local(&self) -> Arc<LocalLimiter> {
        let live = self.live.load(Ordering::Relaxed).max(1);
        let mut local = lock(&self.local);
        if local.0 != live {
            let share = self.share(live);
            if let Ok(l) = LocalLimiter::new(RateLimit::per_second(share)) {
                *local = (live, Arc::new(l));
            }
        }
        local.1.clone()
    }
}
