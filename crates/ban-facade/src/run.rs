//! The one job engine: a [`JobRun`] runs batches of one job (split on the
//! codes that name a member, paced and retried by the transport, every
//! failure classified by one monitor per job), and [`crate::drive`] keeps a
//! window of batches in flight between a [`crate::ProgressStore`] and the
//! service. The local engine ([`Client::bulk`]) drives the journal store; a
//! fleet worker drives its Redis store with the same code.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ban_proto::{
    BanDuration, BanRequest, Description, Envelope, ErrorCode, GroupId, MemberAccount, MemberList,
    MuteDuration, MuteMemberList, MuteRequest, UnbanRequest, ValidationError,
};
use ban_transport::{AbortSignal, AttemptObserver, CallError, CallOptions, ErrorKind, Outcome};

use crate::client::Client;
use crate::input::InputError;
use crate::job::{JobAction, JobSpec, MuteEnd};
use crate::report::{BatchOutcome, FailedMember};
use crate::stop::{is_rate_limited, reason_of, Health, Patience, StopKind, StopReason};

/// The codes after which a call of several members is split in two to find
/// the member(s) the service refused.
const SPLIT_ON: &[ErrorCode] = &[
    ErrorCode::InvalidParameter,
    ErrorCode::AccountNotFound,
    ErrorCode::AccountNotString,
];

pub(crate) fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

/// The members of one batch, checked; a call takes as many of them as its
/// command allows ([`crate::Action::batch_max`]).
pub type Members = Vec<MemberAccount<'static>>;

/// What is left until `ends_at`, rounded up to the second, at least 1 s and
/// at most `max`: the service adds it to its own whole-second clock, so the
/// end it stores is `ends_at` (one second later if the call crosses a
/// second).
fn seconds_left(ends_at: u64, max: u32) -> u32 {
    let left = Duration::from_secs(ends_at).saturating_sub(since_epoch());
    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    u32::try_from(secs).unwrap_or(max).clamp(1, max)
}

/// The `MuteTime` of a mute ending at `end`: permanent as itself, a time as
/// what is left of it (below 4294967295, which would make it permanent).
fn mute_time(end: MuteEnd) -> MuteDuration {
    match end {
        MuteEnd::Permanent => MuteDuration::PERMANENT,
        MuteEnd::At(t) => MuteDuration::from_secs(seconds_left(t, u32::MAX - 1)),
    }
}

/// Single-member calls refused with a member-naming code, before any call
/// of the job succeeded, after which the refusal is taken as the job's: the
/// group refuses the action itself (a mute in a Work group answers 10004
/// whoever the members are), and splitting every batch down to single
/// members would spend two calls per member to learn nothing.
const REFUSED_ALONE_LIMIT: u64 = 8;

/// A job's action, checked and ready to send.
enum Kind {
    Ban {
        ends_at: u64,
        description: Option<Description<'static>>,
    },
    Unban,
    Mute(MuteEnd),
    Unmute,
    Kick,
}

/// One job being run: its checked action, its abort signal, and the one
/// failure monitor every batch of the job reports to, so whether the job was
/// ever answered, and how many connection failures it has seen in a row,
/// are properties of the job, not of a batch.
pub struct JobRun {
    client: Client,
    spec: JobSpec,
    group: GroupId<'static>,
    kind: Kind,
    abort: AbortSignal,
    health: Arc<Health>,
    /// Whether a call of the job succeeded.
    succeeded: AtomicBool,
    /// Members sent alone and refused with a code that names members.
    refused_alone: AtomicU64,
}

impl std::fmt::Debug for JobRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobRun")
            .field("spec", &self.spec)
            .field("stopped", &self.stopped())
            .finish_non_exhaustive()
    }
}

/// Counts one batch's 60007 answers and tells the job's monitor every attempt.
struct BatchObserver {
    health: Arc<Health>,
    rate_limited: AtomicU64,
    permit_wait_us: AtomicU64,
}

