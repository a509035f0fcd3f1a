//! The Redis store of the one engine: batches come from the jobs' streams
//! (new ones with XREADGROUP, those of silent workers with XAUTOCLAIM),
//! outcomes go through one Lua script that records and acknowledges.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ban_facade::{
    Batch, BatchOutcome, FailedMember, JobRun, JobState, MemberAccount, MemberList, Patience,
    Polled, ProgressStore, StopKind, StopReason,
};
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamClaimOptions, StreamId,
    StreamPendingCountReply, StreamReadOptions, StreamReadReply,
};
use redis::AsyncCommands;

use super::queue::{now_ms, JobError, JobQueue, GROUP, MEMBERS_FIELD};
use super::worker::{Worker, WorkerStats};

/// What the store knows a batch by.
#[derive(Debug)]
pub(crate) struct Ticket {
    job: String,
    entry: String,
    deliveries: u64,
}

/// The stream entries this worker holds, by stream: their leases are
/// renewed while they are worked on.
#[derive(Debug, Clone, Default)]
pub(crate) struct Leases(Arc<Mutex<HashMap<String, HashSet<String>>>>);

impl Leases {
    fn add(&self, stream: &str, entry: &str) {
        let mut held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        held.entry(stream.to_owned())
            .or_default()
            .insert(entry.to_owned());
    }

    fn remove(&self, stream: &str, entry: &str) {
        let mut held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(set) = held.get_mut(stream) {
            set.remove(entry);
            if set.is_empty() {
                held.remove(stream);
            }
        }
    }

    /// Claims every held entry again each `every` (JUSTID: its idle time
    /// restarts, its delivery count does not grow), so no other worker
    /// takes a batch alive here. Never ends.
    pub(crate) async fn renew(self, queue: JobQueue, consumer: String, every: Duration) {
        let mut conn = queue.conn.clone();
        loop {
            tokio::time::sleep(every).await;
            let held: Vec<(String, Vec<String>)> = {
                let held = self.0.lock().unwrap_or_else(|p| p.into_inner());
                held.iter()
                    .map(|(s, e)| (s.clone(), e.iter().cloned().collect()))
                    .collect()
            };
            for (stream, entries) in held {
                let claim = conn.xclaim_options::<_, _, _, _, _, redis::Value>(
                    &stream,
                    GROUP,
                    &consumer,
                    0,
                    &entries,
                    StreamClaimOptions::default().with_justid(),
                );
                if let Err(e) = tokio::time::timeout(every, claim)
                    .await
                    .unwrap_or_else(|_| {
                        Err(redis::RedisError::from((
                            redis::ErrorKind::Io,
                            "lease renewal timed out",
                        )))
                    })
                {
                    tracing::warn!(%stream, error = %e, "renewing leases failed; retrying");
                }
            }
        }
    }
}

/// The Redis store: one [`JobRun`] (one failure monitor) per job this
/// worker serves.
pub(crate) struct RedisStore {
    worker: Worker,
    runs: HashMap<String, Arc<JobRun>>,
    leases: Leases,
    stats: WorkerStats,
    record: redis::Script,
}

impl RedisStore {
    pub(crate) fn new(worker: Worker) -> Self {
        RedisStore {
            worker,
            runs: HashMap::new(),
            leases: Leases::default(),
            stats: WorkerStats::default(),
            record: redis::Script::new(include_str!("record.lua")),
        }
    }

    pub(crate) fn leases(&self) -> Leases {
        self.leases.clone()
    }

    /// Leaves the live set; returns what the worker did.
    pub(crate) async fn finish(self) -> WorkerStats {
        let mut conn = self.worker.queue.conn.clone();
        let left: Result<(), _> = conn
            .zrem(
                self.worker.queue.workers_key(),
                &self.worker.config.consumer,
            )
            .await;
        if let Err(e) = left {
            tracing::warn!(error = %e, "could not leave the live-worker set");
        }
        self.stats
    }

