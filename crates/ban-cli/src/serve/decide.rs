//! From a callback to decisions: the answer is made from the rules alone
//! (no I/O, so it is never late), and the offences are counted and turned
//! into ladder steps afterwards, off the answer's path.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use ban_callback::{Answer, Callback};
use tokio::sync::mpsc;

use ban_rules::{evidence, short, Match, MatchKind, Rules, Step};

use super::audit::{Audit, Line};
use super::counts::Counts;

/// An action decided: one ladder step for one account of one group.
#[derive(Debug, Clone)]
pub(crate) struct Act {
    pub(crate) group: String,
    pub(crate) account: String,
    pub(crate) step: Step,
    pub(crate) rule: String,
    pub(crate) offence: u64,
}

/// Where an account's offences under a rule are counted.
pub(crate) fn offence_key(rule: &str, group: &str, account: &str) -> String {
    format!("off:{rule}:{group}:{account}")
}

/// How long a message is remembered, so the before- and the after-send
/// callback of one message count one offence.
const SEEN_FOR: Duration = Duration::from_secs(120);

/// The rules at work, the counts, the audit and the actions' queue.
pub(crate) struct Moderator {
    rules: RwLock<Arc<Rules>>,
    counts: Arc<Counts>,
    audit: Audit,
    acts: RwLock<Option<mpsc::Sender<Act>>>,
}

impl Moderator {
    pub(crate) fn new(
        rules: Rules,
        counts: Arc<Counts>,
        audit: Audit,
        acts: mpsc::Sender<Act>,
    ) -> Self {
        Moderator {
            rules: RwLock::new(Arc::new(rules)),
            counts,
            audit,
            acts: RwLock::new(Some(acts)),
        }
    }

    /// No more actions are queued: the dispatcher ends once it has sent
    /// what is queued.
    pub(crate) fn close_queue(&self) {
        self.acts.write().unwrap_or_else(|p| p.into_inner()).take();
    }

    pub(crate) fn rules(&self) -> Arc<Rules> {
        self.rules
            .read()
            .map_or_else(|p| p.into_inner().clone(), |r| r.clone())
    }

    /// Puts new rules to work (SIGHUP).
    pub(crate) fn replace_rules(&self, rules: Rules) {
        let mut slot = self.rules.write().unwrap_or_else(|p| p.into_inner());
        *slot = Arc::new(rules);
    }

    pub(crate) fn counts(&self) -> &Counts {
        &self.counts
    }

    pub(crate) fn audit(&self) -> &Audit {
        &self.audit
    }

    /// The answer to `cb`, from the rules alone; the offences it holds are
    /// counted in the background.
    pub(crate) fn judge(self: &Arc<Self>, cb: Callback) -> Answer {
        let rules = self.rules();
        if let Callback::RequestOverLimit(a) = &cb {
            let mut line = Line::new(
                "alert",
                "the service says a command runs above 80% of its limit",
            );
            line.evidence = Some(format!(
                "{} {}: {} calls/s of {}",
                a.service_name,
                a.command,
                a.request.unwrap_or(0),
                a.limit.unwrap_or(0)
            ));
            self.audit.write(line);
        }
        let judged = rules.judge(&cb);
        if !judged.matches.is_empty() {
            let me = self.clone();
            tokio::spawn(async move {
                for m in judged.matches {
                    me.offence(&rules, m).await;
                }
            });
        }
        judged.answer
    }

    /// Counts one match; an offence becomes its ladder step.
    async fn offence(&self, rules: &Rules, m: Match) {
        let rule = &rules.rules[m.rule];
        let (group, account) = (m.group.as_str(), m.account.as_str());
        if let Some(message) = &m.message {
            // The before- and after-send callbacks of one message: once.
            let key = format!("seen:{message}:{}", rule.name);
            if self.counts.bump(&key, SEEN_FOR).await.0 > 1 {
                return;
            }
        }
        let evidence_text = match &m.kind {
            MatchKind::Word(w) => format!("{} [matched {w:?}]", m.evidence),
            _ => {
                let (limit, key, per, what) = match (rule.per_sender, rule.joins) {
                    (Some((n, per)), _) => (
                        n,
                        format!("rate:{}:{group}:{account}", rule.name),
                        per,
                        "messages from the sender",
                    ),
                    (_, Some((n, per))) => (
                        n,
                        format!("rate:{}:{group}", rule.name),
                        per,
                        "joins of the group",
                    ),
                    _ => return,
                };
                let (count, _) = self.counts.bump(&key, per).await;
                // Per sender: the message that passes the limit is the
                // offence, once a window; per group: every join past it.
                let offends = if rule.per_sender.is_some() {
                    count == limit + 1
                } else {
                    count > limit
                };
                if !offends {
                    return;
                }
                format!("{count} {what} within {}", short(per))
            }
        };
        let mut line = Line::new("decision", "");
        line.group = Some(group.to_owned());
        line.account = Some(account.to_owned());
        line.rule = Some(rule.name.clone());
        line.evidence = Some(evidence(&evidence_text));
        metrics::counter!("serve_decisions_total", "rule" => rule.name.clone()).increment(1);
        if m.allowed {
            line.result = "skipped: the account is on the allow-list".to_owned();
            self.audit.write(line);
            return;
        }
        let (n, local) = self
            .counts
            .bump(&offence_key(&rule.name, group, account), rule.window)
            .await;
        let step = rule.step(n);
        line.offence = Some(n);
        line.step = Some(step.to_string());
        line.result = if local {
            "queued (counted by this instance alone: Redis unreachable)".to_owned()
        } else {
            "queued".to_owned()
        };
        let act = Act {
            group: group.to_owned(),
            account: account.to_owned(),
            step,
            rule: rule.name.clone(),
            offence: n,
        };
        let queue = self.acts.read().map_or(None, |q| q.clone());
        let sent = match queue {
            Some(q) => q.try_send(act).map_err(|e| e.to_string()),
            None => Err("the service is stopping".to_owned()),
        };
        if let Err(e) = sent {
            line.result = format!("not attempted: the action queue is full or closed ({e})");
        }
        self.audit.write(line);
    }
}