impl AttemptObserver for BatchObserver {
    fn attempt_done(&self, failure: Option<&ErrorKind>) {
        if is_rate_limited(failure) {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        self.health.attempt_done(failure);
    }

    fn permit_waited(&self, waited: Duration) {
        let us = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
        self.permit_wait_us.fetch_add(us, Ordering::Relaxed);
    }
}

impl JobRun {
    /// A run of `spec` through `client`, stopping on connection failures as
    /// `patience` says. Refuses an invalid group or description.
    pub fn new(client: &Client, spec: JobSpec, patience: Patience) -> Result<JobRun, InputError> {
        let group = GroupId::new(spec.group.clone())?;
        let kind = match &spec.action {
            JobAction::Ban {
                ends_at,
                description,
            } => Kind::Ban {
                ends_at: *ends_at,
                description: Client::validate_description(description.as_deref())?,
            },
            JobAction::Unban => Kind::Unban,
            JobAction::Mute { ends_at } => Kind::Mute(*ends_at),
            JobAction::Unmute => Kind::Unmute,
            JobAction::Kick => Kind::Kick,
        };
        let abort = AbortSignal::new();
        Ok(JobRun {
            client: client.clone(),
            spec,
            group,
            kind,
            health: Arc::new(Health::new(abort.clone(), patience)),
            abort,
            succeeded: AtomicBool::new(false),
            refused_alone: AtomicU64::new(0),
        })
    }

    /// The job.
    pub fn spec(&self) -> &JobSpec {
        &self.spec
    }

    /// Stops the job (the first reason wins): calls waiting for a permit end
    /// unsent, failed attempts are not retried, no batch starts.
    pub fn stop(&self, reason: StopReason) {
        self.health.stop(reason);
    }

    /// Why the job stopped, if it did.
    pub fn stopped(&self) -> Option<StopReason> {
        self.health.reason()
    }

    /// Whether the job stopped.
    pub fn is_stopped(&self) -> bool {
        self.abort.is_aborted()
    }

    /// 60007 answers seen over the job's attempts.
    pub fn rate_limited(&self) -> u64 {
        self.health.rate_limited()
    }

    /// Runs one batch: sends it in calls of as many members as the action
    /// allows, splits a call in two on a code that may name one member
    /// (until the member is found), and classifies every failure. A failure
    /// of the job's own (credentials, group, ...) stops the job.
    pub async fn run_batch(&self, batch: Members) -> BatchOutcome {
        let observer = Arc::new(BatchObserver {
            health: self.health.clone(),
            rate_limited: AtomicU64::new(0),
            permit_wait_us: AtomicU64::new(0),
        });
        let options = CallOptions::new()
            .abort_on(self.abort.clone())
            .observer(observer.clone())
            .priority(self.spec.priority.unwrap_or_default());
        let mut out = BatchOutcome::default();
        let max = self.spec.action.kind().batch_max();
        let mut parts: VecDeque<Members> = if batch.len() <= max {
            VecDeque::from([batch])
        } else {
            batch.chunks(max).map(<[_]>::to_vec).collect()
        };
        let names = |part: &[MemberAccount<'static>]| -> Vec<String> {
            part.iter().map(|m| m.as_str().to_owned()).collect()
        };
        while let Some(mut part) = parts.pop_front() {
            if part.is_empty() {
                continue;
            }
            if self.is_stopped() {
                out.not_attempted.extend(names(&part));
                continue;
            }
            if matches!(self.kind, Kind::Kick)
                && part.iter().any(|m| m.as_str() == self.client.admin_id())
            {
                // Kicked, the admin's UserSig would stop every call of the
                // job, and of every other process of the app.
                let reason: Arc<str> = "the app admin every call is made as is never kicked".into();
                out.failed.extend(
                    part.iter()
                        .map(|m| FailedMember::new(m.as_str(), None, reason.clone(), 0)),
                );
                continue;
            }
            let sent = match self.send(&part, options.clone()).await {
                Ok(sent) => sent,
                Err(invalid) => {
                    // Not reached: parts are cut to the action's size and
                    // hold checked accounts. Reported, never dropped.
                    let reason: Arc<str> = invalid.to_string().into();
                    out.failed.extend(
                        part.iter()
                            .map(|m| FailedMember::new(m.as_str(), None, reason.clone(), 0)),
                    );
                    continue;
                }
            };
            match sent {
                Ok(ok) => {
                    out.calls += 1;
                    out.retries += u64::from(ok.attempts.saturating_sub(1));
                    self.succeeded.store(true, Ordering::Relaxed);
                    out.done.extend(names(&part));
                }
                Err(err) if err.attempts == 0 && matches!(err.kind, ErrorKind::Aborted) => {
                    out.not_attempted.extend(names(&part));
                }
                Err(err) => {
                    if err.attempts > 0 {
                        out.calls += 1;
                    }
                    out.retries += u64::from(err.attempts.saturating_sub(1));
                    if let Some(stop) = Health::systemic(&err.kind) {
                        self.health.stop(reason_of(stop, &err.kind));
                    }
                    let split = err.error_code().is_some_and(|c| SPLIT_ON.contains(&c));
                    if split && part.len() > 1 {
                        let back = part.split_off(part.len().div_ceil(2));
                        tracing::info!(code = ?err.error_code(), members = part.len() + back.len(), "splitting a refused call to find the member");
                        parts.push_front(back);
                        parts.push_front(part);
                        continue;
                    }
                    if split {
                        self.refused_alone(&err);
                    }
                    let code = err.error_code().map(ErrorCode::code);
                    let reason: Arc<str> = err.kind.detail().into();
                    out.failed.extend(
                        part.iter().map(|m| {
                            FailedMember::new(m.as_str(), code, reason.clone(), err.random)
                        }),
                    );
                }
            }
        }
        out.rate_limited = observer.rate_limited.load(Ordering::Relaxed);
        out.permit_wait = Duration::from_micros(observer.permit_wait_us.load(Ordering::Relaxed));
        out
    }

