//! The resumable journal of a bulk job: one JSON object a line, appended
//! and written through (no user-space buffer) as each call finishes.
//!
//! ```text
//! {"journal":"tim-ban/1","action":"ban","group":"@TGS#aX","members":3,"members_sha256":"…","duration":3600,"ends_at":1790000000,"description":"raid"}
//! {"prior":{"raider2":1790003600}}
//! {"prior_read":{"calls":1,"members":1}}
//! {"done":["raider1","raider2"]}
//! {"failed":["raider3"],"code":10004,"reason":"…"}
//! ```
//!
//! The first line says which job the journal belongs to: action, group, the
//! SHA-256 of the sorted member set, and for bans and mutes the duration
//! asked for (4294967295 for a permanent mute), the absolute end time (none
//! for a permanent mute) and a ban's description. A ban or mute job's
//! `prior` lines, written before its first call, hold the end of each
//! member's ban (or mute) as the group's list showed it before the job
//! (members not named had none); `prior_read` says the read was whole and
//! what it cost. `banctl undo` restores that state. Every later line is one
//! finished call. A resumed job skips the members of `done` lines and sends
//! the rest; `failed` lines are kept for the record and sent again. A last
//! line cut short by a crash (no newline, not JSON) is dropped.

use std::collections::{BTreeMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub(crate) mod error;
mod header;
pub use error::JournalError;
pub(crate) use header::Header;

/// The format tag on a journal's first line.
const FORMAT: &str = "tim-ban/1";

/// What the journal holds of the members' state before the job: for a
/// ban job the end of each member's earlier ban, for a mute job of its
/// earlier mute (4294967295: permanent); members not named had none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PriorState {
    /// Each member's earlier end, Unix seconds.
    pub ends: BTreeMap<String, u64>,
    /// The calls the read took.
    pub calls: u64,
}

impl PriorState {
    /// Each member's earlier end, and the calls the read took.
    pub fn new(ends: BTreeMap<String, u64>, calls: u64) -> Self {
        PriorState { ends, calls }
    }
}

/// A journal's contents, read back (by `banctl undo`), or a fleet job's
/// as its store keeps them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JournalContents {
    /// What the job did.
    pub action: crate::job::Action,
    /// The group.
    pub group: String,
    /// How many members the job had.
    pub members: usize,
    /// The SHA-256 of its sorted member set (a fleet job: `job:ID`): what
    /// an undo's plan is checked against.
    pub members_sha256: String,
    /// The end of its bans or mutes (none for a permanent mute).
    pub ends_at: Option<u64>,
    /// The members done.
    pub done: HashSet<String>,
    /// The members' state before the job, when it was read whole.
    pub prior: Option<PriorState>,
    /// Each member's own end after the job, from the earliest to the
    /// latest second it may have been set (a job of many calls at
    /// different times: serve's actions); without it every member's end is
    /// [`JournalContents::ends_at`].
    pub member_ends: Option<BTreeMap<String, (u64, u64)>>,
}

impl JournalContents {
    /// A job's contents from its store (a fleet job): `identity` names it
    /// uniquely (`job:ID`).
    pub fn new(
        action: crate::job::Action,
        group: impl Into<String>,
        members: usize,
        identity: impl Into<String>,
        ends_at: Option<u64>,
        done: HashSet<String>,
        prior: Option<PriorState>,
    ) -> Self {
        JournalContents {
            action,
            group: group.into(),
            members,
            members_sha256: identity.into(),
            ends_at,
            done,
            prior,
            member_ends: None,
        }
    }

    /// The same job whose members' ends are their own (see
    /// [`JournalContents::member_ends`]).
    pub fn with_member_ends(mut self, ends: BTreeMap<String, (u64, u64)>) -> Self {
        self.member_ends = Some(ends);
        self
    }
}

