//! The write-ahead record of decided actions: each [`Act`] is written
//! durably before it is queued, and marked done once its call has
//! returned, so a process killed in the middle of a raid sends, when it
//! starts again, every action it decided and did not finish (bans and
//! mutes converge, so one sent twice is harmless).
//!
//! [`FileJournal`] keeps it in a directory of its own: JSON lines appended
//! by one writer thread with group commit (every record waiting when a
//! write begins shares its `fsync`), a lock so one process uses the
//! directory at a time, and compaction at start and whenever the file has
//! grown well past what is still live. The offence counts of the actions
//! are kept with them, so the ladder goes on where it was.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use ban_rules::Step;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::counter::BoxFuture;
use crate::dispatch::Act;
use crate::event::now_ms;

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
pub(crate) fn encode(act: &Act) -> String {
    serde_json::to_string(&Record::of(act, act.id)).unwrap_or_default()
}

/// An action from [`encode`]'s text.
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
    #[error("{dir} is in use by another process (one serve per --state-dir)")]
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

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A step as the journal writes it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct StepRecord {
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
enum Record {
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
    },
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
    fn of(act: &Act, id: u64) -> Record {
        Record::Act {
            id,
            group: act.group.clone(),
            account: act.account.clone(),
            step: act.step.into(),
            rule: act.rule.clone(),
            offence: act.offence,
            key: act.offence_key.clone(),
            until_ms: act.offence_until_ms,
        }
    }
}

/// What is still live of a journal: actions not done, offence counts.
#[derive(Debug, Default)]
struct Live {
    acts: std::collections::BTreeMap<u64, Record>,
    /// Offence key: (count, until_ms).
    offences: HashMap<String, (u64, u64)>,
    max_id: u64,
}

impl Live {
    fn apply(&mut self, r: Record) {
        match r {
            Record::Act {
                id,
                ref key,
                offence,
                until_ms,
                ..
            } => {
                self.max_id = self.max_id.max(id);
                let o = self.offences.entry(key.clone()).or_insert((0, 0));
                if offence >= o.0 {
                    *o = (offence, until_ms);
                }
                self.acts.insert(id, r);
            }
            Record::Done { ids } => {
                for id in ids {
                    self.acts.remove(&id);
                }
            }
            Record::Count {
                key,
                offence,
                until_ms,
            } => {
                let o = self.offences.entry(key).or_insert((0, 0));
                if offence >= o.0 {
                    *o = (offence, until_ms);
                }
            }
        }
    }

    /// Drops the offence counts whose windows have ended.
    fn expire(&mut self, now_ms: u64) {
        self.offences.retain(|_, (_, until)| *until > now_ms);
    }

    /// The live records, as lines.
    fn lines(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut keys_of_acts = std::collections::HashSet::new();
        for r in self.acts.values() {
            if let Record::Act { key, .. } = r {
                keys_of_acts.insert(key.clone());
            }
            push_line(&mut out, r);
        }
        // The counts of actions done, while their windows last.
        for (key, (offence, until_ms)) in &self.offences {
            if keys_of_acts.contains(key) {
                continue;
            }
            let r = Record::Count {
                key: key.clone(),
                offence: *offence,
                until_ms: *until_ms,
            };
            push_line(&mut out, &r);
        }
        out
    }
}

fn push_line(out: &mut Vec<u8>, r: &Record) {
    if serde_json::to_writer(&mut *out, r).is_ok() {
        out.push(b'\n');
    }
}

enum Cmd {
    Record(Record, oneshot::Sender<Result<(), String>>),
    Done(Vec<u64>),
    Sync(oneshot::Sender<()>),
}

/// Commands waiting for the writer, at most; beyond, a record is refused
/// (the caller then acts without it) rather than held without bound.
const QUEUE: usize = 65_536;
/// Compact once the file is this large and four times what is live.
const COMPACT_AT: u64 = 8 << 20;

/// The journal in a directory: `journal.jsonl`, and `lock`, held while
/// the journal is open.
pub struct FileJournal {
    tx: mpsc::SyncSender<Cmd>,
    next_id: AtomicU64,
    recovered: Mutex<Option<Recovered>>,
    dir: PathBuf,
    _lock: DirLock,
}

