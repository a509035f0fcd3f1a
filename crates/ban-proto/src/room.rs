//! A live room's switches and counts, for a raid response:
//! `modify_group_base_info` with `MuteAllMember` (every member but the
//! owner and the admins silenced at once: one call each way, whatever the
//! room's size) and `get_online_member_num` (the room's online count,
//! refreshed by the service every 10 s).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::codes::ErrorCode;
use crate::endpoint::Endpoint;
use crate::message::{null_as_default, ActionStatus, Command, Envelope};
use crate::validate::GroupId;

/// `MuteAllMember`: `"On"` silences every member but the owner and the
/// admins; `"Off"` lets them speak again.
///
/// ```
/// use ban_proto::MuteAll;
///
/// assert_eq!(serde_json::to_string(&MuteAll::On).unwrap(), r#""On""#);
/// assert_eq!(serde_json::from_str::<MuteAll>(r#""Off""#).unwrap(), MuteAll::Off);
/// assert!(serde_json::from_str::<MuteAll>(r#""on""#).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MuteAll {
    /// Every member but the owner and the admins is silenced.
    On,
    /// Members speak again.
    Off,
}

impl MuteAll {
    /// `On` when `frozen`.
    pub fn from_frozen(frozen: bool) -> MuteAll {
        if frozen {
            MuteAll::On
        } else {
            MuteAll::Off
        }
    }
}

impl fmt::Display for MuteAll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MuteAll::On => "On",
            MuteAll::Off => "Off",
        })
    }
}

/// `modify_group_base_info` with only `MuteAllMember` set: freezes (or
/// thaws) a room. The command sets other group fields too (name,
/// introduction, ...); this type sends none of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MuteAllRequest<'a> {
    /// The group.
    #[serde(rename = "GroupId")]
    pub group_id: GroupId<'a>,
    /// On or off.
    #[serde(rename = "MuteAllMember")]
    pub mute_all_member: MuteAll,
}

impl Command for MuteAllRequest<'_> {
    const ENDPOINT: &'static Endpoint = &Endpoint::MODIFY_GROUP_BASE_INFO;
    type Response = Envelope;
}

/// `get_online_member_num`: how many members of a room are online.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnlineCountRequest<'a> {
    /// The group (a live room; other types need the Pro edition and a
    /// console switch).
    #[serde(rename = "GroupId")]
    pub group_id: GroupId<'a>,
}

impl Command for OnlineCountRequest<'_> {
    const ENDPOINT: &'static Endpoint = &Endpoint::GET_ONLINE_MEMBER_NUM;
    type Response = OnlineCountResponse;
}

/// The answer to `get_online_member_num`. Unknown fields are ignored; a
/// `null` `ErrorInfo` reads as empty, a missing count as 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnlineCountResponse {
    /// `"OK"` or `"FAIL"`.
    #[serde(rename = "ActionStatus")]
    pub action_status: ActionStatus,
    /// 0 on success.
    #[serde(rename = "ErrorCode")]
    pub error_code: ErrorCode,
    /// A human-readable reason; empty on success.
    #[serde(rename = "ErrorInfo", default, deserialize_with = "null_as_default")]
    pub error_info: String,
    /// Members online (the service refreshes it every 10 s).
    #[serde(rename = "OnlineMemberNum", default)]
    pub online: u64,
}

crate::message::service_response!(OnlineCountResponse);

/// `group_open_avchatroom_http_svc/get_members`: a live room's (or a
/// Community's) online members, newest first, with when each joined:
/// `Timestamp` 0 for the first page, then each answer's `NextTimestamp`
/// until it is 0. The service keeps the latest 1,000 (30 without the
/// edition and the console switch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomMembersRequest<'a> {
    /// The group.
    #[serde(rename = "GroupId")]
    pub group_id: GroupId<'a>,
    /// 0 for the first page, else the last answer's `NextTimestamp`.
    #[serde(rename = "Timestamp")]
    pub timestamp: u64,
    /// Only members with this mark (set with `modify_user_info`).
    #[serde(rename = "Mark", default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<u64>,
}

impl Command for RoomMembersRequest<'_> {
    const ENDPOINT: &'static Endpoint = &Endpoint::GET_ROOM_MEMBERS;
    type Response = RoomMembersResponse;
}

/// One online member of a room.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RoomMember {
    /// The account.
    #[serde(rename = "Member_Account")]
    pub member_account: String,
    /// When it joined, Unix seconds.
    #[serde(rename = "JoinTime", default)]
    pub join_time: u64,
}

/// The answer to `get_members`. Unknown fields (`NickName`, `Avatar`, ...)
/// are ignored; a `null` list reads as empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomMembersResponse {
    /// `"OK"` or `"FAIL"`.
    #[serde(rename = "ActionStatus")]
    pub action_status: ActionStatus,
    /// 0 on success.
    #[serde(rename = "ErrorCode")]
    pub error_code: ErrorCode,
    /// A human-readable reason; empty on success.
    #[serde(rename = "ErrorInfo", default, deserialize_with = "null_as_default")]
    pub error_info: String,
    /// This page's members.
    #[serde(rename = "MemberList", default, deserialize_with = "null_as_default")]
    pub members: Vec<RoomMember>,
    /// The next page's `Timestamp`; 0 after the last page.
    #[serde(rename = "NextTimestamp", default)]
    pub next_timestamp: u64,
}

crate::message::service_response!(RoomMembersResponse);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::ServiceResponse;

    #[test]
    fn the_freeze_body_is_the_group_and_the_switch_only() {
        let req = MuteAllRequest {
            group_id: GroupId::new("@TGS#aROOM").unwrap(),
            mute_all_member: MuteAll::On,
        };
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            serde_json::json!({"GroupId": "@TGS#aROOM", "MuteAllMember": "On"})
        );
    }

    #[test]
    fn a_members_page_reads_the_documented_sample() {
        let r: RoomMembersResponse = serde_json::from_str(
            r#"{"ActionStatus": "OK","ErrorCode": 0,"ErrorInfo": "","MemberList": [{"JoinTime": 1657773110,"Member_Account": "teacher2","NickName": "t02","Avatar": "http://www.example.com/teacher2.jpg"}],"NextTimestamp": 0}"#,
        )
        .unwrap();
        assert_eq!(r.members[0].member_account, "teacher2");
        assert_eq!((r.members[0].join_time, r.next_timestamp), (1657773110, 0));
        let req = RoomMembersRequest {
            group_id: GroupId::new("@TGS#a6I4ZUUGO").unwrap(),
            timestamp: 0,
            mark: None,
        };
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"GroupId":"@TGS#a6I4ZUUGO","Timestamp":0}"#
        );
    }

    #[test]
    fn an_online_count_reads_with_or_without_its_fields() {
        let r: OnlineCountResponse = serde_json::from_str(
            r#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":null,"OnlineMemberNum":37,"Extra":1}"#,
        )
        .unwrap();
        assert_eq!(r.online, 37);
        assert!(r.is_success());
        let r: OnlineCountResponse =
            serde_json::from_str(r#"{"ActionStatus":"FAIL","ErrorCode":10010,"ErrorInfo":"x"}"#)
                .unwrap();
        assert_eq!((r.online, r.error_code.code()), (0, 10010));
    }
}
