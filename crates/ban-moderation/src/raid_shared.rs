//! Raid mode shared by the instances behind one load balancer, through
//! Redis ([`ban_fleet::RaidBoard`]). The answer's path stays free of I/O:
//! each instance judges on its own copy ([`crate::RaidShield`]), which
//! takes its own joins at once and follows the board every
//! [`MIRROR_EVERY`]: raids another instance tripped or `banctl raid on`
//! forced, their last surge and the newcomers the others saw join.
//!
//! Redis decides the transitions: the joins of every instance count
//! toward one surge, exactly one instance is told it tripped the raid and
//! acts (freezes, mutes the cohort, reads the room), and exactly one ends
//! it after `quiet` and thaws. When Redis cannot be reached, an instance
//! judges and acts on its own joins as it does without Redis.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use ban_fleet::RaidBoard;
use ban_rules::Raid;

use crate::event::{Event, EventKind, Outcome};
use crate::moderator::Moderator;
use crate::raid::{Transition, MAX_COHORT};

/// How often an instance follows the board.
pub const MIRROR_EVERY: Duration = Duration::from_millis(50);
/// A raid this instance tripped is not ended for missing from the board
/// within this (its trip may still be on its way there).
const YOUNG: Duration = Duration::from_secs(1);
/// Newcomer entries read at a time.
const PAGE: usize = 1_000;

impl Moderator {
    /// Counts `accounts`' joins on the board; the trip, if these joins
    /// made it, is this instance's to tell and act on. `local` is what
    /// this instance's own copy said, acted on if Redis cannot be reached.
    pub(crate) fn share_joins(
        self: &Arc<Self>,
        board: RaidBoard,
        raid: &Raid,
        group: &str,
        accounts: Vec<String>,
        local: Option<Transition>,
    ) {
        let (me, raid, group) = (self.clone(), raid.clone(), group.to_owned());
        tokio::spawn(async move {
            let refs: Vec<&str> = accounts.iter().map(String::as_str).collect();
            match board
                .joined(&group, &refs, raid.joins, raid.quiet, MAX_COHORT)
                .await
            {
                Ok(j) if j.tripped => {
                    me.raid.mirror_on(
                        &group,
                        Some(Duration::ZERO),
                        j.added.clone(),
                        Instant::now(),
                    );
                    me.tripped_on_board(&group, j.joins, j.cohort);
                    me.act_on_trip(&raid, &group, j.added);
                }
                Ok(j) if j.on => {
                    let surge = (j.joins >= raid.joins.0).then_some(Duration::ZERO);
                    me.raid
                        .mirror_on(&group, surge, j.added.clone(), Instant::now());
                    if raid.mute_newcomers.is_some() && !j.added.is_empty() {
                        me.mute_newcomers(&raid, &group, j.added);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(group = %group, error = %e, "raid mode cannot reach Redis; this instance judges its own joins");
                    match local {
                        Some(t) => me.raid_changed(Some(&raid), t),
                        None if raid.mute_newcomers.is_some() && me.raid.is_on(&group) => {
                            me.mute_newcomers(&raid, &group, accounts);
                        }
                        None => {}
                    }
                }
            }
        });
    }

    /// What the tick found for the board: refusals added to its count, a
    /// raid quiet here ended there (told and thawed by the one instance
    /// that ends it).
    pub(crate) async fn share_tick(
        self: &Arc<Self>,
        board: &RaidBoard,
        raid: Option<&Raid>,
        t: Transition,
    ) {
        match &t {
            Transition::Refusing { group, count } => {
                self.emit(t.event());
                if let Err(e) = board.add_refused(group, *count).await {
                    tracing::warn!(group = %group, error = %e, "raid mode's refusals not added in Redis");
                }
            }
            Transition::Ended { group, .. } => {
                let force = raid.is_none_or(|r| !r.covers(group));
                let quiet = raid.map_or(Duration::ZERO, |r| r.quiet);
                match board.end(group, quiet, force).await {
                    Ok(Some(e)) => self.ended_on_board(group, &e),
                    // Ended by another instance, or not quiet there: the
                    // mirror brings it back if it is still on.
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(group = %group, error = %e, "raid mode cannot reach Redis; this instance ends its own raid");
                        self.raid_changed(raid, t);
                    }
                }
            }
            Transition::Tripped { .. } => self.raid_changed(raid, t),
        }
    }