impl std::fmt::Debug for FileJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileJournal")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl FileJournal {
    /// Opens (creating it, mode 0700) the journal in `dir`: refused if
    /// another process holds it; what it holds is read, compacted and kept
    /// for [`Journal::take_recovered`]. A torn last line (a kill in the
    /// middle of a write) is dropped; any other bad line is an error.
    pub fn open(dir: &Path) -> Result<FileJournal, JournalError> {
        let lock = DirLock::acquire(dir)?;
        let path = dir.join("journal.jsonl");
        let mut live = read(&path)?;
        live.expire(now_ms());
        let file = compact(&path, &live)?;
        let recovered = Recovered {
            acts: live
                .acts
                .values()
                .filter_map(|r| act_of(r.clone()))
                .collect(),
            offences: live
                .offences
                .iter()
                .map(|(k, (n, until))| {
                    let left = Duration::from_millis(until.saturating_sub(now_ms()));
                    (k.clone(), *n, left)
                })
                .collect(),
        };
        let next_id = live.max_id + 1;
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let writer = Writer {
            path: path.clone(),
            file,
            live,
            written: 0,
        };
        std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || writer.run(&rx))
            .map_err(io(&path))?;
        Ok(FileJournal {
            tx,
            next_id: AtomicU64::new(next_id),
            recovered: Mutex::new(Some(recovered)),
            dir: dir.to_owned(),
            _lock: lock,
        })
    }
}

/// Creates `dir` (and its parents) readable by its owner alone.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

fn act_of(r: Record) -> Option<Act> {
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
        } => Some(Act {
            id,
            group,
            account,
            step: step.step(),
            rule,
            offence,
            offence_key: key,
            offence_until_ms: until_ms,
        }),
        Record::Done { .. } | Record::Count { .. } => None,
    }
}

fn read(path: &Path) -> Result<Live, JournalError> {
    let mut live = Live::default();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(live),
        Err(e) => return Err(io(path)(e)),
    };
    let mut lines = BufReader::new(file).split(b'\n').enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let line = line.map_err(io(path))?;
        if line.is_empty() {
            continue;
        }
        match serde_json::from_slice::<Record>(&line) {
            Ok(r) => live.apply(r),
            // The last line may be torn by a kill in the middle of a write.
            Err(_) if lines.peek().is_none() => {}
            Err(e) => {
                return Err(JournalError::Corrupt {
                    path: path.to_owned(),
                    line: i + 1,
                    reason: e.to_string(),
                })
            }
        }
    }
    Ok(live)
}

/// Writes what is live to a new file, durably, in place of the old one;
/// returns it open for appending.
fn compact(path: &Path, live: &Live) -> Result<File, JournalError> {
    let tmp = path.with_extension("jsonl.tmp");
    let mut options = File::options();
    options.create(true).write(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp).map_err(io(&tmp))?;
    f.write_all(&live.lines()).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io(path))?;
    if let Some(dir) = path.parent() {
        // The rename itself is durable once the directory is.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    File::options().append(true).open(path).map_err(io(path))
}

struct Writer {
    path: PathBuf,
    file: File,
    live: Live,
    written: u64,
}

impl Writer {
    fn run(mut self, rx: &mpsc::Receiver<Cmd>) {
        let mut failing = false;
        while let Ok(first) = rx.recv() {
            // Group commit: everything already waiting shares one fsync.
            let mut batch = vec![first];
            while batch.len() < 4_096 {
                match rx.try_recv() {
                    Ok(c) => batch.push(c),
                    Err(_) => break,
                }
            }
            let mut out = Vec::new();
            let mut acks = Vec::new();
            let mut syncs = Vec::new();
            for cmd in batch {
                match cmd {
                    Cmd::Record(r, ack) => {
                        push_line(&mut out, &r);
                        self.live.apply(r);
                        acks.push(ack);
                    }
                    Cmd::Done(ids) => {
                        let r = Record::Done { ids };
                        push_line(&mut out, &r);
                        self.live.apply(r);
                    }
                    Cmd::Sync(ack) => syncs.push(ack),
                }
            }
            let result = self
                .file
                .write_all(&out)
                .and_then(|()| self.file.sync_data())
                .map_err(|e| format!("{}: {e}", self.path.display()));
            match &result {
                Err(e) if !failing => {
                    failing = true;
                    tracing::error!(error = %e, "the journal cannot be written: decided actions are not durable until it can");
                }
                Ok(()) if failing => {
                    failing = false;
                    tracing::warn!("the journal is written again");
                }
                _ => {}
            }
            self.written += out.len() as u64;
            for ack in acks {
                let _ = ack.send(result.clone());
            }
            for ack in syncs {
                let _ = ack.send(());
            }
            if self.written > COMPACT_AT {
                self.live.expire(now_ms());
                let live_len = self.live.lines().len() as u64;
                if self.written > 4 * live_len {
                    match compact(&self.path, &self.live) {
                        Ok(f) => {
                            self.file = f;
                            self.written = live_len;
                        }
                        Err(e) => tracing::error!(error = %e, "the journal cannot be compacted"),
                    }
                }
            }
        }
    }
}

