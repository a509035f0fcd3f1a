//! From a callback to decisions: the answer is made from the rules alone
//! (no I/O, so it is never late), and the offences are counted and turned
//! into ladder steps afterwards, off the answer's path.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use ban_callback::{Answer, Callback};
use ban_rules::{evidence, Match, Rules};
use tokio::sync::mpsc;

use crate::counter::{Counter, MemoryCounter};
use crate::decide::{decide, repeated, Decided};
use crate::dispatch::{dispatch, Act, Batching, Dispatch, Executor};
use crate::event::{now_ms, Event, EventKind, Observer, Observers, Outcome};
use crate::journal::Journal;

/// How long a message is remembered at least, so the before- and the
/// after-send callback of one message count one offence (longer when the
/// replay window asks: see [`ModeratorBuilder::replay_window`]).
pub const SEEN_FOR: Duration = Duration::from_secs(120);
/// The callbacks' freshness window by default (`RequestTime` at most this
/// far from now): a repeat of a callback is counted once while it can
/// still be verified.
pub const DEFAULT_REPLAY_WINDOW: Duration = Duration::from_secs(60);
/// Actions waiting to be sent, at most, by default; beyond, an action is
/// reported not attempted rather than kept without bound.
pub const DEFAULT_QUEUE: usize = 100_000;
/// How long the first action of a round waits for others, by default.
pub const DEFAULT_COALESCE: Duration = Duration::from_millis(20);
/// The most actions taken into one round of calls.
const ROUND_MAX: usize = 20_000;
/// Bans of one group waiting for the budget above which a round's accounts
/// are muted first, by default: 2,000 bans are 100 calls, half a second at
/// the service's 200 calls/s (their mutes take 4).
pub const DEFAULT_SILENCE_OVER: usize = 2_000;

/// The rules at work, the counts, the observers and the actions' queue.
/// Built by [`Moderator::builder`]; shared as an `Arc`.
pub struct Moderator {
    rules: RwLock<Arc<Rules>>,
    counter: Arc<dyn Counter>,
    observers: Observers,
    acts: RwLock<Option<mpsc::Sender<Act>>>,
    journal: Option<Arc<dyn Journal>>,
    /// How long a message or a callback is remembered.
    seen_for: Duration,
    refusals: Arc<crate::http::Refusals>,
    /// The journal hands recorded actions to the queue itself.
    delivered: bool,
    recorder: Option<crate::Recorder>,
    /// Raid mode per group, under the rules' `[raid]`.
    pub(crate) raid: crate::raid::RaidShield,
    /// What acts (shared with the dispatcher): raid mode freezes rooms
    /// through it.
    pub(crate) executor: Arc<dyn Executor>,
    /// The rooms raid mode froze and has not thawed yet.
    pub(crate) frozen: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Raid mode shared with other instances, when they share Redis.
    #[cfg(feature = "redis")]
    pub(crate) board: Option<ban_fleet::RaidBoard>,
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
    journal: Option<Arc<dyn Journal>>,
    replay_window: Duration,
    recorder: Option<crate::Recorder>,
    silence_over: usize,
    #[cfg(feature = "redis")]
    board: Option<ban_fleet::RaidBoard>,
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

    /// Records every decided action here before it is queued, and sends
    /// at start what it holds undone (a [`crate::FileJournal`]); its
    /// offence counts are put back into the counter.
    pub fn journal(mut self, journal: impl Journal) -> Self {
        self.journal = Some(Arc::new(journal));
        self
    }

    /// The callbacks' freshness window (default [`DEFAULT_REPLAY_WINDOW`];
    /// give the verifier's): a callback, a message, a content result or a
    /// join seen again within twice this (a `RequestTime` may be as far
    /// ahead as behind) is answered as before and counted once.
    pub fn replay_window(mut self, window: Duration) -> Self {
        self.replay_window = window;
        self
    }

    /// Bans of one group waiting for the budget (a round's included) above
    /// which that round's accounts are muted first, for the ban's length,
    /// 500 a call, so none can send while the bans wait (default
    /// [`DEFAULT_SILENCE_OVER`]; 0: never).
    pub fn silence_first_over(mut self, bans: usize) -> Self {
        self.silence_over = bans;
        self
    }