    /// One member sent alone was refused with a code that names members:
    /// after [`REFUSED_ALONE_LIMIT`] of them with no success in the job, the
    /// refusal is the group's, and the job stops.
    fn refused_alone(&self, err: &CallError) {
        let n = self.refused_alone.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= REFUSED_ALONE_LIMIT && !self.succeeded.load(Ordering::Relaxed) {
            self.health.stop(StopReason {
                kind: StopKind::Refused,
                code: err.error_code().map(ErrorCode::code),
                reason: format!(
                    "the first {n} members sent alone were all refused and no call of the job succeeded; the last: {}",
                    err.kind.detail()
                )
                .into(),
            });
        }
    }

    async fn send(
        &self,
        part: &[MemberAccount<'static>],
        options: CallOptions,
    ) -> Result<Result<Outcome<Envelope>, CallError>, ValidationError> {
        let transport = self.client.transport();
        let group_id = self.group.reborrow();
        Ok(match &self.kind {
            Kind::Ban {
                ends_at,
                description,
            } => {
                // What is left of the ban: a repeat converges on the same
                // end instead of extending it.
                let secs = seconds_left(*ends_at, u32::MAX);
                let req = BanRequest {
                    group_id,
                    members: MemberList::borrowed(part)?,
                    duration: BanDuration::from_secs(secs)?,
                    description: description.as_ref().map(Description::reborrow),
                };
                transport.call_with(&req, options).await
            }
            Kind::Unban => {
                let req = UnbanRequest {
                    group_id,
                    members: MemberList::borrowed(part)?,
                };
                transport.call_with(&req, options).await
            }
            Kind::Mute(_) | Kind::Unmute => {
                let mute_time = match &self.kind {
                    Kind::Mute(end) => mute_time(*end),
                    _ => MuteDuration::LIFT,
                };
                let req = MuteRequest {
                    group_id,
                    members: MuteMemberList::borrowed(part)?,
                    mute_time,
                    topic_id: None,
                };
                transport.call_with(&req, options).await
            }
            Kind::Kick => {
                // Parts of a kick hold one account (its batch_max).
                let account = part.first().map_or("", |m| m.as_str());
                let req = ban_proto::KickRequest::new(account)?;
                transport.call_with(&req, options).await
            }
        })
    }
}

/// Stops `job` as interrupted by its caller.
pub(crate) fn interrupt(job: &JobRun) {
    job.stop(StopReason::new(
        StopKind::Interrupted,
        "the caller stopped the job",
    ));
}
