//! The job vocabulary every engine and store speaks: what a job does
//! ([`JobAction`], [`JobSpec`]) and where it stands ([`JobState`]). The
//! local engine, its journal and the fleet's Redis store all read and write
//! these types, through serde, and nothing else.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use ban_proto::{Description, GroupId, SettingError};
use ban_transport::Priority;

use crate::input::InputError;

/// What a bulk job does, by name (`ban`, `unban`, `mute`, `unmute`,
/// `kick`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// `ban_group_member`.
    Ban,
    /// `unban_group_member`.
    Unban,
    /// `forbid_send_msg` with a duration.
    Mute,
    /// `forbid_send_msg` with `MuteTime` 0.
    Unmute,
    /// `im_open_login_svc/kick`: logged out everywhere, one account a call
    /// (the job's group only names where the accounts came from).
    Kick,
}

impl Action {
    /// Every action.
    pub const ALL: &'static [Action] = &[
        Action::Ban,
        Action::Unban,
        Action::Mute,
        Action::Unmute,
        Action::Kick,
    ];

    /// The report's key for the members done, and the past tense people
    /// read: `banned`, `unbanned`, `muted`, `unmuted`, `kicked`.
    pub const fn done_key(self) -> &'static str {
        match self {
            Action::Ban => "banned",
            Action::Unban => "unbanned",
            Action::Mute => "muted",
            Action::Unmute => "unmuted",
            Action::Kick => "kicked",
        }
    }

    /// Its name, as serialized: `ban`, `unban`, `mute`, `unmute`, `kick`.
    pub const fn name(self) -> &'static str {
        match self {
            Action::Ban => "ban",
            Action::Unban => "unban",
            Action::Mute => "mute",
            Action::Unmute => "unmute",
            Action::Kick => "kick",
        }
    }

    /// The command it calls.
    pub const fn endpoint(self) -> &'static ban_proto::Endpoint {
        match self {
            Action::Ban => &ban_proto::Endpoint::BAN_GROUP_MEMBER,
            Action::Unban => &ban_proto::Endpoint::UNBAN_GROUP_MEMBER,
            Action::Mute | Action::Unmute => &ban_proto::Endpoint::FORBID_SEND_MSG,
            Action::Kick => &ban_proto::Endpoint::KICK,
        }
    }

    /// The action this one undoes: an unban undoes bans, an unmute mutes.
    pub const fn undoes(self) -> Option<Action> {
        match self {
            Action::Unban => Some(Action::Ban),
            Action::Unmute => Some(Action::Mute),
            Action::Ban | Action::Mute | Action::Kick => None,
        }
    }

    /// The most members one call of it may name: 20 for ban and unban,
    /// 500 for mute and unmute, 1 for kick.
    pub const fn batch_max(self) -> usize {
        match self {
            Action::Ban | Action::Unban => ban_proto::MemberList::MAX,
            Action::Mute | Action::Unmute => ban_proto::MuteMemberList::MAX,
            Action::Kick => 1,
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Action {
    type Err = ban_proto::SettingError;
    fn from_str(s: &str) -> Result<Self, ban_proto::SettingError> {
        Action::ALL
            .iter()
            .copied()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                ban_proto::SettingError::unknown("action", s, Action::ALL.iter().map(|a| a.name()))
            })
    }
}

/// What a job does, with the data that action needs. A ban carries the
/// absolute end of the ban (Unix seconds), so every call of the job,
/// whenever and wherever it is sent, converges on the same `BannedUntil`.
///
/// Serialized with an `action` tag:
/// `{"action":"ban","ends_at":1790000000,"description":"raid"}`,
/// `{"action":"unban"}`, `{"action":"mute","ends_at":"permanent"}`,
/// `{"action":"unmute"}`. An unknown action is refused when decoded, never
/// taken for another.
///
/// ```
/// use ban_facade::JobAction;
///
/// let ban: JobAction = serde_json::from_str(r#"{"action":"ban","ends_at":1790000000}"#)?;
/// assert_eq!(ban, JobAction::Ban { ends_at: 1790000000, description: None });
/// assert!(serde_json::from_str::<JobAction>(r#"{"action":"shadowban"}"#).is_err());
/// let kick: JobAction = serde_json::from_str(r#"{"action":"kick"}"#)?;
/// assert_eq!(kick.kind(), ban_facade::Action::Kick);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum JobAction {
    /// `ban_group_member` until `ends_at`.
    Ban {
        /// When the bans end, Unix seconds.
        ends_at: u64,
        /// Why, shown to the members (at most 1000 bytes).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    /// `unban_group_member`.
    Unban,
    /// `forbid_send_msg` until `ends_at`: the members stay and cannot send.
    Mute {
        /// When the mutes end: Unix seconds, or `"permanent"`.
        ends_at: MuteEnd,
    },
    /// `forbid_send_msg` with `MuteTime` 0: lifts the mutes.
    Unmute,
    /// `im_open_login_svc/kick`, one account a call: every UserSig it
    /// holds stops working.
    Kick,
}

impl JobAction {
    /// The report's action.
    pub fn kind(&self) -> Action {
        match self {
            JobAction::Ban { .. } => Action::Ban,
            JobAction::Unban => Action::Unban,
            JobAction::Mute { .. } => Action::Mute,
            JobAction::Unmute => Action::Unmute,
            JobAction::Kick => Action::Kick,
        }
    }

