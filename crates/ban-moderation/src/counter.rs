//! Counts within windows (offences, a sender's messages, a group's joins),
//! behind a seam: [`MemoryCounter`] in this process, or with the `redis`
//! feature `RedisCounter`, so instances behind a load balancer count each
//! event once.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::future::Future;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A boxed, sendable future (the seams' methods return one so they can be
/// used as trait objects).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One event counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counted {
    /// The events of the key's window so far, this one included.
    pub count: u64,
    /// Counted by this process alone: the shared store could not be
    /// reached, so other instances may count the same events again.
    pub local: bool,
    /// How long the key's window has left, when the counter knows.
    pub window_left: Option<Duration>,
}

impl Counted {
    /// A count made where it belongs.
    pub fn shared(count: u64) -> Counted {
        Counted {
            count,
            local: false,
            window_left: None,
        }
    }
}

/// Where counts live. A window starts with its key's first event and ends
/// `window` later; the next event starts a new one.
pub trait Counter: Send + Sync + 'static {
    /// Counts one event of `key` within `window`.
    fn bump<'a>(&'a self, key: &'a str, window: Duration) -> BoxFuture<'a, Counted>;
    /// The events of `key`'s window so far (0 when it has none).
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, u64>;
    /// Drops what this process holds of windows that ended.
    fn sweep(&self) {}
    /// Puts back a count kept elsewhere (a journal read at start): `key`
    /// counts at least `count` for `left` more. A counter whose counts
    /// outlive the process (Redis) ignores it.
    fn restore(&self, key: &str, count: u64, left: Duration) {
        let _ = (key, count, left);
    }
    /// Keys held in this process's memory.
    fn local_len(&self) -> usize {
        0
    }
}

/// Counts in this process. A key is kept as a 64-bit keyed hash (SipHash
/// with a random key), not as text: a million distinct offenders cost a
/// few tens of MB, and entries go when their window ends. Windows follow
/// tokio's clock, so tests can pause it.
#[derive(Debug, Default)]
pub struct MemoryCounter {
    hasher: RandomState,
    map: Mutex<HashMap<u64, (u64, Instant)>>,
    since_sweep: AtomicUsize,
    /// Set: windows follow this clock instead (a replay's event time).
    events: Option<EventClock>,
}

/// A clock set by hand, in milliseconds: a replay moves it to each
/// recorded callback's arrival, so windows and rates behave as they did.
#[derive(Debug)]
struct EventClock {
    start: Instant,
    ms: std::sync::atomic::AtomicU64,
}

/// Sweep expired entries once every this many bumps.
const SWEEP_EVERY: usize = 65_536;

impl MemoryCounter {
    /// An empty counter.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty counter whose windows follow [`MemoryCounter::set_time`],
    /// not the clock: to replay recorded events in their own time.
    pub fn in_event_time() -> Self {
        MemoryCounter {
            events: Some(EventClock {
                start: Instant::now(),
                ms: std::sync::atomic::AtomicU64::new(0),
            }),
            ..Self::default()
        }
    }

    /// Moves an [event-time](MemoryCounter::in_event_time) counter's clock
    /// to `ms` (milliseconds from any fixed origin; it never goes back).
    /// No effect on a counter that follows the clock.
    pub fn set_time(&self, ms: u64) {
        if let Some(c) = &self.events {
            c.ms.fetch_max(ms, Ordering::Relaxed);
        }
    }

    fn now(&self) -> Instant {
        match &self.events {
            Some(c) => c.start + Duration::from_millis(c.ms.load(Ordering::Relaxed)),
            None => Instant::now(),
        }
    }

    /// Counts one event of `key` within `window`; returns the window's
    /// events so far.
    pub fn bump_now(&self, key: &str, window: Duration) -> u64 {
        self.bump_left(key, window).0
    }

    /// [`MemoryCounter::bump_now`], with how long the window has left.
    fn bump_left(&self, key: &str, window: Duration) -> (u64, Duration) {
        let h = self.hasher.hash_one(key);
        let now = self.now();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if self.since_sweep.fetch_add(1, Ordering::Relaxed) >= SWEEP_EVERY {
            self.since_sweep.store(0, Ordering::Relaxed);
            map.retain(|_, (_, until)| *until > now);
        }
        let entry = map.entry(h).or_insert((0, now + window));
        if entry.1 <= now {
            *entry = (0, now + window);
        }
        entry.0 += 1;
        (entry.0, entry.1.saturating_duration_since(now))
    }

    /// The events of `key`'s window so far.
    pub fn get_now(&self, key: &str) -> u64 {
        let h = self.hasher.hash_one(key);
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&h)
            .filter(|(_, until)| *until > self.now())
            .map_or(0, |(n, _)| *n)
    }
}

