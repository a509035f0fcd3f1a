//! Decided actions become calls: offenders are coalesced for a moment into
//! one job per group and step (the [`Executor`] then sends it in as few
//! calls as the limits allow: 500 per mute, 20 per ban); a later offence's
//! step supersedes an unsent earlier one; every action ends in one event
//! with its result.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ban_facade::{BanDuration, BulkAction, BulkOptions, Client, MuteDuration, Priority};
use ban_rules::Step;
use tokio::sync::mpsc;

use crate::counter::{BoxFuture, Counter};
use crate::event::{Event, EventKind, Observers, Outcome};

/// An action decided: one ladder step for one account of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Act {
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

/// Runs actions until the queue closes and every job has returned.
pub(crate) async fn dispatch(
    executor: Arc<dyn Executor>,
    observers: Observers,
    counter: Arc<dyn Counter>,
    batching: Batching,
    mut rx: mpsc::Receiver<Act>,
) {
    let mut running = tokio::task::JoinSet::new();
    while let Some(first) = rx.recv().await {
        let mut round = vec![first];
        let until = tokio::time::Instant::now() + batching.coalesce;
        while round.len() < batching.round_max {
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
        for act in round {
            let latest = counter.get(&act.offence_key).await;
            if latest > act.offence {
                observers.emit(action_event(&act, Outcome::Superseded { by: latest }));
                continue;
            }
            jobs.entry((act.group.clone(), act.step))
                .or_default()
                .push(act);
        }
        for ((group, step), acts) in jobs {
            let executor = executor.clone();
            let observers = observers.clone();
            running.spawn(async move {
                let accounts: Vec<String> = acts.iter().map(|a| a.account.clone()).collect();
                let mut results = executor.execute(&group, step, &accounts).await;
                for act in &acts {
                    let outcome = results.remove(&act.account).unwrap_or(Outcome::Failed {
                        code: None,
                        reason: "no outcome was reported".to_owned(),
                    });
                    observers.emit(action_event(act, outcome));
                }
            });
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
