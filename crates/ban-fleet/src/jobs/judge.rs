//! Whose failure is it: a worker refused for its credentials, its admin,
//! its network or its CA stops serving when other workers of the job
//! succeed (the job goes on), and pauses the job for everyone when none
//! does. The judgement is a type of its own and does no I/O: the store
//! reads the job and the live workers, the [`Quarantine`] decides.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ban_facade::{StopKind, StopReason};

use super::meta::JobMeta;

/// How recent another worker's success must be for a worker refused for
/// its own credentials to take the fault as its own (and stop serving).
pub const QUARANTINE_WINDOW: Duration = Duration::from_secs(10);
/// How long a worker refused for its credentials waits for another live
/// worker of the job to succeed before it pauses the job for everyone.
pub const QUARANTINE_GRACE: Duration = Duration::from_secs(5);

/// Failures that may be this worker's alone (its key, its admin, its
/// network, its CA) rather than the job's.
pub(crate) fn may_be_the_workers(kind: StopKind) -> bool {
    matches!(
        kind,
        StopKind::Credentials
            | StopKind::Permission
            | StopKind::Tls
            | StopKind::Unreachable
            | StopKind::NoAnswer
    )
}

/// What a worker refused for a failure that may be its own does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Another worker of the job succeeds: the fault is this worker's; it
    /// stops serving and the job goes on.
    StopServing,
    /// No other worker is alive, or none succeeded within the grace: the
    /// job pauses for everyone.
    Pause,
    /// Other workers are alive: wait (at most [`QUARANTINE_GRACE`]) to
    /// learn whether they succeed.
    Wait,
}

/// The jobs whose run stopped for a failure that may be this worker's,
/// waiting to learn whether other workers succeed.
#[derive(Debug, Default)]
pub(crate) struct Quarantine {
    suspect: HashMap<String, (StopReason, Instant)>,
}

impl Quarantine {
    /// Judges job `id`, whose calls by worker `me` stopped for `stop`,
    /// from its hash (`meta`: who last succeeded, when), Redis's clock
    /// (`now`, ms) and whether any other worker is alive.
    pub(crate) fn judge(
        &mut self,
        id: &str,
        stop: &StopReason,
        me: &str,
        meta: &JobMeta,
        now: u64,
        others_live: bool,
    ) -> Verdict {
        let others_ok = meta.last_ok_by.as_deref().is_some_and(|b| b != me)
            && now.saturating_sub(meta.last_ok_ms) < QUARANTINE_WINDOW.as_millis() as u64;
        if others_ok {
            return Verdict::StopServing;
        }
        let since = self
            .suspect
            .entry(id.to_owned())
            .or_insert_with(|| (stop.clone(), Instant::now()))
            .1;
        if !others_live || since.elapsed() >= QUARANTINE_GRACE {
            self.suspect.remove(id);
            Verdict::Pause
        } else {
            Verdict::Wait
        }
    }

    /// Forgets job `id` (paused, cancelled or gone).
    pub(crate) fn clear(&mut self, id: &str) {
        self.suspect.remove(id);
    }

    /// The jobs waiting for a judgement, with why.
    pub(crate) fn suspects(&self) -> Vec<(String, StopReason)> {
        self.suspect
            .iter()
            .map(|(id, (s, _))| (id.clone(), s.clone()))
            .collect()
    }

    /// No job waits for a judgement.
    pub(crate) fn is_empty(&self) -> bool {
        self.suspect.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap as Map;

    fn meta(last_ok_by: Option<&str>, last_ok_ms: u64) -> JobMeta {
        let spec = r#"{"group":"g","action":"ban","ends_at":4000000000}"#;
        let mut h: Map<String, String> = [
            ("spec", spec),
            ("sdkappid", "1"),
            ("total", "1"),
            ("state", "running"),
            ("created_ms", "0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        h.insert("last_ok_ms".into(), last_ok_ms.to_string());
        if let Some(b) = last_ok_by {
            h.insert("last_ok_by".into(), b.into());
        }
        JobMeta::from_hash("j", &h).unwrap()
    }

    fn refused() -> StopReason {
        StopReason::new(StopKind::Credentials, "70009")
    }

    #[test]
    fn another_workers_recent_success_makes_the_fault_this_workers() {
        let mut q = Quarantine::default();
        let m = meta(Some("other"), 100_000);
        assert_eq!(
            q.judge("j", &refused(), "me", &m, 105_000, true),
            Verdict::StopServing
        );
        // Its own success, or one older than the window, does not.
        let mine = meta(Some("me"), 100_000);
        assert_eq!(
            q.judge("j", &refused(), "me", &mine, 105_000, true),
            Verdict::Wait
        );
        assert_eq!(
            q.judge("j", &refused(), "me", &m, 100_000 + 10_000, true),
            Verdict::Wait
        );
        assert!(!q.is_empty());
    }

    #[test]
    fn alone_the_job_pauses_at_once_and_is_forgotten() {
        let mut q = Quarantine::default();
        let m = meta(None, 0);
        assert_eq!(
            q.judge("j", &refused(), "me", &m, 1_000, false),
            Verdict::Pause
        );
        assert!(q.is_empty());
        assert_eq!(
            q.judge("j", &refused(), "me", &m, 1_000, true),
            Verdict::Wait
        );
        assert_eq!(q.suspects().len(), 1);
        q.clear("j");
        assert!(q.is_empty());
    }
}
