//! The Redis store of the one engine: batches come from the jobs' streams
//! (new ones with XREADGROUP; those of workers gone silent with XCLAIM, at
//! once; any left idle past the lease with XAUTOCLAIM), outcomes go through
//! one Lua script that records and acknowledges. A Redis error never ends
//! the worker: polling waits it out, and an outcome is recorded again with
//! backoff until Redis takes it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use ban_facade::engine::{Batch, BatchOutcome, JobRun, Polled, ProgressStore};
use ban_facade::{Client, FailedMember, JobState, MemberAccount, Priority, StopKind, StopReason};
use redis::streams::StreamId;
use redis::AsyncCommands;

use super::claims;
use super::clock::{now_ms, redis_time_ms};
use super::config::{fleet_patience, WorkerConfig};
use super::error::JobError;
use super::judge::{may_be_the_workers, Quarantine, Verdict};
use super::keys::MEMBERS_FIELD;
use super::live;
use super::meta::{JobMeta, F};
use super::queue::JobQueue;
use super::record::{Counts, Delivery, Recorded, Recorder};
use super::upkeep::Leases;
use crate::setup::Backoff;

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

/// What the store knows a batch by.
#[derive(Debug)]
pub(crate) struct Ticket {
    job: String,
    entry: String,
    deliveries: u64,
    /// When this worker took it (ms, this host's clock).
    taken_ms: u64,
}

/// The Redis store: one [`JobRun`] (one failure monitor) per job this
/// worker serves.
pub(crate) struct RedisStore {
    queue: JobQueue,
    client: Client,
    config: WorkerConfig,
    runs: HashMap<String, Arc<JobRun>>,
    quarantine: Quarantine,
    leases: Leases,
    stats: WorkerStats,
    recorder: Recorder,
    /// Since when Redis has been failing, while it is.
    outage: Option<Instant>,
}

impl RedisStore {
    /// The store of a worker of `queue` calling through `client`, holding
    /// its batches' `leases`.
    pub(crate) fn new(
        queue: JobQueue,
        client: Client,
        config: WorkerConfig,
        leases: Leases,
    ) -> Self {
        RedisStore {
            queue,
            client,
            config,
            runs: HashMap::new(),
            quarantine: Quarantine::default(),
            leases,
            stats: WorkerStats::default(),
            recorder: Recorder::new(),
            outage: None,
        }
    }

    fn me(&self) -> &str {
        &self.config.consumer
    }

    /// Leaves the live set; returns what the worker did.
    pub(crate) async fn finish(self) -> WorkerStats {
        let mut conn = self.queue.conn();
        let left = live::leave(&mut conn, self.queue.layout(), self.me()).await;
        if let Err(e) = left {
            tracing::warn!(error = %e, "could not leave the live-worker set");
        }
        self.stats
    }

    /// Logs an outage once, when it starts.
    fn redis_failed(&mut self, e: &JobError) {
        if self.outage.is_none() {
            self.outage = Some(Instant::now());
            tracing::warn!(error = %ban_facade::error_chain(e), "Redis fails: this worker waits and retries with backoff; no batch is lost");
        }
    }

    /// Logs the end of an outage, with its length.
    fn redis_ok(&mut self) {
        if let Some(since) = self.outage.take() {
            tracing::warn!(
                outage_ms = since.elapsed().as_millis() as u64,
                "Redis answers again: the worker goes on"
            );
        }
    }

    /// The run of a running job: the one this worker has, or a new one (a
    /// resumed job starts with a fresh monitor). None while a stopped run
    /// waits for its batches to record the pause.
    fn run_of(&mut self, id: &str, meta: &JobMeta) -> Option<Arc<JobRun>> {
        if let Some(run) = self.runs.get(id) {
            return (!run.is_stopped()).then(|| run.clone());
        }
        let patience = fleet_patience(self.config.max_in_flight);
        // A fleet job is a wave unless its submitter said otherwise.
        let mut spec = meta.spec.clone();
        spec.priority.get_or_insert(Priority::Bulk);
        match JobRun::new(&self.client, spec, patience) {
            Ok(run) => {
                let run = Arc::new(run);
                self.runs.insert(id.to_owned(), run.clone());
                Some(run)
            }
            Err(e) => {
                tracing::error!(job = %id, error = %e, "the job's spec is invalid; skipping it");
                None
            }
        }
    }

