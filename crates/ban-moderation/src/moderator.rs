//! From a callback to decisions: the answer is made from the rules alone
//! (no I/O, so it is never late), and the offences are counted and turned
//! into ladder steps afterwards, off the answer's path.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use ban_callback::{Answer, Callback};
use ban_rules::{evidence, Match, MatchKind, Rules};
use tokio::sync::mpsc;

use crate::counter::{Counter, MemoryCounter};
use crate::dispatch::{dispatch, Act, Batching, Executor};
use crate::event::{Event, EventKind, Observer, Observers, Outcome};

/// How long a message is remembered, so the before- and the after-send
/// callback of one message count one offence.
pub const SEEN_FOR: Duration = Duration::from_secs(120);
/// Actions waiting to be sent, at most, by default; beyond, an action is
/// reported not attempted rather than kept without bound.
pub const DEFAULT_QUEUE: usize = 100_000;
/// How long the first action of a round waits for others, by default.
pub const DEFAULT_COALESCE: Duration = Duration::from_millis(20);
/// The most actions taken into one round of calls.
const ROUND_MAX: usize = 20_000;

/// The rules at work, the counts, the observers and the actions' queue.
/// Built by [`Moderator::builder`]; shared as an `Arc`.
pub struct Moderator {
    rules: RwLock<Arc<Rules>>,
    counter: Arc<dyn Counter>,
    observers: Observers,
    acts: RwLock<Option<mpsc::Sender<Act>>>,
}

