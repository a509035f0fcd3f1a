//! Tencent Cloud Chat's third-party callbacks, without a transport: the
//! service POSTs JSON to the app's URL on group messages, joins, content
//! moderation results and over-limit alarms. This crate reads the query
//! ([`CallbackQuery`]), checks it ([`Verifier`]: `Sign =
//! hex(sha256(Token + RequestTime))` compared in constant time, a freshness
//! window on `RequestTime`, the `SdkAppid`), decodes the body into a typed
//! [`Callback`] (tolerant where Tencent's pages disagree: `EventTime` a
//! number or a string, `TextContent` an array or a string, `null` lists),
//! and writes the answer ([`Answer`]). Unknown commands decode as
//! [`Callback::Unknown`], never as an error: the service adds commands.
//!
//! ```
//! use ban_callback::{sign, Answer, Callback, CallbackQuery, CallbackToken, Verifier};
//!
//! let token = CallbackToken::new("xxxyyy");
//! let digest = sign(&token, "1669872112");
//! let query = format!(
//!     "SdkAppid=1400000000&CallbackCommand=Group.CallbackBeforeSendMsg&contenttype=json&Sign={digest}&RequestTime=1669872112"
//! );
//! let query = CallbackQuery::parse(&query)?;
//! let verifier = Verifier::new(1400000000, Some(token));
//! verifier.verify(&query, 1669872120)?;
//! let body = br#"{"GroupId":"@TGS#aLIVE","From_Account":"bot1","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"free coins"}}],"EventTime":"1669872112000"}"#;
//! let Callback::BeforeSendMsg(msg) = Callback::decode(&query.command, body)? else { panic!() };
//! assert_eq!(msg.text(), "free coins");
//! assert_eq!(msg.event_time, Some(1669872112000));
//! assert_eq!(serde_json::to_string(&Answer::reject())?, r#"{"ActionStatus":"OK","ErrorCode":1,"ErrorInfo":""}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod answer;
mod content;
mod event;
mod member;
mod query;
mod sign;
mod tolerant;

pub use answer::Answer;
pub use content::{ContactItem, ContentResult, Suggestion};
pub use event::{
    Callback, DecodeError, GroupMessage, JoinApply, MemberExit, MemberJoin, MsgElement, NewMember,
    OverLimit, SendMsgException,
};
pub use query::{CallbackQuery, QueryError};
pub use sign::{replay_digest, sign, AuthError, CallbackToken, Verifier, DEFAULT_WINDOW};
