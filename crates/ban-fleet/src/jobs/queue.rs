//! The job queue: a job is a hash (its spec as JSON, its state, counters),
//! a stream of batches of at most 20 members (500 for mutes; one consumer group), a set of
//! the members done and a hash of those failed (member → JSON record).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use ban_facade::{
    validate_members, Action, FailedMember, JobSpec, JobState, JournalContents, PriorState,
    StopKind, StopReason,
};
use redis::streams::{StreamPendingReply, StreamRangeReply};
use redis::AsyncCommands;

use super::clock::{now_ms, redis_time_ms};
use super::config::DEFAULT_LEASE;
use super::error::JobError;
use super::keys::{JobKeys, Layout, GROUP, MEMBERS_FIELD};
use super::live;
use super::meta::{JobMeta, F};
use super::prior;
use super::report::{JobReport, JobStatus};

/// Members queued per pipelined round trip when submitting (a multiple of
/// both batch sizes, 20 and 500).
const SUBMIT_PIPELINE_MEMBERS: usize = 40_000;

/// Ban jobs on Redis Streams for one app: submit, follow, report, cancel.
/// Cheap to clone; use it from a request handler, a CLI or a worker.
///
/// A queue belongs to one SDKAppID: its keys are laid out under that app
/// (`PREFIX:app:SDKAPPID:…`), so the jobs of two apps on one Redis never
/// meet, and a worker serves only the queue of its own app.
#[derive(Clone)]
pub struct JobQueue {
    conn: crate::conn::Conn,
    layout: Layout,
    admin: Option<Arc<str>>,
    allow_volatile: bool,
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobQueue")
            .field("prefix", &self.layout.prefix())
            .field("sdkappid", &self.layout.sdkappid())
            .finish_non_exhaustive()
    }
}

/// A new job id: 64 random bits, as 16 hex digits.
fn new_id() -> String {
    format!("{:016x}", fastrand::u64(..))
}

impl JobQueue {
    /// Connects to Redis (one node by its `redis://`, `rediss://` or
    /// `unix://` URL, or a Cluster: [`crate::RedisAddr`]) for the jobs of
    /// app `sdkappid`; every key starts with `prefix`. Checks Redis
    /// first: a password missing or refused, a Cluster node, a database
    /// that does not exist are [`JobError::Setup`] in words, and so is
    /// Redis being unreachable ([`crate::RedisSetupError::is_unreachable`]).
    pub async fn connect(
        redis: impl Into<crate::RedisAddr>,
        prefix: &str,
        sdkappid: u64,
    ) -> Result<JobQueue, JobError> {
        crate::config::check_key_prefix(prefix)?;
        // A report of a million-member job reads megabytes: a response may
        // take seconds (the client's default gives up after half of one).
        let mut conn = crate::conn::Conn::open(
            &redis.into(),
            Duration::from_secs(5),
            Duration::from_secs(60),
            2,
        )
        .await?;
        let queue = JobQueue {
            conn: conn.clone(),
            layout: Layout::new(prefix, sdkappid),
            admin: None,
            allow_volatile: false,
        };
        crate::setup::probe(&mut conn, &queue.layout.jobs()).await?;
        Ok(queue)
    }

    /// Records `admin` as who submitted the queue's jobs.
    pub fn admin(mut self, admin: &str) -> Self {
        self.admin = Some(admin.into());
        self
    }

    /// Accepts a Redis that does not log writes: a restart of it then loses
    /// every job submitted since its last snapshot (default: refused).
    pub fn allow_volatile(mut self, yes: bool) -> Self {
        self.allow_volatile = yes;
        self
    }

    /// The app the queue's jobs are for.
    pub fn sdkappid(&self) -> u64 {
        self.layout.sdkappid()
    }

    /// A connection to the queue's Redis (cheap: a handle of one).
    pub(crate) fn conn(&self) -> crate::conn::Conn {
        self.conn.clone()
    }

    /// Where the queue's keys live.
    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The keys of job `id`.
    pub(crate) fn keys(&self, id: &str) -> JobKeys {
        self.layout.job(id)
    }

