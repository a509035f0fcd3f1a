//! Taking back the loop's own actions: the audit log's actions of one rule
//! in a time range, read as undo jobs of `ban_facade` (one per group and
//! kind, each account with what it had before the rule's first action and
//! the end the rule's last action set); and, once undone, the undo's own
//! audit line and the reversal ledger beside the audit log
//! (`AUDIT.reversals`) that `/metrics` counts per rule.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use ban_facade::{Action, JournalContents, PriorState};
use serde::{Deserialize, Serialize};

use crate::earlier::Earlier;
use crate::event::now_ms;

/// Which of the loop's actions to take back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Selection {
    /// The rule whose actions they are.
    pub rule: String,
    /// From this time on, Unix milliseconds (inclusive).
    pub since_ms: Option<u64>,
    /// Up to this time, Unix milliseconds (inclusive).
    pub until_ms: Option<u64>,
}

impl Selection {
    /// The actions of `rule` between `since_ms` and `until_ms` (either end
    /// open when `None`).
    pub fn new(rule: impl Into<String>, since_ms: Option<u64>, until_ms: Option<u64>) -> Self {
        Selection {
            rule: rule.into(),
            since_ms,
            until_ms,
        }
    }

    /// The name an undo of this selection is known by: its plan is checked
    /// against it, and the ledger counts it once however often it is run.
    fn key(&self, group: &str, action: Action) -> String {
        let end = |t: Option<u64>| t.map_or_else(|| "-".to_owned(), |t| t.to_string());
        format!(
            "audit:{}:{}:{}:{group}:{action}",
            self.rule,
            end(self.since_ms),
            end(self.until_ms)
        )
    }
}

/// The actions of a selection in one group, of one kind, as an undo job.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuditJob {
    /// The job, for [`ban_facade::Client::undo_job`].
    pub contents: JournalContents,
    /// Accounts acted on whose earlier state is not in the audit log (the
    /// read failed, or the line is older than the read): left alone.
    pub unknown: Vec<String>,
}

/// Errors reading the audit log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditReadError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line in the middle is not an audit line.
    #[error("{path} line {line}: not an audit line ({reason})")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Its line, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// The fields of an audit line an undo reads.
#[derive(Debug, Deserialize)]
struct Line {
    time_ms: u64,
    kind: String,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    step: Option<String>,
    outcome: String,
    #[serde(default)]
    before: Option<Earlier>,
    #[serde(default)]
    ends: Option<u64>,
    #[serde(default)]
    ends_within: Option<u64>,
}

/// One account's actions of the selection.
#[derive(Debug)]
struct Acted {
    /// The first action's time and what the account had before it.
    first: (u64, Option<Earlier>),
    /// The last action's time and the end it set (earliest, latest).
    last: (u64, Option<(u64, u64)>),
}

/// The selection's actions in the audit log at `path`, one undo job per
/// group and kind (bans, mutes), in a stable order. A torn last line (a
/// write cut short) is skipped; any other line that is not an audit line
/// is an error naming it.
pub fn audit_jobs(path: &Path, selection: &Selection) -> Result<Vec<AuditJob>, AuditReadError> {
    let io = |source| AuditReadError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut acted: BTreeMap<(String, bool), BTreeMap<String, Acted>> = BTreeMap::new();
    let mut lines = BufReader::new(file).split(b'\n').enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let line = line.map_err(io)?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let l: Line = match serde_json::from_slice(&line) {
            Ok(l) => l,
            Err(_) if lines.peek().is_none() => break,
            Err(e) => {
                return Err(AuditReadError::Corrupt {
                    path: path.to_owned(),
                    line: i + 1,
                    reason: e.to_string(),
                })
            }
        };
        let in_range = selection.since_ms.is_none_or(|s| l.time_ms >= s)
            && selection.until_ms.is_none_or(|u| l.time_ms <= u);
        if l.kind != "action" || l.outcome != "done" || !in_range {
            continue;
        }
        let (Some(group), Some(account), Some(rule), Some(step)) =
            (l.group, l.account, l.rule, l.step)
        else {
            continue;
        };
        if rule != selection.rule {
            continue;
        }
        let ends = l
            .ends
            .map(|e| (e, e.saturating_add(l.ends_within.unwrap_or(0))));
        let entry = acted
            .entry((group, step.starts_with("ban")))
            .or_default()
            .entry(account)
            .or_insert(Acted {
                first: (l.time_ms, l.before),
                last: (l.time_ms, ends),
            });
        if l.time_ms < entry.first.0 {
            entry.first = (l.time_ms, l.before);
        }
        if l.time_ms >= entry.last.0 {
            entry.last = (l.time_ms, ends);
        }
    }
    Ok(acted
        .into_iter()
        .map(|((group, ban), accounts)| {
            let action = if ban { Action::Ban } else { Action::Mute };
            let mut unknown = Vec::new();
            let mut done = HashSet::new();
            let mut prior = BTreeMap::new();
            let mut member_ends = BTreeMap::new();
            for (account, a) in accounts {
                let (Some(before), Some(ends)) = (a.first.1, a.last.1) else {
                    unknown.push(account);
                    continue;
                };
                if let Earlier::Until(t) = before {
                    prior.insert(account.clone(), t);
                }
                member_ends.insert(account.clone(), ends);
                done.insert(account);
            }
            let key = selection.key(&group, action);
            let contents = JournalContents::new(
                action,
                group,
                done.len(),
                key,
                None,
                done,
                Some(PriorState::new(prior, 0)),
            )
            .with_member_ends(member_ends);
            AuditJob { contents, unknown }
        })
        .collect())
}

