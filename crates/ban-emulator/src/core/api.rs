//! The REST commands: ban, unban, list, and the two the demo needs
//! (`create_group`, `send_group_msg`).

use ban_proto::{
    ActionStatus, BanListRequest, BanListResponse, BanRequest, Endpoint, Envelope, ErrorCode,
    UnbanRequest,
};
use ban_sign::Clock;
use serde_json::{json, Value};

use super::state::Group;
use super::{lock, Answer, Core};
use crate::config::{Edition, GroupType, Paging};

/// Requests that name members.
trait Members<'a> {
    fn members(&self) -> &ban_proto::MemberList<'a>;
}

impl<'a> Members<'a> for BanRequest<'a> {
    fn members(&self) -> &ban_proto::MemberList<'a> {
        &self.members
    }
}

impl<'a> Members<'a> for UnbanRequest<'a> {
    fn members(&self) -> &ban_proto::MemberList<'a> {
        &self.members
    }
}

/// The body's shape, as the documentation describes it: a JSON object
/// (a positional array is refused), with every required field (10004), and
/// a `GroupId` that is a valid group ID when it is a string (10015).
fn check_shape(body: &Value, required: &[&str]) -> Result<(), Answer> {
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
fn decode<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, Answer> {
    serde_json::from_value(body)
        .map_err(|e| Answer::err(ErrorCode::InvalidParameter, e.to_string()))
}

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
        let identifier = match self.check_query(query) {
            Ok(id) => id,
            Err(a) => return a,
        };
        if let Some(rate) = &self.rate {
            if !rate.admit(endpoint.command, std::time::Instant::now()) {
                let per_sec = self.config.rate_limit.unwrap_or_default();
                return Answer::err(
                    ErrorCode::RestRateLimited,
                    format!(
                        "{} called more than {per_sec} times within one second",
                        endpoint.command
                    ),
                );
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
            Endpoint::CREATE_GROUP => self.rest_create_group(body),
            Endpoint::SEND_GROUP_MSG => self.rest_send_group_msg(body),
            // A command in the catalogue this emulator does not serve.
            _ => Answer::err(
                ErrorCode::InvalidCommand,
                format!("{} is not served by the emulator", endpoint.command),
            ),
        }
    }

    /// Decodes a request that names members, checking in the service's
    /// order: the body's shape and required fields (10004), a malformed
    /// group ID (10015), more than 20 members (10005), an account that is
    /// not a string (60015), any other invalid field (10004), and with
    /// `strict_accounts` an account outside `[A-Za-z0-9_-]` (10004).
    fn member_request<T: serde::de::DeserializeOwned + Members<'static>>(
        &self,
        body: Value,
    ) -> Result<T, Answer> {
        check_shape(&body, &["GroupId", "Members_Account"])?;
        if let Some(list) = body.get("Members_Account").and_then(Value::as_array) {
            if list.len() > ban_proto::MemberList::MAX {
                return Err(Answer::err(
                    ErrorCode::TooManyMembers,
                    format!(
                        "Members_Account has {} accounts; at most 20 per call",
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
            .find(|m| self.config.failing_members.iter().any(|f| f == m))
        {
            return Err(Answer::err(
                ErrorCode::InternalError,
                format!("internal error while banning {m:?} (an injected failing member)"),
            ));
        }
        if self.config.strict_accounts {
            let strict = |m: &str| {
                m.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            };
            if let Some((i, m)) = req.members().iter().enumerate().find(|(_, m)| !strict(m)) {
                return Err(Answer::err(
                    ErrorCode::InvalidParameter,
                    format!("Members_Account[{i}] {m:?} has characters outside [A-Za-z0-9_-]"),
                ));
            }
        }
        Ok(req)
    }

    fn with_group<T>(
        &self,
        id: &str,
        f: impl FnOnce(&mut Group) -> Result<T, Answer>,
    ) -> Result<T, Answer> {
        let avchatroom_only = self.config.avchatroom_only;
        let mut st = lock(&self.state);
        let unknown = self.config.unknown_group_code.code();
        let g = st.groups.get_mut(id).ok_or_else(|| {
            Answer::err(
                unknown,
                format!("group {id} does not exist or was dismissed"),
            )
        })?;
        if avchatroom_only && g.kind != GroupType::AVChatRoom {
            return Err(Answer::err(
                ErrorCode::PermissionDenied,
                format!(
                    "group {id} is a {} group; banning members is supported for AVChatRoom only",
                    g.kind
                ),
            ));
        }
        f(g)
    }

    fn ban(&self, body: Value, now: u64) -> Answer {
        let req = match self.member_request::<BanRequest>(body) {
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
            for m in req.members.iter() {
                g.bans.insert(m.to_owned(), until);
                g.members.remove(m);
            }
            Ok(())
        });
        res.map_or_else(|a| a, |()| Answer::ok(&Envelope::ok()))
    }

    fn unban(&self, body: Value) -> Answer {
        let req = match self.member_request::<UnbanRequest>(body) {
            Ok(r) => r,
            Err(a) => return a,
        };
        let res = self.with_group(req.group_id.as_str(), |g| {
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
        match self.create_group(id.as_deref(), kind, name) {
            Ok(id) => Answer::ok(
                &json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "GroupId": id}),
            ),
            Err((code, info)) => Answer::err(code, info),
        }
    }

    fn rest_send_group_msg(&self, body: Value) -> Answer {
        let Some(group) = body.get("GroupId").and_then(Value::as_str) else {
            return Answer::err(
                ErrorCode::InvalidParameter,
                "GroupId is missing or not a string",
            );
        };
        let text: Option<String> = body.get("MsgBody").and_then(Value::as_array).map(|elems| {
            elems
                .iter()
                .filter(|e| e.get("MsgType").and_then(Value::as_str) == Some("TIMTextElem"))
                .filter_map(|e| e.pointer("/MsgContent/Text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("")
        });
        let Some(text) = text else {
            return Answer::err(
                ErrorCode::InvalidParameter,
                "MsgBody is missing or not an array of message elements",
            );
        };
        let from = body
            .get("From_Account")
            .and_then(Value::as_str)
            .unwrap_or(&self.config.admin);
        match self.send_group_msg(group, from, &text) {
            Ok((seq, _)) => Answer::ok(&json!({
                "ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "",
                "MsgSeq": seq, "MsgTime": self.clock.now_unix()
            })),
            Err(_) => Answer::err(
                ErrorCode::GroupNotFound,
                format!("group {group} does not exist or was dismissed"),
            ),
        }
    }
}
