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
