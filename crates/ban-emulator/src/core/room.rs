//! A room's switch and count: `modify_group_base_info` (the emulator keeps
//! `MuteAllMember`, the raid freeze; the command's other fields are taken
//! and not kept) and `get_online_member_num` (every member of the room is
//! online: the emulator has no connections to count).

use ban_proto::{ActionStatus, Envelope, ErrorCode, MuteAll, OnlineCountResponse};
use serde::Deserialize;
use serde_json::Value;

use super::api::{check_shape, decode};
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
}
