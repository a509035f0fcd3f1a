//! Typed events: every decision, action, refusal, alert and reload is
//! emitted once, as an [`Event`], and handed to every [`Observer`]. The
//! audit file, the metrics and tracing are three observers of the same
//! events; a host adds its own.

use std::fmt;
use std::sync::Arc;

use ban_rules::Step;
use serde::{Deserialize, Serialize};

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// An offence was seen and a ladder step chosen (or skipped).
    Decision,
    /// A decided step reached the service, failed, or was skipped.
    Action,
    /// A request that was not acted on (bad signature, bad body).
    Refused,
    /// The service warned that a command runs near its limit.
    Alert,
    /// The rules were replaced, or a replacement refused.
    Reload,
    /// Raid mode tripped, ended, or refused newcomers' messages.
    Raid,
}

impl EventKind {
    /// The name written in audit lines: `decision`, `action`, ...
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Decision => "decision",
            EventKind::Action => "action",
            EventKind::Refused => "refused",
            EventKind::Alert => "alert",
            EventKind::Reload => "reload",
            EventKind::Raid => "raid",
        }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RefusalReason {
    /// The query lacks what every callback carries.
    Query,
    /// The signature, its time or the app did not check out.
    Auth,
    /// The body is too large, cut, or not a callback.
    Body,
    /// Not a POST.
    Method,
}

impl RefusalReason {
    /// Every reason, in order.
    pub const ALL: [RefusalReason; 4] = [
        RefusalReason::Query,
        RefusalReason::Auth,
        RefusalReason::Body,
        RefusalReason::Method,
    ];

    /// Its label in metrics: `query`, `auth`, `body`, `method`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RefusalReason::Query => "query",
            RefusalReason::Auth => "auth",
            RefusalReason::Body => "body",
            RefusalReason::Method => "method",
        }
    }
}

/// What came of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// The step is queued to be sent.
    Queued {
        /// Counted by this instance alone (the shared counter is
        /// unreachable).
        local: bool,
    },
    /// The account is on the allow-list: never acted on.
    Allowed,
    /// Decided by a rule in shadow (`mode = "shadow"`): not acted on.
    Shadow,
    /// A later offence's step replaced this one before it was sent.
    Superseded {
        /// The offence that replaced it.
        by: u64,
    },
    /// The step could not be queued (full, or the loop is stopping).
    Unqueued {
        /// Why.
        reason: String,
    },
    /// The service did it.
    Done,
    /// The service, or the way to it, refused it.
    Failed {
        /// The service's `ErrorCode`, when it answered.
        code: Option<i64>,
        /// Why, in words.
        reason: String,
    },
    /// Never sent: the job stopped first.
    NotAttempted {
        /// Why the job stopped.
        reason: String,
    },
    /// A request refused with this HTTP status.
    Refused {
        /// The status sent.
        status: u16,
        /// Which check refused it.
        reason: RefusalReason,
        /// Why, in words (never the request's own text beyond a prefix).
        detail: String,
        /// The refusals for this reason this event stands for (at most
        /// one event per reason per second is told).
        count: u64,
    },
    /// A warning from the service.
    Warned,
    /// The loop goes on with less than it should have (no journal, no
    /// shared counts or budget), and says why.
    Degraded {
        /// What is missing.
        reason: String,
    },
    /// The rules were replaced.
    Reloaded {
        /// How many rules are now at work.
        rules: usize,
    },
    /// A replacement of the rules was refused; the old ones stay.
    ReloadRefused {
        /// Why.
        reason: String,
    },
    /// A surge of joins tripped raid mode (or it was forced on).
    RaidTripped {
        /// Joins within the window.
        joins: u64,
        /// Newcomers shielded from the start.
        cohort: usize,
    },
    /// Newcomers' messages refused at the before-send answer since the
    /// last such event (at most one a second per group).
    RaidRefusing {
        /// How many.
        count: u64,
    },
    /// Raid mode froze the room (`freeze`: `MuteAllMember` on).
    RaidFrozen,
    /// The room frozen for a raid was thawed (`MuteAllMember` off).
    RaidThawed,
    /// Freezing or thawing the room failed: the raid shield goes on
    /// without it (newcomers are still refused at the answer).
    RaidFreezeFailed {
        /// Whether it was to freeze (or to thaw).
        freeze: bool,
        /// Why.
        reason: String,
    },
    /// Raid mode ended.
    RaidEnded {
        /// Newcomers it held.
        cohort: usize,
        /// Messages it refused in all.
        refused: u64,
        /// How long it lasted, milliseconds.
        lasted_ms: u64,
    },
}