    /// When what it puts on ends, Unix seconds: a ban's end or a mute's
    /// time; None for a permanent mute, an unban or an unmute.
    pub fn ends_at(&self) -> Option<u64> {
        match self {
            JobAction::Ban { ends_at, .. } => Some(*ends_at),
            JobAction::Mute {
                ends_at: MuteEnd::At(t),
            } => Some(*t),
            _ => None,
        }
    }
}

/// When a mute ends: at a time, or never. Serialized as the Unix seconds or
/// as `"permanent"`; a time at or past 4294967295 is refused when decoded
/// (that number is the service's "permanent", never a time).
///
/// ```
/// use ban_facade::MuteEnd;
///
/// assert_eq!(serde_json::to_string(&MuteEnd::Permanent).unwrap(), r#""permanent""#);
/// assert_eq!(serde_json::from_str::<MuteEnd>("1790000000").unwrap(), MuteEnd::At(1790000000));
/// assert!(serde_json::from_str::<MuteEnd>(r#""forever""#).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MuteEnd {
    /// Unix seconds.
    At(u64),
    /// Never (`MuteTime` 4294967295).
    Permanent,
}

impl MuteEnd {
    /// The word a permanent end is written as.
    pub const PERMANENT: &'static str = "permanent";
}

impl fmt::Display for MuteEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MuteEnd::At(t) => write!(f, "{t}"),
            MuteEnd::Permanent => f.write_str(Self::PERMANENT),
        }
    }
}

impl Serialize for MuteEnd {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MuteEnd::At(t) => s.serialize_u64(*t),
            MuteEnd::Permanent => s.serialize_str(Self::PERMANENT),
        }
    }
}

impl<'de> Deserialize<'de> for MuteEnd {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            At(u64),
            Word(String),
        }
        match Repr::deserialize(d)? {
            Repr::At(t) if t < u64::from(u32::MAX) => Ok(MuteEnd::At(t)),
            Repr::At(t) => Err(serde::de::Error::custom(format!(
                "a mute end of {t} is not a time; write \"permanent\""
            ))),
            Repr::Word(w) if w == Self::PERMANENT => Ok(MuteEnd::Permanent),
            Repr::Word(w) => Err(serde::de::Error::custom(format!(
                "a mute end is Unix seconds or \"permanent\"; got \"{}\"",
                ban_proto::escape_bounded(&w, 32)
            ))),
        }
    }
}

/// A job: the group and what to do to its members (the members travel
/// apart, in batches).
///
/// ```
/// use ban_facade::{JobAction, JobSpec};
///
/// let spec = JobSpec::new("@TGS#aJRGC4MH6", JobAction::Unban)?;
/// let json = serde_json::to_string(&spec).unwrap();
/// assert_eq!(json, r#"{"group":"@TGS#aJRGC4MH6","action":"unban"}"#);
/// assert_eq!(serde_json::from_str::<JobSpec>(&json).unwrap(), spec);
/// # Ok::<(), ban_facade::InputError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JobSpec {
    /// The group.
    pub group: String,
    /// What the job does.
    #[serde(flatten)]
    pub action: JobAction,
    /// Its lane at the rate limiter; none: the store's default (normal for
    /// a local job, bulk for a fleet job).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
}

impl JobSpec {
    /// A job, its group and description checked as a call would check them.
    pub fn new(group: &str, action: JobAction) -> Result<JobSpec, InputError> {
        let spec = JobSpec {
            group: group.to_owned(),
            action,
            priority: None,
        };
        spec.validate()?;
        Ok(spec)
    }

    /// The same job in `priority`'s lane.
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Checks the group ID and the description (a decoded spec comes from
    /// outside: Redis, a file).
    pub fn validate(&self) -> Result<(), InputError> {
        GroupId::new(self.group.as_str())?;
        if let JobAction::Ban {
            description: Some(d),
            ..
        } = &self.action
        {
            Description::new(d.as_str())?;
        }
        Ok(())
    }
}

/// Where a job stands.
///
/// ```
/// use ban_facade::JobState;
///
/// let state: JobState = "paused".parse()?;
/// assert_eq!(state, JobState::Paused);
/// assert_eq!(state.to_string(), "paused");
/// assert!("stopped".parse::<JobState>().is_err());
/// # Ok::<(), ban_facade::SettingError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobState {
    /// Members are being sent.
    Running,
    /// Stopped by a failure of the job's (credentials, group, ...) until
    /// someone resumes it.
    Paused,
    /// Stopped for good by a person or by an unban of the same group.
    Cancelled,
    /// Every member is done or failed.
    Done,
}

impl JobState {
    /// Every state.
    pub const ALL: &'static [JobState] = &[
        JobState::Running,
        JobState::Paused,
        JobState::Cancelled,
        JobState::Done,
    ];

    /// Its name, as serialized.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Paused => "paused",
            JobState::Cancelled => "cancelled",
            JobState::Done => "done",
        }
    }

    /// Whether the job will change no more.
    pub const fn is_final(self) -> bool {
        matches!(self, JobState::Cancelled | JobState::Done)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = SettingError;
    fn from_str(s: &str) -> Result<Self, SettingError> {
        JobState::ALL
            .iter()
            .copied()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                SettingError::unknown("job state", s, JobState::ALL.iter().map(|s| s.as_str()))
            })
    }
}
