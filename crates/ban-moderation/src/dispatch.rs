//! Decided actions become calls: offenders are coalesced for a moment into
//! one call's worth per group and step (500 per mute, 20 per ban); a later
//! offence's step supersedes an unsent earlier one; every action ends in
//! one event with its result, told as its call returns, and is then marked
//! done in the journal.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ban_rules::Step;
use tokio::sync::mpsc;

use crate::counter::{BoxFuture, Counter};
use crate::earlier::{end_of, is_ban, now_secs, secs_up, Earlier, EarlierRead};
use crate::event::{Event, EventKind, Observers, Outcome};
use crate::journal::Journal;

/// An action decided: one ladder step for one account of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Act {
    /// Its id in the journal (0 when it has none).
    pub id: u64,
    /// The group.
    pub group: String,
    /// The account.
    pub account: String,
    /// The step to take.
    pub step: Step,
    /// The rule that decided it.
    pub rule: String,
    /// The offence's number within the rule's window.
    pub offence: u64,
    /// Where the rule counts this account's offences.
    pub offence_key: String,
    /// When the offence's window ends, Unix milliseconds.
    pub offence_until_ms: u64,
    /// What the account had before the action, once read (just before the
    /// first call; kept by the journal for a call sent again).
    pub earlier: Option<Earlier>,
}

impl Act {
    /// `step` for `account` of `group`, decided by `rule` at its
    /// `offence`th offence (counted under `offence_key` until
    /// `offence_until_ms`); not yet journaled.
    pub fn new(
        group: &str,
        account: &str,
        step: Step,
        rule: &str,
        offence: (u64, &str, u64),
    ) -> Act {
        Act {
            id: 0,
            group: group.to_owned(),
            account: account.to_owned(),
            step,
            rule: rule.to_owned(),
            offence: offence.0,
            offence_key: offence.1.to_owned(),
            offence_until_ms: offence.2,
            earlier: None,
        }
    }
}

/// Takes one step for accounts of one group: the client side of the loop.
/// [`ClientExecutor`](crate::ClientExecutor) sends it through the SDK; a test may record it.
pub trait Executor: Send + Sync + 'static {
    /// Takes `step` for `accounts` of `group`; returns the outcome of each
    /// account (an account left out is reported failed).
    fn execute<'a>(
        &'a self,
        group: &'a str,
        step: Step,
        accounts: &'a [String],
    ) -> BoxFuture<'a, HashMap<String, Outcome>>;

    /// What `accounts` of `group` have now: their ban (`ban`) or their
    /// mute, and the calls the read took. Read before the loop's first
    /// call for them, so an undo can give it back; an executor that cannot
    /// read says why (the default), and the actions go ahead without it.
    fn earlier<'a>(
        &'a self,
        group: &'a str,
        ban: bool,
        accounts: &'a [String],
    ) -> BoxFuture<'a, EarlierRead> {
        let _ = (group, ban, accounts);
        Box::pin(std::future::ready(Err(
            "this executor does not read the accounts' state".to_owned(),
        )))
    }

    /// Freezes `group` (`MuteAllMember` on: every member but the owner and
    /// admins silenced) or thaws it, for raid mode's `freeze`; an executor
    /// that cannot says why (the default).
    fn freeze<'a>(&'a self, group: &'a str, on: bool) -> BoxFuture<'a, Result<(), String>> {
        let _ = (group, on);
        Box::pin(std::future::ready(Err(
            "this executor cannot freeze a room".to_owned(),
        )))
    }

    /// The room's latest online members with when each joined (Unix
    /// seconds), for raid mode's `cohort_from_room`; an executor that
    /// cannot list them says why (the default).
    fn room_members<'a>(
        &'a self,
        group: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, u64)>, String>> {
        let _ = group;
        Box::pin(std::future::ready(Err(
            "this executor cannot list a room's members".to_owned(),
        )))
    }
}

