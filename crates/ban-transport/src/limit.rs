//! The rate-limiter seam: the transport asks a [`Limiter`] before every
//! attempt and does not know which one it has. [`LocalLimiter`] (one
//! process) is the embedded default; `ban-fleet` plugs in one shared
//! through Redis.

use ban_proto::SettingError;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::pace::Pace;

/// A boxed future, as the [`Limiter`] trait returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The client-side rate limit of each command: `per_sec` calls in every
/// `1 s + guard`, evenly spaced.
///
/// The default, [`RateLimit::ceiling`], paces at the service's own 200
/// calls/s, read as 200 in any second and a guard of 10 ms; when the
/// service still answers 60007 (another process, clock jitter), the pace
/// backs off 5% for each burst of them, to two thirds at most, and eases
/// back a step after every 10 s without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Calls per second (per `1 s + guard`), per command.
    pub per_sec: u32,
    /// Calls that may go at once before the rate applies.
    pub burst: u32,
    /// How much longer than a second the window of `per_sec` calls is: the
    /// slack for the calls' differing delays on their way to the service,
    /// whose undocumented window is read at its strictest (never `per_sec`
    /// + 1 in *any* sliding second).
    pub guard: Duration,
}

impl RateLimit {
    /// The service's documented limit: 200 calls/s per command per SDKAppID.
    pub const SERVICE_PER_SEC: u32 = 200;
    /// What a client sends by default: the service's limit.
    pub const DEFAULT_PER_SEC: u32 = RateLimit::SERVICE_PER_SEC;
    /// The default guard: 200 calls in every 1.01 s (198/s).
    ///
    /// Measured against the emulator's strict judge, 10,000 members over
    /// 500 calls: no 60007 beside two busy CPU hogs, 1.01x the floor (see
    /// `docs/operations.md`). The old fixed 190/s took 1.08x.
    pub const DEFAULT_GUARD: Duration = Duration::from_millis(10);

    /// The default: [`RateLimit::SERVICE_PER_SEC`] in every second and
    /// [`RateLimit::DEFAULT_GUARD`], a burst of 1.
    pub const fn ceiling() -> RateLimit {
        RateLimit {
            per_sec: RateLimit::SERVICE_PER_SEC,
            burst: 1,
            guard: RateLimit::DEFAULT_GUARD,
        }
    }

    /// `per_sec` calls per second, evenly spaced (a burst of 1, no guard).
    pub const fn per_second(per_sec: u32) -> RateLimit {
        RateLimit {
            per_sec,
            burst: 1,
            guard: Duration::ZERO,
        }
    }

    /// The same rate, letting `burst` calls go at once.
    pub const fn with_burst(self, burst: u32) -> RateLimit {
        RateLimit { burst, ..self }
    }

    /// The same rate over a window of `1 s + guard`.
    pub const fn with_guard(self, guard: Duration) -> RateLimit {
        RateLimit { guard, ..self }
    }

    /// The time between two calls: `(1 s + guard) / per_sec`.
    pub fn interval(&self) -> Duration {
        (Duration::from_secs(1) + self.guard) / self.per_sec.max(1)
    }

    /// Refuses a zero rate or burst, or a guard of a second or more, naming
    /// the field.
    pub fn check(&self) -> Result<(NonZeroU32, NonZeroU32), SettingError> {
        let per_sec = NonZeroU32::new(self.per_sec).ok_or_else(|| {
            SettingError::new("rate limit per_sec", 0, "at least 1 (or no limit at all)")
        })?;
        let burst = NonZeroU32::new(self.burst)
            .ok_or_else(|| SettingError::new("rate limit burst", 0, "at least 1"))?;
        if self.guard >= Duration::from_secs(1) {
            return Err(SettingError::new(
                "rate limit guard",
                format!("{} ms", self.guard.as_millis()),
                "under 1000 ms",
            ));
        }
        Ok((per_sec, burst))
    }
}

impl Default for RateLimit {
    /// [`RateLimit::ceiling`].
    fn default() -> Self {
        RateLimit::ceiling()
    }
}

