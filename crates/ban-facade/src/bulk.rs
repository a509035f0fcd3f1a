//! Bulk jobs: any number of members, split into calls of at most 20,
//! pipelined under the rate limit, every member accounted for: done, failed
//! with its reason, or not attempted because the job stopped (and why).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ban_proto::{
    BanDuration, BanRequest, Description, Envelope, ErrorCode, GroupId, MemberAccount, MemberList,
    UnbanRequest,
};
use ban_transport::{AbortSignal, CallError, CallOptions, ErrorKind, Outcome};
use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::client::Client;
use crate::input::{InputError, InvalidMember};
use crate::journal::{Header, Journal};
use crate::options::BulkOptions;
use crate::report::{Action, BulkReport, FailedMember, Progress};
use crate::stop::{reason_of, Health, StopKind, StopReason};

/// The codes after which a call of several members is split in two to find
/// the member(s) the service refused.
const SPLIT_ON: [ErrorCode; 3] = [
    ErrorCode::InvalidParameter,
    ErrorCode::AccountNotFound,
    ErrorCode::AccountNotString,
];

/// What the job sends: a ban carries the absolute end of the ban, so every
/// call (retried, resumed or repeated) converges on the same `BannedUntil`.
enum Kind {
    Ban {
        ends_at: u64,
        description: Option<Description<'static>>,
    },
    Unban,
}

struct Job {
    action: Action,
    group: GroupId<'static>,
    kind: Kind,
}

type Chunk = Vec<MemberAccount<'static>>;

fn now_unix() -> u64 {
    since_epoch().as_secs()
}

fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

/// What is left of a ban ending at `ends_at`, rounded up to the second, at
/// least 1 s: the service adds it to its own whole-second clock, so the end
/// it stores is `ends_at` (one second later if the call crosses a second).
fn seconds_left(ends_at: u64) -> BanDuration {
    let left = Duration::from_secs(ends_at).saturating_sub(since_epoch());
    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    let secs = u32::try_from(secs.max(1)).unwrap_or(u32::MAX);
    BanDuration::from_secs(secs).expect("at least 1 s")
}

/// Validates and de-duplicates members, keeping their first order: the
/// checks of every bulk job (and of a fleet job's submission), with the
/// same messages. Returns the members and how many repeats were dropped.
pub fn validate_members<S: AsRef<str>>(
    members: &[S],
) -> Result<(Vec<MemberAccount<'static>>, usize), InputError> {
    prepare(members)
}

fn prepare<S: AsRef<str>>(members: &[S]) -> Result<(Chunk, usize), InputError> {
    if members.is_empty() {
        return Err(InputError::NoMembers);
    }
    let mut seen = HashSet::with_capacity(members.len());
    let mut out = Vec::with_capacity(members.len());
    let mut bad = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let m = m.as_ref();
        if !seen.insert(m) {
            continue;
        }
        match MemberAccount::new(m.to_owned()) {
            Ok(a) => out.push(a),
            Err(e) => bad.push(InvalidMember {
                index: i,
                member: m.to_owned(),
                error: e,
            }),
        }
    }
    if !bad.is_empty() {
        return Err(InputError::Members(bad));
    }
    let duplicates = members.len() - out.len();
    Ok((out, duplicates))
}

/// What a bulk job does, with what that needs: a ban carries its duration
/// and description, an unban nothing, so no code path can turn one into
/// the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BulkAction<'a> {
    /// `ban_group_member` until `duration` from the job's start.
    Ban {
        /// How long.
        duration: BanDuration,
        /// Why, shown to the member (at most 1000 bytes).
        description: Option<&'a str>,
    },
    /// `ban_group_member` until an absolute time (Unix seconds): each call
    /// sends what is left of it (rounded up, at least 1 s), so batches sent
    /// at different times, by different processes, converge on one end.
    BanUntil {
        /// When the ban ends, Unix seconds.
        ends_at: u64,
        /// Why, shown to the member (at most 1000 bytes).
        description: Option<&'a str>,
    },
    /// `unban_group_member`.
    Unban,
}

impl BulkAction<'_> {
    /// The report's action.
    pub fn action(&self) -> Action {
        match self {
            BulkAction::Ban { .. } | BulkAction::BanUntil { .. } => Action::Ban,
            BulkAction::Unban => Action::Unban,
        }
    }
}

impl Client {
    /// Bans any number of members of a group until `duration` from now.
    ///
    /// Input is checked first: a bad group ID, description or member fails
    /// the whole job with [`InputError`] before anything is sent. Then every
    /// member ends in the report: banned, failed with its reason, or not
    /// attempted because a failure no call can escape (credentials refused,
    /// the group does not exist, the endpoint unreachable, ...) stopped the
    /// job early.
    pub async fn ban_members<S: AsRef<str>>(
        &self,
        group: &str,
        members: &[S],
        duration: BanDuration,
        description: Option<&str>,
    ) -> Result<BulkReport, InputError> {
        let action = BulkAction::Ban {
            duration,
            description,
        };
        self.bulk(action, group, members, BulkOptions::new()).await
    }

