//! The transport: one call with its retries, rate permits, failover and
//! abort signal. Configuration lives in `builder`, answers in `answer`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ban_proto::{Command, Endpoint, ServiceResponse, UserSig};
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use tokio::time::Instant;
use tracing::{field, Instrument};

use crate::answer::{classify, interpret, read_body, Attempt};
use crate::builder::TransportBuilder;
use crate::control::CallOptions;
use crate::credentials::Credentials;
use crate::error::{CallError, Cause, ErrorKind};
use crate::limit::Limiter;
use crate::retry::RetryPolicy;

pub(crate) type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The most answer bytes held in memory at once, over all calls: a burst
/// of huge answers waits its turn instead of growing the process.
pub(crate) const BODY_BUDGET: usize = 16 << 20;
/// The unit of that budget.
pub(crate) const BUDGET_UNIT: usize = 1 << 10;

/// A successful call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome<R> {
    /// The decoded answer (its `ErrorCode` is 0).
    pub response: R,
    /// The call's `random`.
    pub random: u32,
    /// Attempts made; more than 1 means it was retried.
    pub attempts: u32,
    /// Time spent, waits and retries included.
    pub elapsed: Duration,
}

pub(crate) struct Inner {
    pub(crate) http: HttpClient,
    pub(crate) base: String,
    /// Where to go when `base` cannot be reached.
    pub(crate) backup: Option<String>,
    /// Whether calls go to `backup` now.
    pub(crate) on_backup: AtomicBool,
    pub(crate) credentials: Arc<dyn Credentials>,
    pub(crate) attempt_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) limiter: Option<Arc<dyn Limiter>>,
    pub(crate) body_budget: tokio::sync::Semaphore,
}

/// The transport: cheap to clone (shared pool, shared rate limits), safe to
/// use from many tasks.
#[derive(Clone)]
pub struct Transport {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("endpoint", &self.inner.base)
            .field("identifier", &self.inner.credentials.identifier())
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// A builder for the given credentials, with every other setting at its default.
    pub fn builder(credentials: impl Credentials) -> TransportBuilder {
        TransportBuilder::new().credentials(credentials)
    }

    /// A builder for shared credentials.
    pub fn builder_shared(credentials: Arc<dyn Credentials>) -> TransportBuilder {
        TransportBuilder::new().credentials_shared(credentials)
    }

    /// The base URL calls go to (the primary, whether or not a failover
    /// happened; see [`Transport::active_endpoint`]).
    pub fn endpoint(&self) -> &str {
        &self.inner.base
    }

    /// The app the calls are made for.
    pub fn sdkappid(&self) -> u64 {
        self.inner.credentials.sdkappid()
    }

    /// The admin identifier the calls are made as.
    pub fn identifier(&self) -> &str {
        self.inner.credentials.identifier()
    }

    /// The base URL calls go to now: the backup after a failover.
    pub fn active_endpoint(&self) -> &str {
        self.current_base().0
    }

