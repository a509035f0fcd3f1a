//! Recorded callbacks replayed through the same judge, counter and ladder
//! as the live loop, in event time (each callback at its arrival, so
//! windows and rates behave as they did), with nothing sent: what a rules
//! file would have refused, masked, muted and banned, rule by rule and
//! account by account. `banctl rules test` is its command line.
//!
//! ```
//! use ban_callback::{Callback, GroupMessage};
//! use ban_moderation::{differences, Replay, Severity};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let rules = |words: &str| ban_rules::Rules::parse(&format!(
//!     "[[rule]]\nname = \"spam\"\non = \"message\"\ncontains_any = [{words}]\nblock = true\nladder = [\"mute 10m\", \"ban 1d\"]\n"
//! )).unwrap();
//! let (mut old, mut new) = (Replay::new(rules("\"free coins\"")), Replay::new(rules("\"free coins\", \"cheap followers\"")));
//! for (t, text) in [(0, "free coins"), (1_000, "cheap followers"), (2_000, "cheap followers")] {
//!     let m = GroupMessage::text_message("@TGS#aLIVE", "AVChatRoom", "bot", text, t, 0);
//!     old.feed(t, None, &Callback::BeforeSendMsg(m.clone())).await;
//!     new.feed(t, None, &Callback::BeforeSendMsg(m)).await;
//! }
//! let diff = differences(&old.verdicts(), &new.verdicts(), false);
//! assert_eq!(diff.len(), 1);
//! assert_eq!((diff[0].old, diff[0].new), (Severity::Muted, Severity::Banned));
//! # });
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use ban_callback::Callback;
use ban_rules::{Match, MatchKind, On, Rules, Step};
use serde::{Deserialize, Serialize};

use crate::counter::MemoryCounter;
use crate::decide::{decide, repeated, Decided};
use crate::moderator::{DEFAULT_REPLAY_WINDOW, SEEN_FOR};

/// What one rule did over a replay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RuleStats {
    /// The rule's name.
    pub rule: String,
    /// `enforce` or `shadow`.
    pub mode: &'static str,
    /// Offences decided (each a ladder step), allow-listed ones apart.
    pub offences: u64,
    /// Offences of allow-listed accounts (never acted on).
    pub allowed: u64,
    /// Messages (or join applications) it refused before they were sent.
    pub refused: u64,
    /// Messages it delivered with the matches starred.
    pub masked: u64,
    /// Offences by ladder step (`mute 10m`: 12).
    pub steps: BTreeMap<String, u64>,
}

/// The most an account was treated with, in order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Nothing.
    #[default]
    None,
    /// A message refused or masked (or a join application refused).
    Blocked,
    /// Muted.
    Muted,
    /// Banned.
    Banned,
}

impl Severity {
    fn of(step: Step) -> Severity {
        match step {
            Step::Mute(_) => Severity::Muted,
            // A ban, and any step a later version adds.
            _ => Severity::Banned,
        }
    }

    /// As written: `none`, `blocked`, `muted`, `banned`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::None => "none",
            Severity::Blocked => "blocked",
            Severity::Muted => "muted",
            Severity::Banned => "banned",
        }
    }
}

/// What made an account's treatment: the first event that reached it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Why {
    /// When (Unix milliseconds, the callback's arrival).
    pub time_ms: u64,
    /// The rule.
    pub rule: String,
    /// The ladder step, for an action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The offence's number in its window, for an action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offence: Option<u64>,
    /// The message (or join) and what matched in it.
    pub evidence: String,
}

/// Per group and account, the most each was treated with and why.
pub type Verdicts = BTreeMap<(String, String), (Severity, Why)>;

/// Decisions of one rules file over recorded callbacks, fed in order.
#[derive(Debug)]
pub struct Replay {
    rules: Rules,
    counter: MemoryCounter,
    seen_for: Duration,
    origin: Option<u64>,
    stats: Vec<RuleStats>,
    verdicts: Verdicts,
    callbacks: u64,
}

impl Replay {
    /// A replay of `rules`, counting repeats within serve's default
    /// replay window ([`DEFAULT_REPLAY_WINDOW`]).
    pub fn new(rules: Rules) -> Replay {
        Replay::with_window(rules, DEFAULT_REPLAY_WINDOW)
    }

