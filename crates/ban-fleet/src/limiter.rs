//! The shared rate limiter: one GCRA schedule per (SDKAppID, command) in
//! Redis, a circuit breaker for when Redis is down or slow, and a local
//! share of the budget meanwhile.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use ban_transport::{BoxFuture, Limiter, LocalLimiter, Priority, FLOOR_EVERY};

use crate::config::{DownPolicy, FleetConfig, FleetError, THROTTLE_PENALTY};
use crate::conn::{Conn, RedisAddr};
use tokio::time::Instant;

/// What the limiter has done, for reports and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LimiterStats {
    /// Permits reserved in Redis.
    pub redis_permits: u64,
    /// Permits given by the local share while Redis was down.
    pub local_permits: u64,
    /// Times the breaker opened (Redis to local).
    pub to_local: u64,
    /// Times it closed again (local to Redis).
    pub to_redis: u64,
    /// Time spent degraded so far.
    pub degraded: Duration,
    /// The longest a call waited on a Redis request that then failed.
    pub max_redis_stall: Duration,
    /// 60007 answers that pushed the shared schedule back.
    pub throttled: u64,
    /// Processes last seen alive (this one included).
    pub live: usize,
}

#[derive(Debug)]
struct Breaker {
    down_since: Option<Instant>,
    next_probe: Instant,
    degraded: Duration,
}

#[derive(Default)]
struct Counters {
    redis_permits: AtomicU64,
    local_permits: AtomicU64,
    to_local: AtomicU64,
    to_redis: AtomicU64,
    max_stall_us: AtomicU64,
    throttled: AtomicU64,
}

struct Inner {
    config: FleetConfig,
    conn: tokio::sync::Mutex<Option<Conn>>,
    script: redis::Script,
    interval_us: u64,
    tolerance_us: u64,
    breaker: Mutex<Breaker>,
    live: AtomicUsize,
    local: Mutex<(usize, Arc<LocalLimiter>)>,
    counters: Counters,
    id: String,
    heartbeat: std::sync::Once,
    /// Whether the live-process count was read once: until it is, a
    /// fallback would take the whole rate.
    live_read: std::sync::atomic::AtomicBool,
    /// The furthest the fleet's schedule was seen to reach.
    reserved_until: Mutex<Instant>,
    /// The longest the schedule was seen to reach ahead of now (µs): how
    /// far the slots other processes reserved may still run after Redis
    /// is lost.
    horizon_us: AtomicU64,
    /// One line per (command, urgent or normal lane): its first caller asks.
    lines: Mutex<std::collections::HashMap<(&'static str, Priority), Line>>,
}

/// A [`Limiter`] shared by every process that bans for one SDKAppID: each
/// permit is a GCRA reservation in Redis (Redis's clock; one round trip
/// when its lane's horizon allows it, see [`Priority::horizon`]; bulk
/// callers in ticket order, the others in the order they reach Redis).
/// While Redis is down or slow, each
/// process goes on with its share of the rate (or stops, by policy), and
/// asks Redis again about once a second.
#[derive(Clone)]
pub struct RedisLimiter {
    inner: Arc<Inner>,
}

impl fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl RedisLimiter {
    /// A limiter for `config`. Does no I/O: Redis is first asked on the
    /// first permit (and refused settings are reported here).
    pub fn new(config: FleetConfig) -> Result<RedisLimiter, FleetError> {
        let (per_sec, burst) = config.rate.check()?;
        crate::config::check_key_prefix(&config.key_prefix)?;
        for (name, d) in [
            ("timeout", config.timeout),
            ("probe_every", config.probe_every),
            ("heartbeat_every", config.heartbeat_every),
        ] {
            if d.is_zero() {
                return Err(ban_proto::SettingError::new(name, "0 s", "above 0").into());
            }
        }
        // The URLs are checked here; the connection is made on first use.
        let urls = match &config.redis {
            RedisAddr::Node(u) => std::slice::from_ref(u),
            RedisAddr::Cluster(us) => us.as_slice(),
        };
        for u in urls {
            redis::Client::open(u.as_str())
                .map_err(|e| FleetError::Url(crate::failure::RedisFailure::new(e)))?;
        }
        let interval_us = 1_000_000 / u64::from(per_sec.get());
        let tolerance_us = interval_us * u64::from(burst.get() - 1);
        let local = LocalLimiter::new(config.rate)?;
        Ok(RedisLimiter {
            inner: Arc::new(Inner {
                conn: tokio::sync::Mutex::new(None),
                script: redis::Script::new(include_str!("gcra.lua")),
                interval_us,
                tolerance_us,
                breaker: Mutex::new(Breaker {
                    down_since: None,
                    next_probe: Instant::now(),
                    degraded: Duration::ZERO,
                }),
                live: AtomicUsize::new(1),
                local: Mutex::new((0, Arc::new(local))),
                counters: Counters::default(),
                id: format!("{:016x}", fastrand::u64(..)),
                heartbeat: std::sync::Once::new(),
                live_read: std::sync::atomic::AtomicBool::new(false),
                reserved_until: Mutex::new(Instant::now()),
                horizon_us: AtomicU64::new(0),
                lines: Mutex::new(std::collections::HashMap::new()),
                config,
            }),
        })
    }

