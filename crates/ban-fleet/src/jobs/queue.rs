//! The job queue: a job is a hash, a stream of batches of at most 20
//! members (one consumer group), and the members done and failed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use ban_facade::{validate_members, InputError};
use ban_proto::MemberList;
use redis::aio::ConnectionManager;
use redis::AsyncCommands;

pub use super::report::{JobReport, JobStatus};

/// The consumer group every worker reads through.
pub(crate) const GROUP: &str = "workers";
/// Batches queued per pipelined round trip when submitting.
const SUBMIT_PIPELINE: usize = 2_000;

/// Why a job call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The input was refused before anything was queued.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Redis refused or could not be reached.
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// No such job (never submitted, or deleted after its report was read).
    #[error("job {0} does not exist (never submitted, or its report was read and it was deleted)")]
    NoSuchJob(String),
    /// A worker setting makes no sense; the text names it.
    #[error("{0}")]
    Setting(String),
    /// The job's data is not what this version wrote.
    #[error("job {id}: {what}")]
    Corrupt {
        /// The job.
        id: String,
        /// What is wrong.
        what: String,
    },
}

/// What a job does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobAction {
    /// Ban until an absolute time (Unix seconds): every batch, whenever and
    /// wherever it is sent, converges on that end.
    Ban {
        /// When the bans end, Unix seconds.
        ends_at: u64,
        /// Why, shown to the members.
        description: Option<String>,
    },
    /// Lift bans. Submitting one cancels the group's running ban jobs, and
    /// its batches are served only after one lease, when no batch of theirs
    /// can still be in flight: a late ban never undoes the unban.
    Unban,
}

/// The keys of one job.
#[derive(Debug, Clone)]
pub(crate) struct JobKeys {
    pub(crate) hash: String,
    pub(crate) stream: String,
    pub(crate) done: String,
    pub(crate) failed: String,
    pub(crate) lastfail: String,
}

