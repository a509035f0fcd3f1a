//! The callbacks, typed. Field names are the service's; unknown fields are
//! ignored; where the pages disagree both forms decode.

use serde::{Deserialize, Serialize};

use crate::content::ContentResult;
pub use crate::member::{JoinApply, MemberExit, MemberJoin, NewMember};
use crate::tolerant::{opt_u64, or_default};

/// One element of a message body: `{MsgType, MsgContent}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MsgElement {
    /// `TIMTextElem`, `TIMImageElem`, `TIMCustomElem`, ...
    #[serde(rename = "MsgType", default)]
    pub msg_type: String,
    /// The content; for `TIMTextElem`, `{"Text": ...}`.
    #[serde(rename = "MsgContent", default)]
    pub msg_content: serde_json::Value,
}

impl MsgElement {
    /// A text element.
    pub fn text(text: &str) -> MsgElement {
        MsgElement {
            msg_type: "TIMTextElem".to_owned(),
            msg_content: serde_json::json!({ "Text": text }),
        }
    }

    /// A custom element (how live rooms send barrage and gifts) with
    /// `data` as its `Data`.
    pub fn custom(data: &str) -> MsgElement {
        MsgElement {
            msg_type: "TIMCustomElem".to_owned(),
            msg_content: serde_json::json!({ "Data": data, "Desc": "", "Ext": "" }),
        }
    }
}

/// The elements whose text is read, with their fields and the names the
/// evidence gives them.
const FIELDS: &[(&str, &[(&str, &str)])] = &[
    ("TIMTextElem", &[("Text", "TIMTextElem.Text")]),
    (
        "TIMCustomElem",
        &[
            ("Data", "TIMCustomElem.Data"),
            ("Desc", "TIMCustomElem.Desc"),
            ("Ext", "TIMCustomElem.Ext"),
        ],
    ),
    ("TIMFaceElem", &[("Data", "TIMFaceElem.Data")]),
    ("TIMLocationElem", &[("Desc", "TIMLocationElem.Desc")]),
    ("TIMFileElem", &[("FileName", "TIMFileElem.FileName")]),
    ("TIMSoundElem", &[("FileName", "TIMSoundElem.FileName")]),
    (
        "TIMVideoFileElem",
        &[("VideoFileName", "TIMVideoFileElem.VideoFileName")],
    ),
];

/// `Group.CallbackBeforeSendMsg` and `Group.CallbackAfterSendMsg`: a
/// member's message to a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GroupMessage {
    /// The group.
    #[serde(rename = "GroupId")]
    pub group_id: String,
    /// The group's type (`AVChatRoom`, `Public`, ...).
    #[serde(rename = "Type", default, with = "or_default")]
    pub group_type: String,
    /// The sender.
    #[serde(rename = "From_Account")]
    pub from_account: String,
    /// Who sent it on the sender's behalf (an admin over REST), if anyone.
    #[serde(rename = "Operator_Account", default, with = "or_default")]
    pub operator_account: String,
    /// The message's random.
    #[serde(rename = "Random", default, with = "opt_u64")]
    pub random: Option<u64>,
    /// The body.
    #[serde(rename = "MsgBody", default, with = "or_default")]
    pub msg_body: Vec<MsgElement>,
    /// The app's own data on the message.
    #[serde(rename = "CloudCustomData", default, with = "or_default")]
    pub cloud_custom_data: String,
    /// When it was sent, milliseconds (a number or a string).
    #[serde(
        rename = "EventTime",
        default,
        with = "opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub event_time: Option<u64>,
    /// 0 for a message kept for members online and offline (always 0 in
    /// AVChatRoom), 1 for online only; absent in older bodies.
    #[serde(
        rename = "OnlineOnlyFlag",
        default,
        with = "opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub online_only_flag: Option<u64>,
    /// The topic, in a topic-enabled Community group; empty otherwise.
    #[serde(
        rename = "TopicId",
        default,
        with = "or_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub topic_id: String,
    /// The message's id, unique per message on the client (after-callback,
    /// on the pages that show it); empty otherwise.
    #[serde(
        rename = "MsgId",
        default,
        with = "or_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub msg_id: String,
    /// Its sequence number (after-callback only).
    #[serde(
        rename = "MsgSeq",
        default,
        with = "opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub msg_seq: Option<u64>,
    /// When the service stored it, seconds (after-callback only).
    #[serde(
        rename = "MsgTime",
        default,
        with = "opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub msg_time: Option<u64>,
}

impl GroupMessage {
    /// A text message from `from` to `group_id`, as the service describes
    /// it to a before-send callback (`msg_seq` and `msg_time` unset).
    pub fn text_message(
        group_id: &str,
        group_type: &str,
        from: &str,
        text: &str,
        random: u64,
        event_time_ms: u64,
    ) -> GroupMessage {
        GroupMessage {
            group_id: group_id.to_owned(),
            group_type: group_type.to_owned(),
            from_account: from.to_owned(),
            operator_account: String::new(),
            random: Some(random),
            msg_body: vec![MsgElement::text(text)],
            cloud_custom_data: String::new(),
            event_time: Some(event_time_ms),
            online_only_flag: Some(0),
            topic_id: String::new(),
            msg_id: String::new(),
            msg_seq: None,
            msg_time: None,
        }
    }