/// Reads a journal back, whichever job wrote it.
pub fn read_journal(path: &Path) -> Result<JournalContents, JournalError> {
    let text = std::fs::read(path).map_err(|source| JournalError::Io {
        path: path.to_owned(),
        source,
    })?;
    let (header, done, prior, _) = Journal::read(path, &text, None)?;
    let action = crate::job::Action::ALL
        .iter()
        .copied()
        .find(|a| a.name() == header.action)
        .ok_or_else(|| JournalError::Corrupt {
            path: path.to_owned(),
            line: 1,
            reason: format!("unknown action {:?}", ban_proto::escape(&header.action)),
        })?;
    Ok(JournalContents {
        action,
        group: header.group,
        members: header.members,
        members_sha256: header.members_sha256,
        ends_at: header.ends_at,
        done,
        prior,
        member_ends: None,
    })
}

/// How many members' earlier ends go on one `prior` line.
const PRIOR_PER_LINE: usize = 1_000;

#[derive(Serialize, Deserialize)]
pub(crate) struct PriorRead {
    calls: u64,
    members: usize,
}

/// One line after the header: the members' state before the job, or what
/// a call did.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum Record<'a> {
    Prior {
        prior: BTreeMap<String, u64>,
    },
    PriorRead {
        prior_read: PriorRead,
    },
    Done {
        #[serde(borrow)]
        done: Vec<std::borrow::Cow<'a, str>>,
    },
    Failed {
        #[serde(borrow)]
        failed: Vec<std::borrow::Cow<'a, str>>,
        code: Option<i64>,
        reason: std::borrow::Cow<'a, str>,
    },
}

/// An open journal: what earlier runs finished, and the file to append to.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
    pub(crate) header: Header,
    /// Members finished by earlier runs.
    pub(crate) done: HashSet<String>,
    /// The members' state before the job, once read whole.
    pub(crate) prior: Option<PriorState>,
}