impl Outcome {
    /// A short label for metrics: `queued`, `done`, `failed`,
    /// `not attempted`, `skipped`, `refused`, ...
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Queued { .. } => "queued",
            Outcome::Allowed | Outcome::Superseded { .. } => "skipped",
            Outcome::Shadow => "shadow",
            Outcome::Unqueued { .. } | Outcome::NotAttempted { .. } => "not attempted",
            Outcome::Done => "done",
            Outcome::Failed { .. } => "failed",
            Outcome::Refused { .. } | Outcome::ReloadRefused { .. } => "refused",
            Outcome::Warned => "warned",
            Outcome::Degraded { .. } => "degraded",
            Outcome::Reloaded { .. } => "reloaded",
            Outcome::RaidTripped { .. } => "tripped",
            Outcome::RaidRefusing { .. } => "refusing",
            Outcome::RaidEnded { .. } => "ended",
            Outcome::RaidFrozen => "frozen",
            Outcome::RaidThawed => "thawed",
            Outcome::RaidFreezeFailed { .. } => "failed",
        }
    }
}

/// The audit log's `result` text.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Queued { local: false } => f.write_str("queued"),
            Outcome::Queued { local: true } => {
                f.write_str("queued (counted by this instance alone: Redis unreachable)")
            }
            Outcome::Allowed => f.write_str("skipped: the account is on the allow-list"),
            Outcome::Shadow => {
                f.write_str("shadow: decided, not acted on (the rule's mode is \"shadow\")")
            }
            Outcome::Superseded { by } => write!(f, "skipped: superseded by offence {by}"),
            Outcome::Unqueued { reason } => write!(
                f,
                "not attempted: the action queue is full or closed ({reason})"
            ),
            Outcome::Done => f.write_str("done"),
            Outcome::Failed {
                code: Some(c),
                reason,
            } => write!(f, "failed: {c} {reason}"),
            Outcome::Failed { code: None, reason } => write!(f, "failed: {reason}"),
            Outcome::NotAttempted { reason } => write!(f, "not attempted: {reason}"),
            Outcome::Refused {
                status,
                detail,
                count,
                ..
            } => {
                write!(f, "HTTP {status}: {detail}")?;
                if *count > 1 {
                    write!(f, " ({count} refused for this reason since the last line)")?;
                }
                Ok(())
            }
            Outcome::Warned => {
                f.write_str("the service says a command runs above 80% of its limit")
            }
            Outcome::Degraded { reason } => write!(f, "degraded: {reason}"),
            Outcome::Reloaded { rules } => write!(f, "rules reloaded: {rules} rule(s)"),
            Outcome::ReloadRefused { reason } => {
                write!(f, "refused, the old rules stay: {reason}")
            }
            Outcome::RaidTripped { joins, cohort } => write!(
                f,
                "raid mode on: {joins} joins within the window; {cohort} newcomer(s) refused at the before-send answer until it ends"
            ),
            Outcome::RaidRefusing { count } => {
                write!(f, "raid mode refused {count} newcomer message(s)")
            }
            Outcome::RaidFrozen => f.write_str(
                "room frozen for the raid: MuteAllMember on, only the owner and admins speak",
            ),
            Outcome::RaidThawed => f.write_str("room thawed: MuteAllMember off"),
            Outcome::RaidFreezeFailed { freeze, reason } => write!(
                f,
                "failed to {} the room: {reason}",
                if *freeze { "freeze" } else { "thaw" }
            ),
            Outcome::RaidEnded {
                cohort,
                refused,
                lasted_ms,
            } => write!(
                f,
                "raid mode off after {:.1} s: {cohort} newcomer(s) may speak again; {refused} message(s) refused, no call made for them",
                *lasted_ms as f64 / 1000.0
            ),
        }
    }
}

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    /// Unix milliseconds.
    pub time_ms: u64,
    /// What it is about.
    pub kind: EventKind,
    /// The group.
    pub group: Option<String>,
    /// The account.
    pub account: Option<String>,
    /// The rule's name.
    pub rule: Option<String>,
    /// What matched: the message text (cut), the word, the count.
    pub evidence: Option<String>,
    /// The offence's number within the rule's window.
    pub offence: Option<u64>,
    /// The ladder step.
    pub step: Option<Step>,
    /// What came of it.
    pub outcome: Outcome,
    /// An action done: what the account had before it (when it was read).
    pub earlier: Option<crate::Earlier>,
    /// An action done: the end its call set (Unix seconds) and within how
    /// many seconds after it the service set it (the call's time).
    pub ends: Option<(u64, u64)>,
}

