//! The membership callbacks: joins, join applications and exits.

use serde::{Deserialize, Serialize};

use crate::tolerant::{opt_u64, or_default};

/// One new member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewMember {
    /// The account.
    #[serde(rename = "Member_Account")]
    pub member_account: String,
}

impl NewMember {
    /// A new member.
    pub fn new(account: &str) -> NewMember {
        NewMember {
            member_account: account.to_owned(),
        }
    }
}

/// `Group.CallbackAfterNewMemberJoin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MemberJoin {
    /// The group.
    #[serde(rename = "GroupId")]
    pub group_id: String,
    /// The group's type.
    #[serde(rename = "Type", default, with = "or_default")]
    pub group_type: String,
    /// How they joined (Apply, Invited, ...).
    #[serde(rename = "JoinType", default, with = "or_default")]
    pub join_type: String,
    /// The new members.
    #[serde(rename = "NewMemberList", default, with = "or_default")]
    pub new_members: Vec<NewMember>,
    /// When, milliseconds.
    #[serde(
        rename = "EventTime",
        default,
        with = "opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub event_time: Option<u64>,
}

impl MemberJoin {
    /// `members` joined `group_id`.
    pub fn new(group_id: &str, group_type: &str, members: &[&str], event_time_ms: u64) -> Self {
        MemberJoin {
            group_id: group_id.to_owned(),
            group_type: group_type.to_owned(),
            join_type: "Apply".to_owned(),
            new_members: members.iter().map(|m| NewMember::new(m)).collect(),
            event_time: Some(event_time_ms),
        }
    }
}

/// `Group.CallbackBeforeApplyJoinGroup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JoinApply {
    /// The group.
    #[serde(rename = "GroupId")]
    pub group_id: String,
    /// The group's type.
    #[serde(rename = "Type", default, with = "or_default")]
    pub group_type: String,
    /// Who asks to join.
    #[serde(rename = "Requestor_Account")]
    pub requestor_account: String,
}

impl JoinApply {
    /// `requestor` asks to join `group_id`.
    pub fn new(group_id: &str, group_type: &str, requestor: &str) -> Self {
        JoinApply {
            group_id: group_id.to_owned(),
            group_type: group_type.to_owned(),
            requestor_account: requestor.to_owned(),
        }
    }
}

/// `Group.CallbackAfterMemberExit`: members left a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MemberExit {
    /// The group.
    #[serde(rename = "GroupId")]
    pub group_id: String,
    /// The group's type.
    #[serde(rename = "Type", default, with = "or_default")]
    pub group_type: String,
    /// How they left: `Quit` (themselves), `Kicked`, ...
    #[serde(rename = "ExitType", default, with = "or_default")]
    pub exit_type: String,
    /// Who left.
    #[serde(rename = "ExitMemberList", default, with = "or_default")]
    pub exit_members: Vec<NewMember>,
    /// When, milliseconds.
    #[serde(
        rename = "EventTime",
        default,
        with = "opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub event_time: Option<u64>,
}

impl MemberExit {
    /// `members` left `group_id` by `exit_type`.
    pub fn new(
        group_id: &str,
        group_type: &str,
        exit_type: &str,
        members: &[&str],
        event_time_ms: u64,
    ) -> Self {
        MemberExit {
            group_id: group_id.to_owned(),
            group_type: group_type.to_owned(),
            exit_type: exit_type.to_owned(),
            exit_members: members.iter().map(|m| NewMember::new(m)).collect(),
            event_time: Some(event_time_ms),
        }
    }
}
