//! The emulator calls the app back, as the service does: signed callbacks
//! on group messages (before and after send, and when one fails after the
//! before-send step), on join applications (before) and joins and exits
//! (after), and when a command runs above 80% of its rate limit. Every
//! body carries its `CallbackCommand`; the URL carries the sender's
//! platform (`OptPlatform`).
//!
//! The before-send (and before-join) answer is honoured: 0 delivers, with
//! the answer's `MsgBody` and `CloudCustomData` in place of the message's
//! when it has them; 1 refuses the sender with 10016; 10100-10200 refuses
//! with that code and the app's `ErrorInfo`; 2 drops the message silently
//! (the sender sees success). An answer that is late (the service waits
//! 2 s), not HTTP 200 or not JSON delivers, as the console's default
//! setting does, or refuses with 80003 under `fail_closed`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ban_callback::{
    sign, Answer, CallbackToken, GroupMessage, JoinApply, MemberExit, MemberJoin, MsgElement,
    OverLimit, SendMsgException,
};
use ban_proto::SettingError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};

/// Where and how the emulator calls the app back.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CallbackConfig {
    /// The app's callback URL: plain HTTP on a loopback address (the
    /// emulator never dials anything else); it may carry its own query.
    pub url: String,
    /// The console's callback token: with one, every callback carries
    /// `Sign` and `RequestTime`.
    pub token: Option<CallbackToken>,
    /// How long the before-send callback is waited for (the service: 2 s).
    pub timeout: Duration,
    /// The console's "do not deliver" setting: a before-send (or
    /// before-join) callback that is late, not HTTP 200 or not JSON refuses
    /// the sender with 80003, instead of delivering.
    pub fail_closed: bool,
}

impl CallbackConfig {
    /// Callbacks to `url`, signed with `token`, 2 s timeout.
    pub fn new(url: impl Into<String>, token: Option<CallbackToken>) -> Self {
        CallbackConfig {
            url: url.into(),
            token,
            timeout: Duration::from_secs(2),
            fail_closed: false,
        }
    }

    /// Refuses a URL that is not plain HTTP to a loopback address.
    pub(crate) fn check(&self) -> Result<hyper::Uri, SettingError> {
        let bad = |why: &str| {
            SettingError::new(
                "callback URL",
                ban_proto::escape_bounded(&self.url, 64),
                why,
            )
        };
        let uri: hyper::Uri = self
            .url
            .parse()
            .map_err(|_| bad("a URL such as http://127.0.0.1:8080/callback"))?;
        if uri.scheme_str() != Some("http") {
            return Err(bad(
                "plain http:// (the emulator calls back on loopback only)",
            ));
        }
        let host = uri
            .host()
            .unwrap_or("")
            .trim_start_matches('[')
            .trim_end_matches(']');
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return Err(bad("a loopback host (127.0.0.1, ::1 or localhost)"));
        }
        Ok(uri)
    }
}

/// What the emulator's callbacks did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CallbackStats {
    /// Callbacks sent.
    pub sent: u64,
    /// Callbacks that failed: no answer in time, not HTTP 200, not JSON.
    pub failed: u64,
    /// Messages (and join applications) refused by the before-send (or
    /// before-join) answer: 10016, the app's own code, or 80003.
    pub rejected: u64,
    /// Messages dropped silently by the before-send answer.
    pub dropped: u64,
}

/// The before-send (or before-join) verdict.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// Deliver (or admit), with the answer's replacement body and
    /// `CloudCustomData` when it gave them.
    Deliver {
        body: Option<Vec<MsgElement>>,
        cloud_custom_data: Option<String>,
    },
    /// Refuse the sender with this code and text.
    Reject { code: i64, info: String },
    /// The sender sees success; nobody receives it.
    Drop,
}

impl Verdict {
    /// Deliver as sent.
    pub(crate) const fn deliver() -> Verdict {
        Verdict::Deliver {
            body: None,
            cloud_custom_data: None,
        }
    }
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    failed: AtomicU64,
    rejected: AtomicU64,
    dropped: AtomicU64,
}

/// Sends the callbacks.
pub(crate) struct Caller {
    client: Client<HttpConnector, Full<Bytes>>,
    url: String,
    token: Option<CallbackToken>,
    timeout: Duration,
    fail_closed: bool,
    sdkappid: u64,
    counters: Counters,
}

impl Caller {
    pub(crate) fn new(config: &CallbackConfig, sdkappid: u64) -> Result<Caller, SettingError> {
        config.check()?;
        let mut builder = Client::builder(TokioExecutor::new());
        builder.pool_idle_timeout(Duration::from_secs(30));
        Ok(Caller {
            client: builder.build_http(),
            url: config.url.clone(),
            token: config.token.clone().filter(|t| !t.is_empty()),
            timeout: config.timeout,
            fail_closed: config.fail_closed,
            sdkappid,
            counters: Counters::default(),
        })
    }

    pub(crate) fn stats(&self) -> CallbackStats {
        let c = &self.counters;
        CallbackStats {
            sent: c.sent.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
        }
    }