impl Journal for FileJournal {
    fn record<'a>(&'a self, act: &'a Act) -> BoxFuture<'a, Result<u64, String>> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (ack, wait) = oneshot::channel();
        let sent = self.tx.try_send(Cmd::Record(Record::of(act, id), ack));
        Box::pin(async move {
            sent.map_err(|_| "the journal's queue is full".to_owned())?;
            match wait.await {
                Ok(Ok(())) => Ok(id),
                Ok(Err(e)) => Err(e),
                Err(_) => Err("the journal's writer stopped".to_owned()),
            }
        })
    }

    fn done(&self, ids: &[u64]) {
        if !ids.is_empty() {
            // Lost only when the writer is far behind: the action is then
            // sent once more after a restart, which converges.
            let _ = self.tx.try_send(Cmd::Done(ids.to_vec()));
        }
    }

    fn take_recovered(&self) -> Recovered {
        self.recovered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_default()
    }

    fn sync(&self) -> BoxFuture<'_, ()> {
        let (ack, wait) = oneshot::channel();
        let tx = self.tx.clone();
        Box::pin(async move {
            // Waits for room: a sync is rare (shutdown, tests).
            let sent =
                tokio::task::spawn_blocking(move || tx.send(Cmd::Sync(ack)).map_err(|_| ())).await;
            if matches!(sent, Ok(Ok(()))) {
                let _ = wait.await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(account: &str, offence: u64, until_ms: u64) -> Act {
        Act {
            id: 0,
            group: "@TGS#a".into(),
            account: account.into(),
            step: Step::Ban(Duration::from_secs(600)),
            rule: "spam".into(),
            offence,
            offence_key: format!("offence:spam:@TGS#a:{account}"),
            offence_until_ms: until_ms,
        }
    }

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ban-journal-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[tokio::test]
    async fn what_is_not_done_comes_back_with_its_counts() {
        let d = dir("back");
        let later = now_ms() + 60_000;
        {
            let j = FileJournal::open(&d).unwrap();
            assert!(j.take_recovered().acts.is_empty());
            let a = j.record(&act("a", 1, later)).await.unwrap();
            let b = j.record(&act("b", 2, later)).await.unwrap();
            let _ = j.record(&act("old", 3, 1)).await.unwrap();
            j.done(&[a]);
            j.sync().await;
            assert!(matches!(
                FileJournal::open(&d),
                Err(JournalError::Locked { .. })
            ));
            assert_ne!(a, b);
        }
        // The writer thread ends with its queue; the lock goes with the
        // journal.
        std::thread::sleep(Duration::from_millis(50));
        let j = FileJournal::open(&d).unwrap();
        let r = j.take_recovered();
        let accounts: Vec<&str> = r.acts.iter().map(|a| a.account.as_str()).collect();
        assert_eq!(accounts, ["b", "old"], "not done, oldest first");
        let mut counts: Vec<(String, u64)> =
            r.offences.iter().map(|(k, n, _)| (k.clone(), *n)).collect();
        counts.sort();
        assert_eq!(
            counts,
            [
                ("offence:spam:@TGS#a:a".to_owned(), 1),
                ("offence:spam:@TGS#a:b".to_owned(), 2)
            ],
            "a done action's count stays while its window lasts; an ended one goes"
        );
        let id = j.record(&act("c", 1, later)).await.unwrap();
        assert!(r.acts.iter().all(|a| a.id < id), "ids go on");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_a_bad_middle_line_named() {
        let d = dir("torn");
        std::fs::create_dir_all(&d).unwrap();
        let path = d.join("journal.jsonl");
        let mut good = Vec::new();
        push_line(&mut good, &Record::of(&act("a", 1, now_ms() + 60_000), 7));
        let mut torn = good.clone();
        torn.extend_from_slice(br#"{"t":"act","id":8,"gro"#);
        std::fs::write(&path, &torn).unwrap();
        let j = FileJournal::open(&d).unwrap();
        assert_eq!(j.take_recovered().acts.len(), 1);
        drop(j);
        std::thread::sleep(Duration::from_millis(50));
        let mut bad = b"not json\n".to_vec();
        bad.extend_from_slice(&good);
        std::fs::write(&path, &bad).unwrap();
        let e = FileJournal::open(&d).unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
