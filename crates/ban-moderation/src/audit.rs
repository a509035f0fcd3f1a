//! The audit log, an observer: one JSON line per event, so "why was X
//! banned?" has an answer. Written by a thread of its own through a
//! bounded queue (what it cannot keep is dropped and counted, never held
//! without bound), flushed whenever it has nothing more to write. A request
//! refused before it shows an app and a signature (no `SdkAppid`, not a
//! POST) is counted in metrics but not written.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use serde::Serialize;

use crate::event::{Event, Observer};
use crate::lines::{self, Msg};

/// Lines waiting to be written, at most.
pub const AUDIT_QUEUE: usize = 65_536;

/// One line as written: the event's fields, `step` and `result` as text,
/// `outcome` as its label.
#[derive(Debug, Serialize)]
struct Line<'a> {
    time_ms: u64,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offence: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<String>,
    result: String,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<i64>,
    /// The refusals a `refused` line stands for.
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<u64>,
    /// An action done: what the account had before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    before: Option<crate::Earlier>,
    /// An action done: the end it set, Unix seconds ...
    #[serde(skip_serializing_if = "Option::is_none")]
    ends: Option<u64>,
    /// ... or up to this many seconds later.
    #[serde(skip_serializing_if = "Option::is_none")]
    ends_within: Option<u64>,
}

/// The JSON line of `event` (without its newline).
///
/// ```
/// use ban_moderation::{audit_line, Event, EventKind, Outcome};
///
/// let e = Event::new(EventKind::Action, Outcome::Done).about("@TGS#a", "bot", "spam");
/// let line: serde_json::Value = serde_json::from_slice(&audit_line(&e)).unwrap();
/// assert_eq!((line["kind"].as_str(), line["result"].as_str()), (Some("action"), Some("done")));
/// ```
pub fn audit_line(event: &Event) -> Vec<u8> {
    let (code, count) = match &event.outcome {
        crate::Outcome::Failed { code, .. } => (*code, None),
        crate::Outcome::Refused { count, .. } | crate::Outcome::RaidRefusing { count } => {
            (None, Some(*count))
        }
        _ => (None, None),
    };
    let line = Line {
        time_ms: event.time_ms,
        kind: event.kind.as_str(),
        group: event.group.as_deref(),
        account: event.account.as_deref(),
        rule: event.rule.as_deref(),
        evidence: event.evidence.as_deref(),
        offence: event.offence,
        step: event.step.map(|s| s.to_string()),
        result: event.outcome.to_string(),
        outcome: event.outcome.label(),
        code,
        count,
        before: event.earlier,
        ends: event.ends.map(|e| e.0),
        ends_within: event.ends.map(|e| e.1),
    };
    serde_json::to_vec(&line).unwrap_or_default()
}

/// Appends events to a file, one JSON line each.
#[derive(Debug, Clone)]
pub struct AuditFile {
    tx: mpsc::SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
}

impl AuditFile {
    /// Lines appended to `path`, a file readable by its owner alone (made
    /// so when it exists with a looser mode).
    pub fn open(path: &Path) -> std::io::Result<AuditFile> {
        let tx = lines::spawn(path, "audit log", AUDIT_QUEUE, None)?;
        Ok(AuditFile {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Lines dropped because the writer could not keep up.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Observer for AuditFile {
    fn observe(&self, event: &Event) {
        let mut text = audit_line(event);
        text.push(b'\n');
        if self.tx.try_send(Msg::Line(text)).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("serve_audit_dropped_total").increment(1);
        }
    }

    fn flush(&self) -> crate::BoxFuture<'_, ()> {
        let (ack, wait) = tokio::sync::oneshot::channel();
        let sent = self.tx.try_send(Msg::Flush(ack));
        Box::pin(async move {
            if sent.is_ok() {
                let _ = wait.await;
            }
        })
    }
}