/// Decides when a call of a command may go.
///
/// The transport awaits [`Limiter::acquire`] before every attempt (bounded
/// by the call's deadline and abort signal) and reports each 60007 the
/// service still answers with [`Limiter::throttled`].
pub trait Limiter: Send + Sync + 'static {
    /// Resolves when one call of `command` may be sent, serving waiting
    /// callers by `priority` (see [`Priority`]).
    fn acquire(&self, command: &'static str, priority: Priority) -> BoxFuture<'_, ()>;

    /// The service answered 60007 to `command`: slow down.
    fn throttled(&self, command: &'static str) {
        let _ = command;
    }

    /// What this limiter is, for reports (`local`, `redis`, ...).
    fn describe(&self) -> String {
        "local".to_owned()
    }
}

/// One process's limiter: per command, a pace (governor's GCRA, backing
/// off on 60007, see [`RateLimit`]) behind a queue of waiters by priority
/// (FIFO within a priority), so callers get their permits in arrival order
/// within a lane and an urgent caller before the lanes below it (governor
/// alone lets waiters race, and one can starve for seconds behind the
/// others).
pub struct LocalLimiter {
    rate: RateLimit,
    pacers: Mutex<HashMap<&'static str, Arc<Pacer>>>,
}

struct Pacer {
    pace: Pace,
    lanes: Mutex<Lanes>,
}

/// Who waits for the turn to take the next permit.
#[derive(Default)]
struct Lanes {
    /// Whether a caller holds the turn (waits on the GCRA for its permit).
    busy: bool,
    waiting: [VecDeque<oneshot::Sender<()>>; 3],
    /// Permits given since each lane last had one.
    since: [u32; 3],
}

impl Lanes {
    /// The turn goes to `lane`.
    fn give(&mut self, lane: usize) {
        for (l, n) in self.since.iter_mut().enumerate() {
            *n = if l == lane { 0 } else { n.saturating_add(1) };
        }
    }
}

impl Pacer {
    fn lanes(&self) -> std::sync::MutexGuard<'_, Lanes> {
        self.lanes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Passes the turn to the next waiter still waiting, or frees it.
    fn hand_over(&self) {
        let mut lanes = self.lanes();
        loop {
            let waiting = [0, 1, 2].map(|l| !lanes.waiting[l].is_empty());
            let Some(lane) = next_lane(waiting, lanes.since) else {
                lanes.busy = false;
                return;
            };
            if let Some(tx) = lanes.waiting[lane].pop_front() {
                if tx.send(()).is_ok() {
                    lanes.give(lane);
                    return;
                }
            }
        }
    }
}

/// The turn: handed on when dropped, whether the permit came or the caller
/// gave up waiting for it.
struct Turn(Arc<Pacer>);

impl Drop for Turn {
    fn drop(&mut self) {
        self.0.hand_over();
    }
}

/// A caller waiting for the turn: if it gives up after the turn was sent
/// to it, the turn goes on.
struct Waiting {
    pacer: Arc<Pacer>,
    rx: Option<oneshot::Receiver<()>>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(mut rx) = self.rx.take() {
            rx.close();
            if rx.try_recv().is_ok() {
                self.pacer.hand_over();
            }
        }
    }
}

impl LocalLimiter {
    /// A limiter of `rate` per command; refuses a zero rate or burst.
    pub fn new(rate: RateLimit) -> Result<LocalLimiter, SettingError> {
        rate.check()?;
        Ok(LocalLimiter {
            rate,
            pacers: Mutex::new(HashMap::new()),
        })
    }

    /// Calls per second `command` is paced at now: the rate, or less after
    /// 60007s (see [`RateLimit`]).
    pub fn pace(&self, command: &'static str) -> f64 {
        self.pacer(command).pace.per_sec()
    }

    fn pacer(&self, command: &'static str) -> Arc<Pacer> {
        let mut pacers = self.pacers.lock().unwrap_or_else(|p| p.into_inner());
        pacers
            .entry(command)
            .or_insert_with(|| {
                Arc::new(Pacer {
                    pace: Pace::new(self.rate),
                    lanes: Mutex::new(Lanes::default()),
                })
            })
            .clone()
    }
}

