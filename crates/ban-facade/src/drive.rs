//! The engine's loop: [`drive`] keeps a window of batches in flight
//! between a [`ProgressStore`] and the service, each run by its job's
//! [`JobRun`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ban_transport::AbortSignal;
use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::report::BatchOutcome;
use crate::run::{JobRun, Members};

/// A batch to run: a ticket the store knows it by, the job it belongs to,
/// and its members.
#[derive(Debug)]
#[non_exhaustive]
pub struct Batch<T> {
    /// What the store knows the batch by (a journal needs nothing; Redis,
    /// the stream entry).
    pub ticket: T,
    /// Its job.
    pub job: Arc<JobRun>,
    /// Its members (a call takes at most its action's
    /// [`crate::Action::batch_max`]; a longer batch is sent in several calls).
    pub members: Members,
}

impl<T> Batch<T> {
    /// A batch of `job`.
    pub fn new(ticket: T, job: Arc<JobRun>, members: Members) -> Self {
        Batch {
            ticket,
            job,
            members,
        }
    }
}

/// What a store has to run.
#[derive(Debug)]
#[non_exhaustive]
pub enum Polled<T> {
    /// These batches, now (fewer than asked: there are no more now).
    Batches(Vec<Batch<T>>),
    /// None now; ask again later.
    Idle,
    /// None, and there will be none: once the batches in flight finish, the
    /// engine returns.
    Exhausted,
}

/// Where a job's batches come from and where their outcomes go: the journal
/// file for the local engine, Redis Streams for a fleet. The engine knows
/// no more of a store than this.
pub trait ProgressStore: Send {
    /// What the store knows a batch by.
    type Ticket: Send + 'static;
    /// Why the store failed; the engine stops and returns it.
    type Error: Send;

    /// Up to `max` batches to run.
    fn poll(
        &mut self,
        max: usize,
    ) -> impl Future<Output = Result<Polled<Self::Ticket>, Self::Error>> + Send;

    /// Records what a batch did.
    fn record(
        &mut self,
        ticket: Self::Ticket,
        job: &JobRun,
        outcome: BatchOutcome,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The engine's shutdown signal was raised: no batch is polled any
    /// more. A store decides what its jobs do (the local engine stops its
    /// job; a worker lets its batches finish).
    fn shutdown(&mut self);
}

/// How [`drive`] runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DriveOptions {
    /// Batches in flight at once.
    pub window: usize,
    /// When raised, no batch is polled any more and the engine returns once
    /// the batches in flight finish.
    pub shutdown: Option<AbortSignal>,
    /// How long to wait before polling a store that was idle.
    pub idle_wait: Duration,
    /// Poll only once this many slots of the window are free (or the
    /// window is empty): a store whose poll costs round trips (Redis) is
    /// asked for batches in bunches, not after every batch.
    pub refill_at: usize,
}

impl DriveOptions {
    /// `window` batches in flight (a window of 0 cannot run anything and is
    /// taken as 1; the client and the worker refuse 0 before it gets
    /// here), no shutdown signal, 200 ms idle wait, polling for each free
    /// slot.
    pub fn new(window: usize) -> Self {
        DriveOptions {
            window: window.max(1),
            shutdown: None,
            idle_wait: Duration::from_millis(200),
            refill_at: 1,
        }
    }

    /// Polls only once `n` slots are free (at most the window; at least 1).
    pub fn refill_at(mut self, n: usize) -> Self {
        self.refill_at = n.clamp(1, self.window);
        self
    }

    /// Stops polling when `signal` is raised.
    pub fn shutdown_on(mut self, signal: AbortSignal) -> Self {
        self.shutdown = Some(signal);
        self
    }

    /// How long to wait before polling an idle store again.
    pub fn idle_wait(mut self, wait: Duration) -> Self {
        self.idle_wait = wait;
        self
    }
}

/// The engine: keeps up to `window` batches in flight, polling the store
/// for more as each finishes and recording each outcome as it arrives.
/// Returns when the store is exhausted (or shut down) and nothing is in
/// flight, or at the store's first error.
pub async fn drive<S: ProgressStore>(store: &mut S, options: DriveOptions) -> Result<(), S::Error> {
    let mut in_flight = FuturesUnordered::new();
    let mut exhausted = false;
    let mut shut = false;
    let shutdown = options.shutdown.clone();
    loop {
        let mut idle = false;
        let free = options.window - in_flight.len();
        if !exhausted && !shut && (free >= options.refill_at || in_flight.is_empty()) {
            match store.poll(options.window - in_flight.len()).await? {
                Polled::Batches(batches) => {
                    idle = in_flight.len() + batches.len() < options.window;
                    for b in batches {
                        in_flight.push(async move {
                            let outcome = b.job.run_batch(b.members).await;
                            (b.ticket, b.job, outcome)
                        });
                    }
                }
                Polled::Idle => idle = true,
                Polled::Exhausted => exhausted = true,
            }
        }
        if in_flight.is_empty() && (exhausted || shut) {
            return Ok(());
        }
        tokio::select! {
            Some((ticket, job, outcome)) = in_flight.next(), if !in_flight.is_empty() => {
                store.record(ticket, &job, outcome).await?;
            }
            () = wait_abort(shutdown.as_ref()), if !shut => {
                shut = true;
                store.shutdown();
            }
            () = tokio::time::sleep(options.idle_wait), if idle || (in_flight.is_empty() && !exhausted) => {}
        }
    }
}

/// Resolves when the signal is raised; never without one.
async fn wait_abort(signal: Option<&AbortSignal>) {
    match signal {
        Some(s) => s.aborted().await,
        None => std::future::pending().await,
    }
}
