//! What a job reports: its status, and every member once.

use std::time::Duration;

use serde::ser::{Serialize, SerializeMap, Serializer};

/// Where a job stands.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct JobStatus {
    /// The job.
    pub id: String,
    /// `running`, `paused`, `cancelled` or `done`.
    pub state: String,
    /// Why it was paused or cancelled.
    pub reason: Option<String>,
    /// `ban` or `unban`.
    pub action: String,
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
    /// Calls per second since the job was submitted.
    pub rate: f64,
    /// Batches taken over from a silent worker or redelivered after a failure.
    pub redeliveries: u64,
}

/// A job's report: the same shape as `banctl ban --json`, every member once.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JobReport {
    /// The status it was made from.
    pub status: JobStatus,
    /// Members done.
    pub done: Vec<String>,
    /// Members failed: member, code, reason, random.
    pub failed: Vec<serde_json::Value>,
    /// Members never done nor failed (the job was paused or cancelled).
    pub not_attempted: Vec<String>,
    /// Repeats dropped at submission.
    pub duplicates: u64,
    /// Retries made.
    pub retries: u64,
    /// 60007 answers received.
    pub rate_limited: u64,
    /// From submission to the end (or now).
    pub elapsed: Duration,
}

impl Serialize for JobReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let done_key = if self.status.action == "unban" {
            "unbanned"
        } else {
            "banned"
        };
        let stopped = match self.status.state.as_str() {
            "paused" | "cancelled" => Some(serde_json::json!({
                "kind": self.status.state,
                "reason": self.status.reason,
            })),
            _ => None,
        };
        let mut m = s.serialize_map(Some(13))?;
        m.serialize_entry("job", &self.status.id)?;
        m.serialize_entry("group", &self.status.group)?;
        m.serialize_entry(done_key, &self.done)?;
        m.serialize_entry("failed", &self.failed)?;
        m.serialize_entry("not_attempted", &self.not_attempted)?;
        m.serialize_entry("stopped", &stopped)?;
        m.serialize_entry("duplicates", &self.duplicates)?;
        m.serialize_entry("calls", &self.status.calls)?;
        m.serialize_entry("retries", &self.retries)?;
        m.serialize_entry("rate_limited", &self.rate_limited)?;
        m.serialize_entry("redeliveries", &self.status.redeliveries)?;
        m.serialize_entry("elapsed_ms", &(self.elapsed.as_millis() as u64))?;
        m.end()
    }
}
