//! `send_group_msg`: a member's message, refused at once when the sender is
//! banned (not a member) or the group does not exist; with callbacks on,
//! held for the app's before-send verdict, then refused for a mute (10017)
//! or the group's message rate (10023) with the send-exception callback,
//! or delivered (the app's replacement body, if it gave one) and told to
//! the after-send callback.

use ban_callback::{MsgElement, SendMsgException};
use ban_proto::{Endpoint, ErrorCode};
use ban_sign::Clock;
use serde_json::{json, Value};

use super::state::{JoinError, Outgoing};
use super::{control, now_ms, Answer, Core, PendingSend, Reply};
use crate::callback::{From, Verdict};

impl Core {
    /// A message: with callbacks on, held for the app's before-send
    /// verdict (only a banned sender or a missing group is refused first);
    /// else delivered or refused at once.
    pub(super) fn send_request(&self, p: PendingSend) -> Answer {
        if self.callbacks.is_some() {
            return match self.groups.check_member(&p.group, &p.from) {
                Ok(group_type) => Answer::pending(PendingSend { group_type, ..p }),
                Err(e) => self.send_refused(&p.group, e),
            };
        }
        match self.deliver(&p, &p.msg) {
            Ok(answer) => answer,
            Err(e) => self.send_refused(&p.group, e),
        }
    }

    /// Stores `msg` as `p`'s (the one sent, or the app's replacement) and
    /// tells the after-send callback.
    fn deliver(&self, p: &PendingSend, msg: &Outgoing) -> Result<Answer, JoinError> {
        let (seq, _) = self.groups.send_group_msg(&p.group, &p.from, msg)?;
        let now = self.clock.now_unix();
        if let Some(c) = &self.callbacks {
            let told = p
                .message()
                .with_body(msg.body.clone(), msg.cloud_custom_data.clone())
                .stored(seq, now)
                .with_msg_id(&format!("{seq}-{now}-{}", p.random));
            c.after_send(told, p.origin.clone());
        }
        Ok(Answer::ok(&json!({
            "ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "",
            "MsgSeq": seq, "MsgTime": now
        })))
    }

    fn send_refused(&self, group: &str, e: JoinError) -> Answer {
        match e {
            e @ (JoinError::Muted { .. }
            | JoinError::Frozen { .. }
            | JoinError::NoSpeaking { .. }) => Answer::err(ErrorCode::SenderMuted, e.to_string()),
            e @ JoinError::MessageRate { .. } => {
                Answer::err(ErrorCode::MessageRateLimited, e.to_string())
            }
            e @ JoinError::Banned { .. } => Answer::err(
                ErrorCode::PermissionDenied,
                format!("{e}: a banned member is not in the group and cannot send"),
            ),
            JoinError::NoSuchGroup(_) => Answer::err(
                self.config.unknown_group_code.code(),
                format!("group {group} does not exist or was dismissed"),
            ),
            JoinError::Refused { code, info } => Answer::err(ErrorCode::from_code(code), info),
        }
    }

    /// The send, once the app's before-send callback answered (or did not).
    pub(crate) fn finish_send(&self, p: PendingSend, verdict: Verdict) -> Reply {
        let answer = match verdict {
            Verdict::Deliver {
                body,
                cloud_custom_data,
            } => {
                let msg = Outgoing {
                    body: body.unwrap_or_else(|| p.msg.body.clone()),
                    cloud_custom_data: cloud_custom_data
                        .unwrap_or_else(|| p.msg.cloud_custom_data.clone()),
                };
                match self.deliver(&p, &msg) {
                    Ok(answer) => answer,
                    Err(e) => {
                        let answer = self.send_refused(&p.group, e);
                        // Refused after the before-send step: the app is told.
                        if let (Some(c), ErrorCode::SenderMuted | ErrorCode::MessageRateLimited) =
                            (&self.callbacks, answer.code)
                        {
                            let info = serde_json::from_slice::<Value>(&answer.body)
                                .ok()
                                .and_then(|v| v["ErrorInfo"].as_str().map(str::to_owned))
                                .unwrap_or_default();
                            c.send_exception(
                                SendMsgException::new(p.message(), answer.code.code(), &info),
                                p.origin.clone(),
                            );
                        }
                        answer
                    }
                }
            }
            Verdict::Reject { code, info } => Answer::err(ErrorCode::from_code(code), info),
            // The sender sees success, with a real-looking sequence number;
            // nobody receives it.
            Verdict::Drop => Answer::ok(&json!({
                "ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "",
                "MsgSeq": self.groups.take_seq(&p.group), "MsgTime": self.clock.now_unix()
            })),
        };
        if p.rest {
            self.ledger
                .count(Endpoint::SEND_GROUP_MSG.command, answer.code);
        }
        Reply::Json(200, answer.body)
    }

    pub(super) fn rest_send_group_msg(&self, body: Value) -> Answer {
        let Some(group) = body.get("GroupId").and_then(Value::as_str) else {
            return Answer::err(
                ErrorCode::InvalidParameter,
                "GroupId is missing or not a string",
            );
        };
        let elements = body
            .get("MsgBody")
            .and_then(|b| serde_json::from_value::<Vec<MsgElement>>(b.clone()).ok());
        let Some(elements) = elements else {
            return Answer::err(
                ErrorCode::InvalidParameter,
                "MsgBody is missing or not an array of message elements",
            );
        };
        let from = body
            .get("From_Account")
            .and_then(Value::as_str)
            .unwrap_or(&self.config.admin)
            .to_owned();
        let cloud_custom_data = body
            .get("CloudCustomData")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        self.send_request(PendingSend {
            group: group.to_owned(),
            group_type: crate::config::GroupType::AVChatRoom,
            from,
            operator: self.config.admin.clone(),
            origin: From::Rest,
            msg: Outgoing {
                body: elements,
                cloud_custom_data,
            },
            random: body.get("Random").and_then(Value::as_u64).unwrap_or(0),
            event_ms: now_ms(),
            rest: true,
        })
    }

    /// A client's message through the control surface: the same path as
    /// REST, uncounted, from the client's platform.
    pub(crate) fn control_send(
        &self,
        group: &str,
        from: &str,
        msg: Outgoing,
        platform: &str,
    ) -> Reply {
        if let Some(at) = self.auth.kicked_at(from) {
            // A kicked client is logged out: it sends nothing until it
            // logs in again with a fresh UserSig.
            return control::control(
                401,
                json!({"error": "kicked", "kicked_at": at, "message": format!("{from} was kicked at {at}: log in again with a UserSig issued after it (POST /emulator/v1/login)")}),
            );
        }
        let answer = self.send_request(PendingSend {
            group: group.to_owned(),
            group_type: crate::config::GroupType::AVChatRoom,
            from: from.to_owned(),
            operator: from.to_owned(),
            origin: From::Client(platform.to_owned()),
            msg,
            random: u64::from(fastrand::u32(..)),
            event_ms: now_ms(),
            rest: false,
        });
        match answer.pending {
            Some(p) => Reply::Send(p),
            None => Reply::Json(200, answer.body),
        }
    }
}
