//! The raid shield: per group, the joins of the last `per` (to see a
//! surge), and while raid mode lasts, the cohort of newcomers whose
//! messages are refused at the before-send answer. In memory, judged on
//! the answer's path (a lock, no I/O); transitions and refusal counts are
//! told as events.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ban_rules::Raid;

use crate::event::{Event, EventKind, Outcome};

/// The most newcomers one group's cohort holds; past it, later joins are
/// counted (`serve_raid_cohort_dropped_total`) and not shielded, so memory
/// stays bounded whatever the raid's size.
pub const MAX_COHORT: usize = 1_000_000;

/// What changed for a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// A surge tripped raid mode: the joins within the window, and the
    /// cohort it starts with.
    Tripped {
        /// The group.
        group: String,
        /// Joins within the window that tripped it.
        joins: u64,
        /// Newcomers shielded from the start.
        cohort: usize,
    },
    /// Raid mode ended (quiet long enough, or forced off).
    Ended {
        /// The group.
        group: String,
        /// Newcomers it held.
        cohort: usize,
        /// Messages it refused, in all.
        refused: u64,
        /// How long it lasted.
        lasted: Duration,
    },
    /// Messages refused since the last report.
    Refusing {
        /// The group.
        group: String,
        /// How many.
        count: u64,
    },
}

#[derive(Debug)]
struct Active {
    since: Instant,
    last_surge: Instant,
    cohort: HashSet<String>,
    refused: u64,
    /// Refusals not yet reported.
    unreported: u64,
}

impl Active {
    /// Raid mode from `now`, shielding `cohort`.
    fn new(now: Instant, cohort: HashSet<String>) -> Active {
        Active {
            since: now,
            last_surge: now,
            cohort,
            refused: 0,
            unreported: 0,
        }
    }
}

#[derive(Debug, Default)]
struct GroupRaid {
    /// Joins within the window: when, and who.
    joins: VecDeque<(Instant, String)>,
    active: Option<Active>,
}

/// Raid mode for every group under one `[raid]`.
#[derive(Debug, Default)]
pub struct RaidShield {
    groups: Mutex<HashMap<String, GroupRaid>>,
}

impl RaidShield {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, GroupRaid>> {
        self.groups.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `accounts` joined `group` at `now`: raid mode trips when the
    /// window's joins reach the count, and a surge while it lasts keeps it
    /// on; newcomers join the cohort.
    pub fn joined(
        &self,
        raid: &Raid,
        group: &str,
        accounts: &[&str],
        now: Instant,
    ) -> Option<Transition> {
        if !raid.covers(group) || accounts.is_empty() {
            return None;
        }
        let (count, per) = raid.joins;
        let mut groups = self.lock();
        let g = groups.entry(group.to_owned()).or_default();
        while g
            .joins
            .front()
            .is_some_and(|(t, _)| now.saturating_duration_since(*t) >= per)
        {
            g.joins.pop_front();
        }
        for a in accounts {
            g.joins.push_back((now, (*a).to_owned()));
        }
        // The window needs no more than the count's worth of times: its
        // accounts beyond that are in the cohort once tripped.
        let surge = g.joins.len() as u64 >= count;
        let mut dropped = 0u64;
        let transition = match &mut g.active {
            Some(active) => {
                if surge {
                    active.last_surge = now;
                }
                for a in accounts {
                    if active.cohort.len() < MAX_COHORT {
                        active.cohort.insert((*a).to_owned());
                    } else {
                        dropped += 1;
                    }
                }
                None
            }
            None if surge => {
                let mut cohort = HashSet::new();
                for (_, a) in &g.joins {
                    if cohort.len() < MAX_COHORT {
                        cohort.insert(a.clone());
                    } else {
                        dropped += 1;
                    }
                }
                let joins = g.joins.len() as u64;
                let size = cohort.len();
                g.active = Some(Active::new(now, cohort));
                Some(Transition::Tripped {
                    group: group.to_owned(),
                    joins,
                    cohort: size,
                })
            }
            None => None,
        };
        // Not shielded: a cohort at its cap. Kept bounded either way.
        while g.joins.len() as u64 > count.saturating_mul(2).max(1024) {
            g.joins.pop_front();
        }
        if dropped > 0 {
            metrics::counter!("serve_raid_cohort_dropped_total").increment(dropped);
        }
        transition
    }

    /// Whether `account`'s message to `group` is refused now: raid mode is
    /// on there and the account is a newcomer. Counts the refusal.
    pub fn refuses(&self, raid: &Raid, group: &str, account: &str, now: Instant) -> bool {
        if !raid.covers(group) {
            return false;
        }
        let mut groups = self.lock();
        let Some(active) = groups.get_mut(group).and_then(|g| g.active.as_mut()) else {
            return false;
        };
        if now.saturating_duration_since(active.last_surge) >= raid.quiet {
            // Over, though the tick has not said so yet: nobody is refused.
            return false;
        }
        if !active.cohort.contains(account) {
            return false;
        }
        active.refused += 1;
        active.unreported += 1;
        metrics::counter!("serve_raid_refusals_total").increment(1);
        true
    }

