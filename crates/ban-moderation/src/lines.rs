//! A file of JSON lines written by a thread of its own through a bounded
//! queue (what it cannot keep is dropped and counted, never held without
//! bound), flushed whenever it has nothing more to write, made readable by
//! its owner alone, and optionally size-capped with rotation. The audit log
//! and the callback recording are two of them.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

/// What the writer thread is given.
pub(crate) enum Msg {
    /// A line, newline included.
    Line(Vec<u8>),
    /// A line made by the writer thread (off the caller's path).
    Make(Box<dyn FnOnce() -> Vec<u8> + Send>),
    /// Answer once everything before it is written.
    Flush(tokio::sync::oneshot::Sender<()>),
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Line(_) => "Line",
            Msg::Make(_) => "Make",
            Msg::Flush(_) => "Flush",
        })
    }
}

/// A size cap: past `max_bytes`, the file becomes `FILE.1` (the older
/// ones `FILE.2` and on, `keep` of them at most) and a new one is begun.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rotation {
    pub(crate) max_bytes: u64,
    pub(crate) keep: usize,
}

/// Opens `path` for appending, owner-only (made so when it exists with a
/// looser mode).
pub(crate) fn open_private(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if file.metadata()?.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(file)
}

/// Starts the writer of `path` (`what` names it in errors and the
/// thread); returns its queue of `queue` messages.
pub(crate) fn spawn(
    path: &Path,
    what: &'static str,
    queue: usize,
    rotation: Option<Rotation>,
) -> std::io::Result<mpsc::SyncSender<Msg>> {
    let file = open_private(path)?;
    let size = file.metadata()?.len();
    let (tx, rx) = mpsc::sync_channel::<Msg>(queue);
    let mut out = Out {
        path: path.to_owned(),
        file: std::io::BufWriter::new(file),
        size,
        rotation,
        what,
    };
    std::thread::Builder::new()
        .name(what.into())
        .spawn(move || out.run(&rx))?;
    Ok(tx)
}

struct Out {
    path: PathBuf,
    file: std::io::BufWriter<File>,
    size: u64,
    rotation: Option<Rotation>,
    what: &'static str,
}

impl Out {
    fn run(&mut self, rx: &mpsc::Receiver<Msg>) {
        let mut flushes = Vec::new();
        while let Ok(first) = rx.recv() {
            let mut next = Some(first);
            while let Some(msg) = next {
                match msg {
                    Msg::Line(text) => self.write(&text),
                    Msg::Make(make) => self.write(&make()),
                    Msg::Flush(ack) => flushes.push(ack),
                }
                next = rx.try_recv().ok();
            }
            if let Err(e) = self.file.flush() {
                tracing::error!(error = %e, "the {} cannot be written", self.what);
            }
            for ack in flushes.drain(..) {
                let _ = ack.send(());
            }
        }
    }

    fn write(&mut self, text: &[u8]) {
        let len = text.len() as u64;
        if let Some(r) = self.rotation {
            if self.size > 0 && self.size + len > r.max_bytes {
                if let Err(e) = self.rotate(r.keep) {
                    tracing::error!(error = %e, "the {} cannot be rotated", self.what);
                }
            }
        }
        match self.file.write_all(text) {
            Ok(()) => self.size += len,
            Err(e) => tracing::error!(error = %e, "the {} cannot be written", self.what),
        }
    }

    /// `FILE.k` becomes `FILE.k+1` (the last one goes), `FILE` becomes
    /// `FILE.1`, and a new `FILE` is begun.
    fn rotate(&mut self, keep: usize) -> std::io::Result<()> {
        self.file.flush()?;
        let numbered = |k: usize| {
            let mut p = self.path.clone().into_os_string();
            p.push(format!(".{k}"));
            PathBuf::from(p)
        };
        let keep = keep.max(1);
        let _ = std::fs::remove_file(numbered(keep));
        for k in (1..keep).rev() {
            let from = numbered(k);
            if from.exists() {
                std::fs::rename(&from, numbered(k + 1))?;
            }
        }
        std::fs::rename(&self.path, numbered(1))?;
        self.file = std::io::BufWriter::new(open_private(&self.path)?);
        self.size = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lines-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    async fn flush(tx: &mpsc::SyncSender<Msg>) {
        let (ack, done) = tokio::sync::oneshot::channel();
        tx.send(Msg::Flush(ack)).unwrap();
        done.await.unwrap();
    }

    #[tokio::test]
    async fn past_its_cap_the_file_rotates_keeping_whole_lines_and_at_most_keep_old_ones() {
        let d = dir("rotate");
        let path = d.join("rec.jsonl");
        let cap = Rotation {
            max_bytes: 100,
            keep: 2,
        };
        let tx = spawn(&path, "test file", 16, Some(cap)).unwrap();
        // 30 lines of 10 bytes: 10 to a file, 3 files' worth.
        for i in 0..30 {
            tx.send(Msg::Line(format!("line {i:04}\n").into_bytes()))
                .unwrap();
        }
        flush(&tx).await;
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        let newest = read(path.clone());
        let one = read(d.join("rec.jsonl.1"));
        let two = read(d.join("rec.jsonl.2"));
        assert!(!d.join("rec.jsonl.3").exists(), "keep = 2");
        for f in [&newest, &one, &two] {
            assert!(f.len() <= 100 && f.lines().all(|l| l.len() == 9), "{f:?}");
        }
        assert!(newest.starts_with("line 0020") && one.starts_with("line 0010"));
        assert!(two.starts_with("line 0000"));
        // Without a cap, nothing rotates.
        let plain = d.join("plain.jsonl");
        let tx = spawn(&plain, "test file", 16, None).unwrap();
        for i in 0..30 {
            tx.send(Msg::Line(format!("line {i:04}\n").into_bytes()))
                .unwrap();
        }
        flush(&tx).await;
        assert_eq!(read(plain).lines().count(), 30);
        assert!(!d.join("plain.jsonl.1").exists());
        let _ = std::fs::remove_dir_all(&d);
    }
}