impl Limiter for LocalLimiter {
    fn acquire(&self, command: &'static str, priority: Priority) -> BoxFuture<'_, ()> {
        let pacer = self.pacer(command);
        Box::pin(async move {
            let rx = {
                let mut lanes = pacer.lanes();
                if lanes.busy {
                    let (tx, rx) = oneshot::channel();
                    lanes.waiting[priority.lane()].push_back(tx);
                    Some(rx)
                } else {
                    lanes.busy = true;
                    lanes.give(priority.lane());
                    None
                }
            };
            if let Some(rx) = rx {
                let mut waiting = Waiting {
                    pacer: pacer.clone(),
                    rx: Some(rx),
                };
                if let Some(rx) = waiting.rx.as_mut() {
                    // A sender is only dropped with the limiter itself.
                    let _ = rx.await;
                }
                waiting.rx = None;
            }
            let _turn = Turn(pacer.clone());
            pacer.pace.ready().await;
        })
    }

    fn throttled(&self, command: &'static str) {
        let pacer = self.pacer(command);
        if pacer.pace.refused(std::time::Instant::now()) {
            tracing::info!(
                command,
                per_sec = pacer.pace.per_sec(),
                "the service answered 60007: pacing slower"
            );
        }
    }
}

impl fmt::Debug for LocalLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalLimiter")
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

/// How soon a call must go when calls wait for the budget: a waiting
/// urgent permit is served before any waiting normal one, a normal before
/// any bulk one. Every lane spends the same budget; none can exceed it.
///
/// ```
/// use ban_transport::Priority;
///
/// let p: Priority = "urgent".parse()?;
/// assert_eq!(p, Priority::Urgent);
/// assert_eq!(Priority::default(), Priority::Normal);
/// assert!("asap".parse::<Priority>().is_err());
/// # Ok::<(), ban_proto::SettingError>(())
/// ```
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Priority {
    /// A moderator's action: the next free slot.
    Urgent,
    /// An interactive job (`banctl ban`): before any bulk work.
    #[default]
    Normal,
    /// A wave: what is left, in arrival order, and never reserved far ahead.
    Bulk,
}

impl Priority {
    /// Every priority, most urgent first.
    pub const ALL: &'static [Priority] = &[Priority::Urgent, Priority::Normal, Priority::Bulk];

    /// Its name: `urgent`, `normal`, `bulk`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Priority::Urgent => "urgent",
            Priority::Normal => "normal",
            Priority::Bulk => "bulk",
        }
    }

    /// Its lane: 0 urgent, 1 normal, 2 bulk.
    pub const fn lane(self) -> usize {
        match self {
            Priority::Urgent => 0,
            Priority::Normal => 1,
            Priority::Bulk => 2,
        }
    }

    /// How far ahead of now a permit of this priority may be reserved on a
    /// shared schedule ([`URGENT_HORIZON`], [`NORMAL_HORIZON`],
    /// [`BULK_HORIZON`]); beyond it the caller waits unreserved, so that
    /// a more urgent caller arriving later is not queued behind it.
    pub const fn horizon(self) -> Duration {
        match self {
            Priority::Urgent => URGENT_HORIZON,
            Priority::Normal => NORMAL_HORIZON,
            Priority::Bulk => BULK_HORIZON,
        }
    }
}

/// How far ahead an urgent permit may be reserved (20 calls at 200/s): a
/// flood of urgent calls holds at most this much of the schedule, so the
/// floor of the other lanes ([`FLOOR_EVERY`]) is served within it.
pub const URGENT_HORIZON: Duration = Duration::from_millis(100);
/// How far ahead a normal permit may be reserved.
pub const NORMAL_HORIZON: Duration = Duration::from_millis(50);
/// How far ahead a bulk permit may be reserved: what an urgent call may
/// find already reserved ahead of it (5 calls at 200/s).
pub const BULK_HORIZON: Duration = Duration::from_millis(25);
/// The starvation floor: a lane that waits is granted at least one permit
/// in every this many (5% of the budget), whatever the lanes above it ask.
pub const FLOOR_EVERY: u32 = 20;

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Priority {
    type Err = SettingError;
    fn from_str(s: &str) -> Result<Self, SettingError> {
        Priority::ALL
            .iter()
            .copied()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                SettingError::unknown("priority", s, Priority::ALL.iter().map(|p| p.as_str()))
            })
    }
}

/// Which waiting lane gets the next permit: a lane owed its floor (it
/// waited through [`FLOOR_EVERY`]` - 1` permits of others), else the most
/// urgent lane with a waiter. `since[l]` counts the permits granted since
/// lane `l` last had one.
pub fn next_lane(waiting: [bool; 3], since: [u32; 3]) -> Option<usize> {
    for lane in [2, 1] {
        if waiting[lane] && since[lane] >= FLOOR_EVERY - 1 {
            return Some(lane);
        }
    }
    waiting.iter().position(|&w| w)
}
