//! The groups part of the emulator: every group, its members, bans,
//! mutes and inboxes under one lock, and the operations the API, the
//! library and the control surface share (joins, leaves and sends, with
//! the app's membership callbacks told).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use ban_proto::ErrorCode;
use ban_sign::Clock;

use super::clock::EmuClock;
use super::lock;
use super::state::{Group, GroupState, InboxMessage, JoinError, Outgoing, State, INBOX_CAP};
use crate::config::GroupType;

/// Every group, with the clock bans are judged by and who to tell of
/// joins and leaves.
pub(crate) struct Groups {
    state: Mutex<State>,
    clock: Arc<EmuClock>,
    callbacks: Option<Arc<crate::callback::Caller>>,
    /// Messages a group takes per second (`--group-msg-rate`), if limited.
    group_msg_rate: Option<u32>,
    /// The groups that exist at the start (and after a reset): live rooms.
    initial: Vec<String>,
    /// The app admin: the one who still speaks in a frozen group.
    admin: String,
}

impl Groups {
    pub(crate) fn new(
        clock: Arc<EmuClock>,
        callbacks: Option<Arc<crate::callback::Caller>>,
        group_msg_rate: Option<u32>,
        initial: Vec<String>,
        admin: String,
    ) -> Self {
        let groups = Groups {
            state: Mutex::new(State::default()),
            clock,
            callbacks,
            group_msg_rate: group_msg_rate.filter(|&r| r > 0),
            initial,
            admin,
        };
        groups.reset();
        groups
    }

    /// Back to the groups of the start, empty (generated group IDs go on
    /// from where they were: an ID is never given twice).
    pub(crate) fn reset(&self) {
        let mut st = lock(&self.state);
        st.groups.clear();
        for g in &self.initial {
            st.groups
                .insert(g.clone(), Group::new(GroupType::AVChatRoom, g.clone()));
        }
    }