    /// Validates and de-duplicates every member first (nothing is queued
    /// if any is bad; the same rules and messages as a bulk job), checks
    /// that Redis logs writes (unless [`JobQueue::allow_volatile`]), stores
    /// the job and queues its batches (of its action's
    /// [`Action::batch_max`]: 20 for bans, 500 for mutes), pipelined. Returns the
    /// job's id.
    pub async fn submit<S: AsRef<str>>(
        &self,
        spec: &JobSpec,
        members: &[S],
    ) -> Result<String, JobError> {
        self.submit_with_prior(spec, members, None).await
    }

    /// [`JobQueue::submit`], keeping with the job the members' state
    /// before it (`Client::read_prior`, read by the submitter before any
    /// worker can take a batch), so [`JobQueue::undo_source`] can give it
    /// back exactly.
    pub async fn submit_with_prior<S: AsRef<str>>(
        &self,
        spec: &JobSpec,
        members: &[S],
        prior: Option<&PriorState>,
    ) -> Result<String, JobError> {
        spec.validate()?;
        let (members, duplicates) = validate_members(members)?;
        if !self.allow_volatile {
            crate::setup::check_durable(&mut self.conn.clone()).await?;
        }
        let spec_json = serde_json::to_string(spec).map_err(|source| JobError::Encode {
            what: "the job's spec",
            source,
        })?;
        let mut conn = self.conn.clone();
        // The id is taken with HSETNX: two submissions never share one.
        let (id, keys) = loop {
            let id = new_id();
            let keys = self.keys(&id);
            let created: bool = conn.hset_nx(&keys.hash, F::SPEC, &spec_json).await?;
            if created {
                break (id, keys);
            }
        };
        let mut fields: Vec<(&str, String)> = vec![
            (F::SDKAPPID, self.sdkappid().to_string()),
            (F::TOTAL, members.len().to_string()),
            (F::DUPLICATES, duplicates.to_string()),
            (F::STATE, JobState::Running.to_string()),
            (F::CREATED_MS, now_ms().to_string()),
        ];
        if let Some(admin) = &self.admin {
            fields.push((F::ADMIN, admin.to_string()));
        }
        if let Some(undone) = spec.action.kind().undoes() {
            // A late ban (mute) batch must not undo this unban (unmute):
            // cancel the group's ban (mute) jobs and start once the
            // longest lease a worker holds a batch for has run out.
            let cancelled = self
                .cancel_jobs(&spec.group, undone, spec.action.kind(), &id)
                .await?;
            if cancelled > 0 {
                let lease = live::longest_lease(&mut conn, &self.layout)
                    .await?
                    .unwrap_or(DEFAULT_LEASE);
                let lease = u64::try_from(lease.as_millis()).unwrap_or(u64::MAX);
                fields.push((F::NOT_BEFORE_MS, (now_ms() + lease).to_string()));
            }
        }
        if let Some(prior) = prior {
            prior::store(&mut conn, &keys, prior).await?;
            fields.push((F::PRIOR_READ_CALLS, prior.calls.to_string()));
        }
        let _: () = conn.hset_multiple(&keys.hash, &fields).await?;
        let _: () = conn
            .xgroup_create_mkstream(&keys.stream, GROUP, "0")
            .await?;
        let batch_max = spec.action.kind().batch_max();
        for chunk in members.chunks(SUBMIT_PIPELINE_MEMBERS) {
            let mut pipe = redis::pipe();
            for batch in chunk.chunks(batch_max) {
                let text: Vec<&str> = batch.iter().map(|m| m.as_str()).collect();
                pipe.xadd(&keys.stream, "*", &[(MEMBERS_FIELD, text.join("\n"))])
                    .ignore();
            }
            let _: () = pipe.query_async(&mut conn).await?;
        }
        // Workers find it only once every batch is queued.
        let _: () = conn.sadd(self.layout.jobs(), &id).await?;
        tracing::info!(job = %id, total = members.len(), "job submitted");
        Ok(id)
    }

    /// The ids of every job workers look at.
    pub(crate) async fn job_ids(&self) -> Result<Vec<String>, JobError> {
        let mut conn = self.conn.clone();
        Ok(conn.smembers(self.layout.jobs()).await?)
    }

