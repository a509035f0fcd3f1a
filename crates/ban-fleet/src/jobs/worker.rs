//! A worker: reads batches with XREADGROUP, takes over those of silent
//! workers with XAUTOCLAIM, calls the service through the client (and its
//! shared limiter), and records each outcome and its acknowledgement in
//! one atomic step.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ban_facade::{AbortSignal, BulkAction, BulkOptions, BulkReport, Client, ErrorCode, StopKind};
use redis::AsyncCommands;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::queue::{now_ms, JobError, JobQueue, GROUP};

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
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            consumer: format!("worker-{:08x}", fastrand::u32(..)),
            max_in_flight: 64,
            lease: DEFAULT_LEASE,
            max_deliveries: DEFAULT_MAX_DELIVERIES,
            exit_when_idle: false,
            retention: DEFAULT_RETENTION,
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

    /// Refuses settings that make no sense, naming them.
    fn check(&self) -> Result<(), JobError> {
        let bad = |what: &str| {
            Err(JobError::Setting(format!(
                "{what} is 0; it must be above 0"
            )))
        };
        if self.max_in_flight == 0 {
            return bad("max_in_flight");
        }
        if self.max_deliveries == 0 {
            return bad("max_deliveries");
        }
        if self.lease.is_zero() {
            return bad("lease");
        }
        if self.retention.is_zero() {
            return bad("retention");
        }
        Ok(())
    }
    /// Stop when no job has work left.
    pub fn exit_when_idle(mut self, yes: bool) -> Self {
        self.exit_when_idle = yes;
        self
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
}

/// One job as a worker sees it.
#[derive(Clone)]
struct JobView {
    id: String,
    action: String,
    group: String,
    ends_at: u64,
    description: Option<String>,
    abort: AbortSignal,
}

/// A worker of the job queue; takes the facade's client (give it a
/// `RedisLimiter` so every worker shares the budget).
#[derive(Clone)]
pub struct Worker {
    pub(crate) queue: JobQueue,
    client: Client,
    pub(crate) config: WorkerConfig,
    record: Arc<redis::Script>,
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
    /// in-flight window, lease, delivery bound or retention.
    pub fn new(queue: JobQueue, client: Client, config: WorkerConfig) -> Result<Self, JobError> {
        config.check()?;
        Ok(Worker {
            queue,
            client,
            config,
            record: Arc::new(redis::Script::new(include_str!("record.lua"))),
        })
    }

