//! The HTTP side: a `tower::Service<http::Request<B>>` with
//! `Error = Infallible` (a refusal is a response), built from small parts
//! so a host mounts it in its own router:
//!
//! - [`RequestBodyLimitLayer`] (tower-http) caps the body at [`MAX_BODY`];
//! - [`VerifyLayer`] checks the method, the query and its `Sign`, and hands
//!   the verified [`CallbackQuery`] on in the request's extensions;
//! - [`CallbackService`] decodes the body and answers from the
//!   [`Moderator`].
//!
//! [`service`] stacks the three. No listener, no global recorder.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ban_callback::{replay_digest, Callback, CallbackQuery, QueryError, Verifier};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use tower_http::limit::{RequestBodyLimit, RequestBodyLimitLayer};
use tower_layer::Layer;
use tower_service::Service;

use crate::counter::BoxFuture;
use crate::event::{Event, EventKind, Observers, Outcome, RefusalReason};
use crate::moderator::Moderator;

/// The largest callback body read (the service's messages are at most
/// 12 KB; content results carry text, not files).
pub const MAX_BODY: usize = 1 << 20;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a refusal quotes of the request, at most (bytes).
const QUOTE: usize = 64;

fn prefix(text: &str) -> &str {
    let mut cut = text.len().min(QUOTE);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

fn json(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

/// How long a verified request's body may take to arrive, at most.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Refusals told to the observers: at most one event per reason per
/// second, carrying how many it stands for, so a flood of bad requests
/// costs a line a second, not a line each. Every refusal is counted in
/// `serve_refused_total` at once.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    /// Per reason: refusals not yet told, and the second last told.
    slots: [(AtomicU64, AtomicU64); RefusalReason::ALL.len()],
}

impl Refusals {
    /// Counts one; returns how many the event to tell now stands for, or
    /// `None` when one was told this second already.
    fn admit(&self, reason: RefusalReason) -> Option<u64> {
        metrics::counter!("serve_refused_total", "reason" => reason.as_str()).increment(1);
        let (pending, last) = &self.slots[reason as usize];
        pending.fetch_add(1, Ordering::Relaxed);
        let now = now_unix();
        if last.swap(now, Ordering::Relaxed) == now {
            return None;
        }
        Some(pending.swap(0, Ordering::Relaxed).max(1))
    }
}

/// Refuses with `status`; told to the observers as [`Refusals`] allows.
fn refuse(
    observers: &Observers,
    refusals: &Refusals,
    status: StatusCode,
    reason: RefusalReason,
    detail: String,
    evidence: Option<String>,
) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "error": detail })
        .to_string()
        .into_bytes();
    if let Some(count) = refusals.admit(reason) {
        let mut e = Event::new(
            EventKind::Refused,
            Outcome::Refused {
                status: status.as_u16(),
                reason,
                detail,
                count,
            },
        );
        e.evidence = evidence;
        observers.emit(e);
    }
    json(status, body)
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Checks each request's method, query and signature; passes a verified
/// request on with its [`CallbackQuery`] in the extensions, refuses any
/// other (405, or 401 with a `refused` event).
#[derive(Debug, Clone)]
pub struct VerifyLayer {
    verifier: Arc<Verifier>,
    observers: Observers,
    refusals: Arc<Refusals>,
}

impl VerifyLayer {
    /// Checks with `verifier`; refusals are told to `moderator`'s observers.
    pub fn new(verifier: Verifier, moderator: &Moderator) -> Self {
        VerifyLayer {
            verifier: Arc::new(verifier),
            observers: moderator.observers().clone(),
            refusals: moderator.refusals().clone(),
        }
    }
}

impl<S> Layer<S> for VerifyLayer {
    type Service = Verify<S>;

    fn layer(&self, inner: S) -> Verify<S> {
        Verify {
            inner,
            verifier: self.verifier.clone(),
            observers: self.observers.clone(),
            refusals: self.refusals.clone(),
        }
    }
}

/// The service [`VerifyLayer`] makes.
#[derive(Debug, Clone)]
pub struct Verify<S> {
    inner: S,
    verifier: Arc<Verifier>,
    observers: Observers,
    refusals: Arc<Refusals>,
}

