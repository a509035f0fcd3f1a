//! The callback recording (`banctl serve --record FILE`): each verified
//! callback as one JSON line, its command, its body and its arrival time
//! (never the `Sign` or the token), for `banctl rules test` to replay.
//! It holds message text: keep it as private as the chat itself.
//!
//! ```text
//! {"t_ms":1764670000123,"command":"Group.CallbackBeforeSendMsg","id":"9f2c…","body":{"GroupId":"@TGS#aLIVE",…}}
//! ```
//!
//! `id` is the request's replay digest (a hash of its `RequestTime`, its
//! `Sign` and its body, which reveals neither), so a replay counts a
//! repeated request once, as serve did.

use std::borrow::Cow;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::event::now_ms;
use crate::lines::{self, Msg, Rotation};

/// Callbacks waiting to be written, at most.
pub const RECORD_QUEUE: usize = 65_536;
/// The recording's size cap by default: past it, `FILE` becomes `FILE.1`.
pub const DEFAULT_RECORD_MAX_BYTES: u64 = 256 << 20;
/// Rotated recordings kept by default (`FILE.1` .. `FILE.4`).
pub const DEFAULT_RECORD_KEEP: usize = 4;

/// One recorded callback, as written and read.
#[derive(Debug, Serialize, Deserialize)]
pub struct Recorded<'a> {
    /// When it arrived, Unix milliseconds.
    pub t_ms: u64,
    /// Its `CallbackCommand`.
    #[serde(borrow)]
    pub command: Cow<'a, str>,
    /// Its replay digest.
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub id: Option<Cow<'a, str>>,
    /// Its body, as sent.
    #[serde(borrow)]
    pub body: &'a serde_json::value::RawValue,
}

/// Appends verified callbacks to a file, one JSON line each, by a thread
/// of its own; size-capped with rotation. A callback it cannot keep up
/// with is dropped and counted (`serve_record_dropped_total`), never held
/// without bound and never in the answer's way.
#[derive(Debug, Clone)]
pub struct Recorder {
    tx: mpsc::SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
}

impl Recorder {
    /// Records into `path` (owner-only), rotated past `max_bytes` with
    /// `keep` older files.
    pub fn open(path: &Path, max_bytes: u64, keep: usize) -> std::io::Result<Recorder> {
        let rotation = Rotation { max_bytes, keep };
        let tx = lines::spawn(path, "callback recording", RECORD_QUEUE, Some(rotation))?;
        Ok(Recorder {
            tx,
            dropped: Arc::default(),
        })
    }

    /// Records a verified callback that arrived now.
    pub fn record(&self, command: &str, id: &str, body: Bytes) {
        let (t_ms, command, id) = (now_ms(), command.to_owned(), id.to_owned());
        let make = move || line(t_ms, &command, &id, &body);
        if self.tx.try_send(Msg::Make(Box::new(make))).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("serve_record_dropped_total").increment(1);
        }
    }

    /// Callbacks dropped because the writer could not keep up.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits until everything recorded so far is written.
    pub async fn flush(&self) {
        let (ack, wait) = tokio::sync::oneshot::channel();
        if self.tx.try_send(Msg::Flush(ack)).is_ok() {
            let _ = wait.await;
        }
    }
}

/// The line of one callback; a body that is not JSON is kept as a string.
fn line(t_ms: u64, command: &str, id: &str, body: &[u8]) -> Vec<u8> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned().into());
    let Ok(raw) = serde_json::value::to_raw_value(&value) else {
        return Vec::new();
    };
    let rec = Recorded {
        t_ms,
        command: command.into(),
        id: Some(id.into()),
        body: &raw,
    };
    let Ok(mut out) = serde_json::to_vec(&rec) else {
        return Vec::new();
    };
    out.push(b'\n');
    out
}