impl Counter for MemoryCounter {
    fn bump<'a>(&'a self, key: &'a str, window: Duration) -> BoxFuture<'a, Counted> {
        let (n, left) = self.bump_left(key, window);
        let mut counted = Counted::shared(n);
        counted.window_left = Some(left);
        Box::pin(std::future::ready(counted))
    }

    fn restore(&self, key: &str, count: u64, left: Duration) {
        let h = self.hasher.hash_one(key);
        let until = self.now() + left;
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(h).or_insert((0, until));
        if count >= entry.0 {
            *entry = (count, until);
        }
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, u64> {
        Box::pin(std::future::ready(self.get_now(key)))
    }

    fn sweep(&self) {
        let now = self.now();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, until)| *until > now);
        if map.capacity() > 4 * map.len().max(1024) {
            map.shrink_to_fit();
        }
    }

    fn local_len(&self) -> usize {
        self.map.lock().map_or(0, |m| m.len())
    }
}

/// Counts in Redis ([`ban_fleet::WindowCounter`]), in this process's
/// memory while Redis cannot be reached (each such count says so).
///
/// A Redis that fails (down, or stalled past the connection's timeout) is
/// left alone for [`REDIS_RETRY`]: counts go on in this process at once
/// rather than each waiting out a timeout, and one try per period tells
/// when it is back. Each change is logged once (a warning when counting
/// falls back, another when Redis counts again).
#[cfg(feature = "redis")]
#[derive(Debug)]
pub struct RedisCounter {
    shared: ban_fleet::WindowCounter,
    fallback: MemoryCounter,
    /// While set, Redis is not tried before this instant.
    down_until: Mutex<Option<Instant>>,
}

/// How long a failed Redis is left alone before it is tried again.
#[cfg(feature = "redis")]
pub const REDIS_RETRY: Duration = Duration::from_secs(5);

#[cfg(feature = "redis")]
impl RedisCounter {
    /// Counts through `shared`.
    pub fn new(shared: ban_fleet::WindowCounter) -> Self {
        RedisCounter {
            shared,
            fallback: MemoryCounter::new(),
            down_until: Mutex::new(None),
        }
    }

    /// Whether to try Redis now: it is up, or its time to be tried again
    /// has come (then the next try is pushed on, so one caller tries).
    fn try_redis(&self) -> bool {
        let mut down = self.down_until.lock().unwrap_or_else(|p| p.into_inner());
        match *down {
            None => true,
            Some(until) if Instant::now() >= until => {
                *down = Some(Instant::now() + REDIS_RETRY);
                true
            }
            Some(_) => false,
        }
    }

    fn failed(&self, e: &dyn std::fmt::Display) {
        let mut down = self.down_until.lock().unwrap_or_else(|p| p.into_inner());
        if down.is_none() {
            tracing::warn!(error = %e, "Redis cannot count; counting in this process alone (other instances may count the same events again) until it can");
        }
        *down = Some(Instant::now() + REDIS_RETRY);
    }

    fn answered(&self) {
        let mut down = self.down_until.lock().unwrap_or_else(|p| p.into_inner());
        if down.take().is_some() {
            tracing::warn!("Redis counts again");
        }
    }

    /// Whether counts are being kept in this process alone.
    pub fn is_degraded(&self) -> bool {
        self.down_until.lock().is_ok_and(|d| d.is_some())
    }
}

#[cfg(feature = "redis")]
impl Counter for RedisCounter {
    fn bump<'a>(&'a self, key: &'a str, window: Duration) -> BoxFuture<'a, Counted> {
        Box::pin(async move {
            if self.try_redis() {
                match self.shared.bump(key, window).await {
                    Ok(n) => {
                        self.answered();
                        return Counted::shared(n);
                    }
                    Err(e) => self.failed(&e),
                }
            }
            Counted {
                count: self.fallback.bump_now(key, window),
                local: true,
                window_left: None,
            }
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, u64> {
        Box::pin(async move {
            if self.try_redis() {
                match self.shared.get(key).await {
                    Ok(n) => {
                        self.answered();
                        return n;
                    }
                    Err(e) => self.failed(&e),
                }
            }
            self.fallback.get_now(key)
        })
    }

    fn sweep(&self) {
        self.fallback.sweep();
    }

    fn local_len(&self) -> usize {
        self.fallback.local_len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn windows_count_and_end() {
        let m = MemoryCounter::new();
        let w = Duration::from_millis(50);
        assert_eq!(m.bump_now("a", w), 1);
        assert_eq!(m.bump_now("a", w), 2);
        assert_eq!(m.bump_now("b", w), 1);
        tokio::time::advance(Duration::from_millis(60)).await;
        assert_eq!(m.get_now("a"), 0, "the window ended");
        assert_eq!(m.bump_now("a", w), 1, "a new window");
        m.sweep();
        assert_eq!(m.local_len(), 1, "b's window is swept");
    }
}
