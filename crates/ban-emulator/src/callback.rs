//! The emulator calls the app back, as the service does: signed callbacks
//! on group messages (before and after send), on joins, and when a command
//! runs above 80% of its rate limit. The before-send answer is honoured: 0
//! delivers, 1 refuses the sender with 10016, 2 drops the message silently;
//! no answer within the timeout (2 s) delivers, as the console's default
//! setting does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ban_callback::{sign, Answer, CallbackToken, GroupMessage, MemberJoin, OverLimit};
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
}

impl CallbackConfig {
    /// Callbacks to `url`, signed with `token`, 2 s timeout.
    pub fn new(url: impl Into<String>, token: Option<CallbackToken>) -> Self {
        CallbackConfig {
            url: url.into(),
            token,
            timeout: Duration::from_secs(2),
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
    /// Messages refused by the before-send answer (the sender got 10016).
    pub rejected: u64,
    /// Messages dropped silently by the before-send answer.
    pub dropped: u64,
}

/// The before-send verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Deliver,
    Reject,
    Drop,
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

    fn uri(&self, command: &str) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("SdkAppid", &self.sdkappid.to_string())
            .append_pair("CallbackCommand", command)
            .append_pair("contenttype", "json")
            .append_pair("ClientIP", "127.0.0.1")
            .append_pair("OptPlatform", "RESTAPI");
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

    /// Posts one callback; the app's answer, or none (counted as failed).
    async fn post(&self, command: &str, body: Vec<u8>) -> Option<Answer> {
        self.counters.sent.fetch_add(1, Ordering::Relaxed);
        let answer = async {
            let req = hyper::Request::post(self.uri(command))
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

    /// The before-send callback, waited for: its verdict (a failure
    /// delivers, as the console's default setting does).
    pub(crate) async fn before_send(&self, msg: &GroupMessage) -> Verdict {
        let body = serde_json::to_vec(msg).unwrap_or_default();
        let verdict = match self.post("Group.CallbackBeforeSendMsg", body).await {
            Some(a) if a.error_code == 1 || (10100..=10200).contains(&a.error_code) => {
                Verdict::Reject
            }
            Some(a) if a.error_code == 2 => Verdict::Drop,
            _ => Verdict::Deliver,
        };
        match verdict {
            Verdict::Reject => self.counters.rejected.fetch_add(1, Ordering::Relaxed),
            Verdict::Drop => self.counters.dropped.fetch_add(1, Ordering::Relaxed),
            Verdict::Deliver => 0,
        };
        verdict
    }

    /// A callback whose answer is ignored, sent in the background (when a
    /// runtime is there to run it).
    fn later<T: Serialize>(self: &Arc<Self>, command: &'static str, body: T) {
        let Ok(body) = serde_json::to_vec(&body) else {
            return;
        };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let me = self.clone();
            rt.spawn(async move {
                me.post(command, body).await;
            });
        }
    }

    pub(crate) fn after_send(self: &Arc<Self>, msg: GroupMessage) {
        self.later("Group.CallbackAfterSendMsg", msg);
    }

    pub(crate) fn after_join(self: &Arc<Self>, join: MemberJoin) {
        self.later("Group.CallbackAfterNewMemberJoin", join);
    }

    pub(crate) fn over_limit(self: &Arc<Self>, alert: OverLimit) {
        #[derive(Serialize)]
        struct Alert {
            #[serde(rename = "CallbackCommand")]
            command: &'static str,
            #[serde(flatten)]
            alert: OverLimit,
        }
        self.later(
            "Alert.RequestOverLimit",
            Alert {
                command: "Alert.RequestOverLimit",
                alert,
            },
        );
    }
}
