//! An in-memory [`ProgressStore`] for tests: it answers each poll from a
//! script and keeps what the engine did (every poll, outcome and shutdown),
//! so a test can hold [`drive`](crate::engine::drive) to its contract, or
//! a store of its own to the same one.

use std::collections::VecDeque;
use std::sync::Arc;

use ban_proto::MemberAccount;

use crate::drive::{Batch, Polled, ProgressStore};
use crate::report::BatchOutcome;
use crate::run::JobRun;

/// What the store answers to one poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// This many batches of one member each (at most the number asked for
    /// in one poll; the rest are answered at the next polls).
    Batches(usize),
    /// None now.
    Idle,
    /// None ever again.
    Exhausted,
}

/// An in-memory store whose batches all belong to one job. When its script
/// runs out it answers [`Polled::Exhausted`].
#[derive(Debug)]
pub struct MemoryStore {
    job: Arc<JobRun>,
    script: VecDeque<Answer>,
    next: u64,
    /// Every poll: when (tokio's clock, paused or not) and how many batches
    /// the engine asked for.
    pub polls: Vec<(tokio::time::Instant, usize)>,
    /// Every outcome recorded, by the batch's ticket (its place, from 0).
    pub recorded: Vec<(u64, BatchOutcome)>,
    /// How often [`ProgressStore::shutdown`] was called.
    pub shutdowns: usize,
}

impl MemoryStore {
    /// A store of `job`'s batches with an empty script.
    pub fn new(job: Arc<JobRun>) -> Self {
        MemoryStore {
            job,
            script: VecDeque::new(),
            next: 0,
            polls: Vec::new(),
            recorded: Vec::new(),
            shutdowns: 0,
        }
    }

    /// Answers the next poll not yet scripted with `answer`.
    pub fn then(mut self, answer: Answer) -> Self {
        self.script.push_back(answer);
        self
    }

    /// The batches asked for, poll by poll.
    pub fn asked(&self) -> Vec<usize> {
        self.polls.iter().map(|(_, n)| *n).collect()
    }
}

impl ProgressStore for MemoryStore {
    type Ticket = u64;
    type Error = std::convert::Infallible;

    async fn poll(&mut self, max: usize) -> Result<Polled<u64>, Self::Error> {
        self.polls.push((tokio::time::Instant::now(), max));
        Ok(match self.script.pop_front().unwrap_or(Answer::Exhausted) {
            Answer::Batches(n) => {
                let now = n.min(max);
                if n > now {
                    self.script.push_front(Answer::Batches(n - now));
                }
                let batches = (0..now)
                    .map(|_| {
                        let ticket = self.next;
                        self.next += 1;
                        let member = MemberAccount::new(format!("m{ticket}"))
                            .expect("a short ASCII account is valid");
                        Batch::new(ticket, self.job.clone(), vec![member])
                    })
                    .collect();
                Polled::Batches(batches)
            }
            Answer::Idle => Polled::Idle,
            Answer::Exhausted => Polled::Exhausted,
        })
    }

    async fn record(
        &mut self,
        ticket: u64,
        _job: &JobRun,
        outcome: BatchOutcome,
    ) -> Result<(), Self::Error> {
        self.recorded.push((ticket, outcome));
        Ok(())
    }

    fn shutdown(&mut self) {
        self.shutdowns += 1;
    }
}
