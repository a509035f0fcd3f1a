//! The REST commands: ban, unban, list, and `create_group`; mute is in
//! `mute`, `send_group_msg` in `send`.

use ban_proto::{
    ActionStatus, BanListRequest, BanListResponse, BanRequest, Endpoint, Envelope, ErrorCode,
    MemberAccount, UnbanRequest,
};
use ban_sign::Clock;
use serde_json::{json, Value};

use super::state::Group;
use super::{Answer, Core};
use crate::config::{Edition, GroupType, Paging};

/// Requests that name members.
pub(super) trait Members<'a> {
    fn members(&self) -> &[MemberAccount<'a>];
}

impl<'a> Members<'a> for BanRequest<'a> {
    fn members(&self) -> &[MemberAccount<'a>] {
        self.members.as_slice()
    }
}

impl<'a> Members<'a> for UnbanRequest<'a> {
    fn members(&self) -> &[MemberAccount<'a>] {
        self.members.as_slice()
    }
}

/// The names older SDKs still send, refused with what to use instead
/// rather than taken for the new ones or ignored.
const OLD_FIELDS: &[(&str, &str)] = &[("ShutUpTime", "MuteTime")];
const OLD_COMMANDS: &[(&str, &str)] = &[("get_group_shutted_uin", "get_group_muted_account")];