/// What an undo of a rule's actions did, for its audit line and the
/// ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Reversal {
    /// The rule.
    pub rule: String,
    /// The group.
    pub group: String,
    /// What was undone: `ban` or `mute`.
    pub undid: String,
    /// Who ran it.
    pub by: String,
    /// Accounts given back their earlier state (lifted or restored), by
    /// every run of this undo so far.
    pub reversed: u64,
    /// Accounts left alone.
    pub left_alone: u64,
    /// Accounts failed or not attempted.
    pub failed: u64,
}

impl Reversal {
    /// A reversal of `rule`'s `undid` actions in `group`, run by `by`.
    pub fn new(rule: &str, group: &str, undid: Action, by: &str) -> Self {
        Reversal {
            rule: rule.to_owned(),
            group: group.to_owned(),
            undid: undid.name().to_owned(),
            by: by.to_owned(),
            reversed: 0,
            left_alone: 0,
            failed: 0,
        }
    }
}

/// The reversal ledger beside the audit log at `audit`.
pub fn reversals_path(audit: &Path) -> PathBuf {
    let mut p = audit.as_os_str().to_owned();
    p.push(".reversals");
    PathBuf::from(p)
}

#[derive(Debug, Serialize, Deserialize)]
struct LedgerLine {
    time_ms: u64,
    key: String,
    rule: String,
    reversed: u64,
}

/// Appends `r` (the undo of `selection` in its group) to the audit log at
/// `audit` (a line of kind `undo` naming who ran it) and to its reversal
/// ledger. Both files are opened for appending, so serve may be writing
/// the audit log at the same time: each line is one write.
pub fn note_reversal(audit: &Path, selection: &Selection, r: &Reversal) -> std::io::Result<()> {
    let undid = if r.undid == "ban" {
        Action::Ban
    } else {
        Action::Mute
    };
    let line = serde_json::json!({
        "time_ms": now_ms(),
        "kind": "undo",
        "group": r.group,
        "rule": r.rule,
        "by": r.by,
        "undid": r.undid,
        "reversed": r.reversed,
        "left_alone": r.left_alone,
        "failed": r.failed,
        "result": format!(
            "{} of the rule's {}s undone by {}: {} given back their earlier state, {} left alone, {} failed",
            r.group, r.undid, r.by, r.reversed, r.left_alone, r.failed
        ),
        "outcome": "undone",
    });
    append(audit, &line)?;
    let ledger = LedgerLine {
        time_ms: now_ms(),
        key: selection.key(&r.group, undid),
        rule: r.rule.clone(),
        reversed: r.reversed,
    };
    append(&reversals_path(audit), &ledger)
}

fn append(path: &Path, value: &impl Serialize) -> std::io::Result<()> {
    let mut text = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    text.push(b'\n');
    let mut o = std::fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)?.write_all(&text)
}

