//! The journal of instances that share Redis: every decided action is
//! added to the app's action stream ([`ban_fleet::ActionStream`]) before
//! it is acted on, and whichever instance reads it acts on it, like a
//! fleet job. An instance that dies leaves what it read pending: another
//! takes it over once it has been idle for the takeover time, and the
//! instance itself, started again under its consumer name, reads its own
//! first. Offence counts are in Redis already ([`crate::RedisCounter`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ban_fleet::ActionStream;
use tokio::sync::mpsc;

use crate::counter::BoxFuture;
use crate::dispatch::Act;
use crate::journal::{decode, encode, Journal, Recovered};

/// How long an instance's actions stay idle before another takes them
/// over, by default.
pub const DEFAULT_TAKEOVER: Duration = Duration::from_secs(30);
/// Actions read at a time.
const READ: usize = 500;

/// Decided actions in Redis, shared by instances.
#[derive(Debug, Clone)]
pub struct RedisJournal {
    stream: ActionStream,
    takeover: Duration,
    /// Actions this instance is working on: handle → stream id.
    working: Arc<Mutex<HashMap<u64, String>>>,
    next: Arc<AtomicU64>,
}

impl RedisJournal {
    /// Records into `stream`; another instance's idle actions are taken
    /// over after [`DEFAULT_TAKEOVER`].
    pub fn new(stream: ActionStream) -> Self {
        RedisJournal {
            stream,
            takeover: DEFAULT_TAKEOVER,
            working: Arc::default(),
            next: Arc::new(AtomicU64::new(1)),
        }
    }

    /// How long an action another instance read stays idle before this one
    /// takes it over (its instance died). This instance says it is still
    /// at its own every third of it.
    pub fn takeover_after(mut self, idle: Duration) -> Self {
        self.takeover = idle.max(Duration::from_millis(300));
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, String>> {
        self.working.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands `entries` to the loop: each decoded, given a handle, kept as
    /// being worked on. A record that does not decode is dropped from the
    /// stream (said once per record).
    async fn hand(&self, entries: Vec<(String, String)>, queue: &mpsc::Sender<Act>) -> bool {
        let mut bad = Vec::new();
        // What an earlier sender read before its call, when it did.
        let ids: Vec<String> = entries.iter().map(|(id, _)| id.clone()).collect();
        let notes = self.stream.notes(&ids).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the actions' notes cannot be read; their earlier state is read again");
            Vec::new()
        });
        for (k, (id, text)) in entries.into_iter().enumerate() {
            let Some(mut act) = decode(&text) else {
                tracing::error!(id, "an action in the stream is not a record; dropped");
                bad.push(id);
                continue;
            };
            if let Some(Some(note)) = notes.get(k) {
                act.earlier = serde_json::from_str(note).ok();
            }
            act.id = self.next.fetch_add(1, Ordering::Relaxed);
            self.lock().insert(act.id, id);
            if queue.send(act).await.is_err() {
                return false;
            }
        }
        let _ = self.stream.done(&bad).await;
        true
    }

    async fn deliver_loop(self, queue: mpsc::Sender<Act>) {
        let mut failing = false;
        let mut after = "0".to_owned();
        let mut own_done = false;
        let mut kept = tokio::time::Instant::now();
        let mut taken = tokio::time::Instant::now();
        loop {
            if queue.is_closed() {
                return;
            }
            let read = async {
                if !own_done {
                    // What this consumer read before a restart, first.
                    let own = self.stream.own_pending(&after, READ).await?;
                    match own.last() {
                        Some((id, _)) => after = id.clone(),
                        None => own_done = true,
                    }
                    return Ok(own);
                }
                let mut got = Vec::new();
                if taken.elapsed() >= self.takeover / 3 {
                    taken = tokio::time::Instant::now();
                    got = self.stream.take_idle(self.takeover, READ).await?;
                }
                if got.is_empty() {
                    got = self.stream.read_new(READ).await?;
                }
                if kept.elapsed() >= self.takeover / 3 {
                    kept = tokio::time::Instant::now();
                    let ids: Vec<String> = self.lock().values().cloned().collect();
                    self.stream.keep(&ids).await?;
                }
                Ok::<_, ban_fleet::RedisSetupError>(got)
            };
            match read.await {
                Ok(entries) => {
                    if failing {
                        failing = false;
                        tracing::warn!("the action stream answers again");
                    }
                    if !self.hand(entries, &queue).await {
                        return;
                    }
                }
                Err(e) => {
                    if !failing {
                        failing = true;
                        tracing::warn!(error = %e, "the action stream cannot be read; this instance acts on what it decides, not durably, until it can");
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

impl Journal for RedisJournal {
    fn record<'a>(&'a self, act: &'a Act) -> BoxFuture<'a, Result<u64, String>> {
        Box::pin(async move {
            self.stream
                .add(&encode(act))
                .await
                .map(|_| 0)
                .map_err(|e| format!("the action stream: {e}"))
        })
    }

    fn done(&self, ids: &[u64]) {
        let done: Vec<String> = {
            let mut working = self.lock();
            ids.iter().filter_map(|h| working.remove(h)).collect()
        };
        if done.is_empty() {
            return;
        }
        let stream = self.stream.clone();
        tokio::spawn(async move {
            // Lost only with Redis: the action is then taken over and
            // sent once more, which converges.
            if let Err(e) = stream.done(&done).await {
                tracing::warn!(error = %e, "done actions not removed from the stream");
            }
        });
    }

    fn earlier<'a>(&'a self, states: &'a [(u64, crate::Earlier)]) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let notes: Vec<(String, String)> = {
                let working = self.lock();
                states
                    .iter()
                    .filter_map(|(h, e)| {
                        let id = working.get(h)?;
                        Some((id.clone(), serde_json::to_string(e).ok()?))
                    })
                    .collect()
            };
            if let Err(e) = self.stream.note(&notes).await {
                tracing::warn!(error = %e, "the accounts' earlier state is not kept in Redis; an action sent again reads it once more");
            }
        })
    }

    fn take_recovered(&self) -> Recovered {
        Recovered::default()
    }

    fn sync(&self) -> BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }

    fn deliver(&self, queue: mpsc::Sender<Act>) -> bool {
        tokio::spawn(self.clone().deliver_loop(queue));
        true
    }
}