    /// What it has done so far.
    pub fn stats(&self) -> LimiterStats {
        let c = &self.inner.counters;
        let b = lock(&self.inner.breaker);
        let ongoing = b.down_since.map_or(Duration::ZERO, |s| s.elapsed());
        LimiterStats {
            redis_permits: c.redis_permits.load(Ordering::Relaxed),
            local_permits: c.local_permits.load(Ordering::Relaxed),
            to_local: c.to_local.load(Ordering::Relaxed),
            to_redis: c.to_redis.load(Ordering::Relaxed),
            degraded: b.degraded + ongoing,
            max_redis_stall: Duration::from_micros(c.max_stall_us.load(Ordering::Relaxed)),
            throttled: c.throttled.load(Ordering::Relaxed),
            live: self.inner.live.load(Ordering::Relaxed),
        }
    }

    /// Checks Redis before the first permit: reachable, the password right,
    /// not a Cluster node, the database there, the commands allowed; and
    /// counts the processes alive (this one included), so a fallback never
    /// takes more than this process's share. Returns that count.
    ///
    /// [`RedisSetupError::is_unreachable`](crate::RedisSetupError::is_unreachable)
    /// tells Redis being down from Redis being set up wrong.
    pub async fn check(&self) -> Result<usize, FleetError> {
        let inner = &self.inner;
        // The check has its own connection with a patient timeout: the
        // permits' short one (50 ms by default) is for a Redis in use, and
        // a process that has just started on a busy machine may take longer
        // for its first answers without Redis being down.
        let patient = inner.config.timeout.max(CHECK_TIMEOUT);
        let probe = async {
            let mut conn = Conn::open(&inner.config.redis, patient, patient, 1).await?;
            crate::setup::probe(&mut conn, &inner.key("check")).await?;
            inner
                .heartbeat_on(&mut conn)
                .await
                .map_err(crate::RedisSetupError::classify)
        };
        let live = match tokio::time::timeout(patient, probe).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(
                    crate::RedisSetupError::Unreachable(crate::failure::RedisFailure::new(
                        redis::RedisError::from((redis::ErrorKind::Io, "no answer in time")),
                    ))
                    .into(),
                )
            }
        };
        inner.live.store(live, Ordering::Relaxed);
        inner.live_read.store(true, Ordering::Relaxed);
        Ok(live)
    }

    /// Whether the breaker is open (Redis is taken as down).
    pub fn is_degraded(&self) -> bool {
        lock(&self.inner.breaker).down_since.is_some()
    }
}

/// A line of callers: who holds it asks Redis.
type Line = Arc<tokio::sync::Mutex<()>>;

