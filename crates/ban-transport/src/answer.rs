//! Reading an answer: its body under a shared memory budget, its head,
//! and the failure it means.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::sync::Arc;

use ban_proto::ErrorCode;
use http_body_util::{BodyExt, Limited};

use crate::client::BUDGET_UNIT;
use crate::error::{Cause, ErrorKind};

/// The largest answer read (the service refuses to send more than 1 MB).
pub(crate) const MAX_RESPONSE: usize = 2 << 20;
/// How much of an unreadable body an error quotes.
const EXCERPT: usize = 200;

/// What one attempt ended with.
pub(crate) enum Attempt<R> {
    Done(R),
    Failed(ErrorKind),
}

/// What an answer means: the decoded response, or the failure. The head is
/// read first, borrowing `ErrorInfo` from the body, so a failure answer
/// keeps only a bounded copy of its text, however long.
pub(crate) fn interpret<R: ban_proto::ServiceResponse + serde::de::DeserializeOwned>(
    status: u16,
    bytes: &[u8],
) -> Attempt<R> {
    let unreadable = || {
        Attempt::Failed(ErrorKind::Response {
            status,
            excerpt: excerpt(bytes),
        })
    };
    if status != 200 {
        return unreadable();
    }
    match serde_json::from_slice::<Head<'_>>(bytes) {
        Ok(head) if head.code != ErrorCode::Success => Attempt::Failed(ErrorKind::Service {
            code: head.code,
            info: bounded_info(head.info.as_deref().unwrap_or("")),
        }),
        Ok(_) => match serde_json::from_slice::<R>(bytes) {
            Ok(r) if r.is_success() => Attempt::Done(r),
            Ok(r) => Attempt::Failed(ErrorKind::Service {
                code: r.error_code(),
                info: bounded_info(r.error_info()),
            }),
            Err(_) => unreadable(),
        },
        Err(_) => unreadable(),
    }
}

/// The fields every answer shares, `ErrorInfo` borrowed where it can be.
#[derive(serde::Deserialize)]
struct Head<'a> {
    #[serde(rename = "ErrorCode")]
    code: ErrorCode,
    /// `null` reads as empty (no page says it is never null).
    #[serde(rename = "ErrorInfo", borrow, default)]
    info: Option<Cow<'a, str>>,
}

/// Reads a whole body (at most [`MAX_RESPONSE`]) into one buffer sized
/// from its `Content-Length`, so a large answer is held once, not twice.
/// Holds its share of the transport's body budget while it reads (all of
/// [`MAX_RESPONSE`] when the length is not given).
pub(crate) async fn read_body(
    resp: http::Response<hyper::body::Incoming>,
    budget: &tokio::sync::Semaphore,
) -> Result<Vec<u8>, Box<dyn StdError + Send + Sync>> {
    let hint = resp
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .unwrap_or(MAX_RESPONSE)
        .min(MAX_RESPONSE);
    let units = u32::try_from(hint.div_ceil(BUDGET_UNIT).max(1)).unwrap_or(u32::MAX);
    let _held = budget.acquire_many(units).await?;
    let mut body = Limited::new(resp.into_body(), MAX_RESPONSE);
    let mut buf = Vec::with_capacity(hint);
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf)
}

/// The start of an unreadable body, escaped for printing.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(EXCERPT)]);
    let mut s = ban_proto::escape(&text);
    if bytes.len() > EXCERPT {
        s.push_str("...");
    }
    s
}

/// A service's `ErrorInfo` as an error keeps it: at most
/// [`ban_proto::MAX_INFO_BYTES`], escaped. A huge body is never copied on.
fn bounded_info(info: &str) -> String {
    ban_proto::escape_bounded(info, ban_proto::MAX_INFO_BYTES)
}

/// Sorts a client error into connect / TLS / network, keeping the error
/// itself as the source (none of its causes holds the URL or the UserSig):
/// the kind's own words say what failed, [`ErrorKind::detail`] adds why.
pub(crate) fn classify(e: hyper_util::client::legacy::Error) -> ErrorKind {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(&e);
    while let Some(err) = cur {
        if let Some(t) = find_rustls(err) {
            let t = t.clone();
            return ErrorKind::Tls(Cause::with_source(describe_tls(&t), Arc::new(t)));
        }
        cur = err.source();
    }
    let connect = e.is_connect();
    let cause = Cause::with_source("", Arc::new(e));
    if connect {
        ErrorKind::Connect(cause)
    } else {
        ErrorKind::Network(cause)
    }
}

fn find_rustls<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = err.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    // hyper-rustls wraps rustls' error in io::Errors, sometimes twice.
    let inner: &(dyn StdError + 'static) = err.downcast_ref::<std::io::Error>()?.get_ref()?;
    find_rustls(inner)
}

fn describe_tls(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            "the server's certificate is not trusted (unknown issuer); trust its CA (the emulator hands out its CA PEM)".into()
        }
        rustls::Error::InvalidCertificate(_) => "the server's certificate was refused".into(),
        _ => "the handshake failed".into(),
    }
}
