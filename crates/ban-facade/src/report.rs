//! What a bulk job reports: every member done, failed or not attempted.

use std::sync::Arc;
use std::time::Duration;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde::{Deserialize, Deserializer};

use ban_proto::ErrorCode;

use crate::job::Action;
use crate::stop::StopReason;

/// Where a bulk job stands, reported after each call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Members done so far (those an earlier run's journal holds included).
    pub done: usize,
    /// Members failed so far.
    pub failed: usize,
    /// Members in the job (duplicates removed).
    pub total: usize,
    /// Calls made so far.
    pub calls: u64,
}

/// A member the job could not ban (or unban), and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
#[non_exhaustive]
pub struct FailedMember {
    /// The member.
    pub member: String,
    /// The service's `ErrorCode`, when the service answered.
    pub code: Option<i64>,
    /// Why, in words: shared by every member of the call, bounded
    /// ([`ban_proto::MAX_INFO_BYTES`] of the service's text) and escaped.
    pub reason: Arc<str>,
    /// The `random` of the last call that carried the member.
    pub random: u32,
}

impl FailedMember {
    /// A failed member.
    pub fn new(
        member: impl Into<String>,
        code: Option<i64>,
        reason: Arc<str>,
        random: u32,
    ) -> Self {
        FailedMember {
            member: member.into(),
            code,
            reason,
            random,
        }
    }
}

/// What one batch did: every member of it done, failed with its reason, or
/// not attempted because the job stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchOutcome {
    /// Members done.
    pub done: Vec<String>,
    /// Members failed, with their reasons.
    pub failed: Vec<FailedMember>,
    /// Members never sent: the job stopped first.
    pub not_attempted: Vec<String>,
    /// Calls that reached the wire.
    pub calls: u64,
    /// Retries over those calls.
    pub retries: u64,
    /// 60007 answers among the attempts.
    pub rate_limited: u64,
    /// Time the batch's attempts waited for permits, in all.
    pub permit_wait: Duration,
}

impl BatchOutcome {
    /// Whether a failure may pass if the batch is sent again (a transient
    /// or throttled code, or no answer at all).
    pub fn has_retryable_failure(&self) -> bool {
        self.failed.iter().any(|f| {
            f.code
                .is_none_or(|c| ErrorCode::from_code(c).retry_class().is_retryable())
        })
    }
}

/// The outcome of a bulk job. Every member of the input is in exactly one
/// of `succeeded`, `failed` and `not_attempted` (duplicates counted once).
///
/// One shape in JSON, whoever ran the job (`banctl ban --json`, a fleet's
/// `banctl job report --json`, which adds its own keys beside these); it
/// decodes back into this type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct BulkReport {
    /// Ban, unban, mute or unmute.
    pub action: Action,
    /// The group.
    pub group: String,
    /// Members banned (or unbanned), those of earlier runs first.
    #[serde(
        rename(deserialize = "succeeded"),
        alias = "banned",
        alias = "unbanned",
        alias = "muted",
        alias = "unmuted"
    )]
    pub succeeded: Vec<String>,
    /// Members that failed, each with its reason.
    pub failed: Vec<FailedMember>,
    /// Members never sent because the job stopped; see `stopped`.
    pub not_attempted: Vec<String>,
    /// Why the job stopped before every member was attempted.
    pub stopped: Option<StopReason>,
    /// Of `succeeded`, the members an earlier run's journal held (not sent again).
    pub resumed: usize,
    /// Repeated members dropped from the input.
    pub duplicates: usize,
    /// Calls made (logical calls; retries are counted apart).
    pub calls: u64,
    /// Retries made over all calls.
    pub retries: u64,
    /// Calls that read the members' state before a journaled ban or mute
    /// (the group's ban or mute list), so the job can be undone exactly;
    /// not in `calls`.
    #[serde(default)]
    pub state_read_calls: u64,
    /// 60007 answers received (each was retried or ended its call).
    pub rate_limited: u64,
    /// What limited the rate: `local`, `redis`, `redis→local (N ms
    /// degraded)`, or `none`.
    #[serde(default)]
    pub limiter: String,
    /// Time the job took.
    #[serde(rename = "elapsed_ms", deserialize_with = "millis")]
    pub elapsed: Duration,
    /// Time its calls waited for permits from the rate limiter, summed
    /// over every attempt (calls in flight at once each count).
    #[serde(rename = "permit_wait_ms", default, deserialize_with = "millis")]
    pub permit_wait: Duration,
}

fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_millis)
}

impl BulkReport {
    /// An empty report of `action` on `group`, for a store to fill.
    pub fn new(action: Action, group: impl Into<String>) -> Self {
        BulkReport {
            action,
            group: group.into(),
            succeeded: Vec::new(),
            failed: Vec::new(),
            not_attempted: Vec::new(),
            stopped: None,
            resumed: 0,
            duplicates: 0,
            calls: 0,
            retries: 0,
            state_read_calls: 0,
            rate_limited: 0,
            limiter: String::new(),
            elapsed: Duration::ZERO,
            permit_wait: Duration::ZERO,
        }
    }

    /// Adds what one batch did.
    pub fn absorb(&mut self, batch: BatchOutcome) {
        self.calls += batch.calls;
        self.retries += batch.retries;
        self.rate_limited += batch.rate_limited;
        self.permit_wait += batch.permit_wait;
        self.succeeded.extend(batch.done);
        self.failed.extend(batch.failed);
        self.not_attempted.extend(batch.not_attempted);
    }

    /// Members in the report: done, failed or not attempted.
    pub fn total(&self) -> usize {
        self.succeeded.len() + self.failed.len() + self.not_attempted.len()
    }

    /// Whether every member succeeded.
    pub fn all_succeeded(&self) -> bool {
        self.failed.is_empty() && self.not_attempted.is_empty()
    }

    /// Members not done: failed or not attempted. Running the job again with
    /// exactly these finishes it.
    pub fn remaining(&self) -> impl Iterator<Item = &str> {
        self.failed
            .iter()
            .map(|f| f.member.as_str())
            .chain(self.not_attempted.iter().map(String::as_str))
    }
}

/// JSON for scripts: `action`, `group`, `banned` (or `unbanned`, `muted`,
/// `unmuted`: [`Action::done_key`]), `failed`
/// with `member`, `code`, `reason` and `random` each, `not_attempted`,
/// `stopped` (`kind`, `code`, `reason`, or null), `resumed`, `duplicates`,
/// `calls`, `retries`, `state_read_calls` (when the state was read),
/// `rate_limited`, `limiter`, `elapsed_ms`,
/// `permit_wait_ms`.
impl Serialize for BulkReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("action", &self.action)?;
        m.serialize_entry("group", &self.group)?;
        m.serialize_entry(self.action.done_key(), &self.succeeded)?;
        m.serialize_entry("failed", &self.failed)?;
        m.serialize_entry("not_attempted", &self.not_attempted)?;
        m.serialize_entry("stopped", &self.stopped)?;
        m.serialize_entry("resumed", &self.resumed)?;
        m.serialize_entry("duplicates", &self.duplicates)?;
        m.serialize_entry("calls", &self.calls)?;
        m.serialize_entry("retries", &self.retries)?;
        if self.state_read_calls > 0 {
            m.serialize_entry("state_read_calls", &self.state_read_calls)?;
        }
        m.serialize_entry("rate_limited", &self.rate_limited)?;
        m.serialize_entry("limiter", &self.limiter)?;
        m.serialize_entry("elapsed_ms", &(self.elapsed.as_millis() as u64))?;
        m.serialize_entry("permit_wait_ms", &(self.permit_wait.as_millis() as u64))?;
        m.end()
    }
}
