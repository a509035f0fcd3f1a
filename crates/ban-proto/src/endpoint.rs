//! The endpoint catalogue: paths, per-call limits, rates, regions and query
//! parameter names. Pure data.

use std::fmt;
use std::str::FromStr;

/// One REST command: where it lives and what it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// The service, e.g. `group_open_http_svc`.
    pub service: &'static str,
    /// The command, e.g. `ban_group_member`.
    pub command: &'static str,
    /// The path without a leading slash, e.g. `v4/group_open_http_svc/ban_group_member`.
    pub path: &'static str,
    /// The most members one call may name, where the command takes a list.
    pub max_members: Option<usize>,
    /// The documented call rate per second, per app.
    pub max_calls_per_sec: u32,
}

macro_rules! endpoint {
    ($service:literal, $command:literal, $max_members:expr, $rate:literal) => {
        Endpoint {
            service: $service,
            command: $command,
            path: concat!("v4/", $service, "/", $command),
            max_members: $max_members,
            max_calls_per_sec: $rate,
        }
    };
}

impl Endpoint {
    /// `ban_group_member`: 1..=20 members, 200 calls/s.
    pub const BAN_GROUP_MEMBER: Endpoint =
        endpoint!("group_open_http_svc", "ban_group_member", Some(20), 200);
    /// `unban_group_member`: 1..=20 members, 200 calls/s.
    pub const UNBAN_GROUP_MEMBER: Endpoint =
        endpoint!("group_open_http_svc", "unban_group_member", Some(20), 200);
    /// `get_group_ban_member`: pages of at most 100, 200 calls/s.
    pub const GET_GROUP_BAN_MEMBER: Endpoint =
        endpoint!("group_open_http_svc", "get_group_ban_member", None, 200);
    /// `forbid_send_msg` (mute): 1..=500 members, 200 calls/s.
    pub const FORBID_SEND_MSG: Endpoint =
        endpoint!("group_open_http_svc", "forbid_send_msg", Some(500), 200);
    /// `get_group_muted_account`: the whole list at once, 200 calls/s.
    pub const GET_GROUP_MUTED_ACCOUNT: Endpoint =
        endpoint!("group_open_http_svc", "get_group_muted_account", None, 200);
    /// `create_group` (used to set up tests and demos).
    pub const CREATE_GROUP: Endpoint = endpoint!("group_open_http_svc", "create_group", None, 200);
    /// `send_group_msg` (used to show what a ban does).
    pub const SEND_GROUP_MSG: Endpoint =
        endpoint!("group_open_http_svc", "send_group_msg", None, 200);

    /// `modify_group_base_info` (this crate sends only `MuteAllMember`:
    /// freeze or thaw a room), 200 calls/s.
    pub const MODIFY_GROUP_BASE_INFO: Endpoint =
        endpoint!("group_open_http_svc", "modify_group_base_info", None, 200);
    /// `get_online_member_num`: a room's online count, 200 calls/s.
    pub const GET_ONLINE_MEMBER_NUM: Endpoint =
        endpoint!("group_open_http_svc", "get_online_member_num", None, 200);

    /// `get_members` of a live room (or a Community): its latest 1,000
    /// online members with their `JoinTime`, `Timestamp` paging; 200
    /// calls/s.
    pub const GET_ROOM_MEMBERS: Endpoint =
        endpoint!("group_open_avchatroom_http_svc", "get_members", None, 200);
    /// `im_open_login_svc/kick`: one account logged out everywhere, 200
    /// calls/s.
    pub const KICK: Endpoint = endpoint!("im_open_login_svc", "kick", None, 200);
    /// `setnospeaking`: the app-wide mute of one account (its answer has
    /// no `ActionStatus`), 200 calls/s.
    pub const SET_NO_SPEAKING: Endpoint = endpoint!("openconfigsvr", "setnospeaking", None, 200);
    /// `getnospeaking`: what is left of one account's app-wide mute (no
    /// `ActionStatus` either), 200 calls/s.
    pub const GET_NO_SPEAKING: Endpoint = endpoint!("openconfigsvr", "getnospeaking", None, 200);

    /// The three ban commands this crate types.
    pub const BAN_COMMANDS: &'static [&'static Endpoint] = &[
        &Self::BAN_GROUP_MEMBER,
        &Self::UNBAN_GROUP_MEMBER,
        &Self::GET_GROUP_BAN_MEMBER,
    ];

    /// Every command in the catalogue.
    pub const ALL: &'static [&'static Endpoint] = &[
        &Self::BAN_GROUP_MEMBER,
        &Self::UNBAN_GROUP_MEMBER,
        &Self::GET_GROUP_BAN_MEMBER,
        &Self::FORBID_SEND_MSG,
        &Self::GET_GROUP_MUTED_ACCOUNT,
        &Self::CREATE_GROUP,
        &Self::SEND_GROUP_MSG,
        &Self::MODIFY_GROUP_BASE_INFO,
        &Self::GET_ONLINE_MEMBER_NUM,
        &Self::SET_NO_SPEAKING,
        &Self::GET_NO_SPEAKING,
        &Self::GET_ROOM_MEMBERS,
        &Self::KICK,
    ];

    /// Looks a command up by its path (with or without a leading `/`).
    pub fn by_path(path: &str) -> Option<&'static Endpoint> {
        let path = path.strip_prefix('/').unwrap_or(path);
        Self::ALL.iter().copied().find(|e| e.path == path)
    }
}

