//! Exact undo of a journaled ban or mute job: the members it did get back
//! the state its journal recorded before its first call.
//!
//! Undo is a job of its own, kept in a directory (`JOURNAL.undo` by
//! default): `plan.json`, written once before the first call, says what
//! each member gets (lifted: it had nothing before; restored: its earlier
//! end is sent again, what is left of it; left alone: its state changed
//! after the job, so someone else's ban or unban is not overwritten); then
//! one bulk journal per call set (`lift.jsonl`, `until-T.jsonl`). A second
//! run after Ctrl-C or a crash follows the same plan and skips what those
//! journals hold: the same end state, no member sent twice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ban_proto::GroupId;
use ban_transport::AbortSignal;
use serde::{Deserialize, Serialize};

use crate::bulk::BulkAction;
use crate::client::Client;
use crate::input::InputError;
use crate::job::Action;
use crate::job::MuteEnd;
use crate::journal::{read_journal, JournalContents, JournalError};
use crate::options::BulkOptions;
use crate::report::FailedMember;
use crate::run::since_epoch;
use crate::stop::StopReason;

/// The format tag of an undo plan.
const PLAN_FORMAT: &str = "tim-undo/1";

/// How far a member's end may be from the job's and still be the job's
/// (a call sends what is left of the end, rounded up).
const SAME_END_SECS: u64 = 2;

/// The end the service lists for a permanent mute.
const PERMANENT: u64 = u32::MAX as u64;

/// Why an undo cannot run; nothing was sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UndoError {
    /// The job's journal cannot be read.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The journal is not of a job undo can take back exactly.
    #[error("journal {path} cannot be undone exactly: {why}")]
    NotUndoable {
        /// The journal.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// The undo's directory or plan cannot be read or written.
    #[error("undo directory {path}: {reason}")]
    Plan {
        /// The directory or file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The group or a member does not pass the input checks.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Reading the group's list before the plan failed.
    #[error("reading the group's list before the undo failed: {0}")]
    Read(StopReason),
}

/// A member whose earlier ban or mute was given back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Restored {
    /// The member.
    pub member: String,
    /// Its earlier end, Unix seconds (4294967295: a permanent mute).
    pub until: u64,
}

/// A member the undo did not touch, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LeftAlone {
    /// The member.
    pub member: String,
    /// Why: its state changed after the job.
    pub reason: String,
}

impl LeftAlone {
    /// `member`, left alone for `reason`.
    pub fn new(member: impl Into<String>, reason: impl Into<String>) -> Self {
        LeftAlone {
            member: member.into(),
            reason: reason.into(),
        }
    }
}

/// What an undo did: every member the job did is lifted, restored, left
/// alone with its reason, failed with its reason, or not attempted
/// because the undo stopped (run it again to finish).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct UndoReport {
    /// The action taken back: `ban` or `mute`.
    pub undid: Action,
    /// The group.
    pub group: String,
    /// Who ran the undo (as the plan recorded it on the first run).
    pub by: String,
    /// Members unbanned or unmuted: they had nothing before the job.
    pub lifted: Vec<String>,
    /// Members given back their earlier end.
    pub restored: Vec<Restored>,
    /// Members whose state changed after the job, untouched.
    pub left_alone: Vec<LeftAlone>,
    /// Members whose call failed, each with its reason.
    pub failed: Vec<FailedMember>,
    /// Members not sent because the undo stopped.
    pub not_attempted: Vec<String>,
    /// Why the undo stopped early.
    pub stopped: Option<StopReason>,
    /// Of `lifted` and `restored`, those an earlier run finished.
    pub resumed: usize,
    /// Members of the job it did not finish (nothing to undo for them).
    pub not_done_by_the_job: usize,
    /// Calls made.
    pub calls: u64,
    /// Retries made.
    pub retries: u64,
    /// Calls that read the group's list for the plan (first run only).
    pub state_read_calls: u64,
    /// Time it took.
    #[serde(rename = "elapsed_ms", serialize_with = "millis")]
    pub elapsed: Duration,
}

impl UndoReport {
    /// Whether every member was lifted, restored or left alone.
    pub fn all_succeeded(&self) -> bool {
        self.failed.is_empty() && self.not_attempted.is_empty() && self.stopped.is_none()
    }
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// What the first run decided, kept in `plan.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Plan {
    undo: String,
    journal: String,
    action: Action,
    group: String,
    members_sha256: String,
    by: String,
    planned_at: u64,
    state_read_calls: u64,
    not_done_by_the_job: usize,
    lift: Vec<String>,
    /// Earlier end → the members that get it back.
    restore: BTreeMap<u64, Vec<String>>,
    left_alone: Vec<LeftAlone>,
}