/// What the schedule answered a request.
struct Reply {
    /// Whether a permit was reserved.
    granted: bool,
    /// Granted: how long until its slot. Refused: how long before asking
    /// again.
    wait: Duration,
    /// How far ahead of now the schedule reaches.
    ahead: Duration,
    /// The caller's bulk ticket.
    ticket: u64,
}

/// How long the bulk ticket next in line may stay silent before the tickets
/// after it pass it (its caller gave up, or its process died).
const BULK_SKIP: Duration = Duration::from_millis(50);

/// How long [`RedisLimiter::check`] waits for each answer (and for them
/// all) at least.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

impl Inner {
    fn key(&self, command: &str) -> String {
        format!(
            "{}:rate:{}:{command}",
            self.config.key_prefix, self.config.sdkappid
        )
    }

    fn live_key(&self) -> String {
        format!("{}:live:{}", self.config.key_prefix, self.config.sdkappid)
    }

    /// The line of this process's callers of `command` in `priority`'s lane.
    fn line(&self, command: &'static str, priority: Priority) -> Line {
        lock(&self.lines)
            .entry((command, priority))
            .or_default()
            .clone()
    }

    /// A connection, made on first use (and again after a failed attempt).
    async fn connection(&self) -> Result<Conn, crate::RedisSetupError> {
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let timeout = self.config.timeout;
        let c = Conn::open(&self.config.redis, timeout, timeout, 1).await?;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// One request (or push-back) on the schedule of `command`, in
    /// `priority`'s lane with the caller's bulk `ticket` (0 for none yet).
    async fn reserve(
        &self,
        command: &str,
        penalty: Duration,
        priority: Priority,
        ticket: u64,
    ) -> redis::RedisResult<Reply> {
        let mut conn = self.connection().await?;
        let (granted, wait, ahead, ticket): (i64, i64, i64, u64) = self
            .script
            .key(self.key(command))
            .arg(self.interval_us)
            .arg(self.tolerance_us)
            .arg(penalty.as_micros() as u64)
            .arg(priority.lane())
            .arg(priority.horizon().as_micros() as u64)
            .arg(ticket)
            .arg(BULK_SKIP.as_micros() as u64)
            .arg(FLOOR_EVERY)
            .invoke_async(&mut conn)
            .await?;
        Ok(Reply {
            granted: granted == 1,
            wait: Duration::from_micros(wait.max(0) as u64),
            ahead: Duration::from_micros(ahead.max(0) as u64),
            ticket,
        })
    }

    /// Says this process is alive and counts the others: a sorted set of
    /// process ids scored by their last heartbeat.
    async fn heartbeat(&self) -> redis::RedisResult<usize> {
        let mut conn = self.connection().await?;
        self.heartbeat_on(&mut conn).await
    }

    /// [`Inner::heartbeat`] over a given connection.
    async fn heartbeat_on(&self, conn: &mut Conn) -> redis::RedisResult<usize> {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let stale = now_ms.saturating_sub(3 * self.config.heartbeat_every.as_millis() as u64);
        let key = self.live_key();
        let (_, _, live, _): (i64, i64, usize, i64) = redis::pipe()
            .atomic()
            .zadd(&key, &self.id, now_ms)
            .zrembyscore(&key, 0, stale)
            .zcard(&key)
            .pexpire(&key, 10 * self.config.heartbeat_every.as_millis() as i64)
            .query_async(conn)
            .await?;
        Ok(live.max(1))
    }
}

/// Beats while the limiter lives.
async fn heartbeats(inner: Weak<Inner>, every: Duration, timeout: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if let Ok(Ok(live)) = tokio::time::timeout(timeout, inner.heartbeat()).await {
            inner.live.store(live, Ordering::Relaxed);
            inner.live_read.store(true, Ordering::Relaxed);
        }
    }
}