/// The body's shape, as the documentation describes it: a JSON object
/// (a positional array is refused), with every required field (10004), and
/// a `GroupId` that is a valid group ID when it is a string (10015).
pub(super) fn check_shape(body: &Value, required: &[&str]) -> Result<(), Answer> {
    let Some(obj) = body.as_object() else {
        return Err(Answer::err(
            ErrorCode::InvalidParameter,
            format!(
                "the body must be a JSON object with named fields; got {}",
                json_kind(body)
            ),
        ));
    };
    if let Some(missing) = required.iter().find(|f| !obj.contains_key(**f)) {
        return Err(Answer::err(
            ErrorCode::InvalidParameter,
            format!("{missing} is missing; it is required"),
        ));
    }
    if let Some(Value::String(g)) = obj.get("GroupId") {
        if let Err(e) = ban_proto::GroupId::new(g.as_str()) {
            return Err(Answer::err(ErrorCode::InvalidGroupId, e.to_string()));
        }
    }
    Ok(())
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A typed request body; a bad field answers 10004 naming it.
pub(super) fn decode<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, Answer> {
    serde_json::from_value(body)
        .map_err(|e| Answer::err(ErrorCode::InvalidParameter, e.to_string()))
}

/// The fields a ban or unban requires.
const BAN_FIELDS: &[&str] = &["GroupId", "Members_Account"];

impl Core {
    /// Answers one API request: the path and method, then the URL and the
    /// UserSig, then the rate, then the body, then the command.
    pub(super) fn answer(
        &self,
        method: &str,
        rest: &str,
        endpoint: Option<&'static Endpoint>,
        query: Option<&str>,
        body: &[u8],
    ) -> Answer {
        let Some(endpoint) = endpoint else {
            return match rest.split_once('/') {
                Some(("group_open_http_svc", cmd))
                    if OLD_COMMANDS.iter().any(|(old, _)| *old == cmd) =>
                {
                    let new = OLD_COMMANDS
                        .iter()
                        .find(|(old, _)| *old == cmd)
                        .map(|p| p.1);
                    Answer::err(
                        ErrorCode::InvalidCommand,
                        format!(
                            "invalid command word {cmd:?}: it is the old name; call {}",
                            new.unwrap_or_default()
                        ),
                    )
                }
                Some(("group_open_http_svc", cmd)) => Answer::err(
                    ErrorCode::InvalidCommand,
                    format!(
                        "invalid command word {:?}",
                        ban_proto::escape_bounded(cmd, 64)
                    ),
                ),
                _ => Answer::err(
                    ErrorCode::BadResourcePath,
                    format!(
                        "bad resource path /v4/{}",
                        ban_proto::escape_bounded(rest, 96)
                    ),
                ),
            };
        };
        if method != "POST" {
            return Answer::err(
                ErrorCode::UrlParseError,
                format!("HTTP method {method} is not allowed; the REST API takes POST"),
            );
        }
        // The signature first: a stranger's calls never spend the app's
        // budget (the documentation does not say; this is the safer model).
        let identifier = match self.auth.check_query(query) {
            Ok(id) => id,
            Err(a) => return a,
        };
        if let Some(rate) = &self.rate {
            let now = std::time::Instant::now();
            if !rate.admit(endpoint.command, now) {
                let per_sec = self.config.rate_limit.unwrap_or_default();
                return Answer::err(
                    ErrorCode::RestRateLimited,
                    format!(
                        "{} called more than {per_sec} times within one second",
                        endpoint.command
                    ),
                );
            }
            if let (Some(c), Some(calls)) = (&self.callbacks, rate.alarm(endpoint.command, now)) {
                // The service's path segment: group_open_http_svc, ...
                let service = endpoint
                    .path
                    .trim_start_matches("v4/")
                    .split('/')
                    .next()
                    .unwrap_or("");
                c.over_limit(ban_callback::OverLimit::new(
                    service,
                    endpoint.command,
                    calls,
                    rate.per_sec(),
                ));
            }
        }
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            return Answer::err(
                ErrorCode::BodyJsonParseError,
                "request body is not valid JSON",
            );
        };
        let is_admin = identifier == self.config.admin;
        let now = self.clock.now_unix();
        let ban_command = Endpoint::BAN_COMMANDS.contains(&endpoint);
        if ban_command && !is_admin {
            return Answer::err(
                ErrorCode::PermissionDenied,
                format!("identifier {identifier} is not the app admin"),
            );
        }
        match self.config.edition {
            Edition::Missing if ban_command => {
                return Answer::err(
                    ErrorCode::EditionRequired,
                    "this feature needs the Ultimate edition",
                )
            }
            Edition::Expired if ban_command => {
                return Answer::err(
                    ErrorCode::EditionExpired,
                    "the app's edition has expired; renew it in the console",
                )
            }
            _ => {}
        }
        if ban_command && !self.config.ban_feature_enabled {
            return Answer::err(
                ErrorCode::PermissionDenied,
                "member banning is not enabled in the console",
            );
        }
        if !is_admin {
            return Answer::err(
                ErrorCode::AdminRequired,
                format!("identifier {identifier} is not the app admin"),
            );
        }
        match *endpoint {
            Endpoint::BAN_GROUP_MEMBER => self.ban(body, now),
            Endpoint::UNBAN_GROUP_MEMBER => self.unban(body),
            Endpoint::GET_GROUP_BAN_MEMBER => self.list(body, now),
            Endpoint::FORBID_SEND_MSG => self.mute(body, now),
            Endpoint::GET_GROUP_MUTED_ACCOUNT => self.muted_list(body, now),
            Endpoint::CREATE_GROUP => self.rest_create_group(body),
            Endpoint::SEND_GROUP_MSG => self.rest_send_group_msg(body),
            Endpoint::MODIFY_GROUP_BASE_INFO => self.modify_group_base_info(body),
            Endpoint::GET_ONLINE_MEMBER_NUM => self.online_member_num(body),
            Endpoint::GET_ROOM_MEMBERS => self.room_members(body),
            Endpoint::KICK => self.kick(body),
            Endpoint::SET_NO_SPEAKING => self.set_no_speaking(body),
            Endpoint::GET_NO_SPEAKING => self.get_no_speaking(body),
            // A command in the catalogue this emulator does not serve.
            _ => Answer::err(
                ErrorCode::InvalidCommand,
                format!("{} is not served by the emulator", endpoint.command),
            ),
        }
    }

    /// Decodes a request that names members, checking in the service's
    /// order: the body's shape and required fields (10004), a malformed
    /// group ID (10015), more than `max` members (10005), an account that is
    /// not a string (60015), any other invalid field (10004), and with
    /// `strict_accounts` an account outside `[A-Za-z0-9_-]` (10004).
    pub(super) fn member_request<T: serde::de::DeserializeOwned + Members<'static>>(
        &self,
        body: Value,
        required: &[&str],
        max: usize,
    ) -> Result<T, Answer> {
        check_shape(&body, required)?;
        if let Some((old, new)) = OLD_FIELDS.iter().find(|(old, _)| body.get(*old).is_some()) {
            return Err(Answer::err(
                ErrorCode::InvalidParameter,
                format!("{old} is the old name of {new}; send {new}"),
            ));
        }
        if let Some(list) = body.get("Members_Account").and_then(Value::as_array) {
            if list.len() > max {
                return Err(Answer::err(
                    ErrorCode::TooManyMembers,
                    format!(
                        "Members_Account has {} accounts; at most {max} per call",
                        list.len()
                    ),
                ));
            }
            if let Some((i, v)) = list.iter().enumerate().find(|(_, v)| !v.is_string()) {
                return Err(Answer::err(
                    ErrorCode::AccountNotString,
                    format!("Members_Account[{i}] is {v}, not a string"),
                ));
            }
        }
        let req: T = decode(body)?;
        if let Some(m) = req
            .members()
            .iter()
            .find(|m| self.config.failing_members.iter().any(|f| f == m.as_str()))
        {
            return Err(Answer::err(
                ErrorCode::InternalError,
                format!(
                    "internal error while banning {:?} (an injected failing member)",
                    m.as_str()
                ),
            ));
        }
        if self.config.strict_accounts {
            let strict = |m: &str| {
                m.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            };
            if let Some((i, m)) = req
                .members()
                .iter()
                .enumerate()
                .find(|(_, m)| !strict(m.as_str()))
            {
                return Err(Answer::err(
                    ErrorCode::InvalidParameter,
                    format!(
                        "Members_Account[{i}] {:?} has characters outside [A-Za-z0-9_-]",
                        m.as_str()
                    ),
                ));
            }
        }
        Ok(req)
    }

    pub(super) fn with_group<T>(
        &self,
        id: &str,
        f: impl FnOnce(&mut Group) -> Result<T, Answer>,
    ) -> Result<T, Answer> {
        let mut st = self.groups.lock();
        let unknown = self.config.unknown_group_code.code();
        let g = st.groups.get_mut(id).ok_or_else(|| {
            Answer::err(
                unknown,
                format!("group {id} does not exist or was dismissed"),
            )
        })?;
        f(g)
    }

    /// Refuses the ban commands outside AVChatRoom when the emulator plays
    /// the older pages (`avchatroom_only`).
    fn bannable(&self, id: &str, g: &Group) -> Result<(), Answer> {
        if self.config.avchatroom_only && g.kind != GroupType::AVChatRoom {
            return Err(Answer::err(
                ErrorCode::PermissionDenied,
                format!(
                    "group {id} is a {} group; banning members is supported for AVChatRoom only",
                    g.kind
                ),
            ));
        }
        Ok(())
    }

    fn ban(&self, body: Value, now: u64) -> Answer {
        let req =
            match self.member_request::<BanRequest>(body, BAN_FIELDS, ban_proto::MemberList::MAX) {
                Ok(r) => r,
                Err(a) => return a,
            };
        if let Some(d) = &req.description {
            let text = d.as_str().to_ascii_lowercase();
            if let Some(w) = self
                .config
                .sensitive_words
                .iter()
                .find(|w| !w.is_empty() && text.contains(&w.to_ascii_lowercase()))
            {
                return Answer::err(
                    ErrorCode::SensitiveContent,
                    format!("Description holds a sensitive word ({:?})", w),
                );
            }
        }
        let until = now.saturating_add(req.duration.as_secs().into());
        let res = self.with_group(req.group_id.as_str(), |g| {
            self.bannable(req.group_id.as_str(), g)?;
            for m in req.members.iter() {
                g.bans.insert(m.to_owned(), until);
                g.members.remove(m);
            }
            Ok(())
        });
        res.map_or_else(|a| a, |()| Answer::ok(&Envelope::ok()))
    }

    fn unban(&self, body: Value) -> Answer {
        let req =
            match self.member_request::<UnbanRequest>(body, BAN_FIELDS, ban_proto::MemberList::MAX)
            {
                Ok(r) => r,
                Err(a) => return a,
            };
        let res = self.with_group(req.group_id.as_str(), |g| {
            self.bannable(req.group_id.as_str(), g)?;
            for m in req.members.iter() {
                g.bans.remove(m);
            }
            Ok(())
        });
        res.map_or_else(|a| a, |()| Answer::ok(&Envelope::ok()))
    }

    fn list(&self, body: Value, now: u64) -> Answer {
        if let Err(a) = check_shape(&body, &["GroupId", "Offset"]) {
            return a;
        }
        let req: BanListRequest = match decode(body) {
            Ok(r) => r,
            Err(a) => return a,
        };
        let paging = self.config.paging;
        let res = self.with_group(req.group_id.as_str(), |g| {
            self.bannable(req.group_id.as_str(), g)?;
            let all = g.active_bans(now);
            let start = (req.offset.0 as usize).min(all.len());
            let end = (start + req.limit.get() as usize).min(all.len());
            let end_offset = u32::try_from(end).unwrap_or(u32::MAX);
            let next = match paging {
                _ if end < all.len() => end_offset,
                Paging::Standard => 0,
                Paging::Sample => end_offset,
            };
            Ok(BanListResponse {
                action_status: ActionStatus::Ok,
                error_code: ErrorCode::Success,
                error_info: String::new(),
                banned: all[start..end].to_vec(),
                next_offset: ban_proto::PageOffset(next),
            })
        });
        res.map_or_else(|a| a, |r| Answer::ok(&r))
    }

    fn rest_create_group(&self, body: Value) -> Answer {
        let kind = match body.get("Type").and_then(Value::as_str) {
            None => {
                return Answer::err(
                    ErrorCode::InvalidParameter,
                    "Type is missing; expected AVChatRoom, Public, Work, Meeting or Community",
                )
            }
            Some(t) => match t.parse::<GroupType>() {
                Ok(k) => k,
                Err(e) => return Answer::err(ErrorCode::InvalidParameter, e.to_string()),
            },
        };
        let id = match body.get("GroupId") {
            None => None,
            Some(v) => match v.as_str().map(ban_proto::GroupId::new) {
                Some(Ok(id)) => Some(id.as_str().to_owned()),
                Some(Err(e)) => return Answer::err(ErrorCode::InvalidParameter, e.to_string()),
                None => {
                    return Answer::err(ErrorCode::InvalidParameter, "GroupId must be a string")
                }
            },
        };
        let name = body.get("Name").and_then(Value::as_str).unwrap_or("");
        match self.groups.create_group(id.as_deref(), kind, name) {
            Ok(id) => Answer::ok(
                &json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "GroupId": id}),
            ),
            Err((code, info)) => Answer::err(code, info),
        }
    }
}