    /// Records every verified callback (`banctl serve --record`), for
    /// `banctl rules test` to replay.
    pub fn record(mut self, recorder: crate::Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Shares raid mode with the other instances on `board` (the same
    /// Redis, key prefix and SDKAppID): one surge of their joins, one
    /// cohort, one trip and one end, each acted on by one instance.
    #[cfg(feature = "redis")]
    pub fn raid_board(mut self, board: ban_fleet::RaidBoard) -> Self {
        self.board = Some(board);
        self
    }

    /// Starts the loop on the current tokio runtime, acting through
    /// `executor` (usually a [`crate::ClientExecutor`]).
    pub fn start(self, executor: impl Executor) -> Moderation {
        let (tx, rx) = mpsc::channel(self.queue);
        let observers = Observers::new(self.observers);
        let counter = self.counter;
        let recovered = self
            .journal
            .as_ref()
            .map(|j| j.take_recovered())
            .unwrap_or_default();
        for (key, count, left) in &recovered.offences {
            counter.restore(key, *count, *left);
        }
        if !recovered.acts.is_empty() {
            // Sent before any new action, however many: waits for room.
            let tx = tx.clone();
            tokio::spawn(async move {
                for act in recovered.acts {
                    if tx.send(act).await.is_err() {
                        break;
                    }
                }
            });
        }
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
            silence_over: self.silence_over,
        };
        let delivered = self.journal.as_ref().is_some_and(|j| j.deliver(tx.clone()));
        let executor: Arc<dyn Executor> = Arc::new(executor);
        let d = Dispatch {
            executor: executor.clone(),
            observers: observers.clone(),
            counter: counter.clone(),
            journal: self.journal.clone(),
            batching,
            backlog: Arc::default(),
        };
        let dispatcher = tokio::spawn(dispatch(d, rx));
        let seen_for = SEEN_FOR.max(2 * self.replay_window + Duration::from_secs(1));
        let moderator = Arc::new(Moderator {
            rules: RwLock::new(Arc::new(self.rules)),
            counter,
            observers,
            acts: RwLock::new(Some(tx)),
            journal: self.journal,
            seen_for,
            refusals: Arc::default(),
            delivered,
            recorder: self.recorder,
            raid: crate::raid::RaidShield::default(),
            executor,
            frozen: std::sync::Mutex::default(),
            #[cfg(feature = "redis")]
            board: self.board.clone(),
        });
        let raid = crate::raid_mode::ticker(Arc::downgrade(&moderator));
        #[cfg(feature = "redis")]
        let mirror = self
            .board
            .map(|b| crate::raid_shared::mirror(Arc::downgrade(&moderator), b));
        #[cfg(not(feature = "redis"))]
        let mirror = None;
        Moderation {
            moderator,
            sweeper,
            dispatcher,
            raid,
            mirror,
        }
    }
}

/// A running loop: its moderator and its tasks.
#[derive(Debug)]
pub struct Moderation {
    moderator: Arc<Moderator>,
    sweeper: tokio::task::JoinHandle<()>,
    dispatcher: tokio::task::JoinHandle<()>,
    raid: tokio::task::JoinHandle<()>,
    mirror: Option<tokio::task::JoinHandle<()>>,
}

impl Moderation {
    /// The moderator, to judge callbacks with (or to mount with
    /// [`crate::service`]).
    pub fn moderator(&self) -> &Arc<Moderator> {
        &self.moderator
    }