/// Names of the query parameters every call carries.
pub mod query {
    /// The app's SDKAppID.
    pub const SDKAPPID: &str = "sdkappid";
    /// The app admin account.
    pub const IDENTIFIER: &str = "identifier";
    /// The admin's UserSig.
    pub const USERSIG: &str = "usersig";
    /// A uint32 identifying one request.
    pub const RANDOM: &str = "random";
    /// The body format.
    pub const CONTENTTYPE: &str = "contenttype";
    /// The only `contenttype` value.
    pub const CONTENTTYPE_JSON: &str = "json";
}

/// A data centre, with its API domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Region {
    /// China: `console.tim.qq.com`.
    China,
    /// Singapore: `adminapisgp.im.qcloud.com`.
    Singapore,
    /// Seoul: `adminapikr.im.qcloud.com`.
    Seoul,
    /// Frankfurt: `adminapiger.im.qcloud.com`.
    Frankfurt,
    /// Silicon Valley: `adminapiusa.im.qcloud.com`.
    SiliconValley,
    /// Jakarta: `adminapiidn.im.qcloud.com`.
    Jakarta,
    /// Tokyo: `adminapijpn.im.qcloud.com` (on the current, 2025 pages).
    Tokyo,
    /// Mumbai: `adminapiind.im.qcloud.com`. Listed only on 2024 pages, not
    /// on the current ones: kept for apps created there.
    Mumbai,
}

impl Region {
    /// Every region.
    pub const ALL: &'static [Region] = &[
        Region::China,
        Region::Singapore,
        Region::Seoul,
        Region::Frankfurt,
        Region::SiliconValley,
        Region::Jakarta,
        Region::Tokyo,
        Region::Mumbai,
    ];

    /// The documented backup domain, for when the primary cannot be
    /// resolved or connected (REST API overview, 1047/34620).
    pub const fn backup_domain(self) -> &'static str {
        match self {
            Region::China => "adminapi.my-imcloud.com",
            Region::Singapore => "adminapisgp.my-imcloud.com",
            Region::Seoul => "adminapikr.my-imcloud.com",
            Region::Frankfurt => "adminapiger.my-imcloud.com",
            Region::SiliconValley => "adminapiusa.my-imcloud.com",
            Region::Jakarta => "adminapiidn.my-imcloud.com",
            Region::Tokyo => "adminapijpn.my-imcloud.com",
            Region::Mumbai => "adminapiind.my-imcloud.com",
        }
    }

    /// `https://` and the backup domain.
    pub fn backup_url(self) -> String {
        format!("https://{}", self.backup_domain())
    }

    /// The API domain.
    pub const fn domain(self) -> &'static str {
        match self {
            Region::China => "console.tim.qq.com",
            Region::Singapore => "adminapisgp.im.qcloud.com",
            Region::Seoul => "adminapikr.im.qcloud.com",
            Region::Frankfurt => "adminapiger.im.qcloud.com",
            Region::SiliconValley => "adminapiusa.im.qcloud.com",
            Region::Jakarta => "adminapiidn.im.qcloud.com",
            Region::Tokyo => "adminapijpn.im.qcloud.com",
            Region::Mumbai => "adminapiind.im.qcloud.com",
        }
    }

    /// The short name used in configuration (`TIM_REGION`, `--region`).
    pub const fn name(self) -> &'static str {
        match self {
            Region::China => "china",
            Region::Singapore => "singapore",
            Region::Seoul => "seoul",
            Region::Frankfurt => "frankfurt",
            Region::SiliconValley => "silicon-valley",
            Region::Jakarta => "jakarta",
            Region::Tokyo => "tokyo",
            Region::Mumbai => "mumbai",
        }
    }

    /// The base URL, `https://{domain}`.
    pub fn base_url(self) -> String {
        format!("https://{}", self.domain())
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A region name that is not in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("region {given:?} is unknown; expected one of china, singapore, seoul, frankfurt, silicon-valley, jakarta, tokyo, mumbai")]
pub struct ParseRegionError {
    /// What was given.
    pub given: String,
}

impl FromStr for Region {
    type Err = ParseRegionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        Region::ALL
            .iter()
            .copied()
            .find(|r| r.name() == norm || r.domain() == norm)
            .ok_or_else(|| ParseRegionError {
                given: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_lookup() {
        assert_eq!(
            Endpoint::BAN_GROUP_MEMBER.path,
            "v4/group_open_http_svc/ban_group_member"
        );
        assert_eq!(
            Endpoint::by_path("/v4/group_open_http_svc/get_group_ban_member"),
            Some(&Endpoint::GET_GROUP_BAN_MEMBER)
        );
        assert_eq!(Endpoint::by_path("v4/group_open_http_svc/nope"), None);
        for e in Endpoint::BAN_COMMANDS {
            assert_eq!(e.max_calls_per_sec, 200);
        }
    }

    #[test]
    fn regions_parse_by_name_and_domain() {
        for &r in Region::ALL {
            assert_eq!(r.name().parse::<Region>().unwrap(), r);
            assert_eq!(r.domain().parse::<Region>().unwrap(), r);
        }
        assert_eq!(
            "Silicon Valley".parse::<Region>().unwrap(),
            Region::SiliconValley
        );
        assert!("mars"
            .parse::<Region>()
            .unwrap_err()
            .to_string()
            .contains("\"mars\""));
    }
}
