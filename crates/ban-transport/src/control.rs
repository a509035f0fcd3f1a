//! What a caller can do to a call in progress: stop it early, and watch its
//! attempts (the bulk engine uses both to stop a job on a systemic failure).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use crate::error::ErrorKind;

/// A signal shared by any number of calls: once raised, calls still waiting
/// for a rate-limit permit end with [`ErrorKind::Aborted`] (nothing sent),
/// and calls that failed an attempt stop retrying and return that failure.
/// An attempt already on the wire is never cut: it ends by its own timeout.
///
/// ```
/// let stop = ban_transport::AbortSignal::new();
/// let clone = stop.clone();
/// assert!(!clone.is_aborted());
/// stop.abort();
/// assert!(clone.is_aborted());
/// ```
#[derive(Clone, Default)]
pub struct AbortSignal(Arc<Inner>);

#[derive(Default)]
struct Inner {
    aborted: AtomicBool,
    notify: Notify,
}

impl AbortSignal {
    /// A signal not yet raised.
    pub fn new() -> Self {
        AbortSignal::default()
    }

    /// Raises the signal (again is harmless).
    pub fn abort(&self) {
        if !self.0.aborted.swap(true, Ordering::SeqCst) {
            self.0.notify.notify_waiters();
        }
    }

    /// Whether it was raised.
    pub fn is_aborted(&self) -> bool {
        self.0.aborted.load(Ordering::SeqCst)
    }

    /// Resolves once the signal is raised (at once if it already was).
    pub async fn aborted(&self) {
        loop {
            let notified = self.0.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_aborted() {
                return;
            }
            notified.await;
        }
    }
}

impl fmt::Debug for AbortSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortSignal")
            .field("aborted", &self.is_aborted())
            .finish()
    }
}

/// Told the end of every attempt a call makes, before the transport decides
/// whether to retry: `None` when the attempt succeeded, else how it failed.
/// It runs on the calling task; keep it quick.
pub trait AttemptObserver: Send + Sync + 'static {
    /// One attempt ended.
    fn attempt_done(&self, failure: Option<&ErrorKind>);

    /// An attempt waited this long for its permit from the rate limiter.
    fn permit_waited(&self, waited: std::time::Duration) {
        let _ = waited;
    }
}

/// Per-call options.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct CallOptions {
    /// The `random` of the call (default: drawn fresh). Kept across retries.
    pub random: Option<u32>,
    /// Ends the call early when raised.
    pub abort: Option<AbortSignal>,
    /// Told the end of each attempt.
    pub observer: Option<Arc<dyn AttemptObserver>>,
    /// Its lane at the rate limiter (default: normal).
    pub priority: crate::Priority,
}

impl CallOptions {
    /// Every option at its default.
    pub fn new() -> Self {
        CallOptions::default()
    }

    /// Sets the call's `random`.
    pub fn random(mut self, random: u32) -> Self {
        self.random = Some(random);
        self
    }

    /// Ends the call early when `signal` is raised.
    pub fn abort_on(mut self, signal: AbortSignal) -> Self {
        self.abort = Some(signal);
        self
    }

    /// Tells `observer` the end of each attempt.
    pub fn observer(mut self, observer: Arc<dyn AttemptObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Waits for the rate limiter in `priority`'s lane.
    pub fn priority(mut self, priority: crate::Priority) -> Self {
        self.priority = priority;
        self
    }

    pub(crate) fn is_aborted(&self) -> bool {
        self.abort.as_ref().is_some_and(AbortSignal::is_aborted)
    }

    /// Resolves when the abort signal is raised; never without one.
    pub(crate) async fn aborted(&self) {
        match &self.abort {
            Some(a) => a.aborted().await,
            None => std::future::pending().await,
        }
    }
}

impl fmt::Debug for CallOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallOptions")
            .field("random", &self.random)
            .field("abort", &self.abort)
            .field("observer", &self.observer.is_some())
            .field("priority", &self.priority)
            .finish()
    }
}
