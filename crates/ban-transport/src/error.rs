//! Where a call failed, whether it may be retried, and the error underneath.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ban_proto::{ErrorCode, RetryClass, SettingError};

/// The error underneath a failure, shared so that errors stay `Clone`.
pub type SharedError = Arc<dyn StdError + Send + Sync + 'static>;

/// A failure in words, with the error that caused it when there is one
/// (`source()` of the error that holds it returns that error).
#[derive(Clone)]
pub struct Cause {
    message: String,
    source: Option<SharedError>,
}

impl Cause {
    /// A failure with no underlying error.
    pub fn new(message: impl Into<String>) -> Self {
        Cause {
            message: message.into(),
            source: None,
        }
    }

    /// A failure caused by `source`.
    pub fn with_source(message: impl Into<String>, source: SharedError) -> Self {
        Cause {
            message: message.into(),
            source: Some(source),
        }
    }

    /// The failure in words (never holds a UserSig or a key).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The underlying error.
    pub fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Cause");
        d.field("message", &self.message);
        if let Some(s) = &self.source {
            d.field("source", s);
        }
        d.finish()
    }
}

/// Two causes are equal when they say the same (their sources are not compared).
impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message
    }
}

impl Eq for Cause {}

/// Why a [`crate::Transport`] could not be built.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The endpoint is not a usable base URL.
    #[error("endpoint {given:?} is not usable: {reason}")]
    Endpoint {
        /// What was given.
        given: String,
        /// Why not.
        reason: String,
    },
    /// Plain HTTP was given without the explicit opt-in.
    #[error("endpoint {given:?} is plain HTTP; the service is HTTPS only (call danger_allow_plain_http for a local emulator)")]
    PlainHttp {
        /// What was given.
        given: String,
    },
    /// A root certificate could not be read or used.
    #[error("root certificate: {0}")]
    Certificate(#[source] CauseError),
    /// A setting is out of range or missing.
    #[error(transparent)]
    Setting(#[from] SettingError),
}

impl BuildError {
    pub(crate) fn certificate(message: &str, e: impl StdError + Send + Sync + 'static) -> Self {
        BuildError::Certificate(CauseError(Cause::with_source(message, Arc::new(e))))
    }

    pub(crate) fn certificate_msg(message: &str) -> Self {
        BuildError::Certificate(CauseError(Cause::new(message)))
    }
}

/// A [`Cause`] as an error of its own: its `source()` is the cause's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CauseError(pub Cause);

impl fmt::Display for CauseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl StdError for CauseError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

/// What went wrong, by where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request could not be encoded; nothing was sent.
    InvalidRequest(String),
    /// The credentials provider had no UserSig; nothing was sent.
    Credentials(Cause),
    /// No connection: refused, unreachable, DNS, connect timeout.
    Connect(Cause),
    /// TLS failed: the server's certificate is not trusted, or the handshake broke.
    Tls(Cause),
    /// The connection broke before an answer (reset, closed).
    Network(Cause),
    /// No answer within the per-attempt timeout.
    Timeout(Duration),
    /// The rate limiter gave no permit before the call's deadline; nothing
    /// more was sent.
    RateLimitWait(Duration),
    /// An answer that is not the service's: a non-200 status, or a body
    /// that is not a service answer.
    Response {
        /// The HTTP status.
        status: u16,
        /// The start of the body, escaped.
        excerpt: String,
    },
    /// The service answered with a non-zero `ErrorCode`.
    Service {
        /// `ErrorCode`.
        code: ErrorCode,
        /// `ErrorInfo`: at most [`ban_proto::MAX_INFO_BYTES`] of it, with
        /// control characters escaped.
        info: String,
    },
    /// The call's [`crate::AbortSignal`] was raised before it was sent.
    Aborted,
}

impl ErrorKind {
    /// The retry class: from ban-proto's table for service codes and
    /// statuses; network trouble and timeouts are transient; TLS trust and
    /// caller errors are never retried.
    pub fn retry_class(&self) -> RetryClass {
        match self {
            ErrorKind::InvalidRequest(_)
            | ErrorKind::Credentials(_)
            | ErrorKind::Tls(_)
            | ErrorKind::RateLimitWait(_)
            | ErrorKind::Aborted => RetryClass::Never,
            ErrorKind::Connect(_) | ErrorKind::Network(_) | ErrorKind::Timeout(_) => {
                RetryClass::Transient
            }
            ErrorKind::Response { status, .. } => RetryClass::for_http_status(*status),
            ErrorKind::Service { code, .. } => code.retry_class(),
        }
    }