    /// Ends the raids quiet for `raid.quiet` (or every raid, when `raid`
    /// is gone or no longer covers the group), and reports the refusals
    /// since the last tick.
    pub fn tick(&self, raid: Option<&Raid>, now: Instant) -> Vec<Transition> {
        let mut out = Vec::new();
        let mut groups = self.lock();
        groups.retain(|group, g| {
            if let Some(active) = &mut g.active {
                if active.unreported > 0 {
                    out.push(Transition::Refusing {
                        group: group.clone(),
                        count: active.unreported,
                    });
                    active.unreported = 0;
                }
                let over = raid.is_none_or(|r| {
                    !r.covers(group) || now.saturating_duration_since(active.last_surge) >= r.quiet
                });
                if over {
                    out.push(ended(group, active, now));
                    g.active = None;
                }
            }
            let per = raid.map_or(Duration::ZERO, |r| r.joins.1);
            while g
                .joins
                .front()
                .is_some_and(|(t, _)| now.saturating_duration_since(*t) >= per)
            {
                g.joins.pop_front();
            }
            // A group with nothing to remember is forgotten.
            g.active.is_some() || !g.joins.is_empty()
        });
        out
    }

    /// Forces raid mode on in `group` (its cohort: the joins still in the
    /// window, and every join from now on) or off.
    pub fn force(&self, group: &str, on: bool, now: Instant) -> Option<Transition> {
        let mut groups = self.lock();
        let g = groups.entry(group.to_owned()).or_default();
        match (&mut g.active, on) {
            (None, true) => {
                let cohort: HashSet<String> = g.joins.iter().map(|(_, a)| a.clone()).collect();
                let size = cohort.len();
                g.active = Some(Active::new(now, cohort));
                Some(Transition::Tripped {
                    group: group.to_owned(),
                    joins: g.joins.len() as u64,
                    cohort: size,
                })
            }
            (Some(active), false) => {
                let t = ended(group, active, now);
                g.active = None;
                Some(t)
            }
            _ => None,
        }
    }

    /// Adds `accounts` to `group`'s cohort while raid mode is on there (up
    /// to [`MAX_COHORT`]); returns those that were not in it.
    pub fn add_to_cohort(&self, group: &str, accounts: Vec<String>) -> Vec<String> {
        let mut groups = self.lock();
        let Some(active) = groups.get_mut(group).and_then(|g| g.active.as_mut()) else {
            return Vec::new();
        };
        accounts
            .into_iter()
            .filter(|a| active.cohort.len() < MAX_COHORT && active.cohort.insert(a.clone()))
            .collect()
    }

    /// Raid mode on in `group` as another instance says (no transition):
    /// its last surge `surge_age` ago, when told, and `accounts` in its
    /// cohort. Whether it was off here.
    pub fn mirror_on(
        &self,
        group: &str,
        surge_age: Option<Duration>,
        accounts: Vec<String>,
        now: Instant,
    ) -> bool {
        let mut groups = self.lock();
        let g = groups.entry(group.to_owned()).or_default();
        let was_off = g.active.is_none();
        let active = g
            .active
            .get_or_insert_with(|| Active::new(now, HashSet::new()));
        if let Some(age) = surge_age {
            let surge = now.checked_sub(age).unwrap_or(now);
            active.last_surge = active.last_surge.max(surge);
        }
        for a in accounts {
            if active.cohort.len() >= MAX_COHORT {
                break;
            }
            active.cohort.insert(a);
        }
        was_off
    }

    /// Raid mode off in `group` as another instance says (no transition),
    /// unless it came on here within `min_age` (its trip may not have
    /// reached the others yet). Whether it was on.
    pub fn mirror_off(&self, group: &str, min_age: Duration, now: Instant) -> bool {
        let mut groups = self.lock();
        let Some(g) = groups.get_mut(group) else {
            return false;
        };
        match &g.active {
            Some(a) if now.saturating_duration_since(a.since) >= min_age => {
                g.active = None;
                true
            }
            _ => false,
        }
    }

