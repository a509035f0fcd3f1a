//! The control surface, `/emulator/v1/`: what the service learns from
//! client SDKs (joins, messages read) and what tests need (clock, stats,
//! reset).

use ban_sign::Clock;
use serde::Deserialize;
use serde_json::{json, Value};

use super::state::JoinError;
use super::{to_json, Core, Reply};
use crate::callback::Verdict;

pub(super) fn control(status: u16, v: Value) -> Reply {
    Reply::Json(status, to_json(&v))
}

#[derive(Deserialize)]
struct MemberBody {
    #[serde(rename = "GroupId")]
    group_id: String,
    #[serde(rename = "Member_Account")]
    member: String,
}

/// A client logging in with its UserSig.
#[derive(Deserialize)]
struct LoginBody {
    #[serde(rename = "Identifier")]
    identifier: String,
    #[serde(rename = "UserSig")]
    usersig: String,
}

/// A client's message: `Text`, or a whole `MsgBody`; from a platform
/// (`OptPlatform`, default `Web`).
#[derive(Deserialize)]
struct SendBody {
    #[serde(rename = "GroupId")]
    group_id: String,
    #[serde(rename = "From_Account")]
    from: String,
    #[serde(rename = "Text", default)]
    text: Option<String>,
    #[serde(rename = "MsgBody", default)]
    body: Option<Vec<ban_callback::MsgElement>>,
    #[serde(rename = "CloudCustomData", default)]
    cloud_custom_data: String,
    #[serde(rename = "OptPlatform", default = "web")]
    platform: String,
}

/// A client's join application, from a platform (default `Web`).
#[derive(Deserialize)]
struct JoinBody {
    #[serde(rename = "GroupId")]
    group_id: String,
    #[serde(rename = "Member_Account")]
    member: String,
    #[serde(rename = "OptPlatform", default = "web")]
    platform: String,
}

fn web() -> String {
    "Web".to_owned()
}

/// Refuses a platform the service does not name.
fn platform(p: &str) -> Result<(), Reply> {
    if crate::callback::PLATFORMS.contains(&p) {
        Ok(())
    } else {
        Err(control(
            400,
            json!({"error": format!("OptPlatform {:?} is not one of {}", ban_proto::escape_bounded(p, 32), crate::callback::PLATFORMS.join(", "))}),
        ))
    }
}

#[derive(Deserialize)]
struct GroupBody {
    #[serde(rename = "GroupId")]
    group_id: String,
}

#[derive(Deserialize)]
struct AdvanceBody {
    seconds: u64,
}

impl Core {
    /// A join application, once the app's before-join callback answered
    /// (or did not).
    pub(crate) fn finish_join(&self, p: super::PendingJoin, verdict: Verdict) -> Reply {
        match verdict {
            Verdict::Reject { code, info } => control(
                403,
                json!({"error": "refused", "code": code, "message": info}),
            ),
            _ => match self.groups.join_from(&p.group, &p.member, p.origin) {
                Ok(()) => control(200, json!({"joined": true})),
                Err(e) => control(403, json!({"error": "refused", "message": e.to_string()})),
            },
        }
    }

    // ---- control surface

