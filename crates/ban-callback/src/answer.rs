//! The answer to a callback.

use serde::{Deserialize, Serialize};

use crate::event::MsgElement;

/// What the app answers: `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`.
/// For a before-callback `ErrorCode` is the verdict: 0 allow, 1 reject (the
/// sender gets 10016), 2 drop silently (the sender sees success); other
/// answers are ignored by the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Answer {
    /// Always `"OK"`: the app handled the callback.
    #[serde(rename = "ActionStatus")]
    pub action_status: String,
    /// The verdict.
    #[serde(rename = "ErrorCode")]
    pub error_code: i64,
    /// Why, for the logs.
    #[serde(rename = "ErrorInfo", default)]
    pub error_info: String,
    /// With `ErrorCode` 0 on a before-send callback: the body the service
    /// delivers instead of the one sent (a word masked, say).
    #[serde(rename = "MsgBody", default, skip_serializing_if = "Option::is_none")]
    pub msg_body: Option<Vec<MsgElement>>,
    /// With `ErrorCode` 0 on a before-send callback: the `CloudCustomData`
    /// the service delivers instead of the one sent.
    #[serde(
        rename = "CloudCustomData",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cloud_custom_data: Option<String>,
}

impl Answer {
    fn with(code: i64) -> Answer {
        Answer {
            action_status: "OK".to_owned(),
            error_code: code,
            error_info: String::new(),
            msg_body: None,
            cloud_custom_data: None,
        }
    }

    /// Allow the message, delivered with `body` in place of the one sent.
    ///
    /// ```
    /// use ban_callback::{Answer, MsgElement};
    /// let a = Answer::replace(vec![MsgElement::text("hello ****")]);
    /// assert!(a.allows());
    /// assert_eq!(
    ///     serde_json::to_string(&a)?,
    ///     r#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hello ****"}}]}"#
    /// );
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn replace(body: Vec<MsgElement>) -> Answer {
        Answer {
            msg_body: Some(body),
            ..Answer::ok()
        }
    }

    /// The same answer with `data` as the delivered `CloudCustomData`.
    pub fn with_cloud_custom_data(mut self, data: impl Into<String>) -> Answer {
        self.cloud_custom_data = Some(data.into());
        self
    }

    /// Whether it changes what is delivered (a replacement `MsgBody` or
    /// `CloudCustomData`).
    pub fn modifies(&self) -> bool {
        self.msg_body.is_some() || self.cloud_custom_data.is_some()
    }

    /// Allow (and, for any other callback, "handled").
    pub fn ok() -> Answer {
        Answer::with(0)
    }

    /// Reject the message or the join: the sender gets 10016.
    pub fn reject() -> Answer {
        Answer::with(1)
    }

    /// Refuse the message or the join with the app's own `code` (10100 to
    /// 10200) and `info`: the sender gets both, not 10016.
    ///
    /// ```
    /// let a = ban_callback::Answer::refuse_with(10150, "New members can chat once the raid is over");
    /// assert!(!a.allows());
    /// assert_eq!((a.error_code, a.error_info.as_str()), (10150, "New members can chat once the raid is over"));
    /// ```
    pub fn refuse_with(code: i64, info: impl Into<String>) -> Answer {
        Answer {
            error_info: info.into(),
            ..Answer::with(code)
        }
    }

    /// Drop the message silently: the sender sees success, nobody gets it.
    pub fn drop_silently() -> Answer {
        Answer::with(2)
    }

    /// Whether it lets the message (or the join) through.
    pub fn allows(&self) -> bool {
        self.error_code == 0
    }
}
