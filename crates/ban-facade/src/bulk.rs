//! Bulk jobs: any number of members, split into calls of at most 20,
//! pipelined under the rate limit, every member accounted for.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use ban_proto::{
    BanDuration, BanRequest, Description, Envelope, ErrorCode, GroupId, MemberAccount, MemberList,
    UnbanRequest,
};
use ban_transport::{CallError, Outcome};
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::client::{Client, InputError};

/// What a bulk job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `ban_group_member`.
    Ban,
    /// `unban_group_member`.
    Unban,
}

impl Action {
    fn done_key(self) -> &'static str {
        match self {
            Action::Ban => "banned",
            Action::Unban => "unbanned",
        }
    }
}

/// Where a bulk job stands, reported after each call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Members done so far.
    pub done: usize,
    /// Members failed so far.
    pub failed: usize,
    /// Members in the job (duplicates removed).
    pub total: usize,
    /// Calls made so far.
    pub calls: u64,
}

/// A member the job could not ban (or unban), and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FailedMember {
    /// The member.
    pub member: String,
    /// The service's `ErrorCode`, when the service answered.
    pub code: Option<i64>,
    /// Why, in words.
    pub reason: String,
    /// The `random` of the last call that carried the member.
    pub random: u32,
}

/// The outcome of a bulk job. Every member of the input is in exactly one
/// of `succeeded` and `failed` (duplicates counted once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkReport {
    /// Ban or unban.
    pub action: Action,
    /// The group.
    pub group: String,
    /// Members banned (or unbanned).
    pub succeeded: Vec<String>,
    /// Members that failed, each with its reason.
    pub failed: Vec<FailedMember>,
    /// Repeated members dropped from the input.
    pub duplicates: usize,
    /// Calls made (logical calls; retries are counted apart).
    pub calls: u64,
    /// Retries made over all calls.
    pub retries: u64,
    /// Time the job took.
    pub elapsed: Duration,
}

impl BulkReport {
    /// Whether every member succeeded.
    pub fn all_succeeded(&self) -> bool {
        self.failed.is_empty()
    }
}

/// JSON for scripts: `banned` (or `unbanned`), `failed` with `member`,
/// `code`, `reason` and `random` each, `duplicates`, `calls`, `retries`,
/// `elapsed_ms`.
impl Serialize for BulkReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(8))?;
        m.serialize_entry("group", &self.group)?;
        m.serialize_entry(self.action.done_key(), &self.succeeded)?;
        m.serialize_entry("failed", &self.failed)?;
        m.serialize_entry("duplicates", &self.duplicates)?;
        m.serialize_entry("calls", &self.calls)?;
        m.serialize_entry("retries", &self.retries)?;
        m.serialize_entry("elapsed_ms", &(self.elapsed.as_millis() as u64))?;
        m.end()
    }
}

/// The codes after which a call of several members is split in two to find
/// the member(s) the service refused.
const SPLIT_ON: [ErrorCode; 3] = [
    ErrorCode::InvalidParameter,
    ErrorCode::AccountNotFound,
    ErrorCode::AccountNotString,
];

struct Job {
    action: Action,
    group: GroupId<'static>,
    duration: Option<BanDuration>,
    description: Option<Description<'static>>,
}

/// Validates and de-duplicates members, keeping their first order.
fn prepare<S: AsRef<str>>(
    members: &[S],
) -> Result<(Vec<MemberAccount<'static>>, usize), InputError> {
    if members.is_empty() {
        return Err(InputError::NoMembers);
    }
    let mut seen = HashSet::with_capacity(members.len());
    let mut out = Vec::with_capacity(members.len());
    let mut bad = Vec::new();
    for m in members {
        let m = m.as_ref();
        if !seen.insert(m) {
            continue;
        }
        match MemberAccount::new(m.to_owned()) {
            Ok(a) => out.push(a),
            Err(e) => bad.push((m.to_owned(), e)),
        }
    }
    if !bad.is_empty() {
        return Err(InputError::Members(bad));
    }
    let duplicates = members.len() - out.len();
    Ok((out, duplicates))
}

impl Client {
    /// Bans any number of members of an AVChatRoom for `duration`.
    ///
    /// Input is checked first: a bad group ID, description or member fails
    /// the whole job with [`InputError`] before anything is sent. Then every
    /// member ends in the report, banned or failed with its reason.
    pub async fn ban_members<S: AsRef<str>>(
        &self,
        group: &str,
        members: &[S],
        duration: BanDuration,
        description: Option<&str>,
    ) -> Result<BulkReport, InputError> {
        self.ban_members_with_progress(group, members, duration, description, |_| {})
            .await
    }

