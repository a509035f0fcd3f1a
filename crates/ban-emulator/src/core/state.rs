//! Groups, members, bans and inboxes, and the operations the library API
//! and the control surface share.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use ban_callback::MsgElement;

use ban_proto::{BannedAccount, MutedAccount};
use serde::{Deserialize, Serialize};

use crate::config::GroupType;

/// One message delivered to a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InboxMessage {
    /// The group's message sequence number.
    #[serde(rename = "MsgSeq")]
    pub seq: u64,
    /// The sender.
    #[serde(rename = "From_Account")]
    pub from: String,
    /// The text of its `TIMTextElem` elements, joined.
    #[serde(rename = "Text")]
    pub text: String,
    /// The body delivered: the one sent, or the app's before-send
    /// replacement.
    #[serde(rename = "MsgBody", default)]
    pub body: Vec<MsgElement>,
    /// The `CloudCustomData` delivered.
    #[serde(
        rename = "CloudCustomData",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub cloud_custom_data: String,
    /// When it was sent (emulator clock).
    #[serde(rename = "MsgTime")]
    pub time: u64,
}

/// A message on its way to a group: the body, and the app's data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Outgoing {
    pub(crate) body: Vec<MsgElement>,
    pub(crate) cloud_custom_data: String,
}

impl Outgoing {
    /// A text message.
    pub(crate) fn text(text: &str) -> Outgoing {
        Outgoing {
            body: vec![MsgElement::text(text)],
            cloud_custom_data: String::new(),
        }
    }

    /// The text of its `TIMTextElem` elements, joined.
    pub(crate) fn joined_text(&self) -> String {
        self.body
            .iter()
            .filter(|e| e.msg_type == "TIMTextElem")
            .filter_map(|e| e.msg_content.get("Text").and_then(|t| t.as_str()))
            .collect()
    }
}

/// The most messages an inbox keeps (oldest dropped), so memory stays flat.
pub(super) const INBOX_CAP: usize = 1000;

#[derive(Debug)]
pub(super) struct Group {
    pub(super) kind: GroupType,
    pub(super) name: String,
    pub(super) members: HashSet<String>,
    pub(super) bans: HashMap<String, u64>,
    /// Mutes by member: when each ends (4294967295 for good). A mute is
    /// the member's in the group whether it is a member now or not, so it
    /// survives leaving and rejoining.
    pub(super) mutes: HashMap<String, u64>,
    pub(super) inbox: HashMap<String, Vec<InboxMessage>>,
    pub(super) next_seq: u64,
    /// When its messages of the last second were sent (for
    /// `--group-msg-rate`).
    sent: VecDeque<Instant>,
    /// `MuteAllMember` is on: only the app admin speaks.
    pub(super) mute_all: bool,
    /// When each member joined, in ms of the emulator's clock, each stamp
    /// unique in the group (the `get_members` paging cursor); read through
    /// `members`, so a member who left or was banned is not listed.
    pub(super) joined_ms: HashMap<String, u64>,
    /// The latest join stamp.
    last_join_ms: u64,
}

/// The entries of `ends` still in force at `now`, ordered by end time, then
/// member, each made by `make(member, end)`.
fn in_force<T>(ends: &HashMap<String, u64>, now: u64, make: impl Fn(String, u64) -> T) -> Vec<T> {
    let mut list: Vec<(u64, &String)> = ends
        .iter()
        .filter(|(_, &until)| until > now)
        .map(|(m, &until)| (until, m))
        .collect();
    list.sort();
    list.into_iter()
        .map(|(until, m)| make(m.clone(), until))
        .collect()
}

impl Group {
    pub(super) fn new(kind: GroupType, name: String) -> Self {
        Group {
            kind,
            name,
            members: HashSet::new(),
            bans: HashMap::new(),
            mutes: HashMap::new(),
            inbox: HashMap::new(),
            next_seq: 1,
            sent: VecDeque::new(),
            mute_all: false,
            joined_ms: HashMap::new(),
            last_join_ms: 0,
        }
    }

    /// Records that `member` joined at `now_ms` (one ms after the latest
    /// stamp when several join in one ms: stamps never repeat).
    pub(super) fn stamp_join(&mut self, member: &str, now_ms: u64) {
        self.last_join_ms = now_ms.max(self.last_join_ms + 1);
        self.joined_ms.insert(member.to_owned(), self.last_join_ms);
    }

    /// The members online, newest first, with their join stamps (ms).
    pub(super) fn newest_members(&self) -> Vec<(u64, &str)> {
        let mut list: Vec<(u64, &str)> = self
            .members
            .iter()
            .map(|m| (self.joined_ms.get(m).copied().unwrap_or(0), m.as_str()))
            .collect();
        list.sort_unstable_by(|a, b| b.cmp(a));
        list
    }

