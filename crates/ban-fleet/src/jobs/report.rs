//! What a job reports: its status, and every member once in the shape of a
//! local job's report ([`BulkReport`]), with the fleet's keys beside it.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use ban_facade::{Action, BulkReport, FailedMember, JobState, Priority, StopReason};
use serde::{Deserialize, Serialize};

use super::meta::JobMeta;

/// Where a job stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JobStatus {
    /// The job.
    pub id: String,
    /// Running, paused, cancelled or done.
    pub state: JobState,
    /// Why it was paused or cancelled.
    pub stopped: Option<StopReason>,
    /// The worker that paused it (`consumer@host`).
    pub paused_by: Option<String>,
    /// What it does.
    pub action: Action,
    /// Its lane at the shared rate limit (bulk unless submitted otherwise).
    pub priority: Priority,
    /// The group.
    pub group: String,
    /// Members in the job (repeats removed).
    pub total: u64,
    /// Members done.
    pub done: u64,
    /// Members failed for good.
    pub failed: u64,
    /// Members neither done nor failed.
    pub pending: u64,
    /// Batches delivered to a worker and not yet finished.
    pub in_flight: u64,
    /// Workers seen in the last few seconds.
    pub live_workers: u64,
    /// Calls made.
    pub calls: u64,
    /// Calls per second since a worker first took a batch of it, to its
    /// end or now (not since it was submitted: time queued is not speed).
    pub rate: f64,
    /// Batches taken over from a silent worker or redelivered after a failure.
    pub redeliveries: u64,
}

/// A job's report: a [`BulkReport`] (the keys of `banctl ban --json`:
/// `action`, `group`, `banned`, `failed`, `not_attempted`, `stopped`, ...)
/// with the fleet's keys `job`, `state`, `redeliveries` and `live_workers`
/// beside them. Members neither done nor failed are `not_attempted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JobReport {
    /// The job.
    pub job: String,
    /// Where it stands.
    pub state: JobState,
    /// Every member once.
    #[serde(flatten)]
    pub report: BulkReport,
    /// Batches taken over from a silent worker or redelivered.
    pub redeliveries: u64,
    /// Workers seen in the last few seconds.
    pub live_workers: u64,
}

impl JobReport {
    /// The report of job `id` from its hash, its batches (each the members'
    /// text, one a line) in queue order, the members done and those failed:
    /// every member once, neither done nor failed is `not_attempted`.
    pub(crate) fn assemble(
        id: &str,
        meta: &JobMeta,
        live_workers: u64,
        batches: impl Iterator<Item = String>,
        done: &HashSet<String>,
        mut failed: HashMap<String, FailedMember>,
    ) -> JobReport {
        let mut report = BulkReport::new(meta.spec.action.kind(), meta.spec.group.clone());
        for text in batches {
            for m in text.split('\n') {
                if done.contains(m) {
                    report.succeeded.push(m.to_owned());
                } else if let Some(f) = failed.remove(m) {
                    report.failed.push(f);
                } else {
                    report.not_attempted.push(m.to_owned());
                }
            }
        }
        report.stopped = meta.stopped.clone();
        report.duplicates = meta.duplicates as usize;
        report.calls = meta.calls;
        report.retries = meta.retries;
        report.rate_limited = meta.rate_limited;
        report.permit_wait = Duration::from_millis(meta.permit_wait_ms);
        report.limiter = "redis".to_owned();
        report.elapsed = meta.elapsed();
        JobReport {
            job: id.to_owned(),
            state: meta.state,
            report,
            redeliveries: meta.redeliveries,
            live_workers,
        }
    }
}
