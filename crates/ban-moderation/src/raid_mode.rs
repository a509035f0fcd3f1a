//! What raid mode does in the loop: a join counts toward a surge and a
//! newcomer's message is refused at the answer ([`crate::RaidShield`]
//! judges); a trip freezes the room (`freeze`) and mutes the cohort
//! (`mute_newcomers`) when the rules say so, an end thaws what it froze;
//! and a tick a second ends the quiet raids.

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use ban_callback::{Answer, Callback};
use ban_rules::{Raid, Rules};

use crate::event::{Event, EventKind, Outcome};
use crate::moderator::Moderator;
use crate::raid::Transition;

impl Moderator {
    /// Raid mode's part of a callback: a join counts toward a surge; a
    /// newcomer's message while it lasts gets the refusal (allow-listed
    /// accounts never do).
    pub(crate) fn shield(self: &Arc<Self>, rules: &Rules, cb: &Callback) -> Option<Answer> {
        let raid = rules.raid.as_ref()?;
        let now = Instant::now();
        match cb {
            Callback::AfterNewMemberJoin(j) => {
                let accounts: Vec<&str> = j
                    .new_members
                    .iter()
                    .map(|m| m.member_account.as_str())
                    .filter(|a| !rules.allow.contains(*a))
                    .collect();
                let local = self.raid.joined(raid, &j.group_id, &accounts, now);
                #[cfg(feature = "redis")]
                if let Some(board) = &self.board {
                    if raid.covers(&j.group_id) && !accounts.is_empty() {
                        let who = accounts.iter().map(|a| (*a).to_owned()).collect();
                        self.share_joins(board.clone(), raid, &j.group_id, who, local);
                    }
                    return None;
                }
                match local {
                    Some(t) => self.raid_changed(Some(raid), t),
                    // Newcomers of a raid already on are muted as they come.
                    None if raid.mute_newcomers.is_some() && self.raid.is_on(&j.group_id) => {
                        let who = accounts.iter().map(|a| (*a).to_owned()).collect();
                        self.mute_newcomers(raid, &j.group_id, who);
                    }
                    None => {}
                }
                None
            }
            Callback::BeforeSendMsg(m) if !rules.allow.contains(&m.from_account) => self
                .raid
                .refuses(raid, &m.group_id, &m.from_account, now)
                .then(|| Answer::refuse_with(raid.newcomer_code, raid.newcomer_message.clone())),
            _ => None,
        }
    }

    /// Tells of `t`, and does what `raid` says comes with it: a trip
    /// freezes the room (`freeze`) and mutes the cohort
    /// (`mute_newcomers`); an end thaws a room raid mode froze (whatever
    /// the rules say now).
    pub(crate) fn raid_changed(self: &Arc<Self>, raid: Option<&Raid>, t: Transition) {
        self.emit(t.event());
        match &t {
            Transition::Tripped { group, .. } => {
                if let Some(raid) = raid {
                    let cohort = self.raid.cohort(group);
                    self.act_on_trip(raid, group, cohort);
                }
            }
            Transition::Ended { group, .. } => {
                if self.is_frozen(group) {
                    self.spawn_freeze(group.clone(), false);
                }
            }
            Transition::Refusing { .. } => {}
        }
    }

    /// What a trip brings, as `raid` says: the room frozen (`freeze`),
    /// `cohort` muted (`mute_newcomers`), the room's newcomers read
    /// (`cohort_from_room`).
    pub(crate) fn act_on_trip(self: &Arc<Self>, raid: &Raid, group: &str, cohort: Vec<String>) {
        if raid.freeze {
            self.spawn_freeze(group.to_owned(), true);
        }
        if raid.mute_newcomers.is_some() {
            self.mute_newcomers(raid, group, cohort);
        }
        if raid.cohort_from_room {
            self.cohort_from_room(raid, group);
        }
    }