    /// Whether one more message now keeps every sliding second at or under
    /// `per_sec`; records it when it does.
    pub(super) fn admit_message(&mut self, per_sec: u32, now: Instant) -> bool {
        while self
            .sent
            .front()
            .is_some_and(|&t| now.duration_since(t) >= Duration::from_secs(1))
        {
            self.sent.pop_front();
        }
        if self.sent.len() >= per_sec as usize {
            return false;
        }
        self.sent.push_back(now);
        true
    }

    pub(super) fn banned_until(&self, member: &str, now: u64) -> Option<u64> {
        self.bans.get(member).copied().filter(|&until| until > now)
    }

    pub(super) fn muted_until(&self, member: &str, now: u64) -> Option<u64> {
        self.mutes.get(member).copied().filter(|&until| until > now)
    }

    /// The mutes in force, ordered by end time, then member.
    pub(super) fn active_mutes(&self, now: u64) -> Vec<MutedAccount> {
        in_force(&self.mutes, now, |member_account, muted_until| {
            MutedAccount {
                member_account,
                muted_until,
            }
        })
    }

    /// The bans in force, ordered by end time, then member.
    pub(super) fn active_bans(&self, now: u64) -> Vec<BannedAccount> {
        in_force(&self.bans, now, |member_account, banned_until| {
            BannedAccount {
                member_account,
                banned_until,
            }
        })
    }
}

/// A snapshot of one group, for tests and the control surface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GroupState {
    /// The group ID.
    #[serde(rename = "GroupId")]
    pub group_id: String,
    /// Its type.
    #[serde(rename = "Type")]
    pub kind: GroupType,
    /// Its name.
    #[serde(rename = "Name")]
    pub name: String,
    /// Current members, sorted.
    #[serde(rename = "Members")]
    pub members: Vec<String>,
    /// Bans in force, ordered by end time.
    #[serde(rename = "Banned")]
    pub banned: Vec<BannedAccount>,
    /// Mutes in force, ordered by end time (4294967295: permanent).
    #[serde(rename = "Muted", default)]
    pub muted: Vec<MutedAccount>,
    /// `MuteAllMember` is on: every member but the app admin is silenced.
    #[serde(rename = "MuteAllMember", default)]
    pub mute_all: bool,
}

/// Why a member could not join, or send to, a group.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    /// The sender is muted until the given time (4294967295: for good);
    /// the service answers 10017.
    #[error("{member} is muted in {group} until {until}")]
    Muted {
        /// The group.
        group: String,
        /// The member.
        member: String,
        /// When the mute ends (Unix seconds, emulator clock).
        until: u64,
    },
    /// The group is frozen (`MuteAllMember` on): only the app admin
    /// speaks; the service answers 10017.
    #[error("{group} is muted for all its members (MuteAllMember is On); {member} cannot send")]
    Frozen {
        /// The group.
        group: String,
        /// The member.
        member: String,
    },
    /// The account may not speak in any group of the app
    /// (`setnospeaking`) until the given time (4294967295: for good); the
    /// service answers 10017 before any callback.
    #[error("{member} may not speak in any group until {until} (setnospeaking)")]
    NoSpeaking {
        /// The account.
        member: String,
        /// When the silence ends.
        until: u64,
    },
    /// The member is banned until the given time.
    #[error("{member} is banned from {group} until {until}")]
    Banned {
        /// The group.
        group: String,
        /// The member.
        member: String,
        /// When the ban ends (Unix seconds, emulator clock).
        until: u64,
    },
    /// No such group.
    #[error("group {0} does not exist")]
    NoSuchGroup(String),
    /// The group's message rate (`--group-msg-rate`) is spent; the service
    /// answers 10023.
    #[error("{group} is over its {per_sec} messages a second")]
    MessageRate {
        /// The group.
        group: String,
        /// Its limit.
        per_sec: u32,
    },
    /// The app's before-join (or before-send) callback refused, with its
    /// code (10016, 10100-10200, or 80003) and text.
    #[error("refused by the app's callback ({code}): {info}")]
    Refused {
        /// The code the client gets.
        code: i64,
        /// The text the client gets.
        info: String,
    },
}

/// Every group, and the number of the next generated group ID.
#[derive(Debug)]
pub(super) struct State {
    pub(super) groups: HashMap<String, Group>,
    pub(super) next_group: u64,
    /// App-wide silences (`setnospeaking`), by account: when the group
    /// and the one-to-one silence end (4294967295 for good).
    pub(super) nospeak: HashMap<String, NoSpeak>,
}

/// One account's app-wide silence: when each ends (Unix seconds,
/// 4294967295 for good; 0 for none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct NoSpeak {
    pub(super) group_until: u64,
    pub(super) c2c_until: u64,
}

impl Default for State {
    fn default() -> Self {
        State {
            groups: HashMap::new(),
            next_group: 1,
            nospeak: HashMap::new(),
        }
    }
}