/// The accounts given back per rule, from the reversal ledger beside the
/// audit log at `audit` (each undo counted once, at its latest run;
/// nothing when there is no ledger yet).
pub fn read_reversals(audit: &Path) -> std::io::Result<BTreeMap<String, u64>> {
    let text = match std::fs::read(reversals_path(audit)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(e),
    };
    let mut by_key: BTreeMap<String, (String, u64)> = BTreeMap::new();
    for line in text.split(|&b| b == b'\n') {
        let Ok(l) = serde_json::from_slice::<LedgerLine>(line) else {
            continue;
        };
        let e = by_key.entry(l.key).or_insert((l.rule, 0));
        e.1 = e.1.max(l.reversed);
    }
    let mut per_rule = BTreeMap::new();
    for (rule, n) in by_key.into_values() {
        *per_rule.entry(rule).or_insert(0) += n;
    }
    Ok(per_rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ban-reversal-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_rules_actions_in_range_become_one_job_per_group_and_kind() {
        let d = dir("jobs");
        let audit = d.join("audit.jsonl");
        let action = |t: u64, account: &str, rule: &str, step: &str, before: &str, ends: u64| {
            format!(
                r#"{{"time_ms":{t},"kind":"action","group":"@TGS#a","account":"{account}","rule":"{rule}","step":"{step}","result":"done","outcome":"done","before":{before},"ends":{ends},"ends_within":1}}"#
            )
        };
        let lines = [
            action(1_000, "early", "spam", "mute 10m", r#""nothing""#, 1_600),
            action(2_000, "a", "spam", "mute 10m", r#"{"until":5000}"#, 2_600),
            action(3_000, "a", "spam", "mute 1h", r#"{"until":2600}"#, 6_600),
            action(3_000, "b", "spam", "ban 7d", r#""nothing""#, 9_000),
            action(3_000, "c", "other", "mute 10m", r#""nothing""#, 3_600),
            // No earlier state: left alone.
            r#"{"time_ms":3000,"kind":"action","group":"@TGS#a","account":"d","rule":"spam","step":"mute 10m","result":"done","outcome":"done"}"#.to_owned(),
            r#"{"time_ms":3000,"kind":"decision","group":"@TGS#a","account":"e","rule":"spam","step":"mute 10m","result":"queued","outcome":"queued"}"#.to_owned(),
            r#"{"time_ms":30"#.to_owned(),
        ];
        std::fs::write(&audit, lines.join("\n")).unwrap();
        let jobs = audit_jobs(&audit, &Selection::new("spam", Some(2_000), None)).unwrap();
        assert_eq!(jobs.len(), 2);
        let ban = &jobs[1].contents;
        assert_eq!((ban.action, ban.done.len()), (Action::Ban, 1));
        let mute = &jobs[0];
        assert_eq!(mute.contents.action, Action::Mute);
        assert_eq!(mute.unknown, ["d"]);
        let mut done: Vec<&String> = mute.contents.done.iter().collect();
        done.sort();
        assert_eq!(done, ["a"], "early is out of range, c is another rule's");
        // The first action's earlier state, the last action's end.
        assert_eq!(mute.contents.prior.as_ref().unwrap().ends["a"], 5_000);
        assert_eq!(
            mute.contents.member_ends.as_ref().unwrap()["a"],
            (6_600, 6_601)
        );
        // A bad line in the middle is named.
        std::fs::write(&audit, format!("nope\n{}\n", lines[0])).unwrap();
        let e = audit_jobs(&audit, &Selection::new("spam", None, None)).unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn the_ledger_counts_each_undo_once_at_its_latest_run() {
        let d = dir("ledger");
        let audit = d.join("audit.jsonl");
        assert!(read_reversals(&audit).unwrap().is_empty());
        let s = Selection::new("spam", None, None);
        let mut r = Reversal::new("spam", "@TGS#a", Action::Mute, "alice");
        r.reversed = 3;
        note_reversal(&audit, &s, &r).unwrap();
        // The same undo run again after a stop: 5 in all, not 8.
        r.reversed = 5;
        note_reversal(&audit, &s, &r).unwrap();
        let mut other = Reversal::new("spam", "@TGS#b", Action::Ban, "alice");
        other.reversed = 2;
        note_reversal(&audit, &s, &other).unwrap();
        assert_eq!(read_reversals(&audit).unwrap()["spam"], 7);
        let text = std::fs::read_to_string(&audit).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(text.contains(r#""kind":"undo""#) && text.contains(r#""by":"alice""#));
        let _ = std::fs::remove_dir_all(&d);
    }
}