    /// The run of a running job: the one this worker has, or a new one (a
    /// resumed job starts with a fresh monitor). None while a stopped run
    /// waits for its batches to record the pause.
    fn run_of(&mut self, id: &str, meta: &super::meta::JobMeta) -> Option<Arc<JobRun>> {
        if let Some(run) = self.runs.get(id) {
            return (!run.is_stopped()).then(|| run.clone());
        }
        let patience = Patience::fleet(self.worker.config.max_in_flight);
        match JobRun::new(&self.worker.client, meta.spec.clone(), patience) {
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
            };
            match accounts
                .map_err(|e| e.to_string())
                .and_then(|a| MemberList::new(a).map_err(|e| e.to_string()))
            {
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
                    self.script(&ticket, true, &[], &failed, (0, 0, 0)).await?;
                }
            }
        }
        Ok(())
    }

    /// The record script.
    async fn script(
        &self,
        ticket: &Ticket,
        ack: bool,
        done: &[String],
        failed: &[FailedMember],
        (calls, retries, rate_limited): (u64, u64, u64),
    ) -> Result<i64, JobError> {
        let keys = self.worker.queue.keys(&ticket.job);
        let mut conn = self.worker.queue.conn.clone();
        let encode = |e: serde_json::Error| JobError::Corrupt {
            id: ticket.job.clone(),
            what: format!("an outcome cannot be encoded: {e}"),
        };
        Ok(self
            .record
            .key(&keys.stream)
            .key(&keys.hash)
            .key(&keys.done)
            .key(&keys.failed)
            .arg(GROUP)
            .arg(&ticket.entry)
            .arg(if ack { "1" } else { "0" })
            .arg(serde_json::to_string(done).map_err(encode)?)
            .arg(serde_json::to_string(failed).map_err(encode)?)
            .arg(calls)
            .arg(retries)
            .arg(rate_limited)
            .arg(now_ms())
            .arg(JobState::Running.as_str())
            .arg(JobState::Done.as_str())
            .invoke_async(&mut conn)
            .await?)
    }

    /// Pauses the job for every worker: `run` stopped for a reason of the
    /// job's own.
    async fn pause(&mut self, id: &str, stop: &StopReason) -> Result<(), JobError> {
        let meta = self.worker.queue.meta(id).await?;
        if meta.state == JobState::Running {
            tracing::warn!(job = %id, kind = %stop.kind, reason = %stop.reason, "pausing the job");
            self.worker
                .queue
                .set_state(id, JobState::Paused, Some(stop))
                .await?;
            self.stats.paused_jobs += 1;
        }
        self.runs.remove(id);
        Ok(())
    }
}

impl ProgressStore for RedisStore {
    type Ticket = Ticket;
    type Error = JobError;

