//! The rate-limiter seam: the transport asks a [`Limiter`] before every
//! attempt and does not know which one it has. [`LocalLimiter`] (one
//! process) is the embedded default; `ban-fleet` plugs in one shared
//! through Redis.

use ban_proto::SettingError;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// A boxed future, as the [`Limiter`] trait returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The client-side rate limit of each command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Calls per second, per command.
    pub per_sec: u32,
    /// Calls that may go at once before the rate applies.
    pub burst: u32,
}

impl RateLimit {
    /// The service's documented limit: 200 calls/s per command per SDKAppID.
    pub const SERVICE_PER_SEC: u32 = 200;
    /// What a client sends by default: 5% under the service's limit.
    ///
    /// The service does not document its window, so the strictest reading
    /// holds: never more than 200 calls in *any* sliding second. A client
    /// timed at exactly 200/s overruns that now and then, since timer jitter
    /// bunches a few calls together; 190/s with a burst of 1 leaves each
    /// second 10 calls of slack for that jitter.
    pub const DEFAULT_PER_SEC: u32 = 190;

    /// `per_sec` calls per second, evenly spaced (a burst of 1).
    pub const fn per_second(per_sec: u32) -> RateLimit {
        RateLimit { per_sec, burst: 1 }
    }

    /// The same rate, letting `burst` calls go at once.
    pub const fn with_burst(self, burst: u32) -> RateLimit {
        RateLimit { burst, ..self }
    }

    /// Refuses a zero rate or burst, naming the field.
    pub fn check(&self) -> Result<(NonZeroU32, NonZeroU32), SettingError> {
        let per_sec = NonZeroU32::new(self.per_sec).ok_or_else(|| {
            SettingError::new("rate limit per_sec", 0, "at least 1 (or no limit at all)")
        })?;
        let burst = NonZeroU32::new(self.burst)
            .ok_or_else(|| SettingError::new("rate limit burst", 0, "at least 1"))?;
        Ok((per_sec, burst))
    }
}

impl Default for RateLimit {
    /// [`RateLimit::DEFAULT_PER_SEC`] with a burst of 1.
    fn default() -> Self {
        RateLimit::per_second(RateLimit::DEFAULT_PER_SEC)
    }
}

/// Decides when a call of a command may go.
///
/// The transport awaits [`Limiter::acquire`] before every attempt (bounded
/// by the call's deadline and abort signal) and reports each 60007 the
/// service still answers with [`Limiter::throttled`].
pub trait Limiter: Send + Sync + 'static {
    /// Resolves when one call of `command` may be sent.
    fn acquire(&self, command: &'static str) -> BoxFuture<'_, ()>;

    /// The service answered 60007 to `command`: slow down.
    fn throttled(&self, command: &'static str) {
        let _ = command;
    }

    /// What this limiter is, for reports (`local`, `redis`, ...).
    fn describe(&self) -> String {
        "local".to_owned()
    }
}

/// One process's limiter: per command, governor's GCRA behind a FIFO queue,
/// so callers get their permits in arrival order (governor alone lets
/// waiters race, and one can starve for seconds behind the others).
pub struct LocalLimiter {
    quota: Quota,
    pacers: Mutex<HashMap<&'static str, Arc<Pacer>>>,
}

struct Pacer {
    queue: tokio::sync::Mutex<()>,
    gcra: DefaultDirectRateLimiter,
}

impl LocalLimiter {
    /// A limiter of `rate` per command; refuses a zero rate or burst.
    pub fn new(rate: RateLimit) -> Result<LocalLimiter, SettingError> {
        let (per_sec, burst) = rate.check()?;
        Ok(LocalLimiter {
            quota: Quota::per_second(per_sec).allow_burst(burst),
            pacers: Mutex::new(HashMap::new()),
        })
    }

    fn pacer(&self, command: &'static str) -> Arc<Pacer> {
        let mut pacers = self.pacers.lock().unwrap_or_else(|p| p.into_inner());
        pacers
            .entry(command)
            .or_insert_with(|| {
                Arc::new(Pacer {
                    queue: tokio::sync::Mutex::new(()),
                    gcra: RateLimiter::direct(self.quota),
                })
            })
            .clone()
    }
}

impl Limiter for LocalLimiter {
    fn acquire(&self, command: &'static str) -> BoxFuture<'_, ()> {
        let pacer = self.pacer(command);
        Box::pin(async move {
            let _turn = pacer.queue.lock().await;
            pacer.gcra.until_ready().await;
        })
    }
}

impl fmt::Debug for LocalLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalLimiter")
            .field("quota", &self.quota)
            .finish_non_exhaustive()
    }
}
