//! The audit log: one JSON line per decision and per action, so "why was X
//! banned?" has an answer. Written by a thread of its own, flushed whenever
//! it has nothing more to write.

use std::io::Write;
use std::path::Path;
use std::sync::mpsc;

use serde::Serialize;

/// One line.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Line {
    /// Unix milliseconds.
    pub(crate) time_ms: u64,
    /// `decision`, `action`, `refused` (a request that was not acted on).
    pub(crate) kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rule: Option<String>,
    /// What matched: the message text (cut), the word, the count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) evidence: Option<String>,
    /// The offence's number within the rule's window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) offence: Option<u64>,
    /// The ladder step, e.g. `mute 10m`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) step: Option<String>,
    /// What came of it: `blocked`, `queued`, `done`, `failed: …`,
    /// `not attempted: …`, `skipped: …`.
    pub(crate) result: String,
}

impl Line {
    pub(crate) fn new(kind: &'static str, result: impl Into<String>) -> Line {
        Line {
            time_ms: now_ms(),
            kind,
            group: None,
            account: None,
            rule: None,
            evidence: None,
            offence: None,
            step: None,
            result: result.into(),
        }
    }
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Where lines go.
#[derive(Clone)]
pub(crate) struct Audit {
    tx: Option<mpsc::Sender<Line>>,
}

impl Audit {
    /// Lines appended to `path` (created 0600 if new), or nowhere.
    pub(crate) fn open(path: Option<&Path>) -> std::io::Result<Audit> {
        let Some(path) = path else {
            return Ok(Audit { tx: None });
        };
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path)?;
        let (tx, rx) = mpsc::channel::<Line>();
        std::thread::Builder::new()
            .name("audit".into())
            .spawn(move || write_lines(file, &rx))?;
        Ok(Audit { tx: Some(tx) })
    }

    pub(crate) fn write(&self, line: Line) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(line);
        }
    }
}

fn write_lines(file: std::fs::File, rx: &mpsc::Receiver<Line>) {
    let mut out = std::io::BufWriter::new(file);
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(line) = next {
            if let Ok(mut text) = serde_json::to_vec(&line) {
                text.push(b'\n');
                if let Err(e) = out.write_all(&text) {
                    tracing::error!(error = %e, "the audit log cannot be written");
                }
            }
            next = rx.try_recv().ok();
        }
        if let Err(e) = out.flush() {
            tracing::error!(error = %e, "the audit log cannot be written");
        }
    }
}