    /// The failure in words with every cause underneath it, on one line:
    /// what reports and logs keep (`connect failed: client error (Connect):
    /// tcp connect error: Connection refused (os error 111)`).
    pub fn detail(&self) -> String {
        let mut text = self.to_string();
        if let Some(source) = self.cause().and_then(Cause::source) {
            append_chain(&mut text, source);
        }
        text
    }

    /// The cause, for the kinds that have one.
    pub fn cause(&self) -> Option<&Cause> {
        match self {
            ErrorKind::Credentials(c)
            | ErrorKind::Connect(c)
            | ErrorKind::Tls(c)
            | ErrorKind::Network(c) => Some(c),
            _ => None,
        }
    }
}

/// One line in the kind's own words, never the text of its cause (that is
/// `source()` of the error holding it; [`ErrorKind::detail`] joins both).
impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with = |f: &mut fmt::Formatter<'_>, what: &str, c: &Cause| {
            f.write_str(what)?;
            if c.message().is_empty() {
                Ok(())
            } else {
                write!(f, ": {}", c.message())
            }
        };
        match self {
            ErrorKind::InvalidRequest(e) => write!(f, "invalid request, not sent: {e}"),
            ErrorKind::Credentials(e) => with(f, "no UserSig, not sent", e),
            ErrorKind::Connect(e) => with(f, "connect failed", e),
            ErrorKind::Tls(e) => with(f, "TLS failed", e),
            ErrorKind::Network(e) => with(f, "connection broke before an answer", e),
            ErrorKind::Timeout(d) => write!(f, "no answer within {} ms", d.as_millis()),
            ErrorKind::RateLimitWait(d) => write!(
                f,
                "no rate-limit permit within the call's deadline ({} ms); not sent",
                d.as_millis()
            ),
            ErrorKind::Response { status, excerpt } => {
                write!(f, "unreadable answer (HTTP {status}): \"{excerpt}\"")
            }
            ErrorKind::Aborted => f.write_str("aborted before it was sent"),
            ErrorKind::Service { code, info } => {
                write!(
                    f,
                    "service answered {} ({}): {info}",
                    code.code(),
                    code.meaning()
                )?;
                match code.retry_class().advice() {
                    Some(advice) => write!(f, " [{advice}]"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// Appends `e` and its sources, each once, as `: cause: cause`.
fn append_chain(text: &mut String, e: &(dyn StdError + 'static)) {
    let mut cur = Some(e);
    while let Some(err) = cur {
        let part = err.to_string();
        if !part.is_empty() && !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cur = err.source();
    }
}

/// An error and every cause underneath it, on one line (each cause once):
/// for people, where `Display` alone says only what failed.
///
/// ```
/// let io = std::io::Error::other("disk full");
/// assert_eq!(ban_transport::error_chain(&io), "disk full");
/// ```
pub fn error_chain(e: &(dyn StdError + 'static)) -> String {
    let mut text = e.to_string();
    if let Some(source) = e.source() {
        append_chain(&mut text, source);
    }
    text
}

/// A failed call: what went wrong last, with what identifies the call.
/// `source()` returns the underlying error (connect, TLS, network,
/// credentials), when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallError {
    /// The command, e.g. `ban_group_member`.
    pub command: &'static str,
    /// The call's `random`, for tracing it with Tencent support.
    pub random: u32,
    /// Attempts made (0 when nothing was sent).
    pub attempts: u32,
    /// Time spent, retries included.
    pub elapsed: Duration,
    /// The last failure.
    pub kind: ErrorKind,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failed (random {}, {} attempt(s), {} ms): {}",
            self.command,
            self.random,
            self.attempts,
            self.elapsed.as_millis(),
            self.kind
        )
    }
}

impl StdError for CallError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.kind.cause().and_then(Cause::source)
    }
}

impl CallError {
    /// Whether the failure is of a retryable class (transient or throttled).
    /// The transport has already retried as its policy allows.
    pub fn is_retryable(&self) -> bool {
        self.kind.retry_class().is_retryable()
    }

    /// The retry class of the last failure.
    pub fn retry_class(&self) -> RetryClass {
        self.kind.retry_class()
    }

    /// The service's code, when the service answered.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match &self.kind {
            ErrorKind::Service { code, .. } => Some(*code),
            _ => None,
        }
    }
}