impl<S, B> Service<Request<B>> for Verify<S>
where
    S: Service<Request<B>, Response = Response<Full<Bytes>>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        if req.method() != Method::POST {
            let r = json(
                StatusCode::METHOD_NOT_ALLOWED,
                br#"{"error":"POST a callback"}"#.to_vec(),
            );
            return Box::pin(std::future::ready(Ok(r)));
        }
        let checked = CallbackQuery::parse(req.uri().query().unwrap_or(""))
            .map_err(|e| {
                let status = match e {
                    QueryError::Repeated(_) => StatusCode::BAD_REQUEST,
                    _ => StatusCode::UNAUTHORIZED,
                };
                (status, RefusalReason::Query, e.to_string(), None)
            })
            .and_then(|q| match self.verifier.verify(&q, now_unix()) {
                Ok(()) => Ok(q),
                Err(e) => {
                    let from = format!(
                        "{} from {}",
                        prefix(&q.command),
                        prefix(q.client_ip.as_deref().unwrap_or("?"))
                    );
                    Err((
                        StatusCode::UNAUTHORIZED,
                        RefusalReason::Auth,
                        e.to_string(),
                        Some(from),
                    ))
                }
            });
        match checked {
            Ok(query) => {
                req.extensions_mut().insert(query);
                // The clone that was made ready is the one called.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                Box::pin(inner.call(req))
            }
            Err((status, reason, detail, evidence)) => {
                let r = refuse(
                    &self.observers,
                    &self.refusals,
                    status,
                    reason,
                    detail,
                    evidence,
                );
                Box::pin(std::future::ready(Ok(r)))
            }
        }
    }
}

/// Answers a verified callback from the [`Moderator`]: the body decoded,
/// judged at once, the answer sent as JSON. A request without a verified
/// [`CallbackQuery`] (not behind [`VerifyLayer`]) is refused with 401.
#[derive(Debug, Clone)]
pub struct CallbackService {
    moderator: Arc<Moderator>,
}

impl CallbackService {
    /// Answers from `moderator`.
    pub fn new(moderator: Arc<Moderator>) -> Self {
        CallbackService { moderator }
    }
}

impl<B> Service<Request<B>> for CallbackService
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let moderator = self.moderator.clone();
        Box::pin(async move { Ok(answer(&moderator, req).await) })
    }
}

async fn answer<B>(moderator: &Arc<Moderator>, req: Request<B>) -> Response<Full<Bytes>>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let started = Instant::now();
    let observers = moderator.observers();
    let refusals = moderator.refusals();
    let (parts, body) = req.into_parts();
    let Some(query) = parts.extensions.get::<CallbackQuery>() else {
        return refuse(
            observers,
            refusals,
            StatusCode::UNAUTHORIZED,
            RefusalReason::Auth,
            "the callback was not verified".to_owned(),
            None,
        );
    };
    let body = match tokio::time::timeout(BODY_TIMEOUT, body.collect()).await {
        Err(_) => {
            let detail = format!(
                "the body did not arrive within {} s",
                BODY_TIMEOUT.as_secs()
            );
            return refuse(
                observers,
                refusals,
                StatusCode::REQUEST_TIMEOUT,
                RefusalReason::Body,
                detail,
                None,
            );
        }
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(e)) => {
            let e: BoxError = e.into();
            let too_large = e.is::<http_body_util::LengthLimitError>();
            let (status, detail) = if too_large {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the body is over {MAX_BODY} bytes"),
                )
            } else {
                (StatusCode::BAD_REQUEST, "the body was cut".to_owned())
            };
            return refuse(
                observers,
                refusals,
                status,
                RefusalReason::Body,
                detail,
                None,
            );
        }
    };
    let cb = match Callback::decode(&query.command, &body) {
        Ok(cb) => cb,
        Err(e) => {
            return refuse(
                observers,
                refusals,
                StatusCode::BAD_REQUEST,
                RefusalReason::Body,
                e.to_string(),
                None,
            )
        }
    };
    let command = if matches!(cb, Callback::Unknown(_)) {
        "unknown".to_owned()
    } else {
        cb.command().to_owned()
    };
    metrics::counter!("serve_callbacks_total", "command" => command).increment(1);
    let digest = replay_digest(query, &body);
    if let Some(r) = moderator.recorder() {
        r.record(&query.command, &digest, body.clone());
    }
    let answer = moderator.judge_once(cb, Some(digest));
    metrics::histogram!("serve_answer_seconds").record(started.elapsed().as_secs_f64());
    json(
        StatusCode::OK,
        serde_json::to_vec(&answer).unwrap_or_default(),
    )
}

/// The mounted service: body limit, then verification, then the answer.
pub type ModerationService = RequestBodyLimit<Verify<CallbackService>>;

/// The whole HTTP side for `moderator`, checked by `verifier`: mount it
/// with axum's `Router::route_service("/tim/callback", svc)` or serve it
/// with hyper. Its responses' body is tower-http's `ResponseBody`.
pub fn service(verifier: Verifier, moderator: &Arc<Moderator>) -> ModerationService {
    let verify = VerifyLayer::new(verifier, moderator);
    let inner = verify.layer(CallbackService::new(moderator.clone()));
    RequestBodyLimitLayer::new(MAX_BODY).layer(inner)
}