/// Ban jobs on Redis Streams: submit, follow, report, cancel. Cheap to
/// clone; use it from a request handler, a CLI or a worker.
#[derive(Clone)]
pub struct JobQueue {
    pub(crate) conn: ConnectionManager,
    pub(crate) prefix: Arc<str>,
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobQueue")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl JobQueue {
    /// Connects to Redis (`redis://`, `rediss://` or `unix://`); every key
    /// starts with `prefix`.
    pub async fn connect(redis_url: &str, prefix: &str) -> Result<JobQueue, JobError> {
        let client = redis::Client::open(redis_url)?;
        // A report of a million-member job reads megabytes: a response may
        // take seconds (the client's default gives up after half of one).
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(60)));
        let conn = ConnectionManager::new_with_config(client, config).await?;
        Ok(JobQueue {
            conn,
            prefix: prefix.into(),
        })
    }

    pub(crate) fn jobs_key(&self) -> String {
        format!("{}:jobs", self.prefix)
    }

    pub(crate) fn workers_key(&self) -> String {
        format!("{}:workers", self.prefix)
    }

    pub(crate) fn keys(&self, id: &str) -> JobKeys {
        let base = format!("{}:job:{id}", self.prefix);
        JobKeys {
            stream: format!("{base}:stream"),
            done: format!("{base}:done"),
            failed: format!("{base}:failed"),
            lastfail: format!("{base}:lastfail"),
            hash: base,
        }
    }

    /// Validates and de-duplicates every member first (nothing is queued
    /// if any is bad; the same rules and messages as a bulk job), stores the
    /// job and queues its batches of at most 20, pipelined. Returns the
    /// job's id.
    pub async fn submit<S: AsRef<str>>(
        &self,
        group: &str,
        action: JobAction,
        members: &[S],
    ) -> Result<String, JobError> {
        let group = ban_proto::GroupId::new(group.to_owned()).map_err(InputError::from)?;
        if let JobAction::Ban {
            description: Some(d),
            ..
        } = &action
        {
            ban_proto::Description::new(d.as_str()).map_err(InputError::from)?;
        }
        let (members, duplicates) = validate_members(members)?;
        let id = format!("{:x}{:04x}", now_ms(), fastrand::u16(..));
        let keys = self.keys(&id);
        let mut conn = self.conn.clone();
        let mut fields: Vec<(&str, String)> = vec![
            ("group", group.as_str().to_owned()),
            ("total", members.len().to_string()),
            ("duplicates", duplicates.to_string()),
            ("state", "running".into()),
            ("created_ms", now_ms().to_string()),
        ];
        match &action {
            JobAction::Ban {
                ends_at,
                description,
            } => {
                fields.push(("action", "ban".into()));
                fields.push(("ends_at", ends_at.to_string()));
                if let Some(d) = description {
                    fields.push(("description", d.clone()));
                }
            }
            JobAction::Unban => {
                fields.push(("action", "unban".into()));
                // A late ban batch must not undo this unban: cancel the
                // group's ban jobs and start after one lease.
                let cancelled = self.cancel_ban_jobs(group.as_str(), &id).await?;
                if cancelled > 0 {
                    let lease = crate::jobs::worker::DEFAULT_LEASE.as_millis() as u64;
                    fields.push(("not_before_ms", (now_ms() + lease).to_string()));
                }
            }
        }
        let _: () = conn.hset_multiple(&keys.hash, &fields).await?;
        let _: () = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&keys.stream)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await?;
        for chunk in members.chunks(MemberList::MAX * SUBMIT_PIPELINE) {
            let mut pipe = redis::pipe();
            for batch in chunk.chunks(MemberList::MAX) {
                let text: Vec<&str> = batch.iter().map(|m| m.as_str()).collect();
                pipe.xadd(&keys.stream, "*", &[("m", text.join("\n"))])
                    .ignore();
            }
            let _: () = pipe.query_async(&mut conn).await?;
        }
        // Workers find it only once every batch is queued.
        let _: () = conn.sadd(self.jobs_key(), &id).await?;
        tracing::info!(job = %id, total = members.len(), "job submitted");
        Ok(id)
    }

    /// Cancels the running or paused ban jobs of `group`; returns how many.
    async fn cancel_ban_jobs(&self, group: &str, by: &str) -> Result<usize, JobError> {
        let mut conn = self.conn.clone();
        let ids: Vec<String> = conn.smembers(self.jobs_key()).await?;
        let mut n = 0;
        for other in ids {
            let h: HashMap<String, String> = conn.hgetall(self.keys(&other).hash).await?;
            let live = matches!(
                h.get("state").map(String::as_str),
                Some("running" | "paused")
            );
            if live
                && h.get("group").map(String::as_str) == Some(group)
                && h.get("action").map(String::as_str) == Some("ban")
            {
                self.set_state(&other, "cancelled", &format!("cancelled by unban job {by}"))
                    .await?;
                n += 1;
            }
        }
        Ok(n)
    }

    pub(crate) async fn set_state(
        &self,
        id: &str,
        state: &str,
        reason: &str,
    ) -> Result<(), JobError> {
        let mut conn = self.conn.clone();
        let hash = self.keys(id).hash;
        let _: () = conn
            .hset_multiple(&hash, &[("state", state), ("reason", reason)])
            .await?;
        if state != "paused" {
            let _: () = conn.hset(&hash, "finished_ms", now_ms()).await?;
        }
        Ok(())
    }

    /// Stops workers from taking the job's batches; the report marks the
    /// members not done `not_attempted`.
    pub async fn cancel(&self, id: &str) -> Result<(), JobError> {
        let h = self.meta(id).await?;
        if matches!(
            h.get("state").map(String::as_str),
            Some("running" | "paused")
        ) {
            self.set_state(id, "cancelled", "cancelled").await?;
        }
        Ok(())
    }

    /// Lets workers take a paused job's batches again (after fixing what
    /// paused it: the key, the group).
    pub async fn resume(&self, id: &str) -> Result<(), JobError> {
        let h = self.meta(id).await?;
        if h.get("state").map(String::as_str) == Some("paused") {
            let mut conn = self.conn.clone();
            let _: () = conn
                .hset_multiple(self.keys(id).hash, &[("state", "running"), ("reason", "")])
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn meta(&self, id: &str) -> Result<HashMap<String, String>, JobError> {
        let mut conn = self.conn.clone();
        let h: HashMap<String, String> = conn.hgetall(self.keys(id).hash).await?;
        if h.is_empty() {
            return Err(JobError::NoSuchJob(id.to_owned()));
        }
        Ok(h)
    }

    /// The job's status.
    pub async fn status(&self, id: &str) -> Result<JobStatus, JobError> {
        let h = self.meta(id).await?;
        let keys = self.keys(id);
        let mut conn = self.conn.clone();
        let num = |k: &str| h.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let done: u64 = conn.scard(&keys.done).await?;
        let failed: u64 = conn.hlen(&keys.failed).await?;
        let pending_summary: redis::Value = redis::cmd("XPENDING")
            .arg(&keys.stream)
            .arg(GROUP)
            .query_async(&mut conn)
            .await?;
        let in_flight = match pending_summary {
            redis::Value::Array(v) => match v.first() {
                Some(redis::Value::Int(n)) => *n as u64,
                _ => 0,
            },
            _ => 0,
        };
        let live_workers: u64 = conn
            .zcount(self.workers_key(), now_ms().saturating_sub(5_000), "+inf")
            .await?;
        let total = num("total");
        let end = match num("finished_ms") {
            0 => now_ms(),
            t => t,
        };
        let secs = (end.saturating_sub(num("created_ms")) as f64 / 1000.0).max(0.001);
        let reason = h.get("reason").filter(|r| !r.is_empty()).cloned();
        Ok(JobStatus {
            id: id.to_owned(),
            state: h.get("state").cloned().unwrap_or_default(),
            reason,
            action: h.get("action").cloned().unwrap_or_default(),
            group: h.get("group").cloned().unwrap_or_default(),
            total,
            done,
            failed,
            pending: total.saturating_sub(done + failed),
            in_flight,
            live_workers,
            calls: num("calls"),
            rate: num("calls") as f64 / secs,
            redeliveries: num("redeliveries"),
        })
    }

    /// The job's report: every member once, done, failed or not attempted.
    pub async fn report(&self, id: &str) -> Result<JobReport, JobError> {
        let status = self.status(id).await?;
        let h = self.meta(id).await?;
        let keys = self.keys(id);
        let mut conn = self.conn.clone();
        let done: HashSet<String> = conn.smembers(&keys.done).await?;
        let failed: BTreeMap<String, String> = conn.hgetall(&keys.failed).await?;
        let entries: redis::streams::StreamRangeReply = conn.xrange_all(&keys.stream).await?;
        let mut in_order = Vec::with_capacity(status.total as usize);
        for e in &entries.ids {
            if let Some(redis::Value::BulkString(b)) = e.map.get("m") {
                let text = String::from_utf8_lossy(b);
                in_order.extend(text.split('\n').map(str::to_owned));
            }
        }
        let mut report_done = Vec::new();
        let mut not_attempted = Vec::new();
        for m in in_order {
            if done.contains(&m) {
                report_done.push(m);
            } else if !failed.contains_key(&m) {
                not_attempted.push(m);
            }
        }
        let failed = failed
            .values()
            .filter_map(|v| serde_json::from_str::<serde_json::Value>(v).ok())
            .map(|f| {
                serde_json::json!({"member": f[0], "code": f[1], "reason": f[2], "random": f[3]})
            })
            .collect();
        let num = |k: &str| h.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let end = match num("finished_ms") {
            0 => now_ms(),
            t => t,
        };
        Ok(JobReport {
            done: report_done,
            failed,
            not_attempted,
            duplicates: num("duplicates"),
            retries: num("retries"),
            rate_limited: num("rate_limited"),
            elapsed: Duration::from_millis(end.saturating_sub(num("created_ms"))),
            status,
        })
    }

    /// Deletes a job as a whole (its hash, stream and member sets), never by
    /// trimming the stream, which could drop batches not yet acknowledged.
    pub async fn delete(&self, id: &str) -> Result<(), JobError> {
        let keys = self.keys(id);
        let mut conn = self.conn.clone();
        let _: () = redis::pipe()
            .atomic()
            .del(&[
                &keys.hash,
                &keys.stream,
                &keys.done,
                &keys.failed,
                &keys.lastfail,
            ])
            .srem(self.jobs_key(), id)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    /// Sets every key of a finished job to expire after `retention`.
    pub(crate) async fn retain(&self, id: &str, retention: Duration) -> Result<(), JobError> {
        let keys = self.keys(id);
        let ms = retention.as_millis() as i64;
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        for k in [
            &keys.hash,
            &keys.stream,
            &keys.done,
            &keys.failed,
            &keys.lastfail,
        ] {
            pipe.pexpire(k, ms).ignore();
        }
        let _: () = pipe.query_async(&mut conn).await?;
        Ok(())
    }
}