    pub(super) fn handle_control(&self, method: &str, rest: &str, body: &[u8]) -> Reply {
        let parse = |body: &[u8]| {
            serde_json::from_slice::<Value>(if body.is_empty() { b"{}" } else { body })
        };
        let Ok(value) = parse(body) else {
            return control(400, json!({"error": "body is not valid JSON"}));
        };
        let bad = |e: serde_json::Error| control(400, json!({"error": e.to_string()}));
        let join_err = |e: JoinError| match e {
            JoinError::Banned { until, .. } => control(
                403,
                json!({"error": "banned", "banned_until": until, "message": e.to_string()}),
            ),
            JoinError::Muted { until, .. } => control(
                403,
                json!({"error": "muted", "muted_until": until, "message": e.to_string()}),
            ),
            JoinError::NoSuchGroup(_) => control(
                404,
                json!({"error": "no_such_group", "message": e.to_string()}),
            ),
            JoinError::Refused { code, ref info } => control(
                403,
                json!({"error": "refused", "code": code, "message": info}),
            ),
            JoinError::MessageRate { .. } => control(
                429,
                json!({"error": "message_rate", "message": e.to_string()}),
            ),
            JoinError::Frozen { .. } => {
                control(403, json!({"error": "frozen", "message": e.to_string()}))
            }
            JoinError::NoSpeaking { until, .. } => control(
                403,
                json!({"error": "no_speaking", "until": until, "message": e.to_string()}),
            ),
        };
        match (method, rest) {
            ("GET", "stats") => Reply::Json(200, to_json(&self.stats())),
            ("POST", "reset") => {
                self.reset();
                control(200, json!({"reset": true}))
            }
            ("GET", "clock") => control(200, json!({"now": self.clock.now_unix()})),
            ("POST", "clock/advance") => match serde_json::from_value::<AdvanceBody>(value) {
                Ok(b) => match self.clock.advance(b.seconds) {
                    Ok(now) => control(200, json!({"now": now})),
                    Err(e) => control(400, json!({"error": e.to_string()})),
                },
                Err(e) => bad(e),
            },
            ("POST", "join") => match serde_json::from_value::<JoinBody>(value) {
                Ok(b) => {
                    if let Err(r) = platform(&b.platform) {
                        return r;
                    }
                    let origin = crate::callback::From::Client(b.platform);
                    let applies = match self.groups.takes_applications(&b.group_id) {
                        Ok(kind) => kind.filter(|_| self.callbacks.is_some()),
                        Err(e) => return join_err(e),
                    };
                    if let Some(group_type) = applies {
                        return Reply::Join(Box::new(super::PendingJoin {
                            group: b.group_id,
                            group_type,
                            member: b.member,
                            origin,
                        }));
                    }
                    match self.groups.join_from(&b.group_id, &b.member, origin) {
                        Ok(()) => control(200, json!({"joined": true})),
                        Err(e) => join_err(e),
                    }
                }
                Err(e) => bad(e),
            },
            ("POST", "leave") => match serde_json::from_value::<MemberBody>(value) {
                Ok(b) => match self.groups.leave(&b.group_id, &b.member) {
                    Ok(was) => control(200, json!({"left": was})),
                    Err(e) => join_err(e),
                },
                Err(e) => bad(e),
            },
            ("POST", "inbox") => match serde_json::from_value::<MemberBody>(value) {
                Ok(b) => match self.groups.inbox(&b.group_id, &b.member) {
                    Ok(msgs) => control(200, json!({"messages": msgs})),
                    Err(e) => join_err(e),
                },
                Err(e) => bad(e),
            },
            ("POST", "login") => match serde_json::from_value::<LoginBody>(value) {
                Ok(b) => match self.auth.login(&b.identifier, &b.usersig) {
                    Ok(()) => control(200, json!({"logged_in": true})),
                    Err(a) => Reply::Json(401, a.body),
                },
                Err(e) => bad(e),
            },
            ("POST", "send") => match serde_json::from_value::<SendBody>(value) {
                Ok(b) => {
                    if let Err(r) = platform(&b.platform) {
                        return r;
                    }
                    let body = match (b.body, b.text) {
                        (Some(body), None) if !body.is_empty() => body,
                        (None, Some(text)) => vec![ban_callback::MsgElement::text(&text)],
                        _ => {
                            return control(
                                400,
                                json!({"error": "give Text or a MsgBody of at least one element, not both"}),
                            )
                        }
                    };
                    let msg = super::state::Outgoing {
                        body,
                        cloud_custom_data: b.cloud_custom_data,
                    };
                    self.control_send(&b.group_id, &b.from, msg, &b.platform)
                }
                Err(e) => bad(e),
            },
            ("POST", "group") => match serde_json::from_value::<GroupBody>(value) {
                Ok(b) => match self.groups.group_state(&b.group_id) {
                    Some(s) => Reply::Json(200, to_json(&s)),
                    None => join_err(JoinError::NoSuchGroup(b.group_id)),
                },
                Err(e) => bad(e),
            },
            _ => control(
                404,
                json!({"error": format!("no control endpoint {method} /emulator/v1/{rest}")}),
            ),
        }
    }
}
