//! Bulk jobs: any number of members, split into calls of at most 20 (ban,
//! unban) or 500 (mute, unmute), pipelined under the rate limit, every member accounted for: done, failed
//! with its reason, or not attempted because the job stopped (and why).

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use ban_proto::{BanDuration, GroupId, MemberAccount, MuteDuration};

use crate::client::Client;
use crate::drive::{drive, Batch, DriveOptions, Polled, ProgressStore};
use crate::input::{InputError, InvalidMember};
use crate::job::Action;
use crate::job::{JobAction, JobSpec, MuteEnd};
use crate::journal::{Header, Journal, Record};
use crate::options::BulkOptions;
use crate::report::{BatchOutcome, BulkReport, Progress};
use crate::run::{interrupt, since_epoch, JobRun, Members};
use crate::stop::{Patience, StopKind, StopReason};

type Chunk = Members;

fn now_unix() -> u64 {
    since_epoch().as_secs()
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
    /// `forbid_send_msg` for `duration` from the job's start
    /// ([`MuteDuration::PERMANENT`] for good; [`MuteDuration::LIFT`] is an
    /// [`BulkAction::Unmute`], as the service reads it).
    Mute {
        /// How long.
        duration: MuteDuration,
    },
    /// `forbid_send_msg` until an absolute end: each call sends what is
    /// left of it, so batches sent at different times converge on one end.
    MuteUntil {
        /// When the mutes end.
        ends_at: MuteEnd,
    },
    /// `forbid_send_msg` with `MuteTime` 0.
    Unmute,
    /// `im_open_login_svc/kick`, one account a call.
    Kick,
}

