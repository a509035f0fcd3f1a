//! When a bulk job stops early: the failures no other call can escape.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ban_proto::ErrorCode;
use ban_transport::{AbortSignal, AttemptObserver, CallError, ErrorKind};
use serde::{Deserialize, Serialize};

/// Why a bulk job stopped before every member was attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StopKind {
    /// The caller raised the job's abort signal (Ctrl-C, SIGTERM, shutdown).
    Interrupted,
    /// The job was cancelled (by a person, or by an unban of its group).
    Cancelled,
    /// The credentials were refused: secret key, SDKAppID, admin identifier
    /// or UserSig (70001, 70002, 70003, 70005, 70009, 70013, 70014, 70016,
    /// 70020, 70052, 60006, 60012, 60016), or no UserSig could be made.
    Credentials,
    /// The caller may not do this: not the app admin, the feature switch is
    /// off, the group type does not allow it, or the command is disabled for
    /// the app (10007, 10026, 60010, 60017, 60021, 70403).
    Permission,
    /// The description was refused for sensitive words (80001); every call
    /// of the job carries it.
    Description,
    /// The group does not exist, was dismissed, or its ID is invalid (10010, 10015).
    Group,
    /// The server's TLS certificate is not trusted, or TLS failed.
    Tls,
    /// Every connection attempt failed.
    Unreachable,
    /// The server accepted connections but did not answer.
    NoAnswer,
    /// The job's journal could not be written.
    Journal,
    /// The app's edition does not include banning (10059), or it expired
    /// (60020).
    Edition,
    /// Every member sent alone was refused with a code that names members
    /// (10004, 10019, 60015) before any call of the job succeeded: the group
    /// refuses the action itself (a mute in a Work group).
    Refused,
}

impl StopKind {
    /// The job-wide stop that a service code means, if it means one.
    pub fn for_code(code: ErrorCode) -> Option<StopKind> {
        Some(match code.code() {
            70001 | 70002 | 70003 | 70005 | 70009 | 70013 | 70014 | 70016 | 70020 | 70052
            | 60006 | 60012 | 60016 => StopKind::Credentials,
            10007 | 10026 | 60010 | 60017 | 60021 | 70403 => StopKind::Permission,
            80001 => StopKind::Description,
            10010 | 10015 => StopKind::Group,
            10059 | 60020 => StopKind::Edition,
            _ => return None,
        })
    }

    /// What a caller should check, in words that name no flag or method.
    pub fn advice(self) -> &'static str {
        match self {
            StopKind::Interrupted => "the job was interrupted; run it again to finish it",
            StopKind::Cancelled => "the job was cancelled; submit it again to finish it",
            StopKind::Credentials => {
                "check the SDKAppID, the secret key and the admin identifier"
            }
            StopKind::Permission => "the caller must be the app admin, the member-ban feature must be on in the console, and the group type must allow the action",
            StopKind::Group => "check the group ID",
            StopKind::Description => "reword the description",
            StopKind::Tls => "trust the server's CA certificate, or check the endpoint",
            StopKind::Unreachable => "check the endpoint and the network",
            StopKind::NoAnswer => "the endpoint accepts connections but does not answer; check it",
            StopKind::Journal => "check the journal file's disk and permissions",
            StopKind::Edition => "banning needs the Ultimate (or Enterprise) edition; buy or renew it in the console",
            StopKind::Refused => "check that the group's type allows the action (mute: not in Work or Private groups)",
        }
    }
}

impl fmt::Display for StopKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopKind::Interrupted => "interrupted",
            StopKind::Cancelled => "cancelled",
            StopKind::Credentials => "the credentials were refused",
            StopKind::Permission => "permission denied",
            StopKind::Group => "the group cannot be used",
            StopKind::Description => "the description was refused",
            StopKind::Tls => "TLS failed",
            StopKind::Unreachable => "the endpoint is unreachable",
            StopKind::NoAnswer => "the endpoint does not answer",
            StopKind::Journal => "the journal cannot be written",
            StopKind::Edition => "the app's edition does not allow it",
            StopKind::Refused => "the group refuses the action",
        })
    }
}

