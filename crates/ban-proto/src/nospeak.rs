//! The app-wide mute: `openconfigsvr/setnospeaking` and `getnospeaking`.
//! An account set not to speak cannot send group messages (10017, and no
//! before-send callback is asked) and/or one-to-one messages, in every
//! group of the app, until the time runs out. Unlike every other command
//! of this crate, the answers carry `ErrorCode` and `ErrorInfo` but no
//! `ActionStatus`; the types read them without it.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::codes::ErrorCode;
use crate::endpoint::Endpoint;
use crate::message::{null_as_default, ActionStatus, Command, ServiceResponse};
use crate::mute::MuteDuration;
use crate::validate::{MemberAccount, ValidationError};

/// `setnospeaking`: how long an account may not speak, for group messages
/// and one-to-one messages (each uint32 seconds: 0 lifts, 4294967295 is
/// permanent; at least one is sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoSpeakingRequest<'a> {
    #[serde(rename = "Set_Account")]
    account: MemberAccount<'a>,
    #[serde(
        rename = "GroupmsgNospeakingTime",
        skip_serializing_if = "Option::is_none"
    )]
    group: Option<MuteDuration>,
    #[serde(
        rename = "C2CmsgNospeakingTime",
        skip_serializing_if = "Option::is_none"
    )]
    c2c: Option<MuteDuration>,
}

impl<'a> NoSpeakingRequest<'a> {
    /// `account` silenced in groups for `group` and in one-to-one messages
    /// for `c2c` (each left unchanged when `None`); both `None` is refused.
    pub fn new(
        account: impl Into<Cow<'a, str>>,
        group: Option<MuteDuration>,
        c2c: Option<MuteDuration>,
    ) -> Result<Self, ValidationError> {
        let account =
            MemberAccount::new(account).map_err(|e| e.with_field("Set_Account".to_owned()))?;
        if group.is_none() && c2c.is_none() {
            return Err(ValidationError::NoneOf {
                field: Cow::Borrowed("GroupmsgNospeakingTime and C2CmsgNospeakingTime"),
            });
        }
        Ok(NoSpeakingRequest {
            account,
            group,
            c2c,
        })
    }

    /// The account.
    pub fn account(&self) -> &str {
        self.account.as_str()
    }
}

impl Command for NoSpeakingRequest<'_> {
    const ENDPOINT: &'static Endpoint = &Endpoint::SET_NO_SPEAKING;
    type Response = PlainAnswer;
}

/// `getnospeaking`: how long an account still may not speak.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GetNoSpeakingRequest<'a> {
    #[serde(rename = "Get_Account")]
    account: MemberAccount<'a>,
}

impl<'a> GetNoSpeakingRequest<'a> {
    /// The state of `account`.
    pub fn new(account: impl Into<Cow<'a, str>>) -> Result<Self, ValidationError> {
        let account =
            MemberAccount::new(account).map_err(|e| e.with_field("Get_Account".to_owned()))?;
        Ok(GetNoSpeakingRequest { account })
    }
}

impl Command for GetNoSpeakingRequest<'_> {
    const ENDPOINT: &'static Endpoint = &Endpoint::GET_NO_SPEAKING;
    type Response = NoSpeakingState;
}

/// What `ActionStatus` an answer without one reads as: derived from its
/// code.
static OK_STATUS: ActionStatus = ActionStatus::Ok;
static FAIL_STATUS: ActionStatus = ActionStatus::Fail;

fn status_of(code: ErrorCode) -> &'static ActionStatus {
    if code.is_success() {
        &OK_STATUS
    } else {
        &FAIL_STATUS
    }
}

/// An answer of `ErrorCode` and `ErrorInfo` only (`setnospeaking`'s).
/// Unknown fields are ignored; an `ActionStatus` sent anyway is ignored too
/// (the code is what counts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlainAnswer {
    /// 0 on success.
    #[serde(rename = "ErrorCode")]
    pub error_code: ErrorCode,
    /// A human-readable reason; empty on success.
    #[serde(rename = "ErrorInfo", default, deserialize_with = "null_as_default")]
    pub error_info: String,
}

impl ServiceResponse for PlainAnswer {
    fn action_status(&self) -> &ActionStatus {
        status_of(self.error_code)
    }
    fn error_code(&self) -> ErrorCode {
        self.error_code
    }
    fn error_info(&self) -> &str {
        &self.error_info
    }
}

/// The answer to `getnospeaking`: the seconds each silence has left (0:
/// none; 4294967295: permanent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoSpeakingState {
    /// 0 on success.
    #[serde(rename = "ErrorCode")]
    pub error_code: ErrorCode,
    /// A human-readable reason; empty on success.
    #[serde(rename = "ErrorInfo", default, deserialize_with = "null_as_default")]
    pub error_info: String,
    /// Seconds left of the group-message silence.
    #[serde(rename = "GroupmsgNospeakingTime", default)]
    pub group: u64,
    /// Seconds left of the one-to-one silence.
    #[serde(rename = "C2CmsgNospeakingTime", default)]
    pub c2c: u64,
}

impl ServiceResponse for NoSpeakingState {
    fn action_status(&self) -> &ActionStatus {
        status_of(self.error_code)
    }
    fn error_code(&self) -> ErrorCode {
        self.error_code
    }
    fn error_info(&self) -> &str {
        &self.error_info
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_names_only_what_it_sets_and_needs_one() {
        let r = NoSpeakingRequest::new("bot1", Some(MuteDuration::PERMANENT), None).unwrap();
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"Set_Account": "bot1", "GroupmsgNospeakingTime": 4294967295u32})
        );
        let e = NoSpeakingRequest::new("bot1", None, None).unwrap_err();
        assert!(e.to_string().contains("GroupmsgNospeakingTime"), "{e}");
        let e = NoSpeakingRequest::new("", Some(MuteDuration::LIFT), None).unwrap_err();
        assert_eq!(e.field(), "Set_Account");
    }

    #[test]
    fn answers_without_action_status_read_by_their_code() {
        let ok: PlainAnswer = serde_json::from_str(r#"{"ErrorCode":0,"ErrorInfo":""}"#).unwrap();
        assert!(ok.is_success());
        assert_eq!(ok.action_status(), &ActionStatus::Ok);
        let st: NoSpeakingState = serde_json::from_str(
            r#"{"ErrorCode":0,"ErrorInfo":"","C2CmsgNospeakingTime":0,"GroupmsgNospeakingTime":4294967295}"#,
        )
        .unwrap();
        assert_eq!((st.group, st.c2c), (4294967295, 0));
        let bad: PlainAnswer =
            serde_json::from_str(r#"{"ErrorCode":130004,"ErrorInfo":null}"#).unwrap();
        assert_eq!(bad.action_status(), &ActionStatus::Fail);
    }
}