    /// The same message sent on `operator`'s behalf (the admin for a REST
    /// send, the sender for a client's).
    pub fn operated_by(mut self, operator: &str) -> GroupMessage {
        self.operator_account = operator.to_owned();
        self
    }

    /// The same message with `body` and `cloud_custom_data` in place of its
    /// own (what a before-send answer can replace).
    pub fn with_body(mut self, body: Vec<MsgElement>, cloud_custom_data: String) -> GroupMessage {
        self.msg_body = body;
        self.cloud_custom_data = cloud_custom_data;
        self
    }

    /// The same message with its id (after-send).
    pub fn with_msg_id(mut self, msg_id: &str) -> GroupMessage {
        self.msg_id = msg_id.to_owned();
        self
    }

    /// The same message once stored: its sequence number and time.
    pub fn stored(mut self, seq: u64, time: u64) -> GroupMessage {
        self.msg_seq = Some(seq);
        self.msg_time = Some(time);
        self
    }

    /// Every part of the message that carries text, with its element and
    /// field: `TIMTextElem` `Text`; `TIMCustomElem` `Data`, `Desc` and `Ext`
    /// (live rooms' barrage and gifts); `TIMFaceElem` `Data`;
    /// `TIMLocationElem` `Desc`; `TIMFileElem` `FileName`; a
    /// `TIMSoundElem` or `TIMVideoFileElem` file name where one is given.
    ///
    /// ```
    /// use ban_callback::{GroupMessage, MsgElement};
    ///
    /// let m = GroupMessage::text_message("@TGS#a", "AVChatRoom", "bot", "hi", 1, 0);
    /// assert_eq!(m.parts(), [("TIMTextElem.Text", "hi")]);
    /// ```
    pub fn parts(&self) -> Vec<(&'static str, &str)> {
        let mut parts = Vec::new();
        for e in &self.msg_body {
            let Some((_, fields)) = FIELDS.iter().find(|(t, _)| *t == e.msg_type) else {
                continue;
            };
            for (field, label) in *fields {
                if let Some(t) = e.msg_content.get(*field).and_then(|t| t.as_str()) {
                    if !t.is_empty() {
                        parts.push((*label, t));
                    }
                }
            }
        }
        parts
    }

    /// A copy of the body with each part of [`GroupMessage::parts`]
    /// replaced by what `rewrite` gives for it (its name and text), or
    /// `None` when `rewrite` changed none: what an answer that masks words
    /// delivers ([`crate::Answer::replace`]).
    ///
    /// ```
    /// use ban_callback::GroupMessage;
    ///
    /// let m = GroupMessage::text_message("@TGS#a", "AVChatRoom", "bot", "hi there", 1, 0);
    /// let body = m.rewrite_parts(|_, t| t.contains("hi").then(|| t.replace("hi", "**"))).unwrap();
    /// assert_eq!(body[0].msg_content["Text"], "** there");
    /// assert!(m.rewrite_parts(|_, _| None).is_none());
    /// ```
    pub fn rewrite_parts(
        &self,
        mut rewrite: impl FnMut(&'static str, &str) -> Option<String>,
    ) -> Option<Vec<MsgElement>> {
        let mut body = self.msg_body.clone();
        let mut changed = false;
        for e in &mut body {
            let Some((_, fields)) = FIELDS.iter().find(|(t, _)| *t == e.msg_type) else {
                continue;
            };
            for (field, label) in *fields {
                let Some(slot) = e.msg_content.get_mut(*field) else {
                    continue;
                };
                let Some(new) = slot.as_str().and_then(|t| rewrite(label, t)) else {
                    continue;
                };
                *slot = serde_json::Value::String(new);
                changed = true;
            }
        }
        changed.then_some(body)
    }

    /// The text of its `TIMTextElem` elements, joined.
    pub fn text(&self) -> String {
        self.msg_body
            .iter()
            .filter(|e| e.msg_type == "TIMTextElem")
            .filter_map(|e| e.msg_content.get("Text").and_then(|t| t.as_str()))
            .collect()
    }
}

/// `Group.CallbackSendMsgException`: a message the before-send step let
/// through failed afterwards (10017 the sender is muted, 10023 the group's
/// message rate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SendMsgException {
    /// The message, as the before-send callback saw it.
    #[serde(flatten)]
    pub message: GroupMessage,
    /// Why it failed.
    #[serde(rename = "ErrorCode", default)]
    pub error_code: i64,
    /// The failure in words.
    #[serde(rename = "ErrorInfo", default, with = "or_default")]
    pub error_info: String,
}

