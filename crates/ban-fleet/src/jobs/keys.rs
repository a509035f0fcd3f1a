//! The ground floor of the jobs: where everything lives in Redis. Every
//! key of an app's queue is laid out here from its prefix and SDKAppID (as
//! apalis-redis takes its key names from its config), with the stream
//! names every Redis query shares.

use std::sync::Arc;

/// The consumer group every worker reads through.
pub(crate) const GROUP: &str = "workers";
/// The stream entry field that holds a batch's members, one a line.
pub(crate) const MEMBERS_FIELD: &str = "m";
/// How long a worker's heartbeat counts it as alive.
pub(crate) const LIVE_FOR_MS: u64 = 5_000;

/// The keys of one app's queue: `PREFIX:app:SDKAPPID:…`, so the jobs of
/// two apps on one Redis never meet.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    prefix: Arc<str>,
    sdkappid: u64,
}

/// The keys of one job. They share one hash tag (`{id}`), so every script
/// and transaction on a job touches one Redis Cluster slot.
#[derive(Debug, Clone)]
pub(crate) struct JobKeys {
    pub(crate) hash: String,
    pub(crate) stream: String,
    pub(crate) done: String,
    pub(crate) failed: String,
    /// The members' earlier ends, read before the job (for an undo).
    pub(crate) prior: String,
}

impl JobKeys {
    /// Every key of the job.
    pub(crate) fn all(&self) -> [&String; 5] {
        [
            &self.hash,
            &self.stream,
            &self.done,
            &self.failed,
            &self.prior,
        ]
    }
}

impl Layout {
    pub(crate) fn new(prefix: &str, sdkappid: u64) -> Self {
        Layout {
            prefix: prefix.into(),
            sdkappid,
        }
    }

    /// The app the keys are for.
    pub(crate) fn sdkappid(&self) -> u64 {
        self.sdkappid
    }

    /// The prefix every key starts with.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    fn app(&self) -> String {
        format!("{}:app:{}", self.prefix, self.sdkappid)
    }

    /// The set of the app's job ids that workers look at.
    pub(crate) fn jobs(&self) -> String {
        format!("{}:jobs", self.app())
    }

    /// The sorted set of the app's workers, scored by their last heartbeat
    /// (Redis time, ms).
    pub(crate) fn workers(&self) -> String {
        format!("{}:workers", self.app())
    }

    /// The hash of the lease each worker runs with (consumer → ms).
    pub(crate) fn leases(&self) -> String {
        format!("{}:worker-leases", self.app())
    }

    /// The keys of job `id`.
    pub(crate) fn job(&self, id: &str) -> JobKeys {
        let base = format!("{}:job:{{{id}}}", self.app());
        JobKeys {
            stream: format!("{base}:stream"),
            done: format!("{base}:done"),
            failed: format!("{base}:failed"),
            prior: format!("{base}:prior"),
            hash: base,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jobs_keys_share_one_hash_tag_under_its_app() {
        let layout = Layout::new("ban", 1400000000);
        let keys = layout.job("00ff");
        for k in keys.all() {
            assert!(k.starts_with("ban:app:1400000000:job:{00ff}"), "{k}");
        }
        assert_eq!(layout.workers(), "ban:app:1400000000:workers");
        assert_ne!(Layout::new("ban", 1).jobs(), Layout::new("ban", 2).jobs());
    }
}
