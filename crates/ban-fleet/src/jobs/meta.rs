//! A job's hash, typed: its fields' names in one place, read back into one
//! struct (a field that is missing or unreadable is an error naming it,
//! never a silent default).

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use ban_facade::{JobSpec, JobState, StopReason};

use super::clock::now_ms;
use super::error::JobError;

/// The fields of a job's hash.
pub(crate) struct F;

impl F {
    /// The job's spec (group, action and its data), JSON.
    pub(crate) const SPEC: &'static str = "spec";
    /// The app the job is for.
    pub(crate) const SDKAPPID: &'static str = "sdkappid";
    /// Who submitted it (the admin identifier), when known.
    pub(crate) const ADMIN: &'static str = "admin";
    /// The worker that paused it, `consumer@host`.
    pub(crate) const PAUSED_BY: &'static str = "paused_by";
    /// When a batch of it last succeeded (Redis time, ms), and by whom.
    pub(crate) const LAST_OK_MS: &'static str = "last_ok_ms";
    pub(crate) const LAST_OK_BY: &'static str = "last_ok_by";
    pub(crate) const TOTAL: &'static str = "total";
    pub(crate) const DUPLICATES: &'static str = "duplicates";
    pub(crate) const STATE: &'static str = "state";
    /// Why it was paused or cancelled: a `StopReason`, JSON.
    pub(crate) const STOPPED: &'static str = "stopped";
    pub(crate) const CREATED_MS: &'static str = "created_ms";
    pub(crate) const FINISHED_MS: &'static str = "finished_ms";
    /// When a worker first took a batch of it that made calls (ms).
    pub(crate) const FIRST_TAKEN_MS: &'static str = "first_taken_ms";
    pub(crate) const NOT_BEFORE_MS: &'static str = "not_before_ms";
    pub(crate) const CALLS: &'static str = "calls";
    pub(crate) const RETRIES: &'static str = "retries";
    pub(crate) const RATE_LIMITED: &'static str = "rate_limited";
    pub(crate) const PERMIT_WAIT_MS: &'static str = "permit_wait_ms";
    pub(crate) const REDELIVERIES: &'static str = "redeliveries";
    /// The calls that read the members' state before the job; present
    /// when that state is kept (in the job's `:prior` hash).
    pub(crate) const PRIOR_READ_CALLS: &'static str = "prior_read_calls";
}

/// A job's hash.
#[derive(Debug, Clone)]
pub(crate) struct JobMeta {
    pub(crate) spec: JobSpec,
    pub(crate) sdkappid: u64,
    pub(crate) paused_by: Option<String>,
    pub(crate) last_ok_ms: u64,
    pub(crate) last_ok_by: Option<String>,
    pub(crate) total: u64,
    pub(crate) duplicates: u64,
    pub(crate) state: JobState,
    pub(crate) stopped: Option<StopReason>,
    pub(crate) created_ms: u64,
    pub(crate) finished_ms: Option<u64>,
    pub(crate) first_taken_ms: Option<u64>,
    pub(crate) not_before_ms: u64,
    pub(crate) calls: u64,
    pub(crate) retries: u64,
    pub(crate) rate_limited: u64,
    pub(crate) permit_wait_ms: u64,
    pub(crate) redeliveries: u64,
}

impl JobMeta {
    pub(crate) fn from_hash(id: &str, h: &HashMap<String, String>) -> Result<JobMeta, JobError> {
        let corrupt = |field: &str, what: String| JobError::Corrupt {
            id: id.to_owned(),
            what: format!("field {field}: {what}"),
        };
        let required =
            |field: &'static str| h.get(field).ok_or_else(|| corrupt(field, "missing".into()));
        let parse = |field: &'static str, v: &str| {
            u64::from_str(v).map_err(|e| corrupt(field, format!("{v:?} is not a number: {e}")))
        };
        // Counters are created by their first increment: absent is 0.
        let counter = |field: &'static str| h.get(field).map_or(Ok(0), |v| parse(field, v));
        let spec: JobSpec = serde_json::from_str(required(F::SPEC)?)
            .map_err(|e| corrupt(F::SPEC, e.to_string()))?;
        let state = required(F::STATE)?
            .parse::<JobState>()
            .map_err(|e| corrupt(F::STATE, e.to_string()))?;
        let stopped = h
            .get(F::STOPPED)
            .map(|s| serde_json::from_str::<StopReason>(s))
            .transpose()
            .map_err(|e| corrupt(F::STOPPED, e.to_string()))?;
        Ok(JobMeta {
            spec,
            sdkappid: parse(F::SDKAPPID, required(F::SDKAPPID)?)?,
            paused_by: h.get(F::PAUSED_BY).cloned(),
            last_ok_ms: counter(F::LAST_OK_MS)?,
            last_ok_by: h.get(F::LAST_OK_BY).cloned(),
            total: parse(F::TOTAL, required(F::TOTAL)?)?,
            duplicates: counter(F::DUPLICATES)?,
            state,
            stopped,
            created_ms: parse(F::CREATED_MS, required(F::CREATED_MS)?)?,
            finished_ms: h
                .get(F::FINISHED_MS)
                .map(|v| parse(F::FINISHED_MS, v))
                .transpose()?,
            first_taken_ms: h
                .get(F::FIRST_TAKEN_MS)
                .map(|v| parse(F::FIRST_TAKEN_MS, v))
                .transpose()?,
            not_before_ms: counter(F::NOT_BEFORE_MS)?,
            calls: counter(F::CALLS)?,
            retries: counter(F::RETRIES)?,
            rate_limited: counter(F::RATE_LIMITED)?,
            permit_wait_ms: counter(F::PERMIT_WAIT_MS)?,
            redeliveries: counter(F::REDELIVERIES)?,
        })
    }

    /// Calls per second from the first batch a worker took to the end (or
    /// now); 0 before any call.
    pub(crate) fn calls_per_sec(&self) -> f64 {
        let Some(first) = self.first_taken_ms else {
            return 0.0;
        };
        let end = self.finished_ms.unwrap_or_else(now_ms);
        let secs = (end.saturating_sub(first) as f64 / 1000.0).max(0.001);
        self.calls as f64 / secs
    }

    /// From submission to the end (or now).
    pub(crate) fn elapsed(&self) -> Duration {
        let end = self.finished_ms.unwrap_or_else(now_ms);
        Duration::from_millis(end.saturating_sub(self.created_ms))
    }
}