    /// What limits this transport's rate: the limiter's own words
    /// (`local`, `redis`, ...), or `none`.
    pub fn limiter_description(&self) -> String {
        self.inner
            .limiter
            .as_ref()
            .map_or_else(|| "none".to_owned(), |l| l.describe())
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// Sends one request, retrying as the policy allows.
    pub async fn call<C: Command>(&self, request: &C) -> Result<Outcome<C::Response>, CallError> {
        self.call_with(request, CallOptions::default()).await
    }

    /// Sends one request with options.
    pub async fn call_with<C: Command>(
        &self,
        request: &C,
        options: CallOptions,
    ) -> Result<Outcome<C::Response>, CallError> {
        let random = options.random.unwrap_or_else(|| fastrand::u32(..));
        let endpoint = C::ENDPOINT;
        let span = tracing::info_span!(
            "tim_call",
            command = endpoint.command,
            random,
            attempt = field::Empty,
            status = field::Empty,
            code = field::Empty,
            latency_ms = field::Empty,
        );
        self.run(request, endpoint, random, &options)
            .instrument(span)
            .await
    }

    async fn run<C: Command>(
        &self,
        request: &C,
        endpoint: &'static Endpoint,
        random: u32,
        options: &CallOptions,
    ) -> Result<Outcome<C::Response>, CallError> {
        let started = Instant::now();
        let deadline = started + self.inner.retry.deadline;
        let fail = |attempts: u32, kind: ErrorKind| CallError {
            command: endpoint.command,
            random,
            attempts,
            elapsed: started.elapsed(),
            kind,
        };
        let mut buf = Vec::with_capacity(256);
        ban_proto::encode_into(request, &mut buf)
            .map_err(|e| fail(0, ErrorKind::InvalidRequest(e.to_string())))?;
        let body = Bytes::from(buf);
        let limiter = self.inner.limiter.as_deref();

        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(limiter) = limiter {
                let asked = Instant::now();
                tokio::select! {
                    biased;
                    () = options.aborted() => return Err(fail(attempt - 1, ErrorKind::Aborted)),
                    r = tokio::time::timeout_at(deadline, limiter.acquire(endpoint.command, options.priority)) => {
                        if let Some(observer) = &options.observer {
                            observer.permit_waited(asked.elapsed());
                        }
                        if r.is_err() {
                            return Err(fail(attempt - 1, ErrorKind::RateLimitWait(asked.elapsed())));
                        }
                    }
                }
            } else if options.is_aborted() {
                return Err(fail(attempt - 1, ErrorKind::Aborted));
            }
            let sig = self
                .inner
                .credentials
                .usersig()
                .map_err(|e| fail(attempt - 1, ErrorKind::Credentials(e.0)))?;
            let (base, on_backup) = self.current_base();
            let url = self.url(base, endpoint, &sig, random);
            let span = tracing::Span::current();
            span.record("attempt", attempt);
            let sent = Instant::now();
            let budget = self
                .inner
                .attempt_timeout
                .min(deadline.saturating_duration_since(sent));
            let result =
                match tokio::time::timeout(budget, self.attempt::<C::Response>(url, body.clone()))
                    .await
                {
                    Ok(r) => r,
                    Err(_) => Attempt::Failed(ErrorKind::Timeout(budget)),
                };
            span.record("latency_ms", sent.elapsed().as_millis() as u64);
            // The primary could not be reached and there is a backup: switch
            // (once, logged), and let the retry go there. The failure says
            // nothing yet of the endpoint's health, so observers are not told.
            let failing_over = matches!(&result, Attempt::Failed(ErrorKind::Connect(_)))
                && !on_backup
                && self.inner.backup.is_some();
            if failing_over && !self.inner.on_backup.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    primary = %self.inner.base,
                    backup = self.inner.backup.as_deref().unwrap_or(""),
                    "the primary endpoint cannot be reached; failing over to the backup"
                );
            }
            if let (Some(observer), false) = (&options.observer, failing_over) {
                observer.attempt_done(match &result {
                    Attempt::Done(_) => None,
                    Attempt::Failed(kind) => Some(kind),
                });
            }
            let kind = match result {
                Attempt::Done(response) => {
                    span.record("code", 0);
                    tracing::debug!(attempt, "call succeeded");
                    return Ok(Outcome {
                        response,
                        random,
                        attempts: attempt,
                        elapsed: started.elapsed(),
                    });
                }
                Attempt::Failed(kind) => kind,
            };
            if let ErrorKind::Service { code, .. } = &kind {
                span.record("code", code.code());
                if *code == ban_proto::ErrorCode::RestRateLimited {
                    if let Some(limiter) = limiter {
                        limiter.throttled(endpoint.command);
                    }
                }
            }
            let class = kind.retry_class();
            let wait = self.inner.retry.backoff(class, attempt, fastrand::f64());
            let retry = match wait {
                Some(wait)
                    if attempt < self.inner.retry.max_attempts
                        && Instant::now() + wait < deadline
                        && !options.is_aborted() =>
                {
                    wait
                }
                _ => {
                    tracing::warn!(attempt, %class, error = %kind, "call failed");
                    return Err(fail(attempt, kind));
                }
            };
            tracing::info!(attempt, %class, error = %kind, wait_ms = retry.as_millis() as u64, "retrying");
            tokio::select! {
                () = tokio::time::sleep(retry) => {}
                () = options.aborted() => {
                    tracing::info!(attempt, error = %kind, "not retried: the call was aborted");
                    return Err(fail(attempt, kind));
                }
            }
        }
    }

    /// The base calls go to now, and whether it is the backup.
    fn current_base(&self) -> (&str, bool) {
        match &self.inner.backup {
            Some(b) if self.inner.on_backup.load(Ordering::Relaxed) => (b, true),
            _ => (&self.inner.base, false),
        }
    }

    fn url(&self, base: &str, endpoint: &Endpoint, sig: &UserSig, random: u32) -> String {
        let creds = &self.inner.credentials;
        let mut url =
            String::with_capacity(base.len() + endpoint.path.len() + sig.expose().len() + 96);
        url.push_str(base);
        url.push('/');
        url.push_str(endpoint.path);
        url.push('?');
        let start = url.len();
        form_urlencoded::Serializer::for_suffix(url, start)
            .append_pair(ban_proto::query::SDKAPPID, &creds.sdkappid().to_string())
            .append_pair(ban_proto::query::IDENTIFIER, creds.identifier())
            .append_pair(ban_proto::query::USERSIG, sig.expose())
            .append_pair(ban_proto::query::RANDOM, &random.to_string())
            .append_pair(
                ban_proto::query::CONTENTTYPE,
                ban_proto::query::CONTENTTYPE_JSON,
            )
            .finish()
    }

    async fn attempt<R: ServiceResponse + serde::de::DeserializeOwned>(
        &self,
        url: String,
        body: Bytes,
    ) -> Attempt<R> {
        let req = match http::Request::post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))
        {
            Ok(r) => r,
            Err(e) => return Attempt::Failed(ErrorKind::InvalidRequest(e.to_string())),
        };
        let resp = match self.inner.http.request(req).await {
            Ok(r) => r,
            Err(e) => return Attempt::Failed(classify(e)),
        };
        let status = resp.status().as_u16();
        tracing::Span::current().record("status", status);
        match read_body(resp, &self.inner.body_budget).await {
            Ok(bytes) => interpret(status, &bytes),
            Err(e) => Attempt::Failed(ErrorKind::Network(Cause::with_source(
                "while reading the answer",
                e.into(),
            ))),
        }
    }
}