/// How the dispatcher batches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Batching {
    /// How long the first action of a round waits for others to join it.
    pub(crate) coalesce: Duration,
    /// The most actions taken into one round.
    pub(crate) round_max: usize,
    /// Ban accounts of one group waiting for the budget (this round's
    /// included) above which a round's accounts are muted first (0:
    /// never).
    pub(crate) silence_over: usize,
}

/// The most accounts one call of `step` carries.
fn per_call(step: Step) -> usize {
    match step {
        Step::Mute(_) => ban_proto::MuteMemberList::MAX,
        // A ban, and any step a later version adds: the smaller call.
        _ => ban_proto::MemberList::MAX,
    }
}

/// Whether an action with this outcome is finished (a repeat after a
/// restart would add nothing): everything but not attempted.
fn finished(outcome: &Outcome) -> bool {
    !matches!(outcome, Outcome::NotAttempted { .. })
}

/// What the dispatcher acts with.
#[derive(Clone)]
pub(crate) struct Dispatch {
    pub(crate) executor: Arc<dyn Executor>,
    pub(crate) observers: Observers,
    pub(crate) counter: Arc<dyn Counter>,
    pub(crate) journal: Option<Arc<dyn Journal>>,
    pub(crate) batching: Batching,
    /// Ban accounts sent or waiting for the budget, by group: the backlog
    /// that decides whether a round's bans are silenced first.
    pub(crate) backlog: Arc<std::sync::Mutex<HashMap<String, usize>>>,
}

impl Dispatch {
    /// Tells the outcome of each action, makes those lines durable where
    /// the observers can, then marks the finished ones done.
    async fn finish(&self, done: Vec<(Act, Outcome)>, ends: Option<(u64, u64)>) {
        let mut ids = Vec::new();
        for (act, outcome) in done {
            if act.id != 0 && finished(&outcome) {
                ids.push(act.id);
            }
            self.observers.emit(action_event(&act, outcome, ends));
        }
        if let Some(journal) = &self.journal {
            if !ids.is_empty() {
                // The audit says what reached the service before the
                // journal forgets it.
                self.observers.flush().await;
                journal.done(&ids);
            }
        }
    }
}

