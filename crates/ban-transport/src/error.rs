//! Where a call failed, and whether it may be retried.

use std::fmt;
use std::time::Duration;

use ban_proto::{ErrorCode, RetryClass};

/// Why a [`crate::Transport`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// A root certificate could not be read.
    #[error("root certificate rejected: {0}")]
    Certificate(String),
    /// A setting is out of range.
    #[error("{0}")]
    Setting(String),
}

/// What went wrong, by where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request could not be encoded; nothing was sent.
    InvalidRequest(String),
    /// The credentials provider had no UserSig; nothing was sent.
    Credentials(String),
    /// No connection: refused, unreachable, DNS, connect timeout.
    Connect(String),
    /// TLS failed: the server's certificate is not trusted, or the handshake broke.
    Tls(String),
    /// The connection broke before an answer (reset, closed).
    Network(String),
    /// No answer within the per-attempt timeout.
    Timeout(Duration),
    /// An answer that is not the service's: a non-200 status, or a body
    /// that is not a service answer.
    Response {
        /// The HTTP status.
        status: u16,
        /// The start of the body.
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
            | ErrorKind::Aborted => RetryClass::Never,
            ErrorKind::Connect(_) | ErrorKind::Network(_) | ErrorKind::Timeout(_) => {
                RetryClass::Transient
            }
            ErrorKind::Response { status, .. } => RetryClass::for_http_status(*status),
            ErrorKind::Service { code, .. } => code.retry_class(),
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::InvalidRequest(e) => write!(f, "invalid request, not sent: {e}"),
            ErrorKind::Credentials(e) => write!(f, "no UserSig, not sent: {e}"),
            ErrorKind::Connect(e) => write!(f, "connect failed: {e}"),
            ErrorKind::Tls(e) => write!(f, "TLS failed: {e}"),
            ErrorKind::Network(e) => write!(f, "connection broke before an answer: {e}"),
            ErrorKind::Timeout(d) => write!(f, "no answer within {} ms", d.as_millis()),
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

/// A failed call: what went wrong last, with what identifies the call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{command} failed (random {random}, {attempts} attempt(s), {} ms): {kind}", elapsed.as_millis())]
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