    /// The groups in raid mode here.
    pub fn groups_on(&self) -> Vec<String> {
        self.lock()
            .iter()
            .filter(|(_, g)| g.active.is_some())
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Whether raid mode is on in `group`.
    pub fn is_on(&self, group: &str) -> bool {
        self.lock().get(group).is_some_and(|g| g.active.is_some())
    }

    /// The newcomers raid mode shields in `group` now.
    pub fn cohort(&self, group: &str) -> Vec<String> {
        self.lock()
            .get(group)
            .and_then(|g| g.active.as_ref())
            .map(|a| a.cohort.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The groups in raid mode: each with its cohort's size and refusals.
    pub fn status(&self) -> Vec<(String, usize, u64)> {
        let groups = self.lock();
        let mut out: Vec<_> = groups
            .iter()
            .filter_map(|(name, g)| {
                g.active
                    .as_ref()
                    .map(|a| (name.clone(), a.cohort.len(), a.refused))
            })
            .collect();
        out.sort();
        out
    }
}

impl Transition {
    /// The event that tells of it.
    pub fn event(&self) -> Event {
        let (group, outcome) = match self {
            Transition::Tripped {
                group,
                joins,
                cohort,
            } => (
                group,
                Outcome::RaidTripped {
                    joins: *joins,
                    cohort: *cohort,
                },
            ),
            Transition::Refusing { group, count } => {
                (group, Outcome::RaidRefusing { count: *count })
            }
            Transition::Ended {
                group,
                cohort,
                refused,
                lasted,
            } => (
                group,
                Outcome::RaidEnded {
                    cohort: *cohort,
                    refused: *refused,
                    lasted_ms: u64::try_from(lasted.as_millis()).unwrap_or(u64::MAX),
                },
            ),
        };
        let mut e = Event::new(EventKind::Raid, outcome);
        e.group = Some(group.clone());
        e
    }
}

fn ended(group: &str, active: &Active, now: Instant) -> Transition {
    Transition::Ended {
        group: group.to_owned(),
        cohort: active.cohort.len(),
        refused: active.refused,
        lasted: now.saturating_duration_since(active.since),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raid() -> Raid {
        ban_rules::Rules::parse(
            "[raid]\njoins = { count = 3, per = \"10s\" }\nquiet = \"60s\"\nnewcomer_code = 10150\n",
        )
        .unwrap()
        .raid
        .unwrap()
    }

    #[test]
    fn a_surge_trips_newcomers_are_refused_and_quiet_ends_it() {
        let (r, s, t0) = (raid(), RaidShield::default(), Instant::now());
        let at = |secs| t0 + Duration::from_secs(secs);
        assert_eq!(s.joined(&r, "g", &["viewer"], t0), None);
        // The viewer's join leaves the window before the surge.
        assert_eq!(s.joined(&r, "g", &["a", "b"], at(11)), None);
        assert!(!s.refuses(&r, "g", "a", at(11)), "no raid yet");
        let tripped = s.joined(&r, "g", &["c"], at(12));
        assert!(
            matches!(
                tripped,
                Some(Transition::Tripped {
                    joins: 3,
                    cohort: 3,
                    ..
                })
            ),
            "{tripped:?}"
        );
        assert!(s.refuses(&r, "g", "a", at(12)));
        assert!(
            !s.refuses(&r, "g", "viewer", at(12)),
            "joined before the surge"
        );
        assert!(!s.refuses(&r, "other", "a", at(12)), "another group");
        // Joins while it lasts are newcomers too.
        assert_eq!(s.joined(&r, "g", &["d"], at(30)), None);
        assert!(s.refuses(&r, "g", "d", at(30)));
        let told = s.tick(Some(&r), at(31));
        assert_eq!(
            told,
            [Transition::Refusing {
                group: "g".into(),
                count: 2
            }]
        );
        // Quiet for 60 s after the last surge (at 12): over at 72.
        assert!(s.tick(Some(&r), at(71)).is_empty());
        let told = s.tick(Some(&r), at(72));
        assert!(
            matches!(
                &told[..],
                [Transition::Ended {
                    cohort: 4,
                    refused: 2,
                    ..
                }]
            ),
            "{told:?}"
        );
        assert!(!s.refuses(&r, "g", "a", at(73)));
        assert!(s.status().is_empty());
    }

    #[test]
    fn forced_on_and_off_and_a_removed_raid_ends() {
        let (r, s, t0) = (raid(), RaidShield::default(), Instant::now());
        s.joined(&r, "g", &["early"], t0);
        assert!(matches!(
            s.force("g", true, t0),
            Some(Transition::Tripped { cohort: 1, .. })
        ));
        assert_eq!(s.force("g", true, t0), None, "already on");
        assert!(s.refuses(&r, "g", "early", t0));
        assert_eq!(s.status(), [("g".to_owned(), 1, 1)]);
        assert!(matches!(
            s.force("g", false, t0),
            Some(Transition::Ended { refused: 1, .. })
        ));
        s.force("g", true, t0);
        // The rules lose their [raid]: every raid ends at the next tick.
        assert!(matches!(&s.tick(None, t0)[..], [Transition::Ended { .. }]));
    }
}
