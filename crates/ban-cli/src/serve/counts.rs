//! Counts within windows (offences, a sender's messages, a group's joins):
//! in this process's memory, or in Redis with `--redis` so instances behind
//! a load balancer count each event once.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ban_fleet::WindowCounter;

/// In memory, a key is kept as a 64-bit keyed hash (SipHash with a random
/// key), not as text: a million distinct offenders cost a few tens of MB,
/// and entries go when their window ends.
pub(crate) struct MemoryCounts {
    hasher: RandomState,
    map: Mutex<HashMap<u64, (u64, Instant)>>,
    /// Bumps since the last sweep.
    since_sweep: std::sync::atomic::AtomicUsize,
}

/// Sweep expired entries once every this many bumps.
const SWEEP_EVERY: usize = 65_536;

impl MemoryCounts {
    pub(crate) fn new() -> Self {
        MemoryCounts {
            hasher: RandomState::new(),
            map: Mutex::new(HashMap::new()),
            since_sweep: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    pub(crate) fn bump(&self, key: &str, window: Duration) -> u64 {
        let h = self.hasher.hash_one(key);
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let n = self
            .since_sweep
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n >= SWEEP_EVERY {
            self.since_sweep
                .store(0, std::sync::atomic::Ordering::Relaxed);
            map.retain(|_, (_, until)| *until > now);
        }
        let entry = map.entry(h).or_insert((0, now + window));
        if entry.1 <= now {
            *entry = (0, now + window);
        }
        entry.0 += 1;
        entry.0
    }

    /// Drops the keys whose window ended.
    pub(crate) fn sweep(&self) {
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, until)| *until > now);
        if map.capacity() > 4 * map.len().max(1024) {
            map.shrink_to_fit();
        }
    }

    /// The events of `key`'s window so far.
    pub(crate) fn get(&self, key: &str) -> u64 {
        let h = self.hasher.hash_one(key);
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&h)
            .filter(|(_, until)| *until > Instant::now())
            .map_or(0, |(n, _)| *n)
    }

    /// Keys held.
    pub(crate) fn len(&self) -> usize {
        self.map.lock().map_or(0, |m| m.len())
    }
}

/// Where counts live.
pub(crate) enum Counts {
    Memory(MemoryCounts),
    /// Redis, with this process's memory while Redis cannot be reached.
    Redis(WindowCounter, MemoryCounts),
}

impl Counts {
    /// Counts one event of `key` within `window`: the events so far, and
    /// whether they were counted by this process alone (Redis unreachable).
    pub(crate) async fn bump(&self, key: &str, window: Duration) -> (u64, bool) {
        match self {
            Counts::Memory(m) => (m.bump(key, window), false),
            Counts::Redis(r, fallback) => match r.bump(key, window).await {
                Ok(n) => (n, false),
                Err(e) => {
                    tracing::warn!(error = %e, "Redis cannot count; counting in this process until it can");
                    (fallback.bump(key, window), true)
                }
            },
        }
    }

    /// The events of `key`'s window so far (this process's count while
    /// Redis cannot be reached).
    pub(crate) async fn get(&self, key: &str) -> u64 {
        match self {
            Counts::Memory(m) => m.get(key),
            Counts::Redis(r, fallback) => match r.get(key).await {
                Ok(n) => n,
                Err(_) => fallback.get(key),
            },
        }
    }

    /// Drops this process's keys whose window ended.
    pub(crate) fn sweep(&self) {
        match self {
            Counts::Memory(m) | Counts::Redis(_, m) => m.sweep(),
        }
    }

    /// Keys held in this process.
    pub(crate) fn local_len(&self) -> usize {
        match self {
            Counts::Memory(m) | Counts::Redis(_, m) => m.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_and_end() {
        let m = MemoryCounts::new();
        assert_eq!(m.bump("a", Duration::from_millis(50)), 1);
        assert_eq!(m.bump("a", Duration::from_millis(50)), 2);
        assert_eq!(m.bump("b", Duration::from_millis(50)), 1);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(m.bump("a", Duration::from_millis(50)), 1, "a new window");
    }
}