impl Journal {
    /// Opens `path` for a job described by `want`: creates it with `want` as
    /// its header, or reads it back and checks it was written for this job.
    pub(crate) fn open(path: &Path, want: Header) -> Result<Journal, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        let mut text = Vec::new();
        file.read_to_end(&mut text).map_err(io)?;
        if text.is_empty() {
            let mut line = serde_json::to_vec(&want).map_err(|e| io(e.into()))?;
            line.push(b'\n');
            file.write_all(&line).map_err(io)?;
            file.sync_data().map_err(io)?;
            return Ok(Journal {
                path: path.to_owned(),
                file,
                header: want,
                done: HashSet::new(),
                prior: None,
            });
        }
        let (header, done, prior, keep) = Self::read(path, &text, Some(&want))?;
        if keep < text.len() {
            tracing::warn!(path = %path.display(), bytes = text.len() - keep, "dropping a torn last line of the journal");
            file.set_len(keep as u64).map_err(io)?;
        } else if !text.ends_with(b"\n") {
            // A whole last record that lost only its newline: end it, so
            // the next record starts on its own line.
            file.write_all(b"\n").map_err(io)?;
        }
        Ok(Journal {
            path: path.to_owned(),
            file,
            header,
            done,
            prior,
        })
    }

    /// Parses a journal's text (checked against `want` when given);
    /// returns its header, the members done, the state before the job, and
    /// how many bytes to keep (a torn last line is dropped).
    #[allow(clippy::type_complexity)]
    fn read(
        path: &Path,
        text: &[u8],
        want: Option<&Header>,
    ) -> Result<(Header, HashSet<String>, Option<PriorState>, usize), JournalError> {
        let corrupt = |line: usize, reason: String| JournalError::Corrupt {
            path: path.to_owned(),
            line,
            reason,
        };
        let mut done = HashSet::new();
        let mut ends = BTreeMap::new();
        let mut prior = None;
        let mut header: Option<Header> = None;
        let mut offset = 0;
        for (i, raw) in text.split_inclusive(|&b| b == b'\n').enumerate() {
            let line_no = i + 1;
            let complete = raw.ends_with(b"\n");
            if header.is_none() {
                let h: Header = serde_json::from_slice(raw)
                    .map_err(|e| corrupt(line_no, format!("not a journal header: {e}")))?;
                if let Some(want) = want {
                    check(path, &h, want)?;
                }
                header = Some(h);
            } else {
                match serde_json::from_slice::<Record<'_>>(raw) {
                    Ok(Record::Done { done: members }) => {
                        done.extend(members.into_iter().map(|m| m.into_owned()));
                    }
                    Ok(Record::Failed { .. }) => {}
                    Ok(Record::Prior { prior }) => ends.extend(prior),
                    Ok(Record::PriorRead { prior_read }) => {
                        prior = Some(PriorState {
                            ends: std::mem::take(&mut ends),
                            calls: prior_read.calls,
                        });
                    }
                    Err(_) if !complete => break,
                    Err(e) => return Err(corrupt(line_no, e.to_string())),
                }
            }
            offset += raw.len();
        }
        let header = header.ok_or_else(|| corrupt(1, "no header".into()))?;
        Ok((header, done, prior, offset))
    }

    /// Appends one finished call ([`Record::Done`] or
    /// [`Record::Failed`]). Each record is one `write` of a whole line, so
    /// a crash leaves at most the last line torn.
    pub(crate) fn record(&mut self, record: &Record<'_>) -> Result<(), JournalError> {
        self.write_record(record)
    }

    /// Writes the members' state before the job, then that it was read
    /// whole, and forces both to disk (before the job's first call).
    pub(crate) fn record_prior(&mut self, state: PriorState) -> Result<(), JournalError> {
        let entries: Vec<(String, u64)> = state.ends.clone().into_iter().collect();
        for chunk in entries.chunks(PRIOR_PER_LINE) {
            self.write_record(&Record::Prior {
                prior: chunk.iter().cloned().collect(),
            })?;
        }
        self.write_record(&Record::PriorRead {
            prior_read: PriorRead {
                calls: state.calls,
                members: state.ends.len(),
            },
        })?;
        self.sync()?;
        self.prior = Some(state);
        Ok(())
    }

    fn write_record(&mut self, record: &Record<'_>) -> Result<(), JournalError> {
        let mut line = serde_json::to_vec(record).map_err(|e| JournalError::Io {
            path: self.path.clone(),
            source: e.into(),
        })?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .map_err(|source| JournalError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// Forces what was written to disk.
    pub(crate) fn sync(&self) -> Result<(), JournalError> {
        self.file.sync_data().map_err(|source| JournalError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

/// Refuses a journal written for another job.
fn check(path: &Path, journal: &Header, want: &Header) -> Result<(), JournalError> {
    let mismatch = |field, j: String, g: String| {
        Err(JournalError::Mismatch {
            path: path.to_owned(),
            field,
            journal: j,
            given: g,
        })
    };
    if journal.journal != FORMAT {
        return mismatch("format", journal.journal.clone(), FORMAT.to_owned());
    }
    if journal.action != want.action {
        return mismatch("action", journal.action.clone(), want.action.clone());
    }
    if journal.group != want.group {
        return mismatch(
            "group",
            ban_proto::escape(&journal.group),
            ban_proto::escape(&want.group),
        );
    }
    if journal.members_sha256 != want.members_sha256 || journal.members != want.members {
        return mismatch(
            "member set",
            format!(
                "{} members ({})",
                journal.members,
                &journal.members_sha256[..12.min(journal.members_sha256.len())]
            ),
            format!("{} members ({})", want.members, &want.members_sha256[..12]),
        );
    }
    if journal.duration != want.duration {
        return mismatch(
            "duration",
            format!("{:?} s", journal.duration.unwrap_or(0)),
            format!("{:?} s", want.duration.unwrap_or(0)),
        );
    }
    if want.duration.is_none() && want.ends_at.is_some() && journal.ends_at != want.ends_at {
        return mismatch(
            "end",
            format!("{:?}", journal.ends_at),
            format!("{:?}", want.ends_at),
        );
    }
    if journal.description != want.description {
        return mismatch(
            "description",
            format!(
                "{:?}",
                journal.description.as_deref().map(ban_proto::escape)
            ),
            format!("{:?}", want.description.as_deref().map(ban_proto::escape)),
        );
    }
    Ok(())
}