impl std::fmt::Debug for Moderator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Moderator")
            .field("rules", &self.rules().rules.len())
            .field("observers", &self.observers)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Moderator`] and starts its loop.
#[must_use]
pub struct ModeratorBuilder {
    rules: Rules,
    counter: Arc<dyn Counter>,
    observers: Vec<Arc<dyn Observer>>,
    queue: usize,
    coalesce: Duration,
}

impl std::fmt::Debug for ModeratorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModeratorBuilder")
            .field("rules", &self.rules.rules.len())
            .field("queue", &self.queue)
            .field("coalesce", &self.coalesce)
            .finish_non_exhaustive()
    }
}

impl ModeratorBuilder {
    /// Where counts live (default: a [`MemoryCounter`]).
    pub fn counter(mut self, counter: impl Counter) -> Self {
        self.counter = Arc::new(counter);
        self
    }

    /// One more observer of every event.
    pub fn observer(mut self, observer: impl Observer) -> Self {
        self.observers.push(Arc::new(observer));
        self
    }

    /// Actions waiting to be sent, at most (default [`DEFAULT_QUEUE`]).
    pub fn queue(mut self, actions: usize) -> Self {
        self.queue = actions.max(1);
        self
    }

    /// How long the first action of a round waits for others to join its
    /// calls (default [`DEFAULT_COALESCE`]).
    pub fn coalesce(mut self, wait: Duration) -> Self {
        self.coalesce = wait;
        self
    }

    /// Starts the loop on the current tokio runtime, acting through
    /// `executor` (usually a [`crate::ClientExecutor`]).
    pub fn start(self, executor: impl Executor) -> Moderation {
        let (tx, rx) = mpsc::channel(self.queue);
        let observers = Observers::new(self.observers);
        let counter = self.counter;
        // Memory follows the live windows even when no event comes.
        let sweeper = tokio::spawn({
            let counter = counter.clone();
            async move {
                let mut tick = tokio::time::interval(Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    counter.sweep();
                }
            }
        });
        let batching = Batching {
            coalesce: self.coalesce,
            round_max: ROUND_MAX,
        };
        let dispatcher = tokio::spawn(dispatch(
            Arc::new(executor),
            observers.clone(),
            counter.clone(),
            batching,
            rx,
        ));
        let moderator = Arc::new(Moderator {
            rules: RwLock::new(Arc::new(self.rules)),
            counter,
            observers,
            acts: RwLock::new(Some(tx)),
        });
        Moderation {
            moderator,
            sweeper,
            dispatcher,
        }
    }
}

/// A running loop: its moderator and its tasks.
#[derive(Debug)]
pub struct Moderation {
    moderator: Arc<Moderator>,
    sweeper: tokio::task::JoinHandle<()>,
    dispatcher: tokio::task::JoinHandle<()>,
}

impl Moderation {
    /// The moderator, to judge callbacks with (or to mount with
    /// [`crate::service`]).
    pub fn moderator(&self) -> &Arc<Moderator> {
        &self.moderator
    }

    /// Takes no more actions and waits, at most `grace`, for those already
    /// queued to be sent; returns whether they all were.
    pub async fn shutdown(self, grace: Duration) -> bool {
        self.sweeper.abort();
        self.moderator.close_queue();
        tokio::time::timeout(grace, self.dispatcher).await.is_ok()
    }
}

impl Moderator {
    /// A moderator of `rules`; see [`ModeratorBuilder`].
    pub fn builder(rules: Rules) -> ModeratorBuilder {
        ModeratorBuilder {
            rules,
            counter: Arc::new(MemoryCounter::new()),
            observers: Vec::new(),
            queue: DEFAULT_QUEUE,
            coalesce: DEFAULT_COALESCE,
        }
    }

    /// No more actions are queued: the dispatcher ends once it has sent
    /// what is queued.
    fn close_queue(&self) {
        self.acts.write().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// The rules at work.
    pub fn rules(&self) -> Arc<Rules> {
        self.rules
            .read()
            .map_or_else(|p| p.into_inner().clone(), |r| r.clone())
    }

    /// Puts new rules to work (a reload), with a `reload` event.
    pub fn replace_rules(&self, rules: Rules) {
        let n = rules.rules.len();
        let mut slot = self.rules.write().unwrap_or_else(|p| p.into_inner());
        *slot = Arc::new(rules);
        drop(slot);
        self.emit(Event::new(
            EventKind::Reload,
            Outcome::Reloaded { rules: n },
        ));
    }

    /// The counter.
    pub fn counter(&self) -> &dyn Counter {
        &*self.counter
    }

    pub(crate) fn observers(&self) -> &Observers {
        &self.observers
    }

    /// Tells every observer of `event`.
    pub fn emit(&self, event: Event) {
        self.observers.emit(event);
    }

    /// The answer to `cb`, from the rules alone; the offences it holds are
    /// counted and acted on in the background (on the current tokio
    /// runtime).
    pub fn judge(self: &Arc<Self>, cb: Callback) -> Answer {
        let rules = self.rules();
        if let Callback::RequestOverLimit(a) = &cb {
            let e = Event::new(EventKind::Alert, Outcome::Warned).evidence(format!(
                "{} {}: {} calls/s of {}",
                evidence(&a.service_name),
                evidence(&a.command),
                a.request.unwrap_or(0),
                a.limit.unwrap_or(0)
            ));
            self.emit(e);
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
            if self
                .counter
                .bump(&rule.seen_key(message), SEEN_FOR)
                .await
                .count
                > 1
            {
                return;
            }
        }
        let evidence_text = match &m.kind {
            MatchKind::Word(_) => m.explain(),
            _ => {
                let Some(rate) = rule.rate(group, account) else {
                    return;
                };
                let counted = self.counter.bump(&rate.key, rate.per).await;
                if !rate.offends(counted.count) {
                    return;
                }
                rate.describe(counted.count)
            }
        };
        let decision = Event::new(EventKind::Decision, Outcome::Allowed)
            .about(group, account, &rule.name)
            .evidence(evidence(&evidence_text));
        if m.allowed {
            self.emit(decision);
            return;
        }
        let key = rule.offence_key(group, account);
        let counted = self.counter.bump(&key, rule.window).await;
        let step = rule.step(counted.count);
        let act = Act {
            group: group.to_owned(),
            account: account.to_owned(),
            step,
            rule: rule.name.clone(),
            offence: counted.count,
            offence_key: key,
        };
        let queue = self.acts.read().map_or(None, |q| q.clone());
        let sent = match queue {
            Some(q) => q.try_send(act).map_err(|e| e.to_string()),
            None => Err("the service is stopping".to_owned()),
        };
        let mut decision = decision.step(counted.count, step);
        decision.outcome = match sent {
            Ok(()) => Outcome::Queued {
                local: counted.local,
            },
            Err(reason) => Outcome::Unqueued { reason },
        };
        self.emit(decision);
    }
}