    fn frozen(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.frozen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether this instance froze `group` and has not thawed it.
    pub(crate) fn is_frozen(&self, group: &str) -> bool {
        self.frozen().contains(group)
    }

    /// Freezes (or thaws) `group` through the executor, off the answer's
    /// path; the outcome is told.
    pub(crate) fn spawn_freeze(self: &Arc<Self>, group: String, on: bool) {
        let me = self.clone();
        tokio::spawn(async move { me.freeze(&group, on).await });
    }

    async fn freeze(&self, group: &str, on: bool) {
        let outcome = match self.executor.freeze(group, on).await {
            Ok(()) => {
                if on {
                    self.frozen().insert(group.to_owned());
                    #[cfg(feature = "redis")]
                    if let Some(board) = &self.board {
                        if let Err(e) = board.frozen(group).await {
                            tracing::warn!(group, error = %e, "the freeze not noted in Redis: the instance that ends the raid may not thaw the room");
                        }
                    }
                    Outcome::RaidFrozen
                } else {
                    self.frozen().remove(group);
                    Outcome::RaidThawed
                }
            }
            Err(reason) => Outcome::RaidFreezeFailed { freeze: on, reason },
        };
        let mut e = Event::new(EventKind::Raid, outcome);
        e.group = Some(group.to_owned());
        self.emit(e);
    }

    /// Thaws every room raid mode froze (at shutdown).
    pub(crate) async fn thaw_all(&self) {
        let rooms: Vec<String> = self.frozen().iter().cloned().collect();
        for g in rooms {
            self.freeze(&g, false).await;
        }
    }

    /// Mutes `accounts` of `group` for `raid.mute_newcomers` through the
    /// loop's queue (journaled first, 500 a call in the urgent lane), each
    /// decision told under the rule name `raid`.
    pub(crate) fn mute_newcomers(
        self: &Arc<Self>,
        raid: &Raid,
        group: &str,
        accounts: Vec<String>,
    ) {
        let Some(d) = raid.mute_newcomers else {
            return;
        };
        let (me, group) = (self.clone(), group.to_owned());
        tokio::spawn(async move {
            let until_ms = crate::event::now_ms()
                .saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            for account in accounts {
                let key = format!("raid:{group}:{account}");
                let step = ban_rules::Step::Mute(Some(d));
                let act = crate::dispatch::Act::new(
                    &group,
                    &account,
                    step,
                    RAID_RULE,
                    (1, &key, until_ms),
                );
                let mut decision = Event::new(EventKind::Decision, Outcome::Shadow)
                    .about(&group, &account, RAID_RULE)
                    .evidence("a newcomer of a raid (raid.mute_newcomers)".to_owned())
                    .step(1, step);
                decision.outcome = match me.enqueue(act).await {
                    Ok(()) => Outcome::Queued { local: false },
                    Err(reason) => Outcome::Unqueued { reason },
                };
                me.emit(decision);
            }
        });
    }

    /// Adds to `group`'s cohort the room's members who joined within the
    /// window (`get_members`), those this instance did not see join; they
    /// are muted too with `mute_newcomers`. A failed list is told and the
    /// shield goes on with the joins it saw.
    fn cohort_from_room(self: &Arc<Self>, raid: &Raid, group: &str) {
        let (me, raid, group) = (self.clone(), raid.clone(), group.to_owned());
        tokio::spawn(async move {
            let since = crate::earlier::now_secs().saturating_sub(raid.joins.1.as_secs() + 1);
            let rules = me.rules();
            match me.executor.room_members(&group).await {
                Ok(members) => {
                    let recent: Vec<String> = members
                        .into_iter()
                        .filter(|(a, joined)| *joined >= since && !rules.allow.contains(a))
                        .map(|(a, _)| a)
                        .collect();
                    let added = me.raid.add_to_cohort(&group, recent);
                    metrics::counter!("serve_raid_cohort_from_room_total")
                        .increment(added.len() as u64);
                    if !added.is_empty() {
                        tracing::info!(group = %group, added = added.len(), "raid mode: newcomers taken from the room's member list");
                        me.mute_newcomers(&raid, &group, added);
                    }
                }
                Err(reason) => {
                    let mut e = Event::new(
                        EventKind::Alert,
                        Outcome::Degraded {
                            reason: format!(
                                "raid mode could not list the room's members: {reason}"
                            ),
                        },
                    );
                    e.group = Some(group.clone());
                    me.emit(e);
                }
            }
        });
    }

    /// Forces raid mode on or off in `group` (`banctl raid on|off`); the
    /// transition, if any, is told and acted on as a surge's would be.
    /// Whether it changed. Instances sharing a raid board force it there
    /// (every instance follows); with the board unreachable, here alone.
    pub async fn force_raid(self: &Arc<Self>, group: &str, on: bool) -> bool {
        #[cfg(feature = "redis")]
        if let Some(board) = &self.board {
            match self.force_shared(board, group, on).await {
                Ok(changed) => return changed,
                Err(e) => {
                    tracing::warn!(group, error = %e, "raid mode cannot reach Redis; forced on this instance alone");
                }
            }
        }
        match self.raid.force(group, on, Instant::now()) {
            Some(t) => {
                let rules = self.rules();
                self.raid_changed(rules.raid.as_ref(), t);
                true
            }
            None => false,
        }
    }

    /// The groups in raid mode: each with its cohort's size and the
    /// messages refused.
    pub fn raid_status(&self) -> Vec<(String, usize, u64)> {
        self.raid.status()
    }
}

/// The rule name raid mode's own actions and decisions carry.
pub const RAID_RULE: &str = "raid";

/// Every second: raids quiet long enough end, refusals are told.
pub(crate) fn ticker(moderator: Weak<Moderator>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let Some(m) = moderator.upgrade() else {
                return;
            };
            let rules: Arc<Rules> = m.rules();
            for t in m.raid.tick(rules.raid.as_ref(), Instant::now()) {
                #[cfg(feature = "redis")]
                if let Some(board) = &m.board {
                    m.share_tick(board, rules.raid.as_ref(), t).await;
                    continue;
                }
                m.raid_changed(rules.raid.as_ref(), t);
            }
        }
    })
}
