//! `send_group_msg`: a member's message, refused when the sender is banned
//! or muted, held for the app's before-send callback when callbacks are
//! on, and told to the after-send callback once delivered.

use ban_proto::{Endpoint, ErrorCode};
use ban_sign::Clock;
use serde_json::{json, Value};

use super::state::JoinError;
use super::{Answer, Core, PendingSend, Reply};
use crate::callback::Verdict;
use crate::config::GroupType;

impl Core {
    /// A message from `from`: refused at once when the sender is banned
    /// (10007) or muted (10017) or the group does not exist; with callbacks
    /// on, held for the app's before-send verdict; else delivered.
    pub(super) fn send_request(
        &self,
        group: &str,
        from: &str,
        text: &str,
        random: u64,
        rest: bool,
    ) -> Answer {
        if self.callbacks.is_some() {
            return match self.check_sender(group, from) {
                Ok(group_type) => Answer::pending(PendingSend {
                    group: group.to_owned(),
                    group_type,
                    from: from.to_owned(),
                    text: text.to_owned(),
                    random,
                    rest,
                }),
                Err(e) => self.send_refused(group, e),
            };
        }
        self.deliver(group, from, text, random)
    }

    fn deliver(&self, group: &str, from: &str, text: &str, random: u64) -> Answer {
        match self.send_group_msg(group, from, text) {
            Ok((seq, _)) => {
                let now = self.clock.now_unix();
                if let Some(c) = &self.callbacks {
                    let send = PendingSend {
                        group: group.to_owned(),
                        group_type: self.group_type(group).unwrap_or(GroupType::AVChatRoom),
                        from: from.to_owned(),
                        text: text.to_owned(),
                        random,
                        rest: false,
                    };
                    c.after_send(send.message().stored(seq, now));
                }
                Answer::ok(&json!({
                    "ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "",
                    "MsgSeq": seq, "MsgTime": now
                }))
            }
            Err(e) => self.send_refused(group, e),
        }
    }

    fn send_refused(&self, group: &str, e: JoinError) -> Answer {
        match e {
            e @ JoinError::Muted { .. } => Answer::err(ErrorCode::SenderMuted, e.to_string()),
            e @ JoinError::Banned { .. } => Answer::err(
                ErrorCode::PermissionDenied,
                format!("{e}: a banned member is not in the group and cannot send"),
            ),
            JoinError::NoSuchGroup(_) => Answer::err(
                self.config.unknown_group_code.code(),
                format!("group {group} does not exist or was dismissed"),
            ),
        }
    }

    /// The send, once the app's before-send callback answered (or did not).
    pub(crate) fn finish_send(&self, p: PendingSend, verdict: Verdict) -> Reply {
        let answer = match verdict {
            Verdict::Deliver => self.deliver(&p.group, &p.from, &p.text, p.random),
            Verdict::Reject => Answer::err(
                ErrorCode::CallbackRefused,
                "the app's before-send callback refused the message",
            ),
            // The sender sees success; nobody receives it.
            Verdict::Drop => Answer::ok(&json!({
                "ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "",
                "MsgSeq": 0, "MsgTime": self.clock.now_unix()
            })),
        };
        if p.rest {
            self.count(Endpoint::SEND_GROUP_MSG.command, answer.code);
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
        let random = body.get("Random").and_then(Value::as_u64).unwrap_or(0);
        self.send_request(group, from, &text, random, true)
    }

    /// A client's message through the control surface: the same path as
    /// REST, uncounted.
    pub(crate) fn control_send(&self, group: &str, from: &str, text: &str) -> Reply {
        let answer = self.send_request(group, from, text, u64::from(fastrand::u32(..)), false);
        match answer.pending {
            Some(p) => Reply::Send(p),
            None => Reply::Json(200, answer.body),
        }
    }
}