/// How an undo runs.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct UndoOptions {
    /// Where the undo keeps its plan and journals (default: the job's
    /// journal path with `.undo` added).
    pub dir: Option<PathBuf>,
    /// Who runs it, recorded in the plan and the report.
    pub by: String,
    /// Stops it (as a bulk job's abort).
    pub abort: Option<AbortSignal>,
}

impl UndoOptions {
    /// Run by `by`, in the default directory.
    pub fn new(by: impl Into<String>) -> Self {
        UndoOptions {
            by: by.into(),
            ..UndoOptions::default()
        }
    }

    /// Keeps the undo's plan and journals in `dir`.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Stops the undo when `signal` is raised.
    pub fn abort_on(mut self, signal: AbortSignal) -> Self {
        self.abort = Some(signal);
        self
    }
}

fn plan_err(path: &Path, reason: impl std::fmt::Display) -> UndoError {
    UndoError::Plan {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// Splits the members the job did by what they get back.
fn make_plan(
    source: &str,
    job: &JournalContents,
    current: &BTreeMap<String, u64>,
    now: u64,
    by: &str,
    read_calls: u64,
) -> Result<Plan, UndoError> {
    let not_undoable = |why: String| UndoError::NotUndoable {
        path: PathBuf::from(source),
        why,
    };
    let ours = match job.action {
        Action::Ban | Action::Mute => job.ends_at.unwrap_or(PERMANENT),
        other => {
            return Err(not_undoable(format!(
                "it is a journal of {other}; only bans and mutes are undone (an unban's earlier ends are not recorded)"
            )))
        }
    };
    let Some(prior) = &job.prior else {
        return Err(not_undoable(
            "it holds no record of the members' state before the job (it was written before that read, or the job never started its calls)".into(),
        ));
    };
    let listed = if job.action == Action::Ban {
        "banned"
    } else {
        "muted"
    };
    let mut done: Vec<&String> = job.done.iter().collect();
    done.sort_unstable();
    let mut plan = Plan {
        undo: PLAN_FORMAT.to_owned(),
        journal: source.to_owned(),
        action: job.action,
        group: job.group.clone(),
        members_sha256: job.members_sha256.clone(),
        by: by.to_owned(),
        planned_at: now,
        state_read_calls: read_calls,
        not_done_by_the_job: job.members.saturating_sub(done.len()),
        lift: Vec::new(),
        restore: BTreeMap::new(),
        left_alone: Vec::new(),
    };
    for m in done {
        let (from, to) = job
            .member_ends
            .as_ref()
            .and_then(|e| e.get(m))
            .copied()
            .unwrap_or((ours, ours));
        let reason = match current.get(m) {
            Some(&c)
                if c.saturating_add(SAME_END_SECS) >= from
                    && c <= to.saturating_add(SAME_END_SECS) =>
            {
                None
            }
            Some(&c) => Some(format!(
                "{listed} until {c} since the job (the job's end was {from}): changed by someone else"
            )),
            None => Some(format!(
                "no longer {listed}: lifted or ended since the job"
            )),
        };
        if let Some(reason) = reason {
            plan.left_alone.push(LeftAlone {
                member: m.clone(),
                reason,
            });
            continue;
        }
        match prior.ends.get(m) {
            Some(&p) if p == PERMANENT || p > now + 1 => {
                plan.restore.entry(p).or_default().push(m.clone())
            }
            _ => plan.lift.push(m.clone()),
        }
    }
    Ok(plan)
}

/// Writes `plan` to `path` whole or not at all.
fn write_plan(path: &Path, plan: &Plan) -> Result<(), UndoError> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(plan).map_err(|e| plan_err(path, e))?;
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    };
    write().map_err(|e| plan_err(path, format!("cannot be written: {e}")))
}

impl Client {
    /// Takes back the ban or mute job whose journal is `journal` (written
    /// by [`Client::bulk`] with [`BulkOptions::journal`], which records
    /// the members' state before the first call): members who had nothing
    /// are unbanned or unmuted, members banned or muted before get their
    /// earlier end back, members whose state changed since the job are
    /// left alone and reported. Paced by this client's limiter; run again
    /// after a stop, it finishes the same plan.
    pub async fn undo(
        &self,
        journal: &Path,
        options: UndoOptions,
    ) -> Result<UndoReport, UndoError> {
        let job = read_journal(journal)?;
        let dir = options.dir.clone().unwrap_or_else(|| {
            let mut p = journal.as_os_str().to_owned();
            p.push(".undo");
            PathBuf::from(p)
        });
        self.undo_job(&job, &journal.display().to_string(), &dir, options)
            .await
    }