/// Runs actions until the queue closes and every call has returned.
pub(crate) async fn dispatch(d: Dispatch, mut rx: mpsc::Receiver<Act>) {
    let mut running = tokio::task::JoinSet::new();
    while let Some(first) = rx.recv().await {
        let mut round = vec![first];
        let until = tokio::time::Instant::now() + d.batching.coalesce;
        while round.len() < d.batching.round_max {
            tokio::select! {
                next = rx.recv() => match next {
                    Some(a) => round.push(a),
                    None => break,
                },
                () = tokio::time::sleep_until(until) => break,
            }
        }
        // A later offence's step supersedes an earlier one's that has not
        // been sent yet (here or on another instance sharing the counts),
        // so a shorter mute never lands after a longer one it follows.
        let mut jobs: HashMap<(String, bool), Vec<Act>> = HashMap::new();
        let mut skipped = Vec::new();
        for act in round {
            let latest = d.counter.get(&act.offence_key).await;
            if latest > act.offence {
                skipped.push((act, Outcome::Superseded { by: latest }));
                continue;
            }
            jobs.entry((act.group.clone(), is_ban(act.step)))
                .or_default()
                .push(act);
        }
        d.finish(skipped, None).await;
        for ((group, ban), acts) in jobs {
            let d = d.clone();
            running.spawn(async move { d.act(group, ban, acts).await });
        }
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
}
impl Dispatch {
    /// The bans (`ban`) or mutes of `group` in one round: the accounts'
    /// earlier state read once; too many bans are silenced first; then
    /// one call's worth per step at a time, each told as it returns.
    async fn act(&self, group: String, ban: bool, mut acts: Vec<Act>) {
        self.read_earlier(&group, ban, &mut acts).await;
        let n = acts.len();
        if !ban {
            self.send(&group, acts).await;
            return;
        }
        // The bans already waiting, with these: more than the budget sends
        // in about half a second, and these accounts are muted first.
        let waiting = {
            let mut backlog = self.backlog.lock().unwrap_or_else(|p| p.into_inner());
            let b = backlog.entry(group.clone()).or_default();
            *b += n;
            *b
        };
        let silence = self.batching.silence_over;
        if silence > 0 && waiting > silence {
            self.silence_first(&group, &acts).await;
        }
        self.send(&group, acts).await;
        let mut backlog = self.backlog.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = backlog.get_mut(&group) {
            *b = b.saturating_sub(n);
            if *b == 0 {
                backlog.remove(&group);
            }
        }
    }

    /// Bans too many to land at once (they wait for the budget, 20 a
    /// call): their accounts are muted first for the ban's length, 500 a
    /// call in the urgent lane, so none can send while the bans go out.
    /// Each mute is an action of the same rule with its own earlier state
    /// (the mute list, read once), so the audit shows both and an undo
    /// gives both back; an account muted already until after the ban
    /// would end is left as it is.
    async fn silence_first(&self, group: &str, bans: &[Act]) {
        let mut mutes: Vec<Act> = bans
            .iter()
            .filter_map(|b| {
                let Step::Ban(d) = b.step else {
                    return None;
                };
                let mut m = b.clone();
                m.id = 0;
                m.earlier = None;
                m.step = Step::Mute(Some(d));
                Some(m)
            })
            .collect();
        self.read_earlier(group, false, &mut mutes).await;
        let now = now_secs();
        mutes.retain(|m| !matches!(m.earlier, Some(Earlier::Until(t)) if t >= end_of(m.step, now)));
        metrics::counter!("serve_silenced_first_total").increment(mutes.len() as u64);
        self.send(group, mutes).await;
    }

    /// Sends `acts` one call's worth per step at a time, each told as it
    /// returns; returns once every call has.
    async fn send(&self, group: &str, acts: Vec<Act>) {
        let mut by_step: HashMap<Step, Vec<Act>> = HashMap::new();
        for act in acts {
            by_step.entry(act.step).or_default().push(act);
        }
        let mut calls = tokio::task::JoinSet::new();
        for (step, mut acts) in by_step {
            while !acts.is_empty() {
                let rest = acts.split_off(acts.len().min(per_call(step)));
                let call = std::mem::replace(&mut acts, rest);
                let d = self.clone();
                let group = group.to_owned();
                calls.spawn(async move { d.call(&group, step, call).await });
            }
        }
        while calls.join_next().await.is_some() {}
    }

    /// One call of `step` for the accounts of `call`.
    async fn call(&self, group: &str, step: Step, call: Vec<Act>) {
        let accounts: Vec<String> = call.iter().map(|a| a.account.clone()).collect();
        let started = std::time::Instant::now();
        let at = now_secs();
        let mut results = self.executor.execute(group, step, &accounts).await;
        let ends = (end_of(step, at), secs_up(started.elapsed()));
        let done = call
            .into_iter()
            .map(|act| {
                let outcome = results.remove(&act.account).unwrap_or(Outcome::Failed {
                    code: None,
                    reason: "no outcome was reported".to_owned(),
                });
                (act, outcome)
            })
            .collect();
        self.finish(done, Some(ends)).await;
    }
}

/// The event of `act`'s outcome; `ends` (the end its call set, and within
/// how many seconds after it) when the call was made.
fn action_event(act: &Act, outcome: Outcome, ends: Option<(u64, u64)>) -> Event {
    let mut e = Event::new(EventKind::Action, outcome)
        .about(&act.group, &act.account, &act.rule)
        .step(act.offence, act.step);
    if matches!(e.outcome, Outcome::Done) {
        e.earlier = act.earlier;
        e.ends = ends;
    }
    e
}
