//! The account-level commands, app-wide: `im_open_login_svc/kick` (every
//! UserSig the account holds stops working; a fresh one logs in again),
//! and `openconfigsvr/setnospeaking` and `getnospeaking`, the app-wide
//! mute of one account (its group messages get 10017 before any callback;
//! these two answer without `ActionStatus`: the server layer drops it from
//! every answer of theirs, errors included).

use ban_proto::{Envelope, ErrorCode, NoSpeakingState, PlainAnswer};
use serde_json::Value;

use super::api::check_shape;
use super::{Answer, Core};

/// A `*NospeakingTime`: absent, or a uint32 (10004 otherwise).
fn seconds(body: &Value, field: &str) -> Result<Option<u32>, Answer> {
    match body.get(field) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| {
                Answer::err(
                    ErrorCode::InvalidParameter,
                    format!("{field} is {v}; it must be a uint32 number of seconds"),
                )
            }),
    }
}

/// The account a body names in `field`: a non-empty string (10004).
fn account<'a>(body: &'a Value, field: &str) -> Result<&'a str, Answer> {
    match body.get(field).and_then(Value::as_str) {
        Some(a) if !a.is_empty() => Ok(a),
        _ => Err(Answer::err(
            ErrorCode::InvalidParameter,
            format!("{field} must be a non-empty account string"),
        )),
    }
}

impl Core {
    /// `kick`: `UserID` logged out everywhere, now.
    pub(super) fn kick(&self, body: Value) -> Answer {
        let run = || {
            check_shape(&body, &["UserID"])?;
            let who = account(&body, "UserID")?;
            self.auth.kick(who);
            Ok(Answer::ok(&Envelope::ok()))
        };
        run().unwrap_or_else(|a: Answer| a)
    }

    /// `setnospeaking`: sets, or with 0 lifts, the group and one-to-one
    /// silences of `Set_Account` (at least one of the two times).
    pub(super) fn set_no_speaking(&self, body: Value) -> Answer {
        let run = || {
            check_shape(&body, &["Set_Account"])?;
            let who = account(&body, "Set_Account")?;
            let group = seconds(&body, "GroupmsgNospeakingTime")?;
            let c2c = seconds(&body, "C2CmsgNospeakingTime")?;
            if group.is_none() && c2c.is_none() {
                return Err(Answer::err(
                    ErrorCode::InvalidParameter,
                    "give GroupmsgNospeakingTime or C2CmsgNospeakingTime (or both)",
                ));
            }
            self.groups.set_no_speaking(who, group, c2c);
            Ok(Answer::ok(&PlainAnswer {
                error_code: ErrorCode::Success,
                error_info: String::new(),
            }))
        };
        run().unwrap_or_else(|a| a)
    }

    /// `getnospeaking`: the seconds left of `Get_Account`'s silences.
    pub(super) fn get_no_speaking(&self, body: Value) -> Answer {
        let run = || {
            check_shape(&body, &["Get_Account"])?;
            let who = account(&body, "Get_Account")?;
            let (group, c2c) = self.groups.no_speaking(who);
            Ok(Answer::ok(&NoSpeakingState {
                error_code: ErrorCode::Success,
                error_info: String::new(),
                group,
                c2c,
            }))
        };
        run().unwrap_or_else(|a: Answer| a)
    }
}