/// Why a job stopped: the kind, the service code if one was answered, and
/// the failure in words (bounded and escaped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StopReason {
    /// What stopped it.
    pub kind: StopKind,
    /// The service's `ErrorCode`, when the service answered one.
    pub code: Option<i64>,
    /// The failure that stopped it.
    pub reason: Arc<str>,
}

/// `kind (service code N): reason; advice`, the kind said once.
impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.said(), self.kind.advice())
    }
}

impl StopReason {
    /// A stop of `kind` for `reason`, with no service code.
    pub fn new(kind: StopKind, reason: impl Into<Arc<str>>) -> Self {
        StopReason {
            kind,
            code: None,
            reason: reason.into(),
        }
    }

    /// The kind, the service code and the failure in one phrase, without
    /// saying the kind twice (`TLS failed: <why>`, not `TLS failed: TLS
    /// failed: <why>`) and without advice.
    pub fn said(&self) -> String {
        let kind = self.kind.to_string();
        let code = self
            .code
            .map(|c| format!(" (service code {c})"))
            .unwrap_or_default();
        let reason = self
            .reason
            .strip_prefix(kind.as_str())
            .map_or(&*self.reason, |rest| rest.trim_start_matches([':', ' ']));
        if reason.is_empty() {
            format!("{kind}{code}")
        } else {
            format!("{kind}{code}: {reason}")
        }
    }

    /// What a failed single call (a list read, a check) means for the
    /// caller's setup: the stop it would be in a job (credentials,
    /// permission, group, edition, TLS, an endpoint that cannot be reached
    /// or does not answer), or `None` for a failure a retry may cure.
    pub fn of_call(err: &CallError) -> Option<StopReason> {
        let kind = Health::systemic(&err.kind).or(match err.kind {
            ErrorKind::Connect(_) => Some(StopKind::Unreachable),
            ErrorKind::Timeout(_) | ErrorKind::Network(_) => Some(StopKind::NoAnswer),
            _ => None,
        })?;
        Some(reason_of(kind, &err.kind))
    }
}

/// Consecutive connection-level failures that stop a job which has never had
/// an answer: one flaky connection does not, a dead endpoint does at once.
const COLD_FAILURES: u32 = 3;

/// How long a job bears connection-level failures (refused or dropped
/// connections, timeouts) before it stops as [`StopKind::Unreachable`] or
/// [`StopKind::NoAnswer`]. Failures that name the job's own fault
/// (credentials, group, permission, TLS trust) stop it at the first one,
/// whatever the patience.
///
/// A job stops when the last `failures` attempts all failed at the
/// connection level **and** no attempt of the job was answered for `quiet`
/// (since its start, when none ever was).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Patience {
    /// Consecutive failures before the first answer.
    pub cold_failures: u32,
    /// Consecutive failures once the job has been answered.
    pub warm_failures: u32,
    /// How long no attempt may have been answered.
    pub quiet: Duration,
}

impl Patience {
    /// A job a person waits for (`banctl ban`, [`crate::Client::bulk`]):
    /// a dead endpoint stops it after 3 failures, before any answer; once
    /// answered, after twice the in-flight window of failures in a row, so
    /// a server restart or a burst of drops does not.
    pub fn interactive(max_in_flight: usize) -> Self {
        let warm = u32::try_from(max_in_flight.saturating_mul(2)).unwrap_or(u32::MAX);
        Patience {
            cold_failures: COLD_FAILURES,
            warm_failures: warm.max(COLD_FAILURES),
            quiet: Duration::ZERO,
        }
    }

    /// A patience of its own: `cold_failures` consecutive failures before
    /// any answer, `warm_failures` after one, and no answer for `quiet`
    /// (a fleet's, say: it pauses the job for every worker).
    pub fn new(cold_failures: u32, warm_failures: u32, quiet: Duration) -> Self {
        Patience {
            cold_failures,
            warm_failures,
            quiet,
        }
    }

    /// Sets how long no attempt may have been answered.
    pub fn quiet(mut self, quiet: Duration) -> Self {
        self.quiet = quiet;
        self
    }
}

