//! Request and response bodies, spelled as the service spells them.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::codes::ErrorCode;
use crate::endpoint::Endpoint;
use crate::validate::{BanDuration, Description, GroupId, MemberList, PageLimit, PageOffset};

/// A request body the service accepts at one endpoint.
///
/// Implemented by this crate's three ban requests; other crates may implement
/// it for further commands (the emulator does, for `create_group`).
pub trait Command: Serialize {
    /// Where it is sent, with its limits.
    const ENDPOINT: &'static Endpoint;
    /// What the service answers.
    type Response: ServiceResponse + DeserializeOwned;
}

/// The common part of every answer: `ActionStatus`, `ErrorCode`, `ErrorInfo`.
pub trait ServiceResponse {
    /// `ActionStatus`.
    fn action_status(&self) -> &ActionStatus;
    /// `ErrorCode` (0 on success).
    fn error_code(&self) -> ErrorCode;
    /// `ErrorInfo` (often empty on success).
    fn error_info(&self) -> &str;
    /// Whether the call succeeded: `ErrorCode` 0. (`ActionStatus` is advisory;
    /// the code is what the documentation says to trust.)
    fn is_success(&self) -> bool {
        self.error_code().is_success()
    }
}

/// Implements [`ServiceResponse`] for an answer with the common fields
/// `action_status`, `error_code` and `error_info`.
macro_rules! service_response {
    ($t:ty) => {
        impl $crate::message::ServiceResponse for $t {
            fn action_status(&self) -> &$crate::message::ActionStatus {
                &self.action_status
            }
            fn error_code(&self) -> $crate::codes::ErrorCode {
                self.error_code
            }
            fn error_info(&self) -> &str {
                &self.error_info
            }
        }
    };
}
pub(crate) use service_response;

/// `ActionStatus`: `"OK"` or `"FAIL"`; any other value is kept as sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ActionStatus {
    /// `"OK"`.
    Ok,
    /// `"FAIL"`.
    Fail,
    /// Any other value (tolerated and kept, never produced by this crate).
    Other(String),
}

impl ActionStatus {
    /// The value as the service spells it.
    pub fn as_str(&self) -> &str {
        match self {
            ActionStatus::Ok => "OK",
            ActionStatus::Fail => "FAIL",
            ActionStatus::Other(s) => s,
        }
    }
}

impl Serialize for ActionStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ActionStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Ok(match s.as_str() {
            "OK" => ActionStatus::Ok,
            "FAIL" => ActionStatus::Fail,
            _ => ActionStatus::Other(s),
        })
    }
}

/// The answer to `ban_group_member` and `unban_group_member`, and the common
/// envelope of every answer. Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// `"OK"` or `"FAIL"`.
    #[serde(rename = "ActionStatus")]
    pub action_status: ActionStatus,
    /// 0 on success.
    #[serde(rename = "ErrorCode")]
    pub error_code: ErrorCode,
    /// A human-readable reason; empty on success.
    #[serde(rename = "ErrorInfo", default, deserialize_with = "null_as_default")]
    pub error_info: String,
}

impl Envelope {
    /// A success answer.
    pub fn ok() -> Self {
        Envelope {
            action_status: ActionStatus::Ok,
            error_code: ErrorCode::Success,
            error_info: String::new(),
        }
    }

    /// A failure answer with a code and a reason.
    pub fn fail(code: ErrorCode, info: impl Into<String>) -> Self {
        Envelope {
            action_status: ActionStatus::Fail,
            error_code: code,
            error_info: info.into(),
        }
    }
}

crate::message::service_response!(Envelope);

/// `ban_group_member`: ban 1 to 20 members of an AVChatRoom for a duration.
///
/// Banning a member again replaces the end time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanRequest<'a> {
    /// The group.
    #[serde(rename = "GroupId")]
    pub group_id: GroupId<'a>,
    /// The members, 1 to 20.
    #[serde(rename = "Members_Account")]
    pub members: MemberList<'a>,
    /// How long the ban lasts, in seconds.
    #[serde(rename = "Duration")]
    pub duration: BanDuration,
    /// Why, shown to the member; at most 1000 bytes.
    #[serde(
        rename = "Description",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<Description<'a>>,
}

impl Command for BanRequest<'_> {
    const ENDPOINT: &'static Endpoint = &Endpoint::BAN_GROUP_MEMBER;
    type Response = Envelope;
}

/// `unban_group_member`: lift the ban of 1 to 20 members at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnbanRequest<'a> {
    /// The group.
    #[serde(rename = "GroupId")]
    pub group_id: GroupId<'a>,
    /// The members, 1 to 20.
    #[serde(rename = "Members_Account")]
    pub members: MemberList<'a>,
}

impl Command for UnbanRequest<'_> {
    const ENDPOINT: &'static Endpoint = &Endpoint::UNBAN_GROUP_MEMBER;
    type Response = Envelope;
}

/// `get_group_ban_member`: one page of the group's banned members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanListRequest<'a> {
    /// The group.
    #[serde(rename = "GroupId")]
    pub group_id: GroupId<'a>,
    /// Where the page starts: 0, then the previous page's `NextOffset`.
    /// Required, as documented.
    #[serde(rename = "Offset")]
    pub offset: PageOffset,
    /// Page size, 1 to 100. Always sent (the documentation disagrees on
    /// whether it is optional).
    #[serde(rename = "Limit", default)]
    pub limit: PageLimit,
}

impl Command for BanListRequest<'_> {
    const ENDPOINT: &'static Endpoint = &Endpoint::GET_GROUP_BAN_MEMBER;
    type Response = BanListResponse;
}

/// One entry of `BannedAccountList`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BannedAccount {
    /// The banned member.
    #[serde(rename = "Member_Account")]
    pub member_account: String,
    /// When the ban ends, in Unix seconds.
    #[serde(rename = "BannedUntil")]
    pub banned_until: u64,
}

/// The answer to `get_group_ban_member`. Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanListResponse {
    /// `"OK"` or `"FAIL"`.
    #[serde(rename = "ActionStatus")]
    pub action_status: ActionStatus,
    /// 0 on success.
    #[serde(rename = "ErrorCode")]
    pub error_code: ErrorCode,
    /// A human-readable reason; empty on success.
    #[serde(rename = "ErrorInfo", default, deserialize_with = "null_as_default")]
    pub error_info: String,
    /// This page, ordered by ban end time.
    #[serde(
        rename = "BannedAccountList",
        default,
        deserialize_with = "null_as_default"
    )]
    pub banned: Vec<BannedAccount>,
    /// Where the next page starts; 0 when there are no more pages (the
    /// documented sample also answers a non-zero offset with an empty next
    /// page: stop on either). The same type as the request's `Offset`.
    #[serde(rename = "NextOffset", default)]
    pub next_offset: PageOffset,
}

crate::message::service_response!(BanListResponse);

/// `null` decodes as the empty value: nothing in the documentation says
/// `ErrorInfo` or a list is never `null`, so a tolerant client accepts it.
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// Serializes a request into the caller's buffer (appending), allocating
/// nothing else: the hot path of a bulk job reuses one buffer per call.
pub fn encode_into<T: Serialize + ?Sized>(
    value: &T,
    buf: &mut Vec<u8>,
) -> Result<(), serde_json::Error> {
    serde_json::to_writer(buf, value)
}
