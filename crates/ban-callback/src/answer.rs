//! The answer to a callback.

use serde::{Deserialize, Serialize};

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
}

impl Answer {
    fn with(code: i64) -> Answer {
        Answer {
            action_status: "OK".to_owned(),
            error_code: code,
            error_info: String::new(),
        }
    }

    /// Allow (and, for any other callback, "handled").
    pub fn ok() -> Answer {
        Answer::with(0)
    }

    /// Reject the message or the join: the sender gets 10016.
    pub fn reject() -> Answer {
        Answer::with(1)
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
