//! Mute: `forbid_send_msg` and `get_group_muted_account`, in the group
//! types that have mute.

use ban_proto::{
    ActionStatus, Envelope, ErrorCode, MemberAccount, MuteRequest, MutedListRequest,
    MutedListResponse,
};
use serde_json::Value;

use super::api::{check_shape, decode, Members};
use super::state::Group;
use super::{Answer, Core};
use crate::config::GroupType;

impl<'a> Members<'a> for MuteRequest<'a> {
    fn members(&self) -> &[MemberAccount<'a>] {
        self.members.as_slice()
    }
}

/// The group types `forbid_send_msg` and `get_group_muted_account` serve.
fn mutes_allowed(kind: GroupType) -> bool {
    !matches!(kind, GroupType::Work)
}

/// Refuses mute commands in a group type without mute (10004).
fn mutable(id: &str, g: &Group) -> Result<(), Answer> {
    if mutes_allowed(g.kind) {
        return Ok(());
    }
    Err(Answer::err(
        ErrorCode::InvalidParameter,
        format!(
            "group {id} is a {} group; mute is for Public, Meeting, AVChatRoom and Community groups",
            g.kind
        ),
    ))
}

/// Refuses a `TopicId` outside a Community group (10004: the pages give
/// no code; an emulator choice), rather than muting the whole group.
fn topic_fits(id: &str, g: &Group, topic: Option<&str>) -> Result<(), Answer> {
    match topic {
        Some(t) if g.kind != GroupType::Community => Err(Answer::err(
            ErrorCode::InvalidParameter,
            format!(
                "TopicId {:?} applies only to topic-enabled Community groups; group {id} is a {} group",
                ban_proto::escape_bounded(t, 32),
                g.kind
            ),
        )),
        _ => Ok(()),
    }
}

impl Core {
    /// `forbid_send_msg`: sets (or with `MuteTime` 0 lifts) the mute of up
    /// to 500 members, in the group types that have mute (10004 in a Work
    /// group). 4294967295 is kept as itself: permanent.
    pub(super) fn mute(&self, body: Value, now: u64) -> Answer {
        let req = match self.member_request::<MuteRequest>(
            body,
            &["GroupId", "Members_Account", "MuteTime"],
            ban_proto::MuteMemberList::MAX,
        ) {
            Ok(r) => r,
            Err(a) => return a,
        };
        let time = req.mute_time;
        let until = if time.is_permanent() {
            u64::from(u32::MAX)
        } else {
            now.saturating_add(time.as_secs().into())
                .min(u64::from(u32::MAX))
        };
        let res = self.with_group(req.group_id.as_str(), |g| {
            mutable(req.group_id.as_str(), g)?;
            topic_fits(req.group_id.as_str(), g, req.topic_id.as_deref())?;
            for m in req.members.iter() {
                if time.is_lift() {
                    g.mutes.remove(m);
                } else {
                    g.mutes.insert(m.to_owned(), until);
                }
            }
            Ok(())
        });
        res.map_or_else(|a| a, |()| Answer::ok(&Envelope::ok()))
    }

    /// `get_group_muted_account`: every mute in force, at once; a Work
    /// group answers an empty list (the page lists it; only
    /// `forbid_send_msg` is refused there).
    pub(super) fn muted_list(&self, body: Value, now: u64) -> Answer {
        if let Err(a) = check_shape(&body, &["GroupId"]) {
            return a;
        }
        let req: MutedListRequest = match decode(body) {
            Ok(r) => r,
            Err(a) => return a,
        };
        let res = self.with_group(req.group_id.as_str(), |g| {
            topic_fits(req.group_id.as_str(), g, req.topic_id.as_deref())?;
            Ok(MutedListResponse {
                action_status: ActionStatus::Ok,
                error_code: ErrorCode::Success,
                error_info: String::new(),
                group_id: Some(req.group_id.as_str().to_owned()),
                muted: g.active_mutes(now),
            })
        });
        res.map_or_else(|a| a, |r| Answer::ok(&r))
    }
}