    /// Forces raid mode on or off in `group` on the board (the rules'
    /// `[raid]` gives the window and quiet); the change is told and acted
    /// on here. Whether it changed.
    pub(crate) async fn force_shared(
        self: &Arc<Self>,
        board: &RaidBoard,
        group: &str,
        on: bool,
    ) -> Result<bool, ban_fleet::RedisSetupError> {
        let rules = self.rules();
        let Some(raid) = rules.raid.as_ref() else {
            return Ok(false);
        };
        let now = Instant::now();
        if on {
            let j = board
                .force_on(group, raid.joins.1, raid.quiet, MAX_COHORT, true)
                .await?;
            if j.tripped {
                self.raid
                    .mirror_on(group, Some(Duration::ZERO), j.added.clone(), now);
                self.tripped_on_board(group, j.joins, j.cohort);
                self.act_on_trip(raid, group, j.added);
            }
            return Ok(j.tripped);
        }
        let ended = board.end(group, Duration::ZERO, true).await?;
        self.raid.mirror_off(group, Duration::ZERO, now);
        let Some(e) = ended else {
            return Ok(false);
        };
        self.ended_on_board(group, &e);
        Ok(true)
    }

    /// Tells of a trip the board gave this instance to act on.
    fn tripped_on_board(&self, group: &str, joins: u64, cohort: u64) {
        let t = Transition::Tripped {
            group: group.to_owned(),
            joins,
            cohort: usize::try_from(cohort).unwrap_or(usize::MAX),
        };
        self.emit(t.event());
    }

    /// Tells of a raid this instance ended on the board, and thaws the
    /// room when any instance froze it.
    fn ended_on_board(self: &Arc<Self>, group: &str, e: &ban_fleet::RaidEnded) {
        let t = Transition::Ended {
            group: group.to_owned(),
            cohort: usize::try_from(e.cohort).unwrap_or(usize::MAX),
            refused: e.refused,
            lasted: Duration::from_millis(e.lasted_ms),
        };
        self.emit(t.event());
        if e.frozen || self.is_frozen(group) {
            self.spawn_freeze(group.to_owned(), false);
        }
    }

    /// Follows the board once: raids on there are on here, with their last
    /// surge and newcomers; raids gone there end here; a raid nobody acted
    /// on (`banctl raid on`) is claimed, and the claimer acts.
    async fn mirror(
        self: &Arc<Self>,
        board: &RaidBoard,
        cursors: &mut HashMap<String, String>,
    ) -> Result<(), ban_fleet::RedisSetupError> {
        let rules = self.rules();
        let Some(raid) = rules.raid.as_ref() else {
            return Ok(());
        };
        let raids = board.raids().await?;
        let now = Instant::now();
        let now_ms = crate::event::now_ms();
        let mut on = HashSet::new();
        for r in raids {
            if !raid.covers(&r.group) {
                continue;
            }
            on.insert(r.group.clone());
            let age = Duration::from_millis(now_ms.saturating_sub(r.surge_ms));
            if self.raid.mirror_on(&r.group, Some(age), Vec::new(), now) {
                tracing::info!(group = %r.group, "raid mode is on (tripped by another instance)");
                cursors.remove(&r.group);
            }
            let cursor = cursors.entry(r.group.clone()).or_insert_with(|| "0".into());
            loop {
                let (accounts, last) = board.newcomers(&r.group, cursor, PAGE).await?;
                let more = last != *cursor;
                *cursor = last;
                if accounts.is_empty() || !more {
                    break;
                }
                let _ = self.raid.add_to_cohort(&r.group, accounts);
            }
            if !r.acted && board.claim(&r.group).await? {
                let cohort = self.raid.cohort(&r.group);
                self.tripped_on_board(&r.group, 0, cohort.len() as u64);
                self.act_on_trip(raid, &r.group, cohort);
            }
        }
        for group in self.raid.groups_on() {
            if !on.contains(&group) && self.raid.mirror_off(&group, YOUNG, now) {
                tracing::info!(group = %group, "raid mode is off (ended by another instance)");
                cursors.remove(&group);
            }
        }
        Ok(())
    }
}

/// Every [`MIRROR_EVERY`]: the moderator follows the board.
pub(crate) fn mirror(moderator: Weak<Moderator>, board: RaidBoard) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(MIRROR_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut cursors = HashMap::new();
        let mut failing = false;
        loop {
            tick.tick().await;
            let Some(m) = moderator.upgrade() else {
                return;
            };
            match m.mirror(&board, &mut cursors).await {
                Ok(()) if failing => {
                    failing = false;
                    tracing::warn!("raid mode follows Redis again");
                }
                Ok(()) => {}
                Err(e) if !failing => {
                    failing = true;
                    let mut ev = Event::new(
                        EventKind::Alert,
                        Outcome::Degraded {
                            reason: format!("raid mode cannot follow Redis: {e}"),
                        },
                    );
                    ev.evidence = Some("each instance judges its own joins until it can".into());
                    m.emit(ev);
                }
                Err(_) => {}
            }
        }
    })
}