    async fn poll(&mut self, max: usize) -> Result<Polled<Ticket>, JobError> {
        let queue = self.worker.queue.clone();
        let config = self.worker.config.clone();
        let mut conn = queue.conn.clone();
        let _: () = conn
            .zadd(queue.workers_key(), &config.consumer, now_ms())
            .await?;
        let mut out = Vec::new();
        let mut work_left = false;
        let mut depth = 0u64;
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
            if meta.state != JobState::Running {
                // Paused or cancelled: this worker's batches of it stop.
                if let Some(run) = self.runs.remove(&id) {
                    let kind = if meta.state == JobState::Paused {
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
            if meta.not_before_ms > now_ms() || out.len() >= max {
                continue;
            }
            let Some(run) = self.run_of(&id, &meta) else {
                continue;
            };
            let free = max - out.len();
            let claimed: StreamAutoClaimReply = conn
                .xautoclaim_options(
                    &keys.stream,
                    GROUP,
                    &config.consumer,
                    config.lease.as_millis() as u64,
                    "0-0",
                    StreamAutoClaimOptions::default().count(free),
                )
                .await?;
            let mut entries = Vec::with_capacity(free);
            for e in claimed.claimed {
                let pending: StreamPendingCountReply = conn
                    .xpending_count(&keys.stream, GROUP, &e.id, &e.id, 1)
                    .await?;
                let deliveries = pending.ids.first().map_or(1, |p| p.times_delivered as u64);
                entries.push((e, deliveries));
            }
            if !entries.is_empty() {
                let n = entries.len() as u64;
                let _: () = conn
                    .hincr(&keys.hash, super::meta::F::REDELIVERIES, n)
                    .await?;
                metrics::counter!("ban_redeliveries_total").increment(n);
                self.stats.redeliveries += n;
            }
            if entries.len() < free {
                let options = StreamReadOptions::default()
                    .group(GROUP, &config.consumer)
                    .count(free - entries.len());
                let read: Option<StreamReadReply> = conn
                    .xread_options(&[&keys.stream], &[">"], &options)
                    .await?;
                for key in read.map(|r| r.keys).unwrap_or_default() {
                    entries.extend(key.ids.into_iter().map(|e| (e, 1)));
                }
            }
            self.batches(&id, &run, &keys.stream, entries, &mut out)
                .await?;
        }
        metrics::gauge!("ban_queue_depth").set(depth as f64);
        Ok(if !out.is_empty() {
            Polled::Batches(out)
        } else if !work_left && config.exit_when_idle {
            Polled::Exhausted
        } else {
            Polled::Idle
        })
    }

    async fn record(
        &mut self,
        ticket: Ticket,
        job: &JobRun,
        outcome: BatchOutcome,
    ) -> Result<(), JobError> {
        let keys = self.worker.queue.keys(&ticket.job);
        self.leases.remove(&keys.stream, &ticket.entry);
        metrics::counter!("ban_calls_total").increment(outcome.calls);
        metrics::counter!("ban_retries_total").increment(outcome.retries);
        metrics::counter!("ban_rate_limited_total").increment(outcome.rate_limited);
        self.stats.calls += outcome.calls;
        let counts = (outcome.calls, outcome.retries, outcome.rate_limited);
        // Only the job's current run pauses it: a run replaced after a
        // resume, or stopped because the job was paused, does not.
        let current = self
            .runs
            .get(&ticket.job)
            .is_some_and(|r| std::ptr::eq(Arc::as_ptr(r), job));
        if let Some(stop) = job.stopped() {
            if current && !matches!(stop.kind, StopKind::Interrupted | StopKind::Cancelled) {
                self.pause(&ticket.job, &stop).await?;
            }
        }
        let retryable = outcome.has_retryable_failure();
        // Stopped, or failed for a reason that may pass and not yet
        // delivered as often as allowed: record what is done and leave the
        // batch pending for a redelivery.
        let stopped = job.is_stopped() || !outcome.not_attempted.is_empty();
        if stopped || (retryable && ticket.deliveries < self.worker.config.max_deliveries) {
            let label = if stopped { "stopped" } else { "retry" };
            metrics::counter!("ban_batches_total", "outcome" => label).increment(1);
            self.script(&ticket, false, &outcome.done, &[], counts)
                .await?;
            self.stats.retried += 1;
            return Ok(());
        }
        let mut failed = outcome.failed;
        if retryable {
            for f in &mut failed {
                f.reason = format!(
                    "failed in each of {} deliveries; last: {}",
                    ticket.deliveries, f.reason
                )
                .into();
            }
        }
        let label = if failed.is_empty() { "done" } else { "failed" };
        metrics::counter!("ban_batches_total", "outcome" => label).increment(1);
        metrics::counter!("ban_members_total", "outcome" => "done")
            .increment(outcome.done.len() as u64);
        metrics::counter!("ban_members_total", "outcome" => "failed")
            .increment(failed.len() as u64);
        let recorded = self
            .script(&ticket, true, &outcome.done, &failed, counts)
            .await?;
        self.stats.batches += 1;
        match recorded {
            -1 => {
                tracing::error!(job = %ticket.job, entry = %ticket.entry, done = ?outcome.done, failed = failed.len(), "the job is gone from Redis (restarted without persistence, or deleted); this batch's outcome cannot be recorded");
                self.runs.remove(&ticket.job);
            }
            2 => {
                self.worker
                    .queue
                    .retain(&ticket.job, self.worker.config.retention)
                    .await?;
                self.runs.remove(&ticket.job);
            }
            _ => {}
        }
        Ok(())
    }

    fn shutdown(&mut self) {
        // Batches in flight finish and are recorded: interrupting them
        // would leave them pending until their lease runs out.
    }
}
