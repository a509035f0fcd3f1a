//! Mute, the softer action beside ban: the member stays in the group and
//! keeps receiving its messages, but cannot send (10017) until the mute
//! ends. `forbid_send_msg` sets or lifts it; `get_group_muted_account`
//! lists the muted members, all at once.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::codes::ErrorCode;
use crate::endpoint::Endpoint;
use crate::message::{null_as_default, ActionStatus, Command, Envelope};
use crate::validate::{GroupId, MuteMemberList};

/// How long a mute lasts: `MuteTime`, uint32 seconds, where 0 lifts a mute
/// and 4294967295 makes it permanent. Say which with the constants, never
/// with a number at the call site.
///
/// ```
/// use ban_proto::MuteDuration;
///
/// assert_eq!(serde_json::to_string(&MuteDuration::PERMANENT).unwrap(), "4294967295");
/// assert!(MuteDuration::LIFT.is_lift());
/// assert_eq!(MuteDuration::from_secs(600).to_string(), "600 s");
/// assert_eq!(MuteDuration::PERMANENT.to_string(), "permanent");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MuteDuration(u32);

impl MuteDuration {
    /// Lifts the mute (`MuteTime` 0).
    pub const LIFT: MuteDuration = MuteDuration(0);
    /// Mutes for good (`MuteTime` 4294967295).
    pub const PERMANENT: MuteDuration = MuteDuration(u32::MAX);

    /// A mute of `secs` seconds (0 lifts, `u32::MAX` is permanent).
    pub const fn from_secs(secs: u32) -> MuteDuration {
        MuteDuration(secs)
    }

    /// The seconds sent as `MuteTime`.
    pub const fn as_secs(self) -> u32 {
        self.0
    }

    /// Whether it lifts a mute.
    pub const fn is_lift(self) -> bool {
        self.0 == 0
    }

    /// Whether it is permanent.
    pub const fn is_permanent(self) -> bool {
        self.0 == u32::MAX
    }
}

impl fmt::Display for MuteDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MuteDuration::LIFT => f.write_str("lift"),
            MuteDuration::PERMANENT => f.write_str("permanent"),
            MuteDuration(s) => write!(f, "{s} s"),
        }
    }
}

/// `forbid_send_msg`: mute (or, with [`MuteDuration::LIFT`], unmute) 1 to
/// 500 members at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MuteRequest<'a> {
    /// The group.
    #[serde(rename = "GroupId")]
    pub group_id: GroupId<'a>,
    /// The members, 1 to 500.
    #[serde(rename = "Members_Account")]
    pub members: MuteMemberList<'a>,
    /// How long.
    #[serde(rename = "MuteTime")]
    pub mute_time: MuteDuration,
    /// A Community group's topic, when the mute is for one topic.
    #[serde(rename = "TopicId", default, skip_serializing_if = "Option::is_none")]
    pub topic_id: Option<String>,
}

impl Command for MuteRequest<'_> {
    const ENDPOINT: &'static Endpoint = &Endpoint::FORBID_SEND_MSG;
    type Response = Envelope;
}

/// `get_group_muted_account`: every muted member of a group (no paging).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MutedListRequest<'a> {
    /// The group.
    #[serde(rename = "GroupId")]
    pub group_id: GroupId<'a>,
    /// A Community group's topic.
    #[serde(rename = "TopicId", default, skip_serializing_if = "Option::is_none")]
    pub topic_id: Option<String>,
}

impl Command for MutedListRequest<'_> {
    const ENDPOINT: &'static Endpoint = &Endpoint::GET_GROUP_MUTED_ACCOUNT;
    type Response = MutedListResponse;
}

/// One entry of `MutedAccountList`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MutedAccount {
    /// The muted member.
    #[serde(rename = "Member_Account")]
    pub member_account: String,
    /// When the mute ends, Unix seconds; 4294967295 for a permanent one
    /// (a u64: a 32-bit signed integer overflows on it).
    #[serde(rename = "MutedUntil")]
    pub muted_until: u64,
}

/// The answer to `get_group_muted_account`. Unknown fields are ignored; a
/// `null` list or `ErrorInfo` reads as empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MutedListResponse {
    /// `"OK"` or `"FAIL"`.
    #[serde(rename = "ActionStatus")]
    pub action_status: ActionStatus,
    /// 0 on success.
    #[serde(rename = "ErrorCode")]
    pub error_code: ErrorCode,
    /// A human-readable reason; empty on success.
    #[serde(rename = "ErrorInfo", default, deserialize_with = "null_as_default")]
    pub error_info: String,
    /// The group, as the service echoes it.
    #[serde(rename = "GroupId", default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Every muted member.
    #[serde(
        rename = "MutedAccountList",
        default,
        deserialize_with = "null_as_default"
    )]
    pub muted: Vec<MutedAccount>,
}

crate::message::service_response!(MutedListResponse);
