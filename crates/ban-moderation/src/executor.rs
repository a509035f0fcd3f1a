//! The loop's client side through the SDK: [`ClientExecutor`] sends each
//! step with [`ban_facade::Client::bulk`] and reads the accounts' earlier
//! state from the group's lists.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ban_facade::{BanDuration, BulkAction, BulkOptions, Client, MuteDuration, Priority};
use ban_rules::Step;

use crate::counter::BoxFuture;
use crate::dispatch::Executor;
use crate::earlier::{end_of, is_ban, now_secs, of_ends, EarlierRead};
use crate::event::Outcome;

/// Sends steps through [`ban_facade::Client::bulk`] in the urgent lane
/// (sharing the app's budget, and the fleet's when the client's limiter
/// is shared), retried like any call.
///
/// The accounts' earlier state (for an exact undo) comes from a read of
/// the group's ban (or mute) list that stands for [`EARLIER_FRESH`], with
/// this executor's own actions applied to it as they succeed: a raid's
/// rounds, every 20 ms, cost one read of a growing list every few seconds
/// rather than one each (a read of 6,000 bans is 60 calls).
#[derive(Debug, Clone)]
pub struct ClientExecutor {
    client: Client,
    lists: Arc<Mutex<HashMap<(String, bool), List>>>,
}

/// How long a read of a group's ban (or mute) list stands for its
/// accounts' earlier state. Younger than the wait a call may have for the
/// budget in a raid, so no staler than a read made just before it.
pub const EARLIER_FRESH: Duration = Duration::from_secs(5);

/// A group's list as read, with this executor's own actions since.
#[derive(Debug)]
struct List {
    read_at: Instant,
    ends: BTreeMap<String, u64>,
}

impl ClientExecutor {
    /// Acts through `client`.
    pub fn new(client: Client) -> Self {
        ClientExecutor {
            client,
            lists: Arc::default(),
        }
    }

    fn lists(&self) -> std::sync::MutexGuard<'_, HashMap<(String, bool), List>> {
        self.lists.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The group's list: the one read within [`EARLIER_FRESH`], or a new
    /// read (and the calls it took).
    async fn list(&self, group: &str, ban: bool) -> Result<(BTreeMap<String, u64>, u64), String> {
        let key = (group.to_owned(), ban);
        {
            let mut lists = self.lists();
            lists.retain(|_, l| l.read_at.elapsed() < EARLIER_FRESH);
            if let Some(l) = lists.get(&key) {
                return Ok((l.ends.clone(), 0));
            }
        }
        let gid = ban_proto::GroupId::new(group.to_owned()).map_err(|e| e.to_string())?;
        let action = if ban {
            ban_facade::Action::Ban
        } else {
            ban_facade::Action::Mute
        };
        let read_at = Instant::now();
        let (ends, calls) = self
            .client
            .current_ends(action, &gid)
            .await
            .map_err(|e| e.to_string())?;
        self.lists().insert(
            key,
            List {
                read_at,
                ends: ends.clone(),
            },
        );
        Ok((ends, calls))
    }

    /// The executor's own `step` on `done` accounts of `group` at `at`,
    /// applied to the list it keeps.
    fn applied(&self, group: &str, step: Step, at: u64, done: &[&String]) {
        let key = (group.to_owned(), is_ban(step));
        if let Some(l) = self.lists().get_mut(&key) {
            let end = end_of(step, at);
            for a in done {
                l.ends.insert((*a).clone(), end);
            }
        }
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
        _ => return Err(format!("{step}: not a step this version can take")),
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
            let at = now_secs();
            match self.client.bulk(bulk, group, accounts, options).await {
                Ok(report) => {
                    let done: Vec<&String> = report.succeeded.iter().collect();
                    self.applied(group, step, at, &done);
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

    fn earlier<'a>(
        &'a self,
        group: &'a str,
        ban: bool,
        accounts: &'a [String],
    ) -> BoxFuture<'a, EarlierRead> {
        Box::pin(async move {
            let (ends, calls) = self.list(group, ban).await?;
            Ok((of_ends(accounts, &ends, now_secs()), calls))
        })
    }

    fn freeze<'a>(&'a self, group: &'a str, on: bool) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let call = self
                .client
                .mute_all(group, ban_facade::MuteAll::from_frozen(on))
                .map_err(|e| e.to_string())?;
            call.await.map_err(|e| ban_facade::error_chain(&e))
        })
    }

    fn room_members<'a>(
        &'a self,
        group: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, u64)>, String>> {
        Box::pin(async move {
            let call = self.client.room_members(group).map_err(|e| e.to_string())?;
            let members = call.await.map_err(|e| ban_facade::error_chain(&e))?;
            Ok(members
                .into_iter()
                .map(|m| (m.member_account, m.join_time))
                .collect())
        })
    }
}
