//! The callback signature: `Sign = hex(sha256(Token + RequestTime))`,
//! lowercase, where Token is the secret set in the console. Checked in
//! constant time, with a freshness window on `RequestTime` and the app's
//! `SdkAppid`.

use std::fmt;
use std::time::Duration;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::query::CallbackQuery;

/// How far `RequestTime` may be from now, either way, before a request is
/// refused as stale: 5 minutes. Tencent documents no window; a signature
/// is only as old as the replay it allows, and 5 minutes covers clock drift
/// between Tencent and the app (the window Slack and Stripe use for the
/// same check).
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);

/// The callback token set in the console. Never shown: `Debug` prints
/// `CallbackToken(<redacted>)`, and the bytes are wiped when dropped.
#[derive(Clone)]
pub struct CallbackToken(Zeroizing<String>);

impl CallbackToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        CallbackToken(Zeroizing::new(token.into()))
    }

    /// Whether the token is empty (an empty token authenticates nothing).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CallbackToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallbackToken(<redacted>)")
    }
}

/// The `Sign` of a request made at `request_time` (the query's text, as
/// sent): lowercase hex of SHA-256 over the token then the time.
///
/// ```
/// use ban_callback::{sign, CallbackToken};
///
/// assert_eq!(
///     sign(&CallbackToken::new("xxxyyy"), "1669872112"),
///     "e78a85473bed2cdc8d6fa8c4d5a4ba4735fd64156e15a99516b9890293e135de"
/// );
/// ```
pub fn sign(token: &CallbackToken, request_time: &str) -> String {
    let mut h = Sha256::new();
    h.update(token.expose().as_bytes());
    h.update(request_time.as_bytes());
    hex(&h.finalize())
}

fn hex(digest: &[u8]) -> String {
    let mut out = String::with_capacity(2 * digest.len());
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

/// What identifies one delivery of a callback, so a repeat of it (the
/// service retrying, or someone replaying a captured request) is counted
/// once: lowercase hex of SHA-256 over its `RequestTime`, its `Sign` and
/// its body, each length-prefixed. Tencent's `Sign` covers only the token
/// and `RequestTime`, so the body is part of it: two callbacks signed in
/// the same second differ by their bodies.
///
/// ```
/// use ban_callback::{replay_digest, CallbackQuery};
///
/// let q = CallbackQuery::parse("SdkAppid=1&CallbackCommand=x&Sign=ab&RequestTime=9")?;
/// assert_eq!(replay_digest(&q, b"{}"), replay_digest(&q, b"{}"));
/// assert_ne!(replay_digest(&q, b"{}"), replay_digest(&q, b"{ }"));
/// # Ok::<(), ban_callback::QueryError>(())
/// ```
pub fn replay_digest(query: &CallbackQuery, body: &[u8]) -> String {
    let mut h = Sha256::new();
    for part in [
        query.request_time.as_deref().unwrap_or("").as_bytes(),
        query.sign.as_deref().unwrap_or("").as_bytes(),
        body,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    hex(&h.finalize())
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Why a callback request was refused (answer HTTP 401, act on nothing).
/// Never holds the token or the expected digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// `SdkAppid` is another app's. The message does not say which app
    /// this is: anyone may send a request.
    #[error("SdkAppid {given} is not this service's app")]
    OtherApp {
        /// This app.
        expected: u64,
        /// What the request said.
        given: u64,
    },
    /// A token is configured and the request has no `Sign`.
    #[error(
        "the request has no Sign; a callback token is configured, so every request must be signed"
    )]
    MissingSign,
    /// A token is configured and the request has no usable `RequestTime`.
    #[error("the request has no RequestTime (Unix seconds) to check its Sign against")]
    MissingTime,
    /// `RequestTime` is outside the freshness window.
    #[error("{}", stale_text(*request_time, *age_secs, *ahead, *window_secs))]
    Stale {
        /// What the request said.
        request_time: u64,
        /// How far from now, seconds.
        age_secs: u64,
        /// Whether it is ahead of this clock (else behind it).
        ahead: bool,
        /// The window, seconds.
        window_secs: u64,
    },
    /// `Sign` is not the digest of this app's token and `RequestTime`.
    #[error("Sign does not match this app's callback token")]
    BadSign,
}

/// A `RequestTime` out of the window in words: how far in the past or
/// future, or that it looks like milliseconds (Tencent sends seconds).
fn stale_text(request_time: u64, age: u64, ahead: bool, window: u64) -> String {
    // Unix seconds pass 10^11 in the year 5138; milliseconds did in 1973.
    if request_time >= 100_000_000_000 {
        return format!(
            "RequestTime {request_time} looks like milliseconds: it must be Unix seconds, within {window} s of now"
        );
    }
    let when = if ahead { "in the future" } else { "old" };
    format!(
        "RequestTime {request_time} is {age} s {when}, outside the {window} s window ({})",
        if ahead {
            "a clock far off"
        } else {
            "a replay, a clock far off, or a callback queued that long"
        }
    )
}

/// Checks callback requests for one app.
#[derive(Debug, Clone)]
pub struct Verifier {
    sdkappid: u64,
    token: Option<CallbackToken>,
    window: Duration,
}

impl Verifier {
    /// A verifier for `sdkappid`; with a token every request must carry a
    /// fresh, matching `Sign` (without one, only `SdkAppid` is checked: the
    /// console's authentication is off). An empty token counts as none.
    pub fn new(sdkappid: u64, token: Option<CallbackToken>) -> Self {
        Verifier {
            sdkappid,
            token: token.filter(|t| !t.is_empty()),
            window: DEFAULT_WINDOW,
        }
    }

    /// Sets the freshness window (default [`DEFAULT_WINDOW`]).
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The app.
    pub fn sdkappid(&self) -> u64 {
        self.sdkappid
    }

    /// Whether requests must be signed.
    pub fn requires_sign(&self) -> bool {
        self.token.is_some()
    }

    /// Checks `query` at `now_unix` (seconds): the app, then the signature's
    /// presence, freshness and digest.
    pub fn verify(&self, query: &CallbackQuery, now_unix: u64) -> Result<(), AuthError> {
        if query.sdkappid != self.sdkappid {
            return Err(AuthError::OtherApp {
                expected: self.sdkappid,
                given: query.sdkappid,
            });
        }
        let Some(token) = &self.token else {
            return Ok(());
        };
        let given = query.sign.as_deref().ok_or(AuthError::MissingSign)?;
        let raw_time = query
            .request_time
            .as_deref()
            .ok_or(AuthError::MissingTime)?;
        let request_time: u64 = raw_time.parse().map_err(|_| AuthError::MissingTime)?;
        let age = now_unix.abs_diff(request_time);
        if age > self.window.as_secs() {
            return Err(AuthError::Stale {
                request_time,
                age_secs: age,
                ahead: request_time > now_unix,
                window_secs: self.window.as_secs(),
            });
        }
        let expected = sign(token, raw_time);
        let given = given.to_ascii_lowercase();
        if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
            Ok(())
        } else {
            Err(AuthError::BadSign)
        }
    }
}
