//! What an account had before the loop acted on it: read from the group's
//! ban (or mute) list just before the call, kept durably with the action
//! before the call is sent, and written in the action's audit line, so
//! `banctl undo --audit` can give each account back exactly that.

use std::collections::HashMap;
use std::time::Duration;

use ban_rules::Step;
use serde::{Deserialize, Serialize};

use crate::dispatch::{Act, Dispatch};

/// The end the service keeps for a permanent mute (and the one this crate
/// writes for it), Unix seconds.
pub const PERMANENT_END: u64 = 4_294_967_295;

/// An account's ban (for a ban) or mute (for a mute) just before the
/// loop's call: what an undo gives back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Earlier {
    /// Neither banned nor muted: an undo lifts the action.
    Nothing,
    /// Banned or muted until then, Unix seconds ([`PERMANENT_END`] for a
    /// permanent mute): an undo gives that end back.
    Until(u64),
}

/// What [`crate::Executor::earlier`] answers: each account's earlier state
/// and the calls the read took, or why it could not be read.
pub type EarlierRead = Result<(HashMap<String, Earlier>, u64), String>;

/// Whether `step` is a ban (its state is the ban list) or a mute.
pub(crate) fn is_ban(step: Step) -> bool {
    matches!(step, Step::Ban(_))
}

/// The end `step` sets when taken at `at` (Unix seconds).
pub(crate) fn end_of(step: Step, at: u64) -> u64 {
    match step {
        Step::Mute(None) => PERMANENT_END,
        Step::Mute(Some(d)) | Step::Ban(d) => at.saturating_add(d.as_secs()),
        // A step a later version adds sets no end this one knows.
        _ => at,
    }
}

impl Dispatch {
    /// Reads, in one read of the group's list, what the accounts of
    /// `acts` (all bans or all mutes of `group`) have now, for those whose
    /// earlier state is not known yet (an action sent again after a restart
    /// keeps what was read before its first call); journals it and waits
    /// until it is durable. A failed read leaves it unknown: the actions
    /// still go ahead (a raid is stopped first), and an undo leaves their
    /// accounts alone.
    pub(crate) async fn read_earlier(&self, group: &str, ban: bool, acts: &mut [Act]) {
        let wanted: Vec<String> = acts
            .iter()
            .filter(|a| a.earlier.is_none())
            .map(|a| a.account.clone())
            .collect();
        if wanted.is_empty() {
            return;
        }
        let (found, calls) = match self.executor.earlier(group, ban, &wanted).await {
            Ok(read) => read,
            Err(reason) => {
                metrics::counter!("serve_state_read_failures_total").increment(1);
                tracing::warn!(group, %reason, "the accounts' earlier state could not be read; acting without it (an undo will leave them alone)");
                return;
            }
        };
        metrics::counter!("serve_state_read_calls_total").increment(calls);
        let mut journaled = Vec::new();
        for act in acts.iter_mut().filter(|a| a.earlier.is_none()) {
            let e = found.get(&act.account).copied().unwrap_or(Earlier::Nothing);
            act.earlier = Some(e);
            if act.id != 0 {
                journaled.push((act.id, e));
            }
        }
        if let (Some(journal), false) = (&self.journal, journaled.is_empty()) {
            journal.earlier(&journaled).await;
        }
    }
}

/// `ends` of `accounts` as [`Earlier`]s: listed with an end still to
/// come, or nothing.
pub(crate) fn of_ends(
    accounts: &[String],
    ends: &std::collections::BTreeMap<String, u64>,
    now: u64,
) -> HashMap<String, Earlier> {
    accounts
        .iter()
        .map(|a| {
            let e = match ends.get(a) {
                Some(&t) if t > now => Earlier::Until(t),
                _ => Earlier::Nothing,
            };
            (a.clone(), e)
        })
        .collect()
}

/// Unix seconds now.
pub(crate) fn now_secs() -> u64 {
    crate::event::now_ms() / 1000
}

/// Whole seconds of `d`, rounded up.
pub(crate) fn secs_up(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}
