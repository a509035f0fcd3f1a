//! [`FileJournal`]: the journal in a directory of its own. JSON lines
//! appended by one writer thread with group commit (every record waiting
//! when a write begins shares its `fsync`), a lock so one process uses the
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

use tokio::sync::oneshot;

use crate::counter::BoxFuture;
use crate::dispatch::Act;
use crate::event::now_ms;
use crate::journal::{act_of, io, push_line, DirLock, Journal, JournalError, Record, Recovered};

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
            Record::Earlier { states } => {
                for (id, e) in states {
                    if let Some(Record::Act { earlier, .. }) = self.acts.get_mut(&id) {
                        *earlier = Some(e);
                    }
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

enum Cmd {
    Record(Record, oneshot::Sender<Result<(), String>>),
    /// A record no one waits for (done, earlier states).
    Note(Record),
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
                    Cmd::Note(r) => {
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
            let _ = self
                .tx
                .try_send(Cmd::Note(Record::Done { ids: ids.to_vec() }));
        }
    }

    fn earlier<'a>(&'a self, states: &'a [(u64, crate::Earlier)]) -> BoxFuture<'a, ()> {
        if !states.is_empty() {
            // Lost only when the writer is far behind: an action sent
            // again after a restart then reads its state once more.
            let states = states.to_vec();
            let _ = self.tx.try_send(Cmd::Note(Record::Earlier { states }));
        }
        self.sync()
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
            // Waits for room: a sync is rare (once a round of actions,
            // shutdown).
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
    use ban_rules::Step;

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
            earlier: None,
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

    /// An action sent again after a restart keeps what was read before
    /// its first call, through compaction too.
    #[tokio::test]
    async fn the_earlier_state_comes_back_with_its_action() {
        let d = dir("earlier");
        let later = now_ms() + 60_000;
        {
            let j = FileJournal::open(&d).unwrap();
            let a = j.record(&act("a", 1, later)).await.unwrap();
            let b = j.record(&act("b", 1, later)).await.unwrap();
            j.earlier(&[
                (a, crate::Earlier::Until(1_900_000_000)),
                (b, crate::Earlier::Nothing),
            ])
            .await;
        }
        for _ in 0..2 {
            // The second open reads the compacted file.
            std::thread::sleep(Duration::from_millis(50));
            let j = FileJournal::open(&d).unwrap();
            let got: Vec<(String, Option<crate::Earlier>)> = j
                .take_recovered()
                .acts
                .into_iter()
                .map(|a| (a.account, a.earlier))
                .collect();
            assert_eq!(
                got,
                [
                    ("a".to_owned(), Some(crate::Earlier::Until(1_900_000_000))),
                    ("b".to_owned(), Some(crate::Earlier::Nothing))
                ]
            );
        }
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