impl RedisLimiter {
    async fn permit(&self, command: &'static str, priority: Priority) {
        let inner = &self.inner;
        inner.heartbeat.call_once(|| {
            tokio::spawn(heartbeats(
                Arc::downgrade(inner),
                inner.config.heartbeat_every,
                inner.config.timeout,
            ));
        });
        if !inner.live_read.load(Ordering::Relaxed) {
            // Count the others before the first permit: a breaker that
            // opens before the first heartbeat would take the whole rate.
            if let Ok(Ok(live)) =
                tokio::time::timeout(inner.config.timeout, inner.heartbeat()).await
            {
                inner.live.store(live, Ordering::Relaxed);
                inner.live_read.store(true, Ordering::Relaxed);
            }
        }
        // Urgent and normal callers of this process ask one at a time (the
        // first in line asks until it is granted, then the next), so a
        // refused crowd does not ask Redis all at once; bulk callers hold
        // tickets that say when to ask.
        let line_turn = match priority {
            Priority::Bulk => None,
            _ => Some(inner.line(command, priority).lock_owned().await),
        };
        let mut ticket = 0;
        loop {
            if inner.should_ask() {
                let asked = Instant::now();
                let reply = tokio::time::timeout(
                    inner.config.timeout,
                    inner.reserve(command, Duration::ZERO, priority, ticket),
                )
                .await;
                match reply {
                    Ok(Ok(reply)) => {
                        inner.redis_ok();
                        let now = Instant::now();
                        {
                            let mut until = lock(&inner.reserved_until);
                            *until = (*until).max(now + reply.ahead);
                        }
                        inner
                            .horizon_us
                            .fetch_max(reply.ahead.as_micros() as u64, Ordering::Relaxed);
                        if !reply.granted {
                            ticket = reply.ticket;
                            tokio::time::sleep(reply.wait).await;
                            continue;
                        }
                        inner.counters.redis_permits.fetch_add(1, Ordering::Relaxed);
                        drop(line_turn);
                        // A zero sleep would still wait for the timer's next tick.
                        if !reply.wait.is_zero() {
                            tokio::time::sleep_until(now + reply.wait).await;
                        }
                        return;
                    }
                    Ok(Err(e)) => {
                        // A broken connection is made anew next time.
                        *inner.conn.lock().await = None;
                        inner.redis_failed(&e.to_string(), asked.elapsed());
                    }
                    Err(_) => inner.redis_failed(
                        &format!("no answer within {} ms", inner.config.timeout.as_millis()),
                        asked.elapsed(),
                    ),
                }
            }
            match inner.config.when_down {
                DownPolicy::Closed => {
                    let next = lock(&inner.breaker).next_probe;
                    tokio::time::sleep_until(next).await;
                }
                _ => {
                    let start = inner.local_start();
                    if start > Instant::now() {
                        tokio::time::sleep_until(start).await;
                    }
                    inner.local().acquire(command, priority).await;
                    inner.counters.local_permits.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
    }
}

impl Limiter for RedisLimiter {
    fn acquire(&self, command: &'static str, priority: Priority) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let asked = Instant::now();
            self.permit(command, priority).await;
            metrics::histogram!("ban_limiter_wait_seconds", "priority" => priority.as_str())
                .record(asked.elapsed().as_secs_f64());
        })
    }

    fn throttled(&self, command: &'static str) {
        let inner = self.inner.clone();
        inner.counters.throttled.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            command,
            penalty_ms = THROTTLE_PENALTY.as_millis() as u64,
            "the service answered 60007: pushing the fleet's schedule back"
        );
        tokio::spawn(async move {
            let push = inner.reserve(command, THROTTLE_PENALTY, Priority::Urgent, 0);
            let _ = tokio::time::timeout(inner.config.timeout, push).await;
        });
    }

    fn describe(&self) -> String {
        let s = self.stats();
        match (s.to_local, s.redis_permits) {
            (0, _) => "redis".to_owned(),
            (_, 0) => format!(
                "local (Redis unreachable for {} ms)",
                s.degraded.as_millis()
            ),
            _ => format!("redis→local ({} ms degraded)", s.degraded.as_millis()),
        }
    }
}

#[path = "limiter_fallback.rs"]
mod fallback;

#[cfg(test)]
#[path = "limiter_tests.rs"]
mod tests;
