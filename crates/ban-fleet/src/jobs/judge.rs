//! Whose failure is it: a worker refused for its credentials, its admin,
//! its network or its CA stops serving when other workers of the job
//! succeed (the job goes on), and pauses the job for everyone when none
//! does; and a worker gone silent loses its batches to the live ones.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use ban_facade::{JobState, StopKind, StopReason};
use redis::streams::{StreamClaimReply, StreamId, StreamPendingCountReply, StreamPendingReply};
use redis::AsyncCommands;

use super::queue::{JobError, GROUP, LIVE_FOR_MS};
use super::store::RedisStore;
use super::upkeep::redis_time_ms;

/// How recent another worker's success must be for a worker refused for
/// its own credentials to take the fault as its own (and stop serving).
pub const QUARANTINE_WINDOW: Duration = Duration::from_secs(10);
/// How long a worker refused for its credentials waits for another live
/// worker of the job to succeed before it pauses the job for everyone.
pub const QUARANTINE_GRACE: Duration = Duration::from_secs(5);

/// Failures that may be this worker's alone (its key, its admin, its
/// network, its CA) rather than the job's.
pub(super) fn may_be_the_workers(kind: StopKind) -> bool {
    matches!(
        kind,
        StopKind::Credentials
            | StopKind::Permission
            | StopKind::Tls
            | StopKind::Unreachable
            | StopKind::NoAnswer
    )
}

impl RedisStore {
    /// Pauses the job for every worker, naming this worker as who saw why.
    pub(super) async fn pause(&mut self, id: &str, stop: &StopReason) -> Result<(), JobError> {
        let meta = self.worker.queue.meta(id).await?;
        if meta.state == JobState::Running {
            let by = format!("{}@{}", self.me(), self.worker.config.host);
            tracing::warn!(job = %id, kind = %stop.kind, reason = %stop.reason, by = %by, "pausing the job");
            self.worker
                .queue
                .set_state_by(id, JobState::Paused, Some(stop), Some(&by))
                .await?;
            self.stats.paused_jobs += 1;
        }
        self.runs.remove(id);
        self.suspect.remove(id);
        Ok(())
    }

    /// A failure that may be this worker's: stop serving if another worker
    /// of the job succeeds, pause the job if none does (or none is alive).
    pub(super) async fn judge(&mut self, id: &str, stop: &StopReason) -> Result<(), JobError> {
        let queue = self.worker.queue.clone();
        let meta = queue.meta(id).await?;
        let mut conn = queue.conn.clone();
        let now = redis_time_ms(&mut conn).await?;
        let others_ok = meta.last_ok_by.as_deref().is_some_and(|b| b != self.me())
            && now.saturating_sub(meta.last_ok_ms) < QUARANTINE_WINDOW.as_millis() as u64;
        if others_ok {
            tracing::error!(job = %id, kind = %stop.kind, reason = %stop.reason, "other workers of the job succeed where this one is refused: this worker stops serving; the job goes on");
            return Err(JobError::Quarantined {
                job: id.to_owned(),
                reason: stop.clone(),
            });
        }
        let live: Vec<String> = conn
            .zrangebyscore(queue.workers_key(), now.saturating_sub(LIVE_FOR_MS), "+inf")
            .await?;
        let others_live = live.iter().any(|w| w != self.me());
        let since = self
            .suspect
            .entry(id.to_owned())
            .or_insert_with(|| (stop.clone(), Instant::now()))
            .1;
        if !others_live || since.elapsed() >= QUARANTINE_GRACE {
            self.pause(id, stop).await?;
        }
        Ok(())
    }

    /// The live workers of the app, by Redis time.
    pub(super) async fn live_workers(&self, now: u64) -> Result<HashSet<String>, JobError> {
        let mut conn = self.worker.queue.conn.clone();
        let live: Vec<String> = conn
            .zrangebyscore(
                self.worker.queue.workers_key(),
                now.saturating_sub(LIVE_FOR_MS),
                "+inf",
            )
            .await?;
        Ok(live.into_iter().collect())
    }

    /// Entries held by workers gone silent (no heartbeat for
    /// [`LIVE_FOR_MS`]), claimed for this one at once: their idle time must
    /// be at least that long too, so two live workers never claim the same.
    pub(super) async fn take_over(
        &self,
        stream: &str,
        live: &HashSet<String>,
        max: usize,
    ) -> Result<Vec<(StreamId, u64)>, JobError> {
        let mut conn = self.worker.queue.conn.clone();
        let pending: StreamPendingReply = conn.xpending(stream, GROUP).await?;
        let StreamPendingReply::Data(data) = pending else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for c in data.consumers {
            if out.len() >= max || c.name == self.me() || live.contains(&c.name) {
                continue;
            }
            let held: StreamPendingCountReply = conn
                .xpending_consumer_count(stream, GROUP, "-", "+", max - out.len(), &c.name)
                .await?;
            if held.ids.is_empty() {
                continue;
            }
            let delivered: HashMap<String, u64> = held
                .ids
                .iter()
                .map(|p| (p.id.clone(), p.times_delivered as u64 + 1))
                .collect();
            let ids: Vec<&str> = held.ids.iter().map(|p| p.id.as_str()).collect();
            let claimed: StreamClaimReply = conn
                .xclaim(stream, GROUP, self.me(), LIVE_FOR_MS, &ids)
                .await?;
            if !claimed.ids.is_empty() {
                tracing::warn!(stream, from = %c.name, batches = claimed.ids.len(), "taking over the batches of a worker gone silent");
            }
            out.extend(claimed.ids.into_iter().map(|e| {
                let n = delivered.get(&e.id).copied().unwrap_or(2);
                (e, n)
            }));
        }
        Ok(out)
    }
}