    /// [`Client::undo`] of a job read from elsewhere (a fleet job's store):
    /// `source` names it in messages, `dir` keeps the undo's plan and
    /// journals.
    pub async fn undo_job(
        &self,
        job: &JournalContents,
        source: &str,
        dir: &Path,
        options: UndoOptions,
    ) -> Result<UndoReport, UndoError> {
        let started = Instant::now();
        let dir = dir.to_owned();
        std::fs::create_dir_all(&dir)
            .map_err(|e| plan_err(&dir, format!("cannot be made: {e}")))?;
        let plan_path = dir.join("plan.json");
        let plan: Plan = match std::fs::read(&plan_path) {
            Ok(text) => {
                let plan: Plan = serde_json::from_slice(&text)
                    .map_err(|e| plan_err(&plan_path, format!("is not readable ({e})")))?;
                if plan.undo != PLAN_FORMAT
                    || plan.members_sha256 != job.members_sha256
                    || plan.group != job.group
                    || plan.action != job.action
                {
                    return Err(plan_err(
                        &plan_path,
                        format!("was made for another job than {source}; use another undo directory for this job"),
                    ));
                }
                plan
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let group = GroupId::new(job.group.clone()).map_err(InputError::from)?;
                let (current, calls) = self
                    .current_ends(job.action, &group)
                    .await
                    .map_err(|e| UndoError::Read(crate::prior::read_failed(&e)))?;
                let now = since_epoch().as_secs();
                let plan = make_plan(source, job, &current, now, &options.by, calls)?;
                write_plan(&plan_path, &plan)?;
                plan
            }
            Err(e) => return Err(plan_err(&plan_path, format!("cannot be read: {e}"))),
        };
        let mut report = UndoReport {
            undid: plan.action,
            group: plan.group.clone(),
            by: plan.by.clone(),
            lifted: Vec::new(),
            restored: Vec::new(),
            left_alone: plan.left_alone.clone(),
            failed: Vec::new(),
            not_attempted: Vec::new(),
            stopped: None,
            resumed: 0,
            not_done_by_the_job: plan.not_done_by_the_job,
            calls: 0,
            retries: 0,
            state_read_calls: plan.state_read_calls,
            elapsed: Duration::ZERO,
        };
        let mut sets: Vec<(Option<u64>, &Vec<String>)> = Vec::new();
        if !plan.lift.is_empty() {
            sets.push((None, &plan.lift));
        }
        sets.extend(plan.restore.iter().map(|(t, m)| (Some(*t), m)));
        for (until, members) in sets {
            if report.stopped.is_some()
                || options.abort.as_ref().is_some_and(AbortSignal::is_aborted)
            {
                report.not_attempted.extend(members.iter().cloned());
                continue;
            }
            let action = match (plan.action, until) {
                (Action::Ban, None) => BulkAction::Unban,
                (Action::Ban, Some(t)) => BulkAction::BanUntil {
                    ends_at: t,
                    description: None,
                },
                (_, None) => BulkAction::Unmute,
                (_, Some(t)) if t >= PERMANENT => BulkAction::MuteUntil {
                    ends_at: MuteEnd::Permanent,
                },
                (_, Some(t)) => BulkAction::MuteUntil {
                    ends_at: MuteEnd::At(t),
                },
            };
            let name = until.map_or("lift.jsonl".to_owned(), |t| format!("until-{t}.jsonl"));
            let mut bulk = BulkOptions::new().journal(dir.join(name));
            if let Some(a) = &options.abort {
                bulk = bulk.abort_on(a.clone());
            }
            let r = self.bulk(action, &plan.group, members, bulk).await?;
            report.resumed += r.resumed;
            report.calls += r.calls;
            report.retries += r.retries;
            match until {
                None => report.lifted.extend(r.succeeded),
                Some(t) => report.restored.extend(
                    r.succeeded
                        .into_iter()
                        .map(|member| Restored { member, until: t }),
                ),
            }
            report.failed.extend(r.failed);
            report.not_attempted.extend(r.not_attempted);
            if r.stopped.is_some() {
                report.stopped = r.stopped;
            }
        }
        report.elapsed = started.elapsed();
        tracing::info!(
            undid = report.undid.name(),
            group = %report.group,
            by = %report.by,
            lifted = report.lifted.len(),
            restored = report.restored.len(),
            left_alone = report.left_alone.len(),
            failed = report.failed.len(),
            not_attempted = report.not_attempted.len(),
            "undo finished"
        );
        Ok(report)
    }
}