    /// Works until `stop` is raised (or, with `exit_when_idle`, until no job
    /// has work left). In-flight batches finish first.
    pub async fn run(&self, stop: AbortSignal) -> Result<WorkerStats, JobError> {
        let slots = Arc::new(Semaphore::new(self.config.max_in_flight));
        let mut tasks: JoinSet<Result<BatchOutcome, JobError>> = JoinSet::new();
        let mut views: HashMap<String, JobView> = HashMap::new();
        let mut stats = WorkerStats::default();
        let mut conn = self.queue.conn.clone();
        loop {
            while let Some(done) = tasks.try_join_next() {
                stats.add(done.map_err(|e| JobError::Corrupt {
                    id: String::new(),
                    what: format!("a batch task failed: {e}"),
                })??);
            }
            if stop.is_aborted() {
                break;
            }
            let _: () = conn
                .zadd(self.queue.workers_key(), &self.config.consumer, now_ms())
                .await?;
            let ids: Vec<String> = conn.smembers(self.queue.jobs_key()).await?;
            let mut work_left = false;
            let mut fetched = 0;
            let mut depth = 0u64;
            for id in ids {
                let meta = match self.queue.meta(&id).await {
                    Ok(m) => m,
                    Err(JobError::NoSuchJob(_)) => {
                        // Expired after its retention.
                        let _: () = conn.srem(self.queue.jobs_key(), &id).await?;
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let view = views
                    .entry(id.clone())
                    .or_insert_with(|| JobView::from(&id, &meta));
                let state = meta.get("state").map(String::as_str).unwrap_or("");
                if state == "running" && view.abort.is_aborted() {
                    // Resumed after a pause: a fresh signal for its batches.
                    *view = JobView::from(&id, &meta);
                }
                if state != "running" {
                    // Paused or cancelled: batches in flight stop dispatching.
                    view.abort.abort();
                    continue;
                }
                let num = |k: &str| meta.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                let status_left = num("total").saturating_sub(
                    conn.scard::<_, u64>(&self.queue.keys(&id).done).await?
                        + conn.hlen::<_, u64>(&self.queue.keys(&id).failed).await?,
                );
                depth += status_left;
                if status_left > 0 {
                    work_left = true;
                }
                if num("not_before_ms") > now_ms() {
                    continue;
                }
                let free = slots.available_permits();
                if free == 0 {
                    continue;
                }
                let keys = self.queue.keys(&id);
                let mut entries = self.reclaim(&keys.stream, free).await?;
                if !entries.is_empty() {
                    let _: () = conn
                        .hincr(&keys.hash, "redeliveries", entries.len() as u64)
                        .await?;
                    metrics::counter!("ban_redeliveries_total").increment(entries.len() as u64);
                    stats.redeliveries += entries.len() as u64;
                }
                if entries.len() < free {
                    entries.extend(self.read_new(&keys.stream, free - entries.len()).await?);
                }
                for (entry, members) in entries {
                    fetched += 1;
                    let permit =
                        slots
                            .clone()
                            .acquire_owned()
                            .await
                            .map_err(|e| JobError::Corrupt {
                                id: id.clone(),
                                what: e.to_string(),
                            })?;
                    let me = self.clone();
                    let view = view.clone();
                    tasks.spawn(async move {
                        let _permit = permit;
                        me.batch(&view, &entry, &members).await
                    });
                }
            }
            metrics::gauge!("ban_queue_depth").set(depth as f64);
            if !work_left && tasks.is_empty() && self.config.exit_when_idle {
                break;
            }
            if fetched == 0 {
                tokio::select! {
                    Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                        stats.add(done.map_err(|e| JobError::Corrupt { id: String::new(), what: e.to_string() })??);
                    }
                    () = tokio::time::sleep(Duration::from_millis(200)) => {}
                    () = stop.aborted() => {}
                }
            }
        }
        while let Some(done) = tasks.join_next().await {
            stats.add(done.map_err(|e| JobError::Corrupt {
                id: String::new(),
                what: e.to_string(),
            })??);
        }
        let _: () = conn
            .zrem(self.queue.workers_key(), &self.config.consumer)
            .await?;
        Ok(stats)
    }

    /// One delivery of one batch.
    async fn batch(
        &self,
        job: &JobView,
        entry: &str,
        members: &[String],
    ) -> Result<BatchOutcome, JobError> {
        let keys = self.queue.keys(&job.id);
        let mut conn = self.queue.conn.clone();
        let state: Option<String> = conn.hget(&keys.hash, "state").await?;
        if state.as_deref() != Some("running") {
            return Ok(BatchOutcome::default());
        }
        let deliveries = self.deliveries(&keys.stream, entry).await?;
        let action = match job.action.as_str() {
            "unban" => BulkAction::Unban,
            _ => BulkAction::BanUntil {
                ends_at: job.ends_at,
                description: job.description.as_deref(),
            },
        };
        let options = BulkOptions::new().abort_on(job.abort.clone());
        // Renew the lease while the batch is worked on (a slow call, its
        // retries), so no other worker takes a batch that is alive here.
        let renew = self.renew_lease(keys.stream.clone(), entry.to_owned());
        let bulk = self.client.bulk(action, &job.group, members, options);
        let result = tokio::select! {
            r = bulk => r,
            () = renew => unreachable!("renewing never ends"),
        };
        let report = match result {
            Ok(r) => r,
            Err(e) => {
                // The batch itself is invalid (it was validated at submission).
                let failed: Vec<_> = members
                    .iter()
                    .map(|m| serde_json::json!([m, null, e.to_string(), 0]))
                    .collect();
                self.record(job, entry, true, &[], &failed, (0, 0, 0))
                    .await?;
                return Ok(BatchOutcome {
                    finished: 1,
                    ..Default::default()
                });
            }
        };
        metrics::counter!("ban_calls_total").increment(report.calls);
        metrics::counter!("ban_retries_total").increment(report.retries);
        metrics::counter!("ban_rate_limited_total").increment(report.rate_limited);
        let counts = (report.calls, report.retries, report.rate_limited);
        if let Some(stop) = report
            .stopped
            .as_ref()
            .filter(|s| s.kind != StopKind::Interrupted)
        {
            let reason = stop.to_string();
            let state: Option<String> = conn.hget(&keys.hash, "state").await?;
            if state.as_deref() == Some("running") {
                tracing::warn!(job = %job.id, %reason, "pausing the job");
                self.queue.set_state(&job.id, "paused", &reason).await?;
            }
            job.abort.abort();
        }
        let retryable = report.failed.iter().any(|f| {
            f.code
                .is_none_or(|c| ErrorCode::from_code(c).retry_class().is_retryable())
        });
        // Stopped (paused, cancelled), or failed for a reason that may pass
        // and not yet delivered as often as allowed: record what is done and
        // leave the batch pending for a redelivery.
        let pending = if report.stopped.is_some() {
            Some("paused")
        } else if retryable && deliveries < self.config.max_deliveries {
            Some("retry")
        } else {
            None
        };
        if let Some(outcome) = pending {
            metrics::counter!("ban_batches_total", "outcome" => outcome).increment(1);
            self.record(job, entry, false, &report.succeeded, &[], counts)
                .await?;
            return Ok(BatchOutcome {
                calls: report.calls,
                retried: 1,
                ..Default::default()
            });
        }
        let failed = failures(&report, retryable.then_some(deliveries));
        let outcome = if failed.is_empty() { "done" } else { "failed" };
        metrics::counter!("ban_batches_total", "outcome" => outcome).increment(1);
        metrics::counter!("ban_members_total", "outcome" => "done")
            .increment(report.succeeded.len() as u64);
        metrics::counter!("ban_members_total", "outcome" => "failed")
            .increment(failed.len() as u64);
        self.record(job, entry, true, &report.succeeded, &failed, counts)
            .await?;
        let state: Option<String> = conn.hget(&keys.hash, "state").await?;
        if state.as_deref() == Some("done") {
            self.queue.retain(&job.id, self.config.retention).await?;
        }
        Ok(BatchOutcome {
            calls: report.calls,
            finished: 1,
            ..Default::default()
        })
    }

    async fn record(
        &self,
        job: &JobView,
        entry: &str,
        ack: bool,
        done: &[String],
        failed: &[serde_json::Value],
        (calls, retries, rate_limited): (u64, u64, u64),
    ) -> Result<(), JobError> {
        let keys = self.queue.keys(&job.id);
        let mut conn = self.queue.conn.clone();
        let _: i64 = self
            .record
            .key(&keys.stream)
            .key(&keys.hash)
            .key(&keys.done)
            .key(&keys.failed)
            .arg(GROUP)
            .arg(entry)
            .arg(if ack { "1" } else { "0" })
            .arg(serde_json::to_string(done).unwrap_or_else(|_| "[]".into()))
            .arg(serde_json::to_string(failed).unwrap_or_else(|_| "[]".into()))
            .arg(calls)
            .arg(retries)
            .arg(rate_limited)
            .arg(now_ms())
            .invoke_async(&mut conn)
            .await?;
        Ok(())
    }
}

/// The failed members of a finished batch, as the record script takes
/// them; after the delivery bound, the reason says so.
fn failures(report: &BulkReport, after: Option<u64>) -> Vec<serde_json::Value> {
    let mut out: Vec<serde_json::Value> = report
        .failed
        .iter()
        .map(|f| {
            let reason = match after {
                Some(n) => format!("failed in each of {n} deliveries; last: {}", f.reason),
                None => f.reason.to_string(),
            };
            serde_json::json!([f.member, f.code, reason, f.random])
        })
        .collect();
    out.extend(
        report
            .not_attempted
            .iter()
            .map(|m| serde_json::json!([m, null, "not attempted: the batch stopped early", 0])),
    );
    out
}

impl JobView {
    fn from(id: &str, meta: &HashMap<String, String>) -> Self {
        JobView {
            id: id.to_owned(),
            action: meta.get("action").cloned().unwrap_or_default(),
            group: meta.get("group").cloned().unwrap_or_default(),
            ends_at: meta
                .get("ends_at")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            description: meta.get("description").cloned(),
            abort: AbortSignal::new(),
        }
    }
}

#[derive(Debug, Default)]
struct BatchOutcome {
    finished: u64,
    retried: u64,
    calls: u64,
}

impl WorkerStats {
    fn add(&mut self, b: BatchOutcome) {
        self.batches += b.finished;
        self.retried += b.retried;
        self.calls += b.calls;
    }
}