    /// Lifts the ban of any number of members.
    pub async fn unban_members<S: AsRef<str>>(
        &self,
        group: &str,
        members: &[S],
    ) -> Result<BulkReport, InputError> {
        self.bulk(BulkAction::Unban, group, members, BulkOptions::new())
            .await
    }

    /// Any bulk job, with a journal, an abort signal or progress.
    pub async fn bulk<S: AsRef<str>>(
        &self,
        action: BulkAction<'_>,
        group: &str,
        members: &[S],
        options: BulkOptions,
    ) -> Result<BulkReport, InputError> {
        let group = GroupId::new(group.to_owned())?;
        let (members, duplicates) = prepare(members)?;
        // A ban: the seconds asked for, its absolute end, the description.
        let ban = match action {
            BulkAction::Ban {
                duration,
                description,
            } => Some((
                duration.as_secs(),
                now_unix() + u64::from(duration.as_secs()),
                description,
            )),
            BulkAction::BanUntil {
                ends_at,
                description,
            } => Some((
                ends_at.saturating_sub(now_unix()).clamp(1, u32::MAX.into()) as u32,
                ends_at,
                description,
            )),
            BulkAction::Unban => None,
        };
        let (kind, header_ban) = match ban {
            Some((secs, ends_at, description)) => {
                let description = Self::validate_description(description)?;
                let header = (
                    secs,
                    ends_at,
                    description.as_ref().map(|d| d.as_str().to_owned()),
                );
                (
                    Kind::Ban {
                        ends_at,
                        description,
                    },
                    Some(header),
                )
            }
            None => (Kind::Unban, None),
        };
        let mut kind = kind;
        let journal = match &options.journal {
            None => None,
            Some(path) => {
                let header = Header::new(
                    action.action().name(),
                    group.as_str(),
                    &members,
                    header_ban
                        .as_ref()
                        .map(|(secs, ends, d)| (*secs, *ends, d.as_deref())),
                );
                let journal = Journal::open(path, header)?;
                // A resumed ban keeps the first run's end.
                if let (Kind::Ban { ends_at, .. }, Some(end)) = (&mut kind, journal.header.ends_at)
                {
                    *ends_at = end;
                }
                Some(journal)
            }
        };
        let job = Job {
            action: action.action(),
            group,
            kind,
        };
        Ok(self.run(job, members, duplicates, journal, options).await)
    }

    async fn send(
        &self,
        job: &Job,
        chunk: &MemberList<'static>,
        options: CallOptions,
    ) -> Result<Outcome<Envelope>, CallError> {
        let members = chunk.reborrow();
        match &job.kind {
            Kind::Ban {
                ends_at,
                description,
            } => {
                // What is left of the ban: a repeat converges on the same
                // end instead of extending it.
                let req = BanRequest {
                    group_id: job.group.reborrow(),
                    members,
                    duration: seconds_left(*ends_at),
                    description: description.as_ref().map(Description::reborrow),
                };
                self.transport.call_with(&req, options).await
            }
            Kind::Unban => {
                let req = UnbanRequest {
                    group_id: job.group.reborrow(),
                    members,
                };
                self.transport.call_with(&req, options).await
            }
        }
    }

