//! Decided actions become calls: offenders are coalesced for a moment into
//! one call's worth per group and step (500 per mute, 20 per ban); a later
//! offence's step supersedes an unsent earlier one; every action ends in
//! one event with its result, told as its call returns, and is then marked
//! done in the journal.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ban_facade::{BanDuration, BulkAction, BulkOptions, Client, MuteDuration, Priority};
use ban_rules::Step;
use tokio::sync::mpsc;

use crate::counter::{BoxFuture, Counter};
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
        }
    }
}

/// Takes one step for accounts of one group: the client side of the loop.
/// [`ClientExecutor`] sends it through the SDK; a test may record it.
pub trait Executor: Send + Sync + 'static {
    /// Takes `step` for `accounts` of `group`; returns the outcome of each
    /// account (an account left out is reported failed).
    fn execute<'a>(
        &'a self,
        group: &'a str,
        step: Step,
        accounts: &'a [String],
    ) -> BoxFuture<'a, HashMap<String, Outcome>>;
}

/// Sends steps through [`ban_facade::Client::bulk`] in the urgent lane
/// (sharing the app's budget, and the fleet's when the client's limiter
/// is shared), retried like any call.
#[derive(Debug, Clone)]
pub struct ClientExecutor {
    client: Client,
}

impl ClientExecutor {
    /// Acts through `client`.
    pub fn new(client: Client) -> Self {
        ClientExecutor { client }
    }
}

/// The SDK's action for a ladder step.
pub fn bulk_action(step: Step) -> Result<BulkAction<'static>, String> {
    let secs = |d: Duration| u32::try_from(d.as_secs()).map_err(|_| format!("{step}: too long"));
    Ok(match step {
        Step::Mute(None) => BulkAction::Mute {
            duration: MuteDuration::PERMANENT,
        },
        Step::Mute(Some(d)) => BulkAction::Mute {
            duration: MuteDuration::from_secs(secs(d)?),
        },
        Step::Ban(d) => BulkAction::Ban {
            duration: BanDuration::from_secs(secs(d)?).map_err(|e| e.to_string())?,
            description: None,
        },
    })
}

impl Executor for ClientExecutor {
    fn execute<'a>(
        &'a self,
        group: &'a str,
        step: Step,
        accounts: &'a [String],
    ) -> BoxFuture<'a, HashMap<String, Outcome>> {
        Box::pin(async move {
            let mut results = HashMap::new();
            let fail_all = |results: &mut HashMap<String, Outcome>, reason: String| {
                for a in accounts {
                    let outcome = Outcome::Failed {
                        code: None,
                        reason: reason.clone(),
                    };
                    results.insert(a.clone(), outcome);
                }
            };
            let bulk = match bulk_action(step) {
                Ok(b) => b,
                Err(e) => {
                    fail_all(&mut results, e);
                    return results;
                }
            };
            let options = BulkOptions::new().priority(Priority::Urgent);
            match self.client.bulk(bulk, group, accounts, options).await {
                Ok(report) => {
                    for m in report.succeeded {
                        results.insert(m, Outcome::Done);
                    }
                    for f in report.failed {
                        let outcome = Outcome::Failed {
                            code: f.code,
                            reason: f.reason.to_string(),
                        };
                        results.insert(f.member, outcome);
                    }
                    let why = report
                        .stopped
                        .as_ref()
                        .map_or_else(|| "the job stopped".to_owned(), |s| s.to_string());
                    for m in report.not_attempted {
                        let outcome = Outcome::NotAttempted {
                            reason: why.clone(),
                        };
                        results.insert(m, outcome);
                    }
                }
                Err(e) => fail_all(&mut results, e.to_string()),
            }
            results
        })
    }
}

/// How the dispatcher batches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Batching {
    /// How long the first action of a round waits for others to join it.
    pub(crate) coalesce: Duration,
    /// The most actions taken into one round.
    pub(crate) round_max: usize,
}

/// The most accounts one call of `step` carries.
fn per_call(step: Step) -> usize {
    match step {
        Step::Mute(_) => ban_proto::MuteMemberList::MAX,
        Step::Ban(_) => ban_proto::MemberList::MAX,
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
}

impl Dispatch {
    /// Tells the outcome of each action, makes those lines durable where
    /// the observers can, then marks the finished ones done.
    async fn finish(&self, done: Vec<(Act, Outcome)>) {
        let mut ids = Vec::new();
        for (act, outcome) in done {
            if act.id != 0 && finished(&outcome) {
                ids.push(act.id);
            }
            self.observers.emit(action_event(&act, outcome));
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
        let mut jobs: HashMap<(String, Step), Vec<Act>> = HashMap::new();
        let mut skipped = Vec::new();
        for act in round {
            let latest = d.counter.get(&act.offence_key).await;
            if latest > act.offence {
                skipped.push((act, Outcome::Superseded { by: latest }));
                continue;
            }
            jobs.entry((act.group.clone(), act.step))
                .or_default()
                .push(act);
        }
        d.finish(skipped).await;
        for ((group, step), mut acts) in jobs {
            // One call's worth each, told as it returns.
            while !acts.is_empty() {
                let rest = acts.split_off(acts.len().min(per_call(step)));
                let call = std::mem::replace(&mut acts, rest);
                let d = d.clone();
                let group = group.clone();
                running.spawn(async move {
                    let accounts: Vec<String> = call.iter().map(|a| a.account.clone()).collect();
                    let mut results = d.executor.execute(&group, step, &accounts).await;
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
                    d.finish(done).await;
                });
            }
        }
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
}
fn action_event(act: &Act, outcome: Outcome) -> Event {
    Event::new(EventKind::Action, outcome)
        .about(&act.group, &act.account, &act.rule)
        .step(act.offence, act.step)
}