impl BulkAction<'_> {
    /// The report's action.
    pub fn action(&self) -> Action {
        self.to_job(0).0.kind()
    }

    /// The job's action when it starts at `now` (Unix seconds): a ban's
    /// duration becomes its absolute end. Also returns the seconds a ban
    /// asked for, which the journal's header keeps.
    pub fn to_job(&self, now: u64) -> (JobAction, Option<u32>) {
        match *self {
            BulkAction::Ban {
                duration,
                description,
            } => (
                JobAction::Ban {
                    ends_at: now + u64::from(duration.as_secs()),
                    description: description.map(str::to_owned),
                },
                Some(duration.as_secs()),
            ),
            BulkAction::BanUntil {
                ends_at,
                description,
            } => (
                JobAction::Ban {
                    ends_at,
                    description: description.map(str::to_owned),
                },
                Some(ends_at.saturating_sub(now).clamp(1, u32::MAX.into()) as u32),
            ),
            BulkAction::Unban => (JobAction::Unban, None),
            BulkAction::Mute { duration } if duration.is_lift() => (JobAction::Unmute, None),
            BulkAction::Mute { duration } if duration.is_permanent() => (
                JobAction::Mute {
                    ends_at: MuteEnd::Permanent,
                },
                Some(u32::MAX),
            ),
            BulkAction::Mute { duration } => (
                JobAction::Mute {
                    ends_at: MuteEnd::At(now + u64::from(duration.as_secs())),
                },
                Some(duration.as_secs()),
            ),
            BulkAction::MuteUntil { ends_at } => {
                let asked = match ends_at {
                    MuteEnd::Permanent => u32::MAX,
                    MuteEnd::At(t) => {
                        t.saturating_sub(now).clamp(1, u64::from(u32::MAX - 1)) as u32
                    }
                };
                (JobAction::Mute { ends_at }, Some(asked))
            }
            BulkAction::Unmute => (JobAction::Unmute, None),
            BulkAction::Kick => (JobAction::Kick, None),
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

    /// Mutes any number of members for `duration` (calls of up to 500):
    /// they stay in the group and cannot send until it ends. A repeat
    /// sets the same end again.
    pub async fn mute_members<S: AsRef<str>>(
        &self,
        group: &str,
        members: &[S],
        duration: MuteDuration,
    ) -> Result<BulkReport, InputError> {
        self.bulk(
            BulkAction::Mute { duration },
            group,
            members,
            BulkOptions::new(),
        )
        .await
    }

    /// Lifts the mute of any number of members.
    pub async fn unmute_members<S: AsRef<str>>(
        &self,
        group: &str,
        members: &[S],
    ) -> Result<BulkReport, InputError> {
        self.bulk(BulkAction::Unmute, group, members, BulkOptions::new())
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
        let (job_action, asked) = action.to_job(now_unix());
        let mut spec = JobSpec::new(group, job_action)?;
        spec.priority = options.priority;
        let (members, duplicates) = prepare(members)?;
        let journal = match &options.journal {
            None => None,
            Some(path) => {
                let mut header = Header::new(&spec.action, asked, &spec.group, &members);
                if matches!(
                    action,
                    BulkAction::BanUntil { .. } | BulkAction::MuteUntil { .. }
                ) {
                    // An absolute end: the job is its end, not the seconds
                    // left of it when a run starts.
                    header.duration = None;
                }
                let journal = Journal::open(path, header)?;
                // A resumed ban or mute keeps the first run's end.
                match (&mut spec.action, journal.header.ends_at) {
                    (JobAction::Ban { ends_at, .. }, Some(end)) => *ends_at = end,
                    (
                        JobAction::Mute {
                            ends_at: MuteEnd::At(t),
                        },
                        Some(end),
                    ) => *t = end,
                    _ => {}
                }
                Some(journal)
            }
        };
        let started = Instant::now();
        let mut journal = journal;
        let mut read_calls = 0;
        let kind = spec.action.kind();
        if let Some(j) = journal.as_mut() {
            // Before the first call (a journal with members done already
            // was written without the read: it is kept as it is).
            if matches!(kind, Action::Ban | Action::Mute) && j.prior.is_none() && j.done.is_empty()
            {
                let group = GroupId::new(spec.group.clone())?;
                match self.read_prior(kind, &group, &members).await {
                    Ok(state) => {
                        read_calls = state.calls;
                        j.record_prior(state)?;
                    }
                    Err(e) => {
                        let mut report = BulkReport::new(kind, spec.group.clone());
                        report.not_attempted =
                            members.iter().map(|m| m.as_str().to_owned()).collect();
                        report.stopped = Some(crate::prior::read_failed(&e));
                        report.duplicates = duplicates;
                        report.state_read_calls = 1;
                        report.elapsed = started.elapsed();
                        return Ok(report);
                    }
                }
            }
        }
        let run = JobRun::new(self, spec, Patience::interactive(self.max_in_flight))?;
        let mut store = JournalStore::new(Arc::new(run), members, journal, options.progress);
        store.report.duplicates = duplicates;
        let mut drive_options = DriveOptions::new(self.max_in_flight);
        if let Some(abort) = options.abort {
            drive_options = drive_options.shutdown_on(abort);
        }
        let Ok(()) = drive(&mut store, drive_options).await;
        let mut report = store.finish();
        report.state_read_calls = read_calls;
        report.limiter = self.transport.limiter_description();
        report.elapsed = started.elapsed();
        tracing::info!(
            action = report.action.done_key(),
            group = %report.group,
            done = report.succeeded.len(),
            failed = report.failed.len(),
            not_attempted = report.not_attempted.len(),
            stopped = ?report.stopped.as_ref().map(|s| s.kind),
            calls = report.calls,
            retries = report.retries,
            elapsed_ms = report.elapsed.as_millis() as u64,
            permit_wait_ms = report.permit_wait.as_millis() as u64,
            "bulk job finished"
        );
        Ok(report)
    }
}

/// The local engine's store: batches from memory, outcomes into the report
/// and, with a journal, into its file (one line per outcome, written
/// through), so a run after a crash sends only what is not done.
pub(crate) struct JournalStore {
    job: Arc<JobRun>,
    queue: VecDeque<Members>,
    journal: Option<Journal>,
    pub(crate) report: BulkReport,
    progress: Option<Arc<dyn Fn(Progress) + Send + Sync>>,
    total: usize,
}

impl JournalStore {
    pub(crate) fn new(
        job: Arc<JobRun>,
        members: Chunk,
        journal: Option<Journal>,
        progress: Option<Arc<dyn Fn(Progress) + Send + Sync>>,
    ) -> Self {
        let total = members.len();
        let mut report = BulkReport::new(job.spec().action.kind(), job.spec().group.clone());
        report.succeeded.reserve(total);
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
        let queue = pending
            .chunks(job.spec().action.kind().batch_max())
            .map(<[_]>::to_vec)
            .collect();
        JournalStore {
            job,
            queue,
            journal,
            report,
            progress,
            total,
        }
    }

    /// The report: what was never sent is not attempted.
    pub(crate) fn finish(mut self) -> BulkReport {
        self.report
            .not_attempted
            .extend(self.queue.iter().flatten().map(|m| m.as_str().to_owned()));
        self.report.stopped = self.job.stopped();
        if let Some(j) = &self.journal {
            if let Err(e) = j.sync() {
                tracing::warn!(error = %e, "the journal could not be synced to disk");
            }
        }
        self.report
    }

    /// Appends an outcome to the journal; a journal that cannot be written
    /// stops the job (what it would lose is what makes a resume exact).
    fn journal(&mut self, outcome: &BatchOutcome) {
        let Some(j) = &mut self.journal else {
            return;
        };
        let mut result = Ok(());
        if !outcome.done.is_empty() {
            result = j.record(&Record::Done {
                done: outcome.done.iter().map(|m| m.as_str().into()).collect(),
            });
        }
        // One line per reason: the members of one call share it.
        for group in outcome
            .failed
            .chunk_by(|a, b| a.code == b.code && Arc::ptr_eq(&a.reason, &b.reason))
        {
            if result.is_err() {
                break;
            }
            let first = &group[0];
            result = j.record(&Record::Failed {
                failed: group.iter().map(|f| f.member.as_str().into()).collect(),
                code: first.code,
                reason: first.reason.as_ref().into(),
            });
        }
        if let Err(e) = result {
            self.job
                .stop(StopReason::new(StopKind::Journal, e.to_string()));
            self.journal = None;
        }
    }
}

impl ProgressStore for JournalStore {
    type Ticket = ();
    type Error = Infallible;

    async fn poll(&mut self, max: usize) -> Result<Polled<()>, Infallible> {
        if self.job.is_stopped() || self.queue.is_empty() {
            return Ok(Polled::Exhausted);
        }
        let n = max.min(self.queue.len());
        Ok(Polled::Batches(
            self.queue
                .drain(..n)
                .map(|members| Batch::new((), self.job.clone(), members))
                .collect(),
        ))
    }

    async fn record(
        &mut self,
        (): (),
        _job: &JobRun,
        outcome: BatchOutcome,
    ) -> Result<(), Infallible> {
        self.journal(&outcome);
        self.report.absorb(outcome);
        if let Some(progress) = &self.progress {
            progress(Progress {
                done: self.report.succeeded.len(),
                failed: self.report.failed.len(),
                total: self.total,
                calls: self.report.calls,
            });
        }
        Ok(())
    }

    fn shutdown(&mut self) {
        interrupt(&self.job);
    }
}
