//! A room's switch, count and members: `modify_group_base_info` (the
//! emulator keeps `MuteAllMember`, the raid freeze; the command's other
//! fields are taken and not kept), `get_online_member_num` and
//! `get_members` (every member of the room is online: the emulator has no
//! connections to count).

use ban_proto::{
    ActionStatus, Envelope, ErrorCode, MuteAll, OnlineCountResponse, RoomMember,
    RoomMembersResponse,
};
use serde::Deserialize;
use serde_json::Value;

use super::api::{check_shape, decode};
use super::state::Group;
use super::{Answer, Core};
use crate::config::GroupType;

/// The part of a `modify_group_base_info` body the emulator keeps.
#[derive(Deserialize)]
struct ModifyBaseInfo {
    #[serde(rename = "GroupId")]
    group_id: String,
    #[serde(rename = "MuteAllMember", default)]
    mute_all_member: Option<MuteAll>,
}

/// The most members `get_members` keeps: the latest 1,000 online.
const ROOM_MEMBERS_KEPT: usize = 1000;
/// Members a `get_members` page holds (the English page; the Chinese one
/// says 250).
const ROOM_MEMBERS_PAGE: usize = 500;

/// The group types whose members `get_members` lists.
fn lists_members(g: &Group) -> bool {
    matches!(g.kind, GroupType::AVChatRoom | GroupType::Community)
}

impl Core {
    /// `modify_group_base_info`: `MuteAllMember` `"On"` freezes the group
    /// (every member but the app admin gets 10017), `"Off"` thaws it; any
    /// other value is 10004. Every group type has the switch.
    pub(super) fn modify_group_base_info(&self, body: Value) -> Answer {
        if let Err(a) = check_shape(&body, &["GroupId"]) {
            return a;
        }
        let req: ModifyBaseInfo = match decode(body) {
            Ok(r) => r,
            Err(a) => return a,
        };
        let res = self.with_group(&req.group_id, |g| {
            if let Some(switch) = req.mute_all_member {
                g.mute_all = switch == MuteAll::On;
            }
            Ok(())
        });
        res.map_or_else(|a| a, |()| Answer::ok(&Envelope::ok()))
    }

    /// `get_online_member_num`: a live room's members (all online here);
    /// another group type is 10007 (the service needs the Pro edition and
    /// a console switch for them; the emulator has neither).
    pub(super) fn online_member_num(&self, body: Value) -> Answer {
        if let Err(a) = check_shape(&body, &["GroupId"]) {
            return a;
        }
        let req: ban_proto::OnlineCountRequest = match decode(body) {
            Ok(r) => r,
            Err(a) => return a,
        };
        let id = req.group_id.as_str();
        let res = self.with_group(id, |g| {
            if g.kind != GroupType::AVChatRoom {
                return Err(Answer::err(
                    ErrorCode::PermissionDenied,
                    format!(
                        "{id} is a {} group: its online count needs the Pro edition and the console switch",
                        g.kind.as_str()
                    ),
                ));
            }
            Ok(g.members.len() as u64)
        });
        res.map_or_else(
            |a| a,
            |online| {
                Answer::ok(&OnlineCountResponse {
                    action_status: ActionStatus::Ok,
                    error_code: ErrorCode::Success,
                    error_info: String::new(),
                    online,
                })
            },
        )
    }

    /// `get_members`: the latest 1,000 members, newest first, 500 a page;
    /// `Timestamp` 0 starts, each page's `NextTimestamp` (the last join
    /// stamp given, in ms) goes on, 0 ends. `Mark` is taken, and since the
    /// emulator keeps no marks, every member passes it. A live room or a
    /// Community; another type is 10007.
    pub(super) fn room_members(&self, body: Value) -> Answer {
        if let Err(a) = check_shape(&body, &["GroupId", "Timestamp"]) {
            return a;
        }
        let req: ban_proto::RoomMembersRequest = match decode(body) {
            Ok(r) => r,
            Err(a) => return a,
        };
        let id = req.group_id.as_str();
        let res = self.with_group(id, |g| {
            if !lists_members(g) {
                return Err(Answer::err(
                    ErrorCode::PermissionDenied,
                    format!(
                        "{id} is a {} group: get_members lists live rooms and Communities",
                        g.kind.as_str()
                    ),
                ));
            }
            let after = req.timestamp;
            let left: Vec<(u64, &str)> = g
                .newest_members()
                .into_iter()
                .take(ROOM_MEMBERS_KEPT)
                .filter(|(ms, _)| after == 0 || *ms < after)
                .collect();
            let page = &left[..left.len().min(ROOM_MEMBERS_PAGE)];
            let next = match (left.len() > page.len(), page.last()) {
                (true, Some((ms, _))) => *ms,
                _ => 0,
            };
            Ok(RoomMembersResponse {
                action_status: ActionStatus::Ok,
                error_code: ErrorCode::Success,
                error_info: String::new(),
                members: page
                    .iter()
                    .map(|(ms, m)| RoomMember {
                        member_account: (*m).to_owned(),
                        join_time: ms / 1000,
                    })
                    .collect(),
                next_timestamp: next,
            })
        });
        res.map_or_else(|a| a, |r| Answer::ok(&r))
    }
}