    /// A replay whose repeats are remembered as serve's `--callback-window
    /// window` remembers them.
    pub fn with_window(rules: Rules, window: Duration) -> Replay {
        let stats = rules
            .rules
            .iter()
            .map(|r| RuleStats {
                rule: r.name.clone(),
                mode: if r.shadow() { "shadow" } else { "enforce" },
                ..RuleStats::default()
            })
            .collect();
        Replay {
            rules,
            counter: MemoryCounter::in_event_time(),
            seen_for: SEEN_FOR.max(2 * window + Duration::from_secs(1)),
            origin: None,
            stats,
            verdicts: Verdicts::new(),
            callbacks: 0,
        }
    }

    /// Judges `cb`, arrived at `t_ms` (Unix milliseconds, in order) with
    /// replay digest `id`, and counts its offences as serve would.
    pub async fn feed(&mut self, t_ms: u64, id: Option<&str>, cb: &Callback) {
        self.callbacks += 1;
        let origin = *self.origin.get_or_insert(t_ms);
        self.counter.set_time(t_ms.saturating_sub(origin));
        let judged = self.rules.judge(cb);
        self.blocked(t_ms, cb, &judged.answer, &judged.matches);
        if repeated(&self.counter, id, &judged.matches, self.seen_for).await {
            return;
        }
        for m in &judged.matches {
            let rule = &self.rules.rules[m.rule];
            match decide(&self.counter, rule, m, self.seen_for).await {
                Decided::Nothing => {}
                Decided::Allowed { .. } => self.stats[m.rule].allowed += 1,
                Decided::Offence {
                    evidence,
                    count,
                    step,
                    ..
                } => {
                    let stats = &mut self.stats[m.rule];
                    stats.offences += 1;
                    *stats.steps.entry(step.to_string()).or_default() += 1;
                    if !rule.shadow() {
                        let why = Why {
                            time_ms: t_ms,
                            rule: rule.name.clone(),
                            step: Some(step.to_string()),
                            offence: Some(count),
                            evidence,
                        };
                        raise(&mut self.verdicts, m, Severity::of(step), why);
                    }
                }
            }
        }
    }

    /// Counts the refusals and masks of the answer, rule by rule.
    fn blocked(&mut self, t_ms: u64, cb: &Callback, answer: &ban_callback::Answer, ms: &[Match]) {
        let refused = !answer.allows();
        let masked = answer.msg_body.is_some();
        if let Callback::BeforeApplyJoinGroup(a) = cb {
            let by = self.rules.rules.iter().position(|r| {
                r.on == On::Join
                    && r.block
                    && !r.shadow()
                    && r.covers(&a.group_id)
                    && r.find(&a.requestor_account).is_some()
            });
            if let (true, Some(i)) = (refused, by) {
                self.stats[i].refused += 1;
                let why = Why {
                    time_ms: t_ms,
                    rule: self.rules.rules[i].name.clone(),
                    step: None,
                    offence: None,
                    evidence: format!("join application of {}", a.requestor_account),
                };
                let key = (a.group_id.clone(), a.requestor_account.clone());
                raise_key(&mut self.verdicts, key, Severity::Blocked, why);
            }
            return;
        }
        if !(refused || masked) {
            return;
        }
        for m in ms.iter().filter(|m| matches!(m.kind, MatchKind::Word(_))) {
            let rule = &self.rules.rules[m.rule];
            if rule.shadow() || m.allowed {
                continue;
            }
            let counted = if refused && rule.block {
                &mut self.stats[m.rule].refused
            } else if masked && rule.mask {
                &mut self.stats[m.rule].masked
            } else {
                continue;
            };
            *counted += 1;
            let why = Why {
                time_ms: t_ms,
                rule: rule.name.clone(),
                step: None,
                offence: None,
                evidence: m.explain(),
            };
            raise(&mut self.verdicts, m, Severity::Blocked, why);
        }
    }

    /// The callbacks fed so far.
    pub fn callbacks(&self) -> u64 {
        self.callbacks
    }

    /// What each rule did, in file order.
    pub fn stats(&self) -> &[RuleStats] {
        &self.stats
    }

    /// The most each account was treated with, and why.
    pub fn verdicts(&self) -> Verdicts {
        self.verdicts.clone()
    }
}

fn raise(verdicts: &mut Verdicts, m: &Match, severity: Severity, why: Why) {
    raise_key(
        verdicts,
        (m.group.clone(), m.account.clone()),
        severity,
        why,
    );
}

