//! The write-ahead record of decided actions: each [`Act`] is written
//! durably before it is queued, and marked done once its call has
//! returned, so a process killed in the middle of a raid sends, when it
//! starts again, every action it decided and did not finish (bans and
//! mutes converge, so one sent twice is harmless).
//!
//! [`crate::FileJournal`] keeps it in a directory of its own;
//! [`crate::RedisJournal`] (feature `redis`) in a stream every instance
//! reads. This file holds the seam, the records, and the directory lock.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ban_rules::Step;
use serde::{Deserialize, Serialize};

use crate::counter::BoxFuture;
use crate::dispatch::Act;

/// What a journal held at start: the actions decided and not done, and the
/// offence counts whose windows have not ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovered {
    /// Actions to send again, oldest first.
    pub acts: Vec<Act>,
    /// Offence counts: key, count, and how long the window has left.
    pub offences: Vec<(String, u64, Duration)>,
}

/// Where decided actions are recorded before they are queued.
pub trait Journal: Send + Sync + 'static {
    /// Records `act` durably; resolves with its id once it is (an error
    /// says why it could not be).
    fn record<'a>(&'a self, act: &'a Act) -> BoxFuture<'a, Result<u64, String>>;
    /// Marks the actions of `ids` done (their calls returned).
    fn done(&self, ids: &[u64]);
    /// Keeps what the accounts of these actions had before them (read
    /// before their first call), so an action sent again after a restart
    /// or a takeover keeps it; resolves once it is kept. The default keeps
    /// nothing: an action sent again reads it once more.
    fn earlier<'a>(&'a self, states: &'a [(u64, crate::Earlier)]) -> BoxFuture<'a, ()> {
        let _ = states;
        Box::pin(std::future::ready(()))
    }
    /// What the journal held when it was opened (taken once; later calls
    /// return nothing).
    fn take_recovered(&self) -> Recovered;
    /// Resolves once everything given so far is durable.
    fn sync(&self) -> BoxFuture<'_, ()>;
    /// Whether this journal hands recorded actions to the loop itself
    /// (from a stream shared by instances: [`crate::RedisJournal`]); if so
    /// it is given the loop's queue once, at start, and the loop does not
    /// queue what it records.
    fn deliver(&self, queue: tokio::sync::mpsc::Sender<Act>) -> bool {
        let _ = queue;
        false
    }
}

/// The journal's text of `act` (one JSON object).
#[cfg(feature = "redis")]
pub(crate) fn encode(act: &Act) -> String {
    serde_json::to_string(&Record::of(act, act.id)).unwrap_or_default()
}

/// An action from [`encode`]'s text.
#[cfg(feature = "redis")]
pub(crate) fn decode(text: &str) -> Option<Act> {
    serde_json::from_str::<Record>(text).ok().and_then(act_of)
}

/// A directory held by one process: `lock` in it, locked while this lives.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    dir: PathBuf,
}

impl DirLock {
    /// Creates `dir` (mode 0700) and locks it; refused while another
    /// process holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock, JournalError> {
        create_private_dir(dir).map_err(io(dir))?;
        let lock_path = dir.join("lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock {
                _file: file,
                dir: dir.to_owned(),
            }),
            Err(std::fs::TryLockError::WouldBlock) => Err(JournalError::Locked {
                dir: dir.to_owned(),
            }),
            Err(std::fs::TryLockError::Error(e)) => Err(io(&lock_path)(e)),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Errors opening a journal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// Another process holds the directory.
    #[error("{dir} is in use by another process (one process per state directory)")]
    Locked {
        /// The directory.
        dir: PathBuf,
    },
    /// A line in the middle of the journal is not a record.
    #[error(
        "{path} line {line}: not a journal record ({reason}); move the file away to start afresh"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Its line, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A step as the journal writes it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct StepRecord {
    ban: bool,
    /// Seconds; `None` for a permanent mute.
    secs: Option<u64>,
}

impl From<Step> for StepRecord {
    fn from(s: Step) -> Self {
        match s {
            Step::Mute(d) => StepRecord {
                ban: false,
                secs: d.map(|d| d.as_secs()),
            },
            Step::Ban(d) => StepRecord {
                ban: true,
                secs: Some(d.as_secs()),
            },
            // A step a later version adds: kept as the harsher kind.
            _ => StepRecord {
                ban: true,
                secs: None,
            },
        }
    }
}

impl StepRecord {
    fn step(self) -> Step {
        let d = self.secs.map(Duration::from_secs);
        if self.ban {
            Step::Ban(d.unwrap_or_default())
        } else {
            Step::Mute(d)
        }
    }
}

/// One line of the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(crate) enum Record {
    /// An action decided.
    Act {
        id: u64,
        group: String,
        account: String,
        step: StepRecord,
        rule: String,
        offence: u64,
        key: String,
        /// When the offence's window ends, Unix milliseconds.
        until_ms: u64,
        /// What the account had before, once read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        earlier: Option<crate::Earlier>,
    },
    /// What the accounts of actions had before them.
    Earlier { states: Vec<(u64, crate::Earlier)> },
    /// Actions whose calls returned.
    Done { ids: Vec<u64> },
    /// An offence count kept after its action was done (compaction).
    Count {
        key: String,
        offence: u64,
        until_ms: u64,
    },
}

impl Record {
    pub(crate) fn of(act: &Act, id: u64) -> Record {
        Record::Act {
            id,
            group: act.group.clone(),
            account: act.account.clone(),
            step: act.step.into(),
            rule: act.rule.clone(),
            offence: act.offence,
            key: act.offence_key.clone(),
            until_ms: act.offence_until_ms,
            earlier: act.earlier,
        }
    }
}

pub(crate) fn push_line(out: &mut Vec<u8>, r: &Record) {
    if serde_json::to_writer(&mut *out, r).is_ok() {
        out.push(b'\n');
    }
}

/// Creates `dir` (and its parents) readable by its owner alone.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

pub(crate) fn act_of(r: Record) -> Option<Act> {
    match r {
        Record::Act {
            id,
            group,
            account,
            step,
            rule,
            offence,
            key,
            until_ms,
            earlier,
        } => Some(Act {
            id,
            group,
            account,
            step: step.step(),
            rule,
            offence,
            offence_key: key,
            offence_until_ms: until_ms,
            earlier,
        }),
        Record::Done { .. } | Record::Count { .. } | Record::Earlier { .. } => None,
    }
}