impl SendMsgException {
    /// `message` failed with `code`.
    pub fn new(message: GroupMessage, code: i64, info: &str) -> Self {
        SendMsgException {
            message,
            error_code: code,
            error_info: info.to_owned(),
        }
    }
}

/// `Alert.RequestOverLimit`: an API ran above 80% of its limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OverLimit {
    /// The service, e.g. `openim`.
    #[serde(rename = "ServiceName", default, with = "or_default")]
    pub service_name: String,
    /// The command, e.g. `ban_group_member`.
    #[serde(rename = "Command", default, with = "or_default")]
    pub command: String,
    /// Calls in the last second.
    #[serde(rename = "Request", default, with = "opt_u64")]
    pub request: Option<u64>,
    /// The limit.
    #[serde(rename = "Limit", default, with = "opt_u64")]
    pub limit: Option<u64>,
}

impl OverLimit {
    /// `command` of `service_name` ran at `request` calls a second against
    /// `limit`.
    pub fn new(service_name: &str, command: &str, request: u64, limit: u64) -> Self {
        OverLimit {
            service_name: service_name.to_owned(),
            command: command.to_owned(),
            request: Some(request),
            limit: Some(limit),
        }
    }
}

/// A callback, by its `CallbackCommand`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Callback {
    /// `Group.CallbackBeforeSendMsg`: answer in 2 s, the verdict decides.
    BeforeSendMsg(GroupMessage),
    /// `Group.CallbackAfterSendMsg`.
    AfterSendMsg(GroupMessage),
    /// `ContentCallback.ResultNotify`.
    ContentResult(ContentResult),
    /// `Group.CallbackAfterNewMemberJoin`.
    AfterNewMemberJoin(MemberJoin),
    /// `Group.CallbackBeforeApplyJoinGroup`.
    BeforeApplyJoinGroup(JoinApply),
    /// `Alert.RequestOverLimit`.
    RequestOverLimit(OverLimit),
    /// `Group.CallbackAfterMemberExit`.
    AfterMemberExit(MemberExit),
    /// `Group.CallbackSendMsgException`.
    SendMsgException(SendMsgException),
    /// A command this crate does not type: answer OK and count it.
    Unknown(String),
}

/// A body that is not the JSON its command says.
#[derive(Debug, thiserror::Error)]
#[error("the body of {command} is not readable: {source}")]
pub struct DecodeError {
    /// The command.
    pub command: String,
    /// Why.
    #[source]
    pub source: serde_json::Error,
}

impl Callback {
    /// The commands this crate types.
    pub const COMMANDS: &'static [&'static str] = &[
        "Group.CallbackBeforeSendMsg",
        "Group.CallbackAfterSendMsg",
        "ContentCallback.ResultNotify",
        "Group.CallbackAfterNewMemberJoin",
        "Group.CallbackBeforeApplyJoinGroup",
        "Alert.RequestOverLimit",
        "Group.CallbackAfterMemberExit",
        "Group.CallbackSendMsgException",
    ];

    /// Decodes the body of `command`.
    pub fn decode(command: &str, body: &[u8]) -> Result<Callback, DecodeError> {
        fn read<'a, T: Deserialize<'a>>(command: &str, body: &'a [u8]) -> Result<T, DecodeError> {
            serde_json::from_slice(body).map_err(|source| DecodeError {
                command: command.to_owned(),
                source,
            })
        }
        Ok(match command {
            "Group.CallbackBeforeSendMsg" => Callback::BeforeSendMsg(read(command, body)?),
            "Group.CallbackAfterSendMsg" => Callback::AfterSendMsg(read(command, body)?),
            "ContentCallback.ResultNotify" => Callback::ContentResult(read(command, body)?),
            "Group.CallbackAfterNewMemberJoin" => {
                Callback::AfterNewMemberJoin(read(command, body)?)
            }
            "Group.CallbackBeforeApplyJoinGroup" => {
                Callback::BeforeApplyJoinGroup(read(command, body)?)
            }
            "Alert.RequestOverLimit" => Callback::RequestOverLimit(read(command, body)?),
            "Group.CallbackAfterMemberExit" => Callback::AfterMemberExit(read(command, body)?),
            "Group.CallbackSendMsgException" => Callback::SendMsgException(read(command, body)?),
            other => Callback::Unknown(other.to_owned()),
        })
    }

    /// Its command.
    pub fn command(&self) -> &str {
        match self {
            Callback::BeforeSendMsg(_) => Self::COMMANDS[0],
            Callback::AfterSendMsg(_) => Self::COMMANDS[1],
            Callback::ContentResult(_) => Self::COMMANDS[2],
            Callback::AfterNewMemberJoin(_) => Self::COMMANDS[3],
            Callback::BeforeApplyJoinGroup(_) => Self::COMMANDS[4],
            Callback::RequestOverLimit(_) => Self::COMMANDS[5],
            Callback::AfterMemberExit(_) => Self::COMMANDS[6],
            Callback::SendMsgException(_) => Self::COMMANDS[7],
            Callback::Unknown(c) => c,
        }
    }
}