    /// Turns stream entries into batches, or records at once those whose
    /// members are not valid accounts (never written by `submit`).
    async fn batches(
        &mut self,
        id: &str,
        run: &Arc<JobRun>,
        stream: &str,
        entries: Vec<(StreamId, u64)>,
        out: &mut Vec<Batch<Ticket>>,
    ) -> Result<(), JobError> {
        for (entry, deliveries) in entries {
            let text: String = entry.get(MEMBERS_FIELD).unwrap_or_default();
            let accounts: Result<Vec<_>, _> = text
                .split('\n')
                .map(|m| MemberAccount::new(m.to_owned()))
                .collect();
            let ticket = Ticket {
                job: id.to_owned(),
                entry: entry.id.clone(),
                deliveries,
                taken_ms: now_ms(),
            };
            let max = run.spec().action.kind().batch_max();
            match accounts.map_err(|e| e.to_string()).and_then(|a| {
                if a.len() > max {
                    Err(format!("it has {} members; at most {max}", a.len()))
                } else {
                    Ok(a)
                }
            }) {
                Ok(members) => {
                    self.leases.add(stream, &entry.id);
                    out.push(Batch::new(ticket, run.clone(), members));
                }
                Err(why) => {
                    tracing::error!(job = %id, entry = %entry.id, %why, "a batch is unreadable; failing its members");
                    let reason: Arc<str> = format!("the batch is unreadable: {why}").into();
                    let failed = text
                        .split('\n')
                        .map(|m| FailedMember::new(m, None, reason.clone(), 0))
                        .collect::<Vec<_>>();
                    self.script(&ticket, true, &[], &failed, Counts::default())
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Records a delivery of `ticket`'s batch through the record script.
    async fn script(
        &self,
        ticket: &Ticket,
        ack: bool,
        done: &[String],
        failed: &[FailedMember],
        counts: Counts,
    ) -> Result<Recorded, JobError> {
        let delivery = Delivery::new(
            &ticket.entry,
            ticket.taken_ms,
            self.me(),
            ack,
            done,
            failed,
            counts,
        )?;
        let keys = self.queue.keys(&ticket.job);
        self.recorder
            .record(&mut self.queue.conn(), &keys, &delivery)
            .await
    }

    /// Pauses the job for every worker, naming this worker as who saw why.
    async fn pause(&mut self, id: &str, stop: &StopReason) -> Result<(), JobError> {
        let meta = self.queue.meta(id).await?;
        if meta.state == JobState::Running {
            let by = format!("{}@{}", self.me(), self.config.host);
            tracing::warn!(job = %id, kind = %stop.kind, reason = %stop.reason, by = %by, "pausing the job");
            self.queue
                .set_state_by(id, JobState::Paused, Some(stop), Some(&by))
                .await?;
            self.stats.paused_jobs += 1;
        }
        self.runs.remove(id);
        self.quarantine.clear(id);
        Ok(())
    }

    /// A failure that may be this worker's: stop serving if another worker
    /// of the job succeeds, pause the job if none does (or none is alive).
    async fn judge(&mut self, id: &str, stop: &StopReason) -> Result<(), JobError> {
        let meta = self.queue.meta(id).await?;
        let mut conn = self.queue.conn();
        let now = redis_time_ms(&mut conn).await?;
        let live = live::live_workers(&mut conn, self.queue.layout(), now).await?;
        let others_live = live.iter().any(|w| w != self.me());
        let me = self.config.consumer.clone();
        match self
            .quarantine
            .judge(id, stop, &me, &meta, now, others_live)
        {
            Verdict::StopServing => {
                tracing::error!(job = %id, kind = %stop.kind, reason = %stop.reason, "other workers of the job succeed where this one is refused: this worker stops serving; the job goes on");
                Err(JobError::Quarantined {
                    job: id.to_owned(),
                    reason: stop.clone(),
                })
            }
            Verdict::Pause => self.pause(id, stop).await,
            Verdict::Wait => Ok(()),
        }
    }

    async fn poll_inner(&mut self, max: usize) -> Result<Polled<Ticket>, JobError> {
        let queue = self.queue.clone();
        let config = self.config.clone();
        let mut conn = queue.conn();
        let now = redis_time_ms(&mut conn).await?;
        let live = live::live_workers(&mut conn, queue.layout(), now).await?;
        let mut out = Vec::new();
        let mut work_left = false;
        let mut depth = 0u64;
        // Jobs waiting to learn whose the failure is.
        for (id, stop) in self.quarantine.suspects() {
            self.judge(&id, &stop).await?;
        }
        for id in queue.job_ids().await? {
            let meta = match queue.meta(&id).await {
                Ok(m) => m,
                Err(JobError::NoSuchJob(_)) => {
                    if self.runs.remove(&id).is_some() {
                        tracing::error!(job = %id, "the job is gone from Redis while this worker served it (Redis restarted without persistence, or the job was deleted); its members not yet recorded are lost");
                    }
                    queue.forget(&id).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if meta.sdkappid != queue.sdkappid() {
                tracing::error!(job = %id, job_app = meta.sdkappid, worker_app = queue.sdkappid(), "a job of another app is in this app's queue; not serving it");
                continue;
            }
            if meta.state != JobState::Running {
                // Paused or cancelled: this worker's batches of it stop.
                if let Some(run) = self.runs.remove(&id) {
                    let kind = if meta.state == JobState::Paused {
                        self.stats.paused_jobs += 1;
                        StopKind::Interrupted
                    } else {
                        StopKind::Cancelled
                    };
                    run.stop(
                        meta.stopped
                            .clone()
                            .unwrap_or_else(|| StopReason::new(kind, meta.state.as_str())),
                    );
                }
                self.quarantine.clear(&id);
                continue;
            }
            let keys = queue.keys(&id);
            let (done, failed): (u64, u64) = redis::pipe()
                .scard(&keys.done)
                .hlen(&keys.failed)
                .query_async(&mut conn)
                .await?;
            let left = meta.total.saturating_sub(done + failed);
            depth += left;
            work_left |= left > 0;
            if meta.not_before_ms > now || out.len() >= max {
                continue;
            }
            let Some(run) = self.run_of(&id, &meta) else {
                continue;
            };
            let free = max - out.len();
            let me = config.consumer.as_str();
            let mut entries = claims::take_over(&mut conn, &keys.stream, me, &live, free).await?;
            if entries.len() < free {
                let left = free - entries.len();
                entries.extend(
                    claims::past_lease(&mut conn, &keys.stream, me, config.lease, left).await?,
                );
            }
            if !entries.is_empty() {
                let n = entries.len() as u64;
                let _: () = conn.hincr(&keys.hash, F::REDELIVERIES, n).await?;
                metrics::counter!("ban_redeliveries_total").increment(n);
                self.stats.redeliveries += n;
            }
            if entries.len() < free {
                let left = free - entries.len();
                entries.extend(claims::new_entries(&mut conn, &keys.stream, me, left).await?);
            }
            self.batches(&id, &run, &keys.stream, entries, &mut out)
                .await?;
        }
        metrics::gauge!("ban_queue_depth").set(depth as f64);
        Ok(if !out.is_empty() {
            Polled::Batches(out)
        } else if !work_left && self.quarantine.is_empty() && config.exit_when_idle {
            Polled::Exhausted
        } else {
            Polled::Idle
        })
    }

    async fn record_inner(
        &mut self,
        ticket: &Ticket,
        job: &JobRun,
        outcome: &BatchOutcome,
    ) -> Result<(), JobError> {
        let counts = Counts {
            calls: outcome.calls,
            retries: outcome.retries,
            rate_limited: outcome.rate_limited,
            permit_wait_ms: u64::try_from(outcome.permit_wait.as_millis()).unwrap_or(u64::MAX),
        };
        // Only the job's current run pauses it: a run replaced after a
        // resume, or stopped because the job was paused, does not.
        let current = self
            .runs
            .get(&ticket.job)
            .is_some_and(|r| std::ptr::eq(Arc::as_ptr(r), job));
        if let Some(stop) = job.stopped() {
            if current {
                match stop.kind {
                    StopKind::Interrupted | StopKind::Cancelled => {}
                    k if may_be_the_workers(k) => self.judge(&ticket.job, &stop).await?,
                    _ => self.pause(&ticket.job, &stop).await?,
                }
            }
        }
        let retryable = outcome.has_retryable_failure();
        // Stopped, or failed for a reason that may pass and not yet
        // delivered as often as allowed: record what is done and leave the
        // batch pending for a redelivery.
        let stopped = job.is_stopped() || !outcome.not_attempted.is_empty();
        if stopped || (retryable && ticket.deliveries < self.config.max_deliveries) {
            self.script(ticket, false, &outcome.done, &[], counts)
                .await?;
            let label = if stopped { "stopped" } else { "retry" };
            metrics::counter!("ban_batches_total", "outcome" => label).increment(1);
            self.stats.retried += 1;
            return Ok(());
        }
        let mut failed = outcome.failed.clone();
        if retryable {
            for f in &mut failed {
                f.reason = format!(
                    "failed in each of {} deliveries; last: {}",
                    ticket.deliveries, f.reason
                )
                .into();
            }
        }
        let recorded = self
            .script(ticket, true, &outcome.done, &failed, counts)
            .await?;
        let label = if failed.is_empty() { "done" } else { "failed" };
        metrics::counter!("ban_batches_total", "outcome" => label).increment(1);
        metrics::counter!("ban_members_total", "outcome" => "done")
            .increment(outcome.done.len() as u64);
        metrics::counter!("ban_members_total", "outcome" => "failed")
            .increment(failed.len() as u64);
        self.stats.batches += 1;
        match recorded {
            Recorded::Gone => {
                tracing::error!(job = %ticket.job, entry = %ticket.entry, done = ?outcome.done, failed = failed.len(), "the job is gone from Redis (restarted without persistence, or deleted); this batch's outcome cannot be recorded");
                self.runs.remove(&ticket.job);
            }
            Recorded::Finished => {
                self.queue
                    .retain(&ticket.job, self.config.retention)
                    .await?;
                self.runs.remove(&ticket.job);
            }
            Recorded::Counted | Recorded::Repeated => {}
        }
        Ok(())
    }
}

impl ProgressStore for RedisStore {
    type Ticket = Ticket;
    type Error = JobError;

    async fn poll(&mut self, max: usize) -> Result<Polled<Ticket>, JobError> {
        match self.poll_inner(max).await {
            Ok(p) => {
                self.redis_ok();
                Ok(p)
            }
            Err(e @ JobError::Quarantined { .. }) => Err(e),
            Err(e) => {
                self.redis_failed(&e);
                Ok(Polled::Idle)
            }
        }
    }

    async fn record(
        &mut self,
        ticket: Ticket,
        job: &JobRun,
        outcome: BatchOutcome,
    ) -> Result<(), JobError> {
        let keys = self.queue.keys(&ticket.job);
        metrics::counter!("ban_calls_total").increment(outcome.calls);
        metrics::counter!("ban_retries_total").increment(outcome.retries);
        metrics::counter!("ban_rate_limited_total").increment(outcome.rate_limited);
        self.stats.calls += outcome.calls;
        let mut backoff = Backoff::default();
        // An outcome is never dropped: Redis down, it is recorded again
        // (the script counts a batch once) until Redis takes it.
        loop {
            match self.record_inner(&ticket, job, &outcome).await {
                Ok(()) => {
                    self.redis_ok();
                    break;
                }
                Err(e @ JobError::Quarantined { .. }) => return Err(e),
                Err(e @ JobError::Redis(_)) => {
                    self.redis_failed(&e);
                    backoff.wait().await;
                }
                Err(e) => {
                    tracing::error!(job = %ticket.job, entry = %ticket.entry, error = %ban_facade::error_chain(&e), "this batch's outcome cannot be recorded");
                    break;
                }
            }
        }
        self.leases.remove(&keys.stream, &ticket.entry);
        Ok(())
    }

    fn shutdown(&mut self) {
        // Batches in flight finish and are recorded: interrupting them
        // would leave them pending until their lease runs out.
    }
}
