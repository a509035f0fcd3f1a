//! A worker: the facade's one job engine ([`ban_facade::engine::drive`]) over the
//! Redis store ([`super::store::RedisStore`]). The engine keeps the window
//! of batches in flight and runs each with the job's [`ban_facade::engine::JobRun`];
//! the store polls the streams, renews leases and records outcomes.

use std::time::Duration;

use ban_facade::engine::{drive, DriveOptions};
use ban_facade::{AbortSignal, Client, DEFAULT_MAX_IN_FLIGHT};

use ban_proto::SettingError;

use super::queue::{JobError, JobQueue};
use super::store::RedisStore;
use super::upkeep::{upkeep, Leases};

/// How long a delivered batch may stay unacknowledged before another
/// worker takes it over: above a call's 30 s deadline, so a live worker's
/// batch is never taken from it.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(45);
/// Deliveries of a batch that keeps failing before its members are
/// reported failed.
pub const DEFAULT_MAX_DELIVERIES: u64 = 5;
/// How long a finished job is kept for its report.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 86_400);

/// How a worker runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WorkerConfig {
    /// Its name in the consumer group (default: random).
    pub consumer: String,
    /// Batches processed at once.
    pub max_in_flight: usize,
    /// See [`DEFAULT_LEASE`].
    pub lease: Duration,
    /// See [`DEFAULT_MAX_DELIVERIES`].
    pub max_deliveries: u64,
    /// Stop when no job has work left.
    pub exit_when_idle: bool,
    /// See [`DEFAULT_RETENTION`].
    pub retention: Duration,
    /// The host it runs on, named when it pauses a job (default: the
    /// machine's host name).
    pub host: String,
}

/// This machine's host name, or `unknown`.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            consumer: format!("worker-{:016x}", fastrand::u64(..)),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            lease: DEFAULT_LEASE,
            max_deliveries: DEFAULT_MAX_DELIVERIES,
            exit_when_idle: false,
            retention: DEFAULT_RETENTION,
            host: host_name(),
        }
    }
}

impl WorkerConfig {
    /// Batches processed at once (0 is refused by [`Worker::new`]).
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n;
        self
    }
    /// How long a batch may stay unacknowledged before it is taken over.
    pub fn lease(mut self, d: Duration) -> Self {
        self.lease = d;
        self
    }
    /// Deliveries before a failing batch is reported failed (0 is refused
    /// by [`Worker::new`]).
    pub fn max_deliveries(mut self, n: u64) -> Self {
        self.max_deliveries = n;
        self
    }
    /// Stop when no job has work left.
    pub fn exit_when_idle(mut self, yes: bool) -> Self {
        self.exit_when_idle = yes;
        self
    }
    /// Its name in the consumer group.
    pub fn consumer(mut self, name: impl Into<String>) -> Self {
        self.consumer = name.into();
        self
    }

    /// Refuses settings that make no sense, naming them.
    fn check(&self) -> Result<(), JobError> {
        let zero =
            |name: &'static str| Err(JobError::Setting(SettingError::new(name, 0, "above 0")));
        if self.max_in_flight == 0 {
            return zero("max_in_flight");
        }
        if self.max_deliveries == 0 {
            return zero("max_deliveries");
        }
        if self.lease.is_zero() {
            return zero("lease");
        }
        if self.retention.is_zero() {
            return zero("retention");
        }
        if self.consumer.is_empty() {
            return Err(JobError::Setting(SettingError::new(
                "consumer",
                "empty",
                "a name of 1 byte or more",
            )));
        }
        Ok(())
    }
}

/// What a worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStats {
    /// Batches finished (acknowledged).
    pub batches: u64,
    /// Batches left pending for a redelivery.
    pub retried: u64,
    /// Batches taken over from a silent worker or redelivered.
    pub redeliveries: u64,
    /// Calls made.
    pub calls: u64,
    /// Jobs this worker saw paused while it served them.
    pub paused_jobs: u64,
}

/// A worker of the job queue; takes the facade's client (give it a
/// `RedisLimiter` so every worker shares the budget).
#[derive(Clone)]
pub struct Worker {
    pub(crate) queue: JobQueue,
    pub(crate) client: Client,
    pub(crate) config: WorkerConfig,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker of `queue` calling through `client`; refuses a zero
    /// in-flight window, lease, delivery bound or retention, and a client
    /// of another app than the queue's (it would ban in the wrong app).
    pub fn new(queue: JobQueue, client: Client, config: WorkerConfig) -> Result<Self, JobError> {
        config.check()?;
        let app = client.transport().sdkappid();
        if app != queue.sdkappid() {
            return Err(JobError::Setting(SettingError::new(
                "the worker's SDKAppID",
                app,
                format!("the queue's, {}", queue.sdkappid()),
            )));
        }
        Ok(Worker {
            queue,
            client,
            config,
        })
    }

    /// Works until `stop` is raised (or, with `exit_when_idle`, until no job
    /// has work left). Batches in flight finish first.
    pub async fn run(&self, stop: AbortSignal) -> Result<WorkerStats, JobError> {
        let leases = Leases::default();
        let mut store = RedisStore::new(self.clone(), leases.clone());
        let upkeep = tokio::spawn(upkeep(
            self.queue.clone(),
            self.config.consumer.clone(),
            leases,
            self.config.lease,
        ));
        // Each poll costs Redis round trips: ask for a quarter window at a
        // time (the rest of the window keeps the budget busy meanwhile).
        let options = DriveOptions::new(self.config.max_in_flight)
            .shutdown_on(stop)
            .refill_at(self.config.max_in_flight / 4);
        let result = drive(&mut store, options).await;
        upkeep.abort();
        let stats = store.finish().await;
        result.map(|()| stats)
    }
}