    /// Cancels the running or paused `action` jobs of `group`, for the job
    /// `by` (an `undoer`) that undoes them; returns how many.
    async fn cancel_jobs(
        &self,
        group: &str,
        action: Action,
        undoer: Action,
        by: &str,
    ) -> Result<usize, JobError> {
        let mut n = 0;
        for other in self.job_ids().await? {
            let Ok(meta) = self.meta(&other).await else {
                continue;
            };
            if !meta.state.is_final()
                && meta.spec.group == group
                && meta.spec.action.kind() == action
            {
                let stop = StopReason::new(
                    StopKind::Cancelled,
                    format!("cancelled by {undoer} job {by}"),
                );
                self.set_state(&other, JobState::Cancelled, Some(&stop))
                    .await?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Sets a job's state, with why it stopped (paused or cancelled).
    pub(crate) async fn set_state(
        &self,
        id: &str,
        state: JobState,
        stopped: Option<&StopReason>,
    ) -> Result<(), JobError> {
        self.set_state_by(id, state, stopped, None).await
    }

    /// Sets a job's state, with why it stopped and which worker saw why.
    pub(crate) async fn set_state_by(
        &self,
        id: &str,
        state: JobState,
        stopped: Option<&StopReason>,
        by: Option<&str>,
    ) -> Result<(), JobError> {
        let mut conn = self.conn.clone();
        let hash = self.keys(id).hash;
        let mut pipe = redis::pipe();
        pipe.atomic().hset(&hash, F::STATE, state.as_str()).ignore();
        match by {
            Some(by) => pipe.hset(&hash, F::PAUSED_BY, by).ignore(),
            None => pipe.hdel(&hash, F::PAUSED_BY).ignore(),
        };
        match stopped {
            Some(stop) => {
                let json = serde_json::to_string(stop).unwrap_or_default();
                pipe.hset(&hash, F::STOPPED, json).ignore();
            }
            None => {
                pipe.hdel(&hash, F::STOPPED).ignore();
            }
        }
        if state.is_final() {
            pipe.hset(&hash, F::FINISHED_MS, now_ms()).ignore();
        }
        let _: () = pipe.query_async(&mut conn).await?;
        Ok(())
    }

    /// Stops workers from taking the job's batches; the report marks the
    /// members not done `not_attempted`. A job that is done or cancelled
    /// already is [`JobError::State`].
    pub async fn cancel(&self, id: &str) -> Result<(), JobError> {
        let meta = self.meta(id).await?;
        if meta.state.is_final() {
            return Err(JobError::State {
                id: id.to_owned(),
                state: meta.state,
                wanted: "running or paused to be cancelled",
            });
        }
        let stop = StopReason::new(StopKind::Cancelled, "cancelled by an operator");
        self.set_state(id, JobState::Cancelled, Some(&stop)).await
    }

    /// Lets workers take a paused job's batches again (after fixing what
    /// paused it: the key, the group). A job that is not paused is
    /// [`JobError::State`].
    pub async fn resume(&self, id: &str) -> Result<(), JobError> {
        let meta = self.meta(id).await?;
        if meta.state != JobState::Paused {
            return Err(JobError::State {
                id: id.to_owned(),
                state: meta.state,
                wanted: "paused to be resumed",
            });
        }
        self.set_state(id, JobState::Running, None).await
    }

    /// A job's hash, typed.
    pub(crate) async fn meta(&self, id: &str) -> Result<JobMeta, JobError> {
        let mut conn = self.conn.clone();
        let h: HashMap<String, String> = conn.hgetall(self.keys(id).hash).await?;
        if h.is_empty() {
            return Err(JobError::NoSuchJob(id.to_owned()));
        }
        JobMeta::from_hash(id, &h)
    }

    /// The job's status.
    pub async fn status(&self, id: &str) -> Result<JobStatus, JobError> {
        let meta = self.meta(id).await?;
        self.status_of(id, &meta).await
    }

    async fn status_of(&self, id: &str, meta: &JobMeta) -> Result<JobStatus, JobError> {
        let keys = self.keys(id);
        let mut conn = self.conn.clone();
        let done: u64 = conn.scard(&keys.done).await?;
        let failed: u64 = conn.hlen(&keys.failed).await?;
        let pending: StreamPendingReply = conn.xpending(&keys.stream, GROUP).await?;
        let now = redis_time_ms(&mut conn).await?;
        let live_workers = live::count_live(&mut conn, &self.layout, now).await?;
        Ok(JobStatus {
            id: id.to_owned(),
            state: meta.state,
            stopped: meta.stopped.clone(),
            paused_by: meta.paused_by.clone(),
            action: meta.spec.action.kind(),
            priority: meta.spec.priority.unwrap_or(ban_facade::Priority::Bulk),
            group: meta.spec.group.clone(),
            total: meta.total,
            done,
            failed,
            pending: meta.total.saturating_sub(done + failed),
            in_flight: pending.count() as u64,
            live_workers,
            calls: meta.calls,
            rate: meta.calls_per_sec(),
            redeliveries: meta.redeliveries,
        })
    }

    /// The job's report: every member once, done, failed or not attempted,
    /// in the shape of a local job's report.
    pub async fn report(&self, id: &str) -> Result<JobReport, JobError> {
        let meta = self.meta(id).await?;
        let status = self.status_of(id, &meta).await?;
        let keys = self.keys(id);
        let mut conn = self.conn.clone();
        let done: HashSet<String> = conn.smembers(&keys.done).await?;
        let failed: HashMap<String, String> = conn.hgetall(&keys.failed).await?;
        let entries: StreamRangeReply = conn.xrange_all(&keys.stream).await?;
        let batches = entries
            .ids
            .iter()
            .map(|e| e.get::<String>(MEMBERS_FIELD).unwrap_or_default());
        let mut failures = HashMap::with_capacity(failed.len());
        for (member, json) in failed {
            let f: FailedMember = serde_json::from_str(&json).map_err(|e| JobError::Corrupt {
                id: id.to_owned(),
                what: format!("a failure record is unreadable: {e}"),
            })?;
            failures.insert(member, f);
        }
        Ok(JobReport::assemble(
            id,
            &meta,
            status.live_workers,
            batches,
            &done,
            failures,
        ))
    }

    /// What an undo of the job needs: its action, group and end, the
    /// members done, and their state before it (none when the job was
    /// submitted without it).
    pub async fn undo_source(&self, id: &str) -> Result<JournalContents, JobError> {
        let meta = self.meta(id).await?;
        let keys = self.keys(id);
        let mut conn = self.conn.clone();
        let done: HashSet<String> = conn.smembers(&keys.done).await?;
        let prior = prior::read(&mut conn, &keys).await?;
        Ok(JournalContents::new(
            meta.spec.action.kind(),
            meta.spec.group.clone(),
            meta.total as usize,
            format!("job:{id}"),
            meta.spec.action.ends_at(),
            done,
            prior,
        ))
    }

    /// Deletes a job as a whole (its hash, stream and member sets), never by
    /// trimming the stream, which could drop batches not yet acknowledged.
    pub async fn delete(&self, id: &str) -> Result<(), JobError> {
        let keys = self.keys(id);
        let mut conn = self.conn.clone();
        // One slot for the job's keys; the jobs set is apart (Cluster).
        let _: () = conn.del(&keys.all()).await?;
        let _: () = conn.srem(self.layout.jobs(), id).await?;
        Ok(())
    }

    /// Forgets a job that is gone from Redis.
    pub(crate) async fn forget(&self, id: &str) -> Result<(), JobError> {
        let mut conn = self.conn.clone();
        let _: () = conn.srem(self.layout.jobs(), id).await?;
        Ok(())
    }

    /// Sets every key of a finished job to expire after `retention`.
    pub(crate) async fn retain(&self, id: &str, retention: Duration) -> Result<(), JobError> {
        let keys = self.keys(id);
        let ms = retention.as_millis() as i64;
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        for k in keys.all() {
            pipe.pexpire(k, ms).ignore();
        }
        let _: () = pipe.query_async(&mut conn).await?;
        Ok(())
    }
}
