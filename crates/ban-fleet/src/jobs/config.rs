//! How a worker runs: its settings, checked before it starts, and the
//! fleet's patience with a job whose calls fail.

use std::time::Duration;

use ban_facade::engine::Patience;
use ban_facade::DEFAULT_MAX_IN_FLIGHT;
use ban_proto::SettingError;

use super::error::JobError;

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
    /// Batches processed at once (0 is refused by [`Worker::new`](crate::Worker::new)).
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
    /// by [`Worker::new`](crate::Worker::new)).
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
    pub(crate) fn check(&self) -> Result<(), JobError> {
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

/// How long a fleet job may go unanswered before it pauses for every
/// worker.
pub const FLEET_QUIET: Duration = Duration::from_secs(10);

/// A fleet job's patience: it pauses only when twice the in-flight window
/// of attempts in a row failed (never fewer than the 3 a person's job
/// bears) and none was answered for [`FLEET_QUIET`]. A brownout that drops
/// even most connections never pauses it; an endpoint that is down does.
pub fn fleet_patience(max_in_flight: usize) -> Patience {
    let n = u32::try_from(max_in_flight.saturating_mul(2))
        .unwrap_or(u32::MAX)
        .max(3);
    Patience::new(n, n, FLEET_QUIET)
}