impl Event {
    /// An event of `kind` now, with nothing but its outcome.
    pub fn new(kind: EventKind, outcome: Outcome) -> Event {
        Event {
            time_ms: now_ms(),
            kind,
            group: None,
            account: None,
            rule: None,
            evidence: None,
            offence: None,
            step: None,
            outcome,
            earlier: None,
            ends: None,
        }
    }

    /// The same event about `account` of `group` under `rule`.
    pub fn about(mut self, group: &str, account: &str, rule: &str) -> Event {
        self.group = Some(group.to_owned());
        self.account = Some(account.to_owned());
        self.rule = Some(rule.to_owned());
        self
    }

    /// The same event with its evidence.
    pub fn evidence(mut self, evidence: impl Into<String>) -> Event {
        self.evidence = Some(evidence.into());
        self
    }

    /// The same event with an offence and its step.
    pub fn step(mut self, offence: u64, step: Step) -> Event {
        self.offence = Some(offence);
        self.step = Some(step);
        self
    }
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Something that is told of every event: cheap and never blocking (it
/// runs on the answer's path for refusals and alerts).
pub trait Observer: Send + Sync + 'static {
    /// One event.
    fn observe(&self, event: &Event);
    /// Resolves once the events observed so far are kept where they go
    /// (an audit file: written to it). The loop waits for it before the
    /// journal forgets an action, so the audit always has its line.
    fn flush(&self) -> crate::BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }
}

impl<F: Fn(&Event) + Send + Sync + 'static> Observer for F {
    fn observe(&self, event: &Event) {
        self(event);
    }
}

/// The observers of one loop; cheap to clone.
#[derive(Clone, Default)]
pub struct Observers(Arc<Vec<Arc<dyn Observer>>>);

impl fmt::Debug for Observers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Observers({})", self.0.len())
    }
}

impl Observers {
    /// Observers in order.
    pub fn new(list: Vec<Arc<dyn Observer>>) -> Observers {
        Observers(Arc::new(list))
    }

    /// Tells every observer.
    pub fn emit(&self, event: Event) {
        for o in self.0.iter() {
            o.observe(&event);
        }
    }

    /// Waits for every observer's [`Observer::flush`].
    pub async fn flush(&self) {
        for o in self.0.iter() {
            o.flush().await;
        }
    }
}

/// Counts events in `metrics` (through whatever recorder the host
/// installed, or none): `serve_decisions_total{rule}`,
/// `serve_actions_total{step,outcome}`, `serve_refused_total{reason}`,
/// `serve_alerts_total`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Metrics;

impl Observer for Metrics {
    fn observe(&self, e: &Event) {
        match (&e.kind, &e.outcome) {
            (EventKind::Decision, _) => {
                let rule = e.rule.clone().unwrap_or_default();
                if e.outcome == Outcome::Shadow {
                    metrics::counter!("serve_shadow_decisions_total", "rule" => rule.clone())
                        .increment(1);
                }
                metrics::counter!("serve_decisions_total", "rule" => rule).increment(1);
            }
            (EventKind::Action, o) => {
                let step = e.step.map(|s| s.to_string()).unwrap_or_default();
                metrics::counter!("serve_actions_total", "step" => step, "outcome" => o.label())
                    .increment(1);
            }
            (EventKind::Alert, _) => metrics::counter!("serve_alerts_total").increment(1),
            (
                EventKind::Raid,
                o @ (Outcome::RaidTripped { .. }
                | Outcome::RaidEnded { .. }
                | Outcome::RaidFrozen
                | Outcome::RaidThawed),
            ) => {
                metrics::counter!("serve_raid_transitions_total", "transition" => o.label())
                    .increment(1);
            }
            _ => {}
        }
    }
}

/// Logs events through `tracing`: refusals and alerts at `info`,
/// decisions and actions at `debug`, failed actions at `warn`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tracing;

impl Observer for Tracing {
    fn observe(&self, e: &Event) {
        let kind = e.kind.as_str();
        let group = e.group.as_deref().unwrap_or("");
        let account = e.account.as_deref().unwrap_or("");
        let rule = e.rule.as_deref().unwrap_or("");
        match &e.outcome {
            Outcome::Failed { .. } | Outcome::Degraded { .. } => {
                tracing::warn!(kind, group, account, rule, result = %e.outcome, "moderation");
            }
            Outcome::Refused { .. } | Outcome::Warned | Outcome::ReloadRefused { .. } => {
                tracing::info!(kind, result = %e.outcome, "moderation");
            }
            _ => tracing::debug!(kind, group, account, rule, result = %e.outcome, "moderation"),
        }
    }
}