    /// [`Client::ban_members`], calling `progress` after each call.
    pub async fn ban_members_with_progress<S: AsRef<str>>(
        &self,
        group: &str,
        members: &[S],
        duration: BanDuration,
        description: Option<&str>,
        progress: impl Fn(Progress),
    ) -> Result<BulkReport, InputError> {
        let job = Job {
            action: Action::Ban,
            group: GroupId::new(group.to_owned())?,
            duration: Some(duration),
            description: Self::validate_description(description)?,
        };
        let (members, duplicates) = prepare(members)?;
        Ok(self.run(job, members, duplicates, progress).await)
    }

    /// Lifts the ban of any number of members.
    pub async fn unban_members<S: AsRef<str>>(
        &self,
        group: &str,
        members: &[S],
    ) -> Result<BulkReport, InputError> {
        self.unban_members_with_progress(group, members, |_| {})
            .await
    }

    /// [`Client::unban_members`], calling `progress` after each call.
    pub async fn unban_members_with_progress<S: AsRef<str>>(
        &self,
        group: &str,
        members: &[S],
        progress: impl Fn(Progress),
    ) -> Result<BulkReport, InputError> {
        let job = Job {
            action: Action::Unban,
            group: GroupId::new(group.to_owned())?,
            duration: None,
            description: None,
        };
        let (members, duplicates) = prepare(members)?;
        Ok(self.run(job, members, duplicates, progress).await)
    }

    async fn send(
        &self,
        job: &Job,
        chunk: &[MemberAccount<'static>],
    ) -> Result<Outcome<Envelope>, CallError> {
        let members = MemberList::borrowed(chunk).expect("chunks hold 1 to 20 members");
        match (job.action, job.duration) {
            (Action::Ban, Some(duration)) => {
                let req = BanRequest {
                    group_id: job.group.reborrow(),
                    members,
                    duration,
                    description: job.description.as_ref().map(Description::reborrow),
                };
                self.transport.call(&req).await
            }
            _ => {
                self.transport
                    .call(&UnbanRequest {
                        group_id: job.group.reborrow(),
                        members,
                    })
                    .await
            }
        }
    }

    async fn run(
        &self,
        job: Job,
        members: Vec<MemberAccount<'static>>,
        duplicates: usize,
        progress: impl Fn(Progress),
    ) -> BulkReport {
        let started = Instant::now();
        let total = members.len();
        let mut queue: VecDeque<Vec<MemberAccount<'static>>> =
            members.chunks(MemberList::MAX).map(<[_]>::to_vec).collect();
        let mut report = BulkReport {
            action: job.action,
            group: job.group.to_string(),
            succeeded: Vec::with_capacity(total),
            failed: Vec::new(),
            duplicates,
            calls: 0,
            retries: 0,
            elapsed: Duration::ZERO,
        };
        let mut in_flight = FuturesUnordered::new();
        loop {
            while in_flight.len() < self.max_in_flight {
                let Some(chunk) = queue.pop_front() else {
                    break;
                };
                let job = &job;
                in_flight.push(async move {
                    let result = self.send(job, &chunk).await;
                    (chunk, result)
                });
            }
            let Some((chunk, result)) = in_flight.next().await else {
                break;
            };
            report.calls += 1;
            match result {
                Ok(out) => {
                    report.retries += u64::from(out.attempts.saturating_sub(1));
                    report
                        .succeeded
                        .extend(chunk.into_iter().map(|m| m.to_string()));
                }
                Err(err) => {
                    report.retries += u64::from(err.attempts.saturating_sub(1));
                    let split =
                        chunk.len() > 1 && err.error_code().is_some_and(|c| SPLIT_ON.contains(&c));
                    if split {
                        tracing::info!(code = ?err.error_code(), members = chunk.len(), "splitting a refused call to find the member");
                        let mut chunk = chunk;
                        let back = chunk.split_off(chunk.len() / 2);
                        queue.push_back(chunk);
                        queue.push_back(back);
                    } else {
                        let code = err.error_code().map(ErrorCode::code);
                        let reason = err.kind.to_string();
                        report
                            .failed
                            .extend(chunk.into_iter().map(|m| FailedMember {
                                member: m.to_string(),
                                code,
                                reason: reason.clone(),
                                random: err.random,
                            }));
                    }
                }
            }
            progress(Progress {
                done: report.succeeded.len(),
                failed: report.failed.len(),
                total,
                calls: report.calls,
            });
        }
        report.elapsed = started.elapsed();
        tracing::info!(
            action = job.action.done_key(),
            group = %report.group,
            done = report.succeeded.len(),
            failed = report.failed.len(),
            calls = report.calls,
            retries = report.retries,
            elapsed_ms = report.elapsed.as_millis() as u64,
            "bulk job finished"
        );
        report
    }
}