    async fn run(
        &self,
        job: Job,
        members: Chunk,
        duplicates: usize,
        mut journal: Option<Journal>,
        options: BulkOptions,
    ) -> BulkReport {
        let started = Instant::now();
        let total = members.len();
        let mut report = BulkReport {
            action: job.action,
            group: job.group.to_string(),
            succeeded: Vec::with_capacity(total),
            failed: Vec::new(),
            not_attempted: Vec::new(),
            stopped: None,
            resumed: 0,
            duplicates,
            calls: 0,
            retries: 0,
            rate_limited: 0,
            limiter: String::new(),
            elapsed: Duration::ZERO,
        };
        let pending: Chunk = match &journal {
            Some(j) if !j.done.is_empty() => {
                let (done, rest): (Chunk, Chunk) = members
                    .into_iter()
                    .partition(|m| j.done.contains(m.as_str()));
                report.resumed = done.len();
                report
                    .succeeded
                    .extend(done.into_iter().map(|m| m.to_string()));
                tracing::info!(
                    resumed = report.resumed,
                    left = rest.len(),
                    "resuming from the journal"
                );
                rest
            }
            _ => members,
        };
        let mut queue: VecDeque<MemberList<'static>> = pending
            .chunks(MemberList::MAX)
            .filter_map(|c| MemberList::new(c.to_vec()).ok())
            .collect();
        drop(pending);

        let abort = AbortSignal::new();
        let health = Arc::new(Health::new(abort.clone(), self.max_in_flight));
        let call_options = CallOptions::new()
            .abort_on(abort.clone())
            .observer(health.clone());
        let user_abort = options.abort.clone();
        let mut in_flight = FuturesUnordered::new();
        loop {
            while in_flight.len() < self.max_in_flight && !health.is_stopped() {
                let Some(chunk) = queue.pop_front() else {
                    break;
                };
                let job = &job;
                let opts = call_options.clone();
                in_flight.push(async move {
                    let result = self.send(job, &chunk, opts).await;
                    (chunk, result)
                });
            }
            let next = tokio::select! {
                next = in_flight.next() => next,
                () = wait_abort(user_abort.as_ref()), if !health.is_stopped() => {
                    health.stop(StopReason {
                        kind: StopKind::Interrupted,
                        code: None,
                        reason: "the job's abort signal was raised".into(),
                    });
                    continue;
                }
            };
            let Some((chunk, result)) = next else {
                break;
            };
            match result {
                Ok(out) => {
                    report.calls += 1;
                    report.retries += u64::from(out.attempts.saturating_sub(1));
                    record(&mut journal, &health, true, chunk.as_slice(), None);
                    report.succeeded.extend(chunk.iter().map(String::from));
                }
                Err(err) if err.attempts == 0 && matches!(err.kind, ErrorKind::Aborted) => {
                    queue.push_front(chunk);
                }
                Err(err) => {
                    if err.attempts > 0 {
                        report.calls += 1;
                    }
                    report.retries += u64::from(err.attempts.saturating_sub(1));
                    if let Some(stop) = Health::systemic(&err.kind) {
                        health.stop(reason_of(stop, &err.kind));
                    }
                    let split = err.error_code().is_some_and(|c| SPLIT_ON.contains(&c));
                    let chunk = if split {
                        match chunk.split_in_two() {
                            Ok((front, back)) => {
                                tracing::info!(code = ?err.error_code(), members = front.len() + back.len(), "splitting a refused call to find the member");
                                queue.push_front(back);
                                queue.push_front(front);
                                None
                            }
                            Err(one) => Some(one),
                        }
                    } else {
                        Some(chunk)
                    };
                    if let Some(chunk) = chunk {
                        let code = err.error_code().map(ErrorCode::code);
                        let reason: Arc<str> = err.kind.to_string().into();
                        record(
                            &mut journal,
                            &health,
                            false,
                            chunk.as_slice(),
                            Some((code, &reason)),
                        );
                        report.failed.extend(chunk.iter().map(|m| FailedMember {
                            member: String::from(m),
                            code,
                            reason: reason.clone(),
                            random: err.random,
                        }));
                    }
                }
            }
            if let Some(progress) = &options.progress {
                progress(Progress {
                    done: report.succeeded.len(),
                    failed: report.failed.len(),
                    total,
                    calls: report.calls,
                });
            }
        }
        report.not_attempted = queue
            .iter()
            .flat_map(MemberList::iter)
            .map(String::from)
            .collect();
        report.stopped = health.reason();
        report.rate_limited = health.rate_limited();
        report.limiter = self.transport.limiter_description();
        if let Some(j) = &journal {
            if let Err(e) = j.sync() {
                tracing::warn!(error = %e, "the journal could not be synced to disk");
            }
        }
        report.elapsed = started.elapsed();
        tracing::info!(
            action = job.action.done_key(),
            group = %report.group,
            done = report.succeeded.len(),
            failed = report.failed.len(),
            not_attempted = report.not_attempted.len(),
            stopped = ?report.stopped.as_ref().map(|s| s.kind),
            calls = report.calls,
            retries = report.retries,
            elapsed_ms = report.elapsed.as_millis() as u64,
            "bulk job finished"
        );
        report
    }
}

/// Resolves when the caller's abort signal is raised; never without one.
async fn wait_abort(signal: Option<&AbortSignal>) {
    match signal {
        Some(s) => s.aborted().await,
        None => std::future::pending().await,
    }
}

/// Appends a finished call to the journal; a journal that cannot be written
/// stops the job (what it would lose is what makes a resume exact).
fn record(
    journal: &mut Option<Journal>,
    health: &Health,
    done: bool,
    chunk: &[MemberAccount<'static>],
    failure: Option<(Option<i64>, &str)>,
) {
    let Some(j) = journal else {
        return;
    };
    if let Err(e) = j.record(done, chunk, failure) {
        health.stop(StopReason {
            kind: StopKind::Journal,
            code: None,
            reason: e.to_string().into(),
        });
        *journal = None;
    }
}
