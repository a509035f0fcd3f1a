//! From a callback to decisions: the answer is made from the rules alone
//! (no I/O, so it is never late), and the offences are counted and turned
//! into ladder steps afterwards, off the answer's path.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use ban_callback::{Answer, Callback};
use tokio::sync::mpsc;

use super::audit::{evidence, Audit, Line};
use super::counts::Counts;
use super::rules::{On, Rule, Rules, Step};

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

/// Why a rule matched.
enum Hit {
    /// A word of the rule is in the text (or the account name, for joins).
    Word(String),
    /// Counted against the rule's rate: messages of the sender, joins of
    /// the group.
    Rate,
}

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
        let mut answer = Answer::ok();
        // (rule, group, account, evidence, hit, message key)
        let mut hits: Vec<(Rule, String, String, String, Hit, Option<String>)> = Vec::new();
        match &cb {
            Callback::BeforeSendMsg(m) | Callback::AfterSendMsg(m) => {
                let before = matches!(cb, Callback::BeforeSendMsg(_));
                let text = m.text();
                let seen = m
                    .random
                    .map(|r| format!("seen:{}:{}:{r}", m.group_id, m.from_account));
                for rule in rules
                    .rules
                    .iter()
                    .filter(|r| r.on == On::Message && r.covers(&m.group_id))
                {
                    if let Some(word) = rule.word_in(&text) {
                        if before && rule.block && !rules.allow.contains(&m.from_account) {
                            answer = Answer::reject();
                        }
                        let hit = Hit::Word(word.to_owned());
                        hits.push((
                            rule.clone(),
                            m.group_id.clone(),
                            m.from_account.clone(),
                            evidence(&text),
                            hit,
                            seen.clone(),
                        ));
                    } else if rule.per_sender.is_some() {
                        hits.push((
                            rule.clone(),
                            m.group_id.clone(),
                            m.from_account.clone(),
                            evidence(&text),
                            Hit::Rate,
                            seen.clone(),
                        ));
                    }
                }
            }
            Callback::ContentResult(r) if r.blocked() => {
                if let Some(group) = r.group() {
                    let text = r.text_content.join(" ");
                    let why = format!("content moderation: {} {}", r.ctxcb_label, evidence(&text));
                    for rule in rules
                        .rules
                        .iter()
                        .filter(|x| x.on == On::ContentResult && x.covers(group))
                    {
                        hits.push((
                            rule.clone(),
                            group.to_owned(),
                            r.from_account.clone(),
                            evidence(&why),
                            Hit::Word(r.ctxcb_label.clone()),
                            None,
                        ));
                    }
                }
            }
            Callback::AfterNewMemberJoin(j) => {
                for rule in rules
                    .rules
                    .iter()
                    .filter(|r| r.on == On::Join && r.covers(&j.group_id))
                {
                    for m in &j.new_members {
                        let hit = match rule.word_in(&m.member_account) {
                            Some(w) => Hit::Word(w.to_owned()),
                            None if rule.joins.is_some() => Hit::Rate,
                            None => continue,
                        };
                        hits.push((
                            rule.clone(),
                            j.group_id.clone(),
                            m.member_account.clone(),
                            format!("joined {}", j.group_id),
                            hit,
                            None,
                        ));
                    }
                }
            }
            Callback::RequestOverLimit(a) => {
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
            _ => {}
        }
        if !hits.is_empty() {
            let me = self.clone();
            let allow = rules.allow.clone();
            tokio::spawn(async move {
                for (rule, group, account, text, hit, seen) in hits {
                    me.offence(&rule, &group, &account, text, hit, seen.as_deref(), &allow)
                        .await;
                }
            });
        }
        answer
    }

    /// Counts one match; an offence becomes its ladder step.
    #[allow(clippy::too_many_arguments)]
    async fn offence(
        &self,
        rule: &Rule,
        group: &str,
        account: &str,
        text: String,
        hit: Hit,
        seen: Option<&str>,
        allow: &std::collections::HashSet<String>,
    ) {
        if let Some(seen) = seen {
            // The before- and after-send callbacks of one message: once.
            let key = format!("{seen}:{}", rule.name);
            if self.counts.bump(&key, SEEN_FOR).await.0 > 1 {
                return;
            }
        }
        let evidence_text = match &hit {
            Hit::Word(w) => format!("{text} [matched {w:?}]"),
            Hit::Rate => {
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
                format!("{count} {what} within {}", humantime::format_duration(per))
            }
        };
        let mut line = Line::new("decision", "");
        line.group = Some(group.to_owned());
        line.account = Some(account.to_owned());
        line.rule = Some(rule.name.clone());
        line.evidence = Some(evidence(&evidence_text));
        metrics::counter!("serve_decisions_total", "rule" => rule.name.clone()).increment(1);
        if allow.contains(account) {
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