/// Keeps the first event of the most severe treatment.
fn raise_key(verdicts: &mut Verdicts, key: (String, String), severity: Severity, why: Why) {
    match verdicts.get(&key) {
        Some((s, _)) if *s >= severity => {}
        _ => {
            verdicts.insert(key, (severity, why));
        }
    }
}

/// How an account is treated differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// A message of it is refused or masked that was not.
    NewlyBlocked,
    /// It is muted, and was not muted or banned.
    NewlyMuted,
    /// It is banned, and was not.
    NewlyBanned,
    /// It is treated more lightly than it was.
    Spared,
}

impl Change {
    /// As written: `newly blocked`, `newly muted`, `newly banned`, `spared`.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::NewlyBlocked => "newly blocked",
            Change::NewlyMuted => "newly muted",
            Change::NewlyBanned => "newly banned",
            Change::Spared => "spared",
        }
    }
}

/// One account the new rules treat differently from the baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Difference {
    /// The group.
    pub group: String,
    /// The account.
    pub account: String,
    /// How.
    pub change: Change,
    /// The most the baseline treated it with.
    pub old: Severity,
    /// The most the new rules treat it with.
    pub new: Severity,
    /// What made the difference: the new rules' event when they treat it
    /// more severely, the baseline's when it is spared.
    pub why: Why,
}

/// The accounts `new` treats differently from `old`, by group and account.
/// With `actions_only` (a baseline from an audit log, which records
/// actions but not refusals), refusals and masks are left out of both.
pub fn differences(old: &Verdicts, new: &Verdicts, actions_only: bool) -> Vec<Difference> {
    fn level(v: Option<&(Severity, Why)>, actions_only: bool) -> Option<&(Severity, Why)> {
        v.filter(|(s, _)| !actions_only || *s > Severity::Blocked)
    }
    let mut keys: Vec<&(String, String)> = old.keys().chain(new.keys()).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut out = Vec::new();
    for key in keys {
        let (o, n) = (
            level(old.get(key), actions_only),
            level(new.get(key), actions_only),
        );
        let (os, ns) = (
            o.map_or(Severity::None, |v| v.0),
            n.map_or(Severity::None, |v| v.0),
        );
        let (change, why) = match (os.cmp(&ns), o, n) {
            (std::cmp::Ordering::Less, _, Some((s, why))) => {
                let change = match s {
                    Severity::Banned => Change::NewlyBanned,
                    Severity::Muted => Change::NewlyMuted,
                    _ => Change::NewlyBlocked,
                };
                (change, why)
            }
            (std::cmp::Ordering::Greater, Some((_, why)), _) => (Change::Spared, why),
            _ => continue,
        };
        out.push(Difference {
            group: key.0.clone(),
            account: key.1.clone(),
            change,
            old: os,
            new: ns,
            why: why.clone(),
        });
    }
    out
}

/// One decision line of an audit log, as far as a baseline needs it.
#[derive(Debug, Deserialize)]
struct AuditDecision {
    time_ms: u64,
    kind: String,
    group: Option<String>,
    account: Option<String>,
    rule: Option<String>,
    evidence: Option<String>,
    offence: Option<u64>,
    step: Option<String>,
    outcome: String,
}

/// The verdicts an audit log records: its decisions queued to be acted on
/// (not those skipped, not attempted or in shadow) from `from_ms` to
/// `to_ms`. Lines that are not decisions are skipped; an unreadable line
/// is an error naming it (a torn last line excepted).
pub fn audit_verdicts(text: &str, from_ms: u64, to_ms: u64) -> Result<Verdicts, String> {
    let mut verdicts = Verdicts::new();
    let lines: Vec<&str> = text.split('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let d: AuditDecision = match serde_json::from_str(line) {
            Ok(d) => d,
            Err(_) if i + 1 == lines.len() => break,
            Err(e) => return Err(format!("line {}: not an audit line ({e})", i + 1)),
        };
        let (Some(group), Some(account), Some(step)) = (d.group, d.account, d.step) else {
            continue;
        };
        if d.kind != "decision" || d.outcome != "queued" || d.time_ms < from_ms || d.time_ms > to_ms
        {
            continue;
        }
        let severity = if step.starts_with("ban") {
            Severity::Banned
        } else {
            Severity::Muted
        };
        let why = Why {
            time_ms: d.time_ms,
            rule: d.rule.unwrap_or_default(),
            step: Some(step),
            offence: d.offence,
            evidence: d.evidence.unwrap_or_default(),
        };
        raise_key(&mut verdicts, (group, account), severity, why);
    }
    Ok(verdicts)
}