    /// The URL of one callback: the console's URL and the service's query,
    /// with the sender's platform; `ClientIP` where the service sends one
    /// (not on alerts).
    fn uri(&self, command: &str, from: &From) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("SdkAppid", &self.sdkappid.to_string())
            .append_pair("CallbackCommand", command)
            .append_pair("contenttype", "json");
        if let From::Client(_) | From::Rest = from {
            q.append_pair("ClientIP", "127.0.0.1");
        }
        q.append_pair("OptPlatform", from.platform());
        if let Some(token) = &self.token {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
                .to_string();
            q.append_pair("Sign", &sign(token, &now))
                .append_pair("RequestTime", &now);
        }
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}{}", self.url, q.finish())
    }

    /// Posts one callback, its body carrying `CallbackCommand` as the
    /// samples do; the app's answer, or none (counted as failed).
    async fn post<T: Serialize>(&self, command: &str, from: &From, body: &T) -> Option<Answer> {
        let body = with_command(command, body)?;
        self.post_bytes(command, from, body).await
    }

    async fn post_bytes(&self, command: &str, from: &From, body: Vec<u8>) -> Option<Answer> {
        self.counters.sent.fetch_add(1, Ordering::Relaxed);
        let answer = async {
            let req = hyper::Request::post(self.uri(command, from))
                .header(hyper::header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(body)))
                .ok()?;
            let resp = self.client.request(req).await.ok()?;
            if resp.status() != hyper::StatusCode::OK {
                return None;
            }
            let bytes = resp.into_body().collect().await.ok()?.to_bytes();
            serde_json::from_slice::<Answer>(&bytes).ok()
        };
        let answer = tokio::time::timeout(self.timeout, answer)
            .await
            .ok()
            .flatten();
        if answer.is_none() {
            self.counters.failed.fetch_add(1, Ordering::Relaxed);
            tracing::info!(command, "the app's callback failed or timed out");
        }
        answer
    }

    /// What an answer (or none) to a before-callback decides.
    fn judge(&self, answer: Option<Answer>, refused: &str) -> Verdict {
        let verdict = match answer {
            None if self.fail_closed => Verdict::Reject {
                code: 80003,
                info: "the app's callback failed or timed out, and the app does not deliver then"
                    .to_owned(),
            },
            None => Verdict::deliver(),
            Some(a) if a.error_code == 1 => Verdict::Reject {
                code: 10016,
                info: refused.to_owned(),
            },
            Some(a) if (10100..=10200).contains(&a.error_code) => Verdict::Reject {
                code: a.error_code,
                info: a.error_info,
            },
            Some(a) if a.error_code == 2 => Verdict::Drop,
            // 0, and any other code the service ignores.
            Some(a) => Verdict::Deliver {
                body: a.msg_body.filter(|b| !b.is_empty()),
                cloud_custom_data: a.cloud_custom_data,
            },
        };
        match verdict {
            Verdict::Reject { .. } => self.counters.rejected.fetch_add(1, Ordering::Relaxed),
            Verdict::Drop => self.counters.dropped.fetch_add(1, Ordering::Relaxed),
            Verdict::Deliver { .. } => 0,
        };
        verdict
    }

    /// The before-send callback, waited for: its verdict.
    pub(crate) async fn before_send(&self, msg: &GroupMessage, from: &From) -> Verdict {
        let answer = self.post("Group.CallbackBeforeSendMsg", from, msg).await;
        self.judge(answer, "the app's before-send callback refused the message")
    }

    /// The before-join callback of a join application, waited for: admit
    /// (`Deliver`) or refuse; a drop answer admits (it means nothing for a
    /// join).
    pub(crate) async fn before_join(&self, apply: &JoinApply, from: &From) -> Verdict {
        let answer = self
            .post("Group.CallbackBeforeApplyJoinGroup", from, apply)
            .await;
        match self.judge(
            answer,
            "the app's before-join callback refused the application",
        ) {
            Verdict::Drop => Verdict::deliver(),
            v => v,
        }
    }

    /// A callback whose answer is ignored, sent in the background (when a
    /// runtime is there to run it).
    fn later<T: Serialize>(self: &Arc<Self>, command: &'static str, from: From, body: T) {
        let Some(body) = with_command(command, &body) else {
            return;
        };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let me = self.clone();
            rt.spawn(async move {
                me.post_bytes(command, &from, body).await;
            });
        }
    }

    pub(crate) fn after_send(self: &Arc<Self>, msg: GroupMessage, from: From) {
        self.later("Group.CallbackAfterSendMsg", from, msg);
    }

    pub(crate) fn send_exception(self: &Arc<Self>, failed: SendMsgException, from: From) {
        self.later("Group.CallbackSendMsgException", from, failed);
    }

    pub(crate) fn after_join(self: &Arc<Self>, join: MemberJoin, from: From) {
        self.later("Group.CallbackAfterNewMemberJoin", from, join);
    }

    pub(crate) fn after_exit(self: &Arc<Self>, exit: MemberExit, from: From) {
        self.later("Group.CallbackAfterMemberExit", from, exit);
    }

    pub(crate) fn over_limit(self: &Arc<Self>, alert: OverLimit) {
        self.later("Alert.RequestOverLimit", From::Alarm, alert);
    }
}

/// Who caused a callback: a REST call (`OptPlatform=RESTAPI`), a client on
/// its platform (`Web`, `Android`, `iOS`, ...), or the service's own alarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum From {
    Rest,
    Client(String),
    Alarm,
}

impl From {
    fn platform(&self) -> &str {
        match self {
            From::Rest | From::Alarm => "RESTAPI",
            From::Client(p) => p,
        }
    }
}

/// The platforms a callback's `OptPlatform` names.
pub(crate) const PLATFORMS: &[&str] = &[
    "RESTAPI", "Web", "Android", "iOS", "Windows", "Mac", "iPad", "Unknown",
];

/// `body` as JSON with its `"CallbackCommand"`, as in every sample.
fn with_command<T: Serialize>(command: &str, body: &T) -> Option<Vec<u8>> {
    let serde_json::Value::Object(mut fields) = serde_json::to_value(body).ok()? else {
        return None;
    };
    fields.insert("CallbackCommand".to_owned(), command.into());
    serde_json::to_vec(&fields).ok()
}
