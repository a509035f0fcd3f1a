//! How a bulk job runs.

use std::path::PathBuf;
use std::sync::Arc;

use ban_transport::{AbortSignal, Priority};

use crate::report::Progress;

/// How a bulk job runs: a journal to resume from, a signal to stop it, a
/// progress callback.
///
/// ```
/// use ban_facade::{AbortSignal, BulkOptions};
///
/// let stop = AbortSignal::new();
/// let options = BulkOptions::new()
///     .journal("/var/lib/moderation/raid-42.journal")
///     .abort_on(stop.clone())
///     .progress(|p| eprintln!("{}/{}", p.done + p.failed, p.total));
/// // on SIGTERM: stop.abort(); the job ends with its report.
/// # drop(options);
/// ```
#[derive(Clone, Default)]
pub struct BulkOptions {
    pub(crate) journal: Option<PathBuf>,
    pub(crate) abort: Option<AbortSignal>,
    pub(crate) progress: Option<Arc<dyn Fn(Progress) + Send + Sync>>,
    pub(crate) priority: Option<Priority>,
}

impl std::fmt::Debug for BulkOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkOptions")
            .field("journal", &self.journal)
            .field("abort", &self.abort)
            .field("progress", &self.progress.is_some())
            .field("priority", &self.priority)
            .finish()
    }
}

impl BulkOptions {
    /// Every option off.
    pub fn new() -> Self {
        BulkOptions::default()
    }

    /// Appends every finished call to the journal at `path`, and skips the
    /// members an earlier run with the same journal finished. The journal
    /// must have been written for the same job (action, group, member set,
    /// duration, description); a ban resumed from it keeps its end time.
    pub fn journal(mut self, path: impl Into<PathBuf>) -> Self {
        self.journal = Some(path.into());
        self
    }

    /// Stops the job when `signal` is raised: no new call is sent, calls on
    /// the wire finish (bounded by their timeout, not retried), and the
    /// report lists the rest as not attempted.
    pub fn abort_on(mut self, signal: AbortSignal) -> Self {
        self.abort = Some(signal);
        self
    }

    /// The job's lane at the rate limiter (default [`Priority::Normal`]):
    /// an urgent job's calls take the next free slots before any waiting
    /// normal or bulk call, in this process and, with a shared limiter,
    /// across the fleet.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Calls `f` after each call.
    pub fn progress(mut self, f: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }
}