    /// Takes no more actions and waits, at most `grace`, for those already
    /// queued to be sent; returns whether they all were (those that were
    /// not stay in the journal, if there is one, for the next start).
    pub async fn shutdown(self, grace: Duration) -> bool {
        self.sweeper.abort();
        self.raid.abort();
        if let Some(m) = &self.mirror {
            m.abort();
        }
        // A room frozen for a raid is not left frozen by a stop.
        let _ = tokio::time::timeout(grace, self.moderator.thaw_all()).await;
        self.moderator.close_queue();
        let all = tokio::time::timeout(grace, self.dispatcher).await.is_ok();
        self.moderator.observers.flush().await;
        if let Some(r) = &self.moderator.recorder {
            r.flush().await;
        }
        if let Some(j) = &self.moderator.journal {
            j.sync().await;
        }
        all
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
            journal: None,
            replay_window: DEFAULT_REPLAY_WINDOW,
            recorder: None,
            #[cfg(feature = "redis")]
            board: None,
            silence_over: DEFAULT_SILENCE_OVER,
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

    pub(crate) fn recorder(&self) -> Option<&crate::Recorder> {
        self.recorder.as_ref()
    }

    pub(crate) fn refusals(&self) -> &Arc<crate::http::Refusals> {
        &self.refusals
    }

    /// Tells every observer of `event`.
    pub fn emit(&self, event: Event) {
        self.observers.emit(event);
    }

    /// The answer to `cb`, from the rules alone; the offences it holds are
    /// counted and acted on in the background (on the current tokio
    /// runtime).
    pub fn judge(self: &Arc<Self>, cb: Callback) -> Answer {
        self.judge_once(cb, None)
    }

    /// [`Moderator::judge`] of a callback identified by `digest` (of its
    /// `RequestTime`, `Sign` and body: [`ban_callback::replay_digest`]):
    /// a repeat within the replay window is answered as before and
    /// counted once.
    pub fn judge_once(self: &Arc<Self>, cb: Callback, digest: Option<String>) -> Answer {
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
        let mut judged = rules.judge(&cb);
        if let Some(answer) = self.shield(&rules, &cb) {
            // A newcomer in raid mode: refused, at no call; the rules'
            // matches are still counted (a spammer climbs its ladder).
            judged.answer = answer;
        }
        if !judged.matches.is_empty() {
            let me = self.clone();
            tokio::spawn(async move {
                // A match that names its event (a message's Random, a
                // content result's MsgID, a join's time) is counted once
                // by that; the request's digest covers the others.
                let counter = &*me.counter;
                if repeated(counter, digest.as_deref(), &judged.matches, me.seen_for).await {
                    metrics::counter!("serve_replays_total").increment(1);
                    return;
                }
                for m in judged.matches {
                    me.offence(&rules, m).await;
                }
            });
        }
        judged.answer
    }

    /// Counts one match; an offence becomes its ladder step, acted on
    /// unless the rule runs in shadow.
    async fn offence(&self, rules: &Rules, m: Match) {
        let rule = &rules.rules[m.rule];
        let (group, account) = (m.group.as_str(), m.account.as_str());
        let decided = decide(&*self.counter, rule, &m, self.seen_for).await;
        let (evidence_text, count, step, key, left, local) = match decided {
            Decided::Nothing => return,
            Decided::Allowed { evidence } => {
                let e = Event::new(EventKind::Decision, Outcome::Allowed)
                    .about(group, account, &rule.name)
                    .evidence(evidence);
                self.emit(e);
                return;
            }
            Decided::Offence {
                evidence,
                count,
                step,
                key,
                left,
                local,
            } => (evidence, count, step, key, left, local),
        };
        let mut decision = Event::new(EventKind::Decision, Outcome::Shadow)
            .about(group, account, &rule.name)
            .evidence(evidence_text)
            .step(count, step);
        if rule.shadow() {
            // Decided, audited and counted; never acted on.
            self.emit(decision);
            return;
        }
        let until_ms = now_ms().saturating_add(u64::try_from(left.as_millis()).unwrap_or(0));
        let act = Act::new(group, account, step, &rule.name, (count, &key, until_ms));
        let sent = self.enqueue(act).await;
        decision.outcome = match sent {
            Ok(()) => Outcome::Queued { local },
            Err(reason) => Outcome::Unqueued { reason },
        };
        self.emit(decision);
    }

    /// Journals `act` (durable before it is queued: a kill from here on
    /// loses nothing decided) and queues it; why not, if it could not be.
    pub(crate) async fn enqueue(&self, mut act: Act) -> Result<(), String> {
        let mut recorded = false;
        if let Some(j) = &self.journal {
            match j.record(&act).await {
                Ok(id) => {
                    act.id = id;
                    recorded = true;
                }
                Err(e) => self.emit(
                    Event::new(
                        EventKind::Alert,
                        Outcome::Degraded {
                            reason: format!("not journaled, acted on anyway: {e}"),
                        },
                    )
                    .about(&act.group, &act.account, &act.rule),
                ),
            }
        }
        let queue = self.acts.read().map_or(None, |q| q.clone());
        let act_id = act.id;
        let sent = match queue {
            // The journal's stream delivers it, to this instance or another.
            Some(_) if recorded && self.delivered => Ok(()),
            Some(q) => q.try_send(act).map_err(|e| e.to_string()),
            None => Err("the service is stopping".to_owned()),
        };
        if let (Err(_), Some(j), true) = (&sent, &self.journal, act_id != 0) {
            // Reported not attempted: not sent again after a restart.
            j.done(&[act_id]);
        }
        sent
    }
}