/// Watches every attempt of a job; raises the job's abort signal on the
/// first failure no other call can escape.
pub(crate) struct Health {
    abort: AbortSignal,
    stop: Mutex<Option<StopReason>>,
    answered: AtomicBool,
    consecutive: AtomicU32,
    /// 60007 answers seen.
    rate_limited: AtomicU64,
    patience: Patience,
    started: Instant,
    /// Milliseconds after `started` of the last answer.
    last_answer_ms: AtomicU64,
}

impl Health {
    pub(crate) fn new(abort: AbortSignal, patience: Patience) -> Self {
        Health {
            abort,
            stop: Mutex::new(None),
            answered: AtomicBool::new(false),
            consecutive: AtomicU32::new(0),
            rate_limited: AtomicU64::new(0),
            patience,
            started: Instant::now(),
            last_answer_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// How long since the job's last answer (or its start).
    fn unanswered_for(&self) -> Duration {
        Duration::from_millis(
            self.now_ms()
                .saturating_sub(self.last_answer_ms.load(Ordering::Relaxed)),
        )
    }

    /// Stops the job (the first reason wins) and raises the abort signal.
    pub(crate) fn stop(&self, reason: StopReason) {
        let mut stop = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        if stop.is_none() {
            tracing::warn!(kind = %reason.kind, code = ?reason.code, reason = %reason.reason, "stopping the job");
            *stop = Some(reason);
        }
        drop(stop);
        self.abort.abort();
    }

    pub(crate) fn reason(&self) -> Option<StopReason> {
        self.stop.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// 60007 answers seen by the job's attempts.
    pub(crate) fn rate_limited(&self) -> u64 {
        self.rate_limited.load(Ordering::Relaxed)
    }

    /// The stop a failure means on its own, if any.
    pub(crate) fn systemic(kind: &ErrorKind) -> Option<StopKind> {
        match kind {
            ErrorKind::Service { code, .. } => StopKind::for_code(*code),
            ErrorKind::Credentials(_) => Some(StopKind::Credentials),
            ErrorKind::Tls(_) => Some(StopKind::Tls),
            _ => None,
        }
    }
}

/// Whether an attempt was refused by the service's rate limit (60007).
pub(crate) fn is_rate_limited(failure: Option<&ErrorKind>) -> bool {
    matches!(
        failure,
        Some(ErrorKind::Service {
            code: ErrorCode::RestRateLimited,
            ..
        })
    )
}

impl AttemptObserver for Health {
    fn attempt_done(&self, failure: Option<&ErrorKind>) {
        if is_rate_limited(failure) {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        let unanswered = match failure {
            Some(ErrorKind::Connect(_)) => Some(StopKind::Unreachable),
            Some(ErrorKind::Timeout(_) | ErrorKind::Network(_)) => Some(StopKind::NoAnswer),
            _ => None,
        };
        match (failure, unanswered) {
            (Some(failure), Some(stop)) => {
                let n = self.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
                let limit = if self.answered.load(Ordering::Relaxed) {
                    self.patience.warm_failures
                } else {
                    self.patience.cold_failures
                };
                if n >= limit && self.unanswered_for() >= self.patience.quiet {
                    self.stop(reason_of(stop, failure));
                }
            }
            (failure, _) => {
                if matches!(
                    failure,
                    None | Some(ErrorKind::Service { .. } | ErrorKind::Response { .. })
                ) {
                    self.answered.store(true, Ordering::Relaxed);
                    self.consecutive.store(0, Ordering::Relaxed);
                    self.last_answer_ms.store(self.now_ms(), Ordering::Relaxed);
                }
                if let Some(failure) = failure {
                    if let Some(stop) = Self::systemic(failure) {
                        self.stop(reason_of(stop, failure));
                    }
                }
            }
        }
    }
}

/// A stop reason from a failure.
pub(crate) fn reason_of(kind: StopKind, failure: &ErrorKind) -> StopReason {
    let code = match failure {
        ErrorKind::Service { code, .. } => Some(code.code()),
        _ => None,
    };
    StopReason {
        kind,
        code,
        reason: failure.detail().into(),
    }
}