    /// The state, locked, for a command that reads or changes several
    /// groups' members at once.
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl Groups {
    pub(crate) fn create_group(
        &self,
        id: Option<&str>,
        kind: GroupType,
        name: &str,
    ) -> Result<String, (ErrorCode, String)> {
        let mut st = lock(&self.state);
        let id = match id {
            Some(id) => id.to_owned(),
            None => {
                let n = st.next_group;
                st.next_group += 1;
                format!("@TGS#a{n:09}")
            }
        };
        if st.groups.contains_key(&id) {
            return Err((
                ErrorCode::Other(10021),
                format!("GroupId {id} is already used"),
            ));
        }
        st.groups
            .insert(id.clone(), Group::new(kind, name.to_owned()));
        Ok(id)
    }

    /// Runs `f` on a group under the state lock.
    fn in_group<T>(
        &self,
        group: &str,
        f: impl FnOnce(&mut Group) -> Result<T, JoinError>,
    ) -> Result<T, JoinError> {
        let mut st = lock(&self.state);
        let g = st
            .groups
            .get_mut(group)
            .ok_or_else(|| JoinError::NoSuchGroup(group.to_owned()))?;
        f(g)
    }

    /// `member` joins (refused while banned); the after-join callback is
    /// told, as from `from`.
    pub(crate) fn join_from(
        &self,
        group: &str,
        member: &str,
        from: crate::callback::From,
    ) -> Result<(), JoinError> {
        let now = self.clock.now_unix();
        // The emulator's clock, to the ms (its seconds carry the offset).
        let join_ms = now * 1000 + super::now_ms() % 1000;
        let kind = self.in_group(group, |g| {
            if let Some(until) = g.banned_until(member, now) {
                return Err(JoinError::Banned {
                    group: group.to_owned(),
                    member: member.to_owned(),
                    until,
                });
            }
            g.members.insert(member.to_owned());
            g.stamp_join(member, join_ms);
            Ok(g.kind)
        })?;
        if let Some(c) = &self.callbacks {
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            c.after_join(
                ban_callback::MemberJoin::new(group, kind.as_str(), &[member], now_ms),
                from,
            );
        }
        Ok(())
    }

    /// An admin adds `member` (the library's `join`): no application, so
    /// no before-join callback.
    pub(crate) fn join(&self, group: &str, member: &str) -> Result<(), JoinError> {
        self.join_from(group, member, crate::callback::From::Rest)
    }

    /// Whether a client's join of `group` is an application the app's
    /// before-join callback is asked about: groups that take applications
    /// (Public, Meeting, Community). Live rooms (AVChatRoom) are joined
    /// freely and Work groups by invitation: no application, no callback
    /// (an emulator choice; the pages do not say).
    pub(crate) fn takes_applications(&self, group: &str) -> Result<Option<GroupType>, JoinError> {
        self.in_group(group, |g| {
            Ok(matches!(
                g.kind,
                GroupType::Public | GroupType::Meeting | GroupType::Community
            )
            .then_some(g.kind))
        })
    }

    /// Whether `from` may send to `group` before any callback: not banned
    /// (a banned member is not in the group), the group there; its type.
    pub(crate) fn check_member(&self, group: &str, from: &str) -> Result<GroupType, JoinError> {
        let now = self.clock.now_unix();
        self.check_speaking(from, now)?;
        self.in_group(group, |g| match g.banned_until(from, now) {
            Some(until) => Err(JoinError::Banned {
                group: group.to_owned(),
                member: from.to_owned(),
                until,
            }),
            None => Ok(g.kind),
        })
    }

    /// Refuses an account the app silenced in groups (`setnospeaking`).
    fn check_speaking(&self, from: &str, now: u64) -> Result<(), JoinError> {
        let st = lock(&self.state);
        match st.nospeak.get(from) {
            Some(n) if n.group_until > now => Err(JoinError::NoSpeaking {
                member: from.to_owned(),
                until: n.group_until,
            }),
            _ => Ok(()),
        }
    }

    /// Sets (0 lifts) how long `account` may not speak in groups and in
    /// one-to-one messages; `None` leaves that one as it is.
    pub(crate) fn set_no_speaking(&self, account: &str, group: Option<u32>, c2c: Option<u32>) {
        let now = self.clock.now_unix();
        let end = |secs: u32| match secs {
            0 => 0,
            u32::MAX => u64::from(u32::MAX),
            s => now.saturating_add(s.into()).min(u64::from(u32::MAX) - 1),
        };
        let mut st = lock(&self.state);
        let n = st.nospeak.entry(account.to_owned()).or_default();
        if let Some(s) = group {
            n.group_until = end(s);
        }
        if let Some(s) = c2c {
            n.c2c_until = end(s);
        }
        if n.group_until <= now && n.c2c_until <= now {
            st.nospeak.remove(account);
        }
    }

    /// What is left of `account`'s silences, in seconds (group, one-to-one;
    /// 4294967295 for good, 0 for none).
    pub(crate) fn no_speaking(&self, account: &str) -> (u64, u64) {
        let now = self.clock.now_unix();
        let left = |until: u64| match until {
            u if u >= u64::from(u32::MAX) => u64::from(u32::MAX),
            u => u.saturating_sub(now),
        };
        let st = lock(&self.state);
        st.nospeak
            .get(account)
            .map_or((0, 0), |n| (left(n.group_until), left(n.c2c_until)))
    }

    /// Whether `from` may send to `group` now: the group's type if so.
    pub(crate) fn check_sender(&self, group: &str, from: &str) -> Result<GroupType, JoinError> {
        let now = self.clock.now_unix();
        self.check_speaking(from, now)?;
        self.in_group(group, |g| {
            if let Some(until) = g.banned_until(from, now) {
                return Err(JoinError::Banned {
                    group: group.to_owned(),
                    member: from.to_owned(),
                    until,
                });
            }
            if let Some(until) = g.muted_until(from, now) {
                return Err(JoinError::Muted {
                    group: group.to_owned(),
                    member: from.to_owned(),
                    until,
                });
            }
            if g.mute_all && from != self.admin {
                return Err(JoinError::Frozen {
                    group: group.to_owned(),
                    member: from.to_owned(),
                });
            }
            Ok(g.kind)
        })
    }

    /// `member` leaves; the after-exit callback is told (`ExitType`
    /// `Quit`) when it was a member.
    pub(crate) fn leave(&self, group: &str, member: &str) -> Result<bool, JoinError> {
        let (was, kind) = self.in_group(group, |g| Ok((g.members.remove(member), g.kind)))?;
        if let (true, Some(c)) = (was, &self.callbacks) {
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            c.after_exit(
                ban_callback::MemberExit::new(group, kind.as_str(), "Quit", &[member], now_ms),
                crate::callback::From::Client("Web".to_owned()),
            );
        }
        Ok(was)
    }

    pub(crate) fn inbox(&self, group: &str, member: &str) -> Result<Vec<InboxMessage>, JoinError> {
        self.in_group(group, |g| {
            Ok(g.inbox.get(member).cloned().unwrap_or_default())
        })
    }

    /// A sequence number for a message that is not stored (one the app's
    /// answer dropped: the sender still sees a real-looking `MsgSeq`).
    pub(crate) fn take_seq(&self, group: &str) -> u64 {
        self.in_group(group, |g| {
            let seq = g.next_seq;
            g.next_seq += 1;
            Ok(seq)
        })
        .unwrap_or(0)
    }

    /// Sends a message from `from`: refused when `from` is banned (it is
    /// not a member) or muted, or the group's message rate is spent.
    pub(crate) fn send_group_msg(
        &self,
        group: &str,
        from: &str,
        msg: &Outgoing,
    ) -> Result<(u64, usize), JoinError> {
        self.check_sender(group, from)?;
        let now = self.clock.now_unix();
        let rate = self.group_msg_rate;
        self.in_group(group, |g| {
            if let Some(per_sec) = rate {
                if !g.admit_message(per_sec, Instant::now()) {
                    return Err(JoinError::MessageRate {
                        group: group.to_owned(),
                        per_sec,
                    });
                }
            }
            let seq = g.next_seq;
            g.next_seq += 1;
            let msg = InboxMessage {
                seq,
                from: from.to_owned(),
                text: msg.joined_text(),
                body: msg.body.clone(),
                cloud_custom_data: msg.cloud_custom_data.clone(),
                time: now,
            };
            let recipients: Vec<String> = g
                .members
                .iter()
                .filter(|m| g.bans.get(*m).is_none_or(|&until| until <= now))
                .cloned()
                .collect();
            for m in &recipients {
                let inbox = g.inbox.entry(m.clone()).or_default();
                if inbox.len() >= INBOX_CAP {
                    inbox.remove(0);
                }
                inbox.push(msg.clone());
            }
            Ok((seq, recipients.len()))
        })
    }

    pub(crate) fn group_state(&self, group: &str) -> Option<GroupState> {
        let now = self.clock.now_unix();
        let st = lock(&self.state);
        let g = st.groups.get(group)?;
        let mut members: Vec<String> = g.members.iter().cloned().collect();
        members.sort();
        Some(GroupState {
            group_id: group.to_owned(),
            kind: g.kind,
            name: g.name.clone(),
            members,
            banned: g.active_bans(now),
            muted: g.active_mutes(now),
            mute_all: g.mute_all,
        })
    }
}
