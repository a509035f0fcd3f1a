//! The client: configuration, one call with its retries, and the pieces it
//! plugs in (credentials, rate limit).

use std::borrow::Cow;
use std::collections::HashMap;
use std::error::Error as StdError;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ban_proto::{Command, Endpoint, ErrorCode, Region, ServiceResponse, UserSig};
use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio::time::Instant;
use tracing::{field, Instrument};

use crate::control::CallOptions;
use crate::error::{BuildError, CallError, ErrorKind};
use crate::retry::RetryPolicy;

type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The largest answer read (the service refuses to send more than 1 MB).
const MAX_RESPONSE: usize = 2 << 20;
/// The most answer bytes held in memory at once, over all calls: a burst
/// of huge answers waits its turn instead of growing the process.
const BODY_BUDGET: usize = 16 << 20;
/// The unit of that budget.
const BUDGET_UNIT: usize = 1 << 10;
/// How much of an unreadable body an error quotes.
const EXCERPT: usize = 200;

/// Supplies the admin identity and a current UserSig for each attempt.
///
/// `ban-facade` plugs `ban-sign`'s cached signer in here; this crate does not
/// sign anything itself.
pub trait Credentials: Send + Sync + 'static {
    /// The app's SDKAppID.
    fn sdkappid(&self) -> u64;
    /// The app admin account.
    fn identifier(&self) -> &str;
    /// A UserSig valid now.
    fn usersig(&self) -> Result<UserSig, CredentialsError>;
}

/// A credentials provider could not produce a UserSig.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CredentialsError(pub String);

/// Fixed credentials: a UserSig made elsewhere (it will expire).
#[derive(Debug, Clone)]
pub struct StaticCredentials {
    sdkappid: u64,
    identifier: String,
    usersig: UserSig,
}

impl StaticCredentials {
    /// Credentials from an SDKAppID, the admin identifier and its UserSig.
    pub fn new(sdkappid: u64, identifier: impl Into<String>, usersig: UserSig) -> Self {
        StaticCredentials {
            sdkappid,
            identifier: identifier.into(),
            usersig,
        }
    }
}

impl Credentials for StaticCredentials {
    fn sdkappid(&self) -> u64 {
        self.sdkappid
    }
    fn identifier(&self) -> &str {
        &self.identifier
    }
    fn usersig(&self) -> Result<UserSig, CredentialsError> {
        Ok(self.usersig.clone())
    }
}

/// The client-side rate limit of each command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Calls per second, per command.
    pub per_sec: u32,
    /// Calls that may go at once before the rate applies.
    pub burst: u32,
}

impl RateLimit {
    /// The service's documented limit: 200 calls/s per command per SDKAppID.
    pub const SERVICE_PER_SEC: u32 = 200;
    /// What a client sends by default: 5% under the service's limit.
    ///
    /// The service does not document its window, so the strictest reading
    /// holds: never more than 200 calls in *any* sliding second. A client
    /// timed at exactly 200/s overruns that now and then, since timer jitter
    /// bunches a few calls together; 190/s with a burst of 1 leaves each
    /// second 10 calls of slack for that jitter.
    pub const DEFAULT_PER_SEC: u32 = 190;

    /// `per_sec` calls per second, evenly spaced (a burst of 1).
    pub const fn per_second(per_sec: u32) -> RateLimit {
        RateLimit { per_sec, burst: 1 }
    }
}

impl Default for RateLimit {
    /// [`RateLimit::DEFAULT_PER_SEC`] with a burst of 1.
    fn default() -> Self {
        RateLimit::per_second(RateLimit::DEFAULT_PER_SEC)
    }
}

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

/// Configures and builds a [`Transport`].
pub struct TransportBuilder {
    credentials: Arc<dyn Credentials>,
    endpoint: String,
    allow_plain_http: bool,
    webpki_roots: bool,
    extra_roots: Vec<CertificateDer<'static>>,
    connect_timeout: Duration,
    attempt_timeout: Duration,
    pool_idle_timeout: Duration,
    pool_max_idle_per_host: usize,
    retry: RetryPolicy,
    rate: Option<RateLimit>,
    region: Option<Region>,
    failover: bool,
    backup: Option<String>,
}

impl std::fmt::Debug for TransportBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportBuilder")
            .field("endpoint", &self.endpoint)
            .field("retry", &self.retry)
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

impl TransportBuilder {
    /// The region's domain (default: China, `console.tim.qq.com`).
    pub fn region(mut self, region: Region) -> Self {
        self.endpoint = region.base_url();
        self.region = Some(region);
        self
    }

    /// A custom base URL: a proxy, or the emulator (`https://127.0.0.1:PORT`).
    pub fn endpoint(mut self, base_url: impl Into<String>) -> Self {
        self.endpoint = base_url.into();
        self.region = None;
        self
    }

    /// Fails over to the region's documented backup domain
    /// ([`Region::backup_domain`], under `my-imcloud.com`) when the primary
    /// cannot be resolved or connected (default off). The switch is logged
    /// and lasts for the transport's life. No effect with a custom endpoint,
    /// which has no documented backup; see [`TransportBuilder::backup_endpoint`].
    pub fn failover_to_backup(mut self, enabled: bool) -> Self {
        self.failover = enabled;
        self
    }

    /// A backup base URL to fail over to when the endpoint cannot be
    /// resolved or connected (a second proxy). Overrides the region's.
    pub fn backup_endpoint(mut self, base_url: impl Into<String>) -> Self {
        self.backup = Some(base_url.into());
        self
    }

    /// Allows an `http://` endpoint. The real service is HTTPS only; this is
    /// for an emulator started with plain HTTP. UserSigs cross the wire in
    /// clear text with it.
    pub fn danger_allow_plain_http(mut self, allow: bool) -> Self {
        self.allow_plain_http = allow;
        self
    }

    /// Trusts the built-in webpki roots (default true).
    pub fn webpki_roots(mut self, enabled: bool) -> Self {
        self.webpki_roots = enabled;
        self
    }

    /// Trusts the certificates in a PEM text as extra roots (the emulator's
    /// CA). Refuses text that holds no certificate.
    pub fn add_root_certificate_pem(mut self, pem: &str) -> Result<Self, BuildError> {
        let mut n = 0;
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert =
                cert.map_err(|e| BuildError::Certificate(format!("PEM not readable: {e}")))?;
            self.extra_roots.push(cert);
            n += 1;
        }
        if n == 0 {
            return Err(BuildError::Certificate(
                "the PEM text holds no certificate".into(),
            ));
        }
        Ok(self)
    }

    /// Time to establish a TCP connection (default 3 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Time one attempt may take, from sending to the whole answer (default
    /// 5 s: above the service's own 3 s timeout).
    pub fn attempt_timeout(mut self, d: Duration) -> Self {
        self.attempt_timeout = d;
        self
    }

    /// How long an idle pooled connection is kept (default 90 s).
    pub fn pool_idle_timeout(mut self, d: Duration) -> Self {
        self.pool_idle_timeout = d;
        self
    }

    /// How many idle connections are kept per host (default 64).
    pub fn pool_max_idle_per_host(mut self, n: usize) -> Self {
        self.pool_max_idle_per_host = n;
        self
    }

    /// The retry policy (attempts, backoff, deadline).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The client-side rate limit per command; `None` turns it off.
    pub fn rate_limit(mut self, rate: Option<RateLimit>) -> Self {
        self.rate = rate;
        self
    }

    /// Builds the transport. Must be called within a Tokio runtime's context
    /// only when calls are made; building itself does no I/O.
    pub fn build(self) -> Result<Transport, BuildError> {
        let base = parse_base(&self.endpoint, self.allow_plain_http)?;
        let backup = match (&self.backup, self.failover, self.region) {
            (Some(b), _, _) => Some(parse_base(b, self.allow_plain_http)?),
            (None, true, Some(region)) => Some(region.backup_url()),
            _ => None,
        };
        if self.retry.max_attempts == 0 {
            return Err(BuildError::Setting(
                "retry.max_attempts is 0; at least 1 attempt is needed".into(),
            ));
        }
        let limiters = match self.rate {
            None => None,
            Some(r) => {
                let per_sec = NonZeroU32::new(r.per_sec).ok_or_else(|| {
                    BuildError::Setting(
                        "rate limit per_sec is 0; use None to turn the limit off".into(),
                    )
                })?;
                let burst = NonZeroU32::new(r.burst).ok_or_else(|| {
                    BuildError::Setting("rate limit burst is 0; it must be at least 1".into())
                })?;
                Some((
                    Quota::per_second(per_sec).allow_burst(burst),
                    Mutex::new(HashMap::new()),
                ))
            }
        };

        let mut roots = rustls::RootCertStore::empty();
        if self.webpki_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for cert in self.extra_roots {
            roots
                .add(cert)
                .map_err(|e| BuildError::Certificate(e.to_string()))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| BuildError::Setting(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();

        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(self.connect_timeout));
        http.set_keepalive(Some(Duration::from_secs(60)));
        let https = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls);
        let https = if self.allow_plain_http {
            https.https_or_http()
        } else {
            https.https_only()
        };
        let connector = https.enable_http1().enable_http2().wrap_connector(http);
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(self.pool_idle_timeout)
            .pool_max_idle_per_host(self.pool_max_idle_per_host)
            // Answers are small; a connection buffers at most this much of
            // one it has not been asked for yet (the default grows to ~400 KiB).
            .http1_max_buf_size(64 << 10)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);

        Ok(Transport {
            inner: Arc::new(Inner {
                http,
                base,
                backup,
                on_backup: AtomicBool::new(false),
                credentials: self.credentials,
                attempt_timeout: self.attempt_timeout,
                retry: self.retry,
                limiters,
                body_budget: tokio::sync::Semaphore::new(BODY_BUDGET / BUDGET_UNIT),
            }),
        })
    }
}

fn parse_base(given: &str, allow_plain: bool) -> Result<String, BuildError> {
    let bad = |reason: &str| BuildError::Endpoint {
        given: given.to_owned(),
        reason: reason.to_owned(),
    };
    let uri: http::Uri = given
        .parse()
        .map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if allow_plain => {}
        Some("http") => {
            return Err(BuildError::PlainHttp {
                given: given.to_owned(),
            })
        }
        Some(other) => return Err(bad(&format!("scheme {other:?} is not https"))),
        None => return Err(bad("it has no scheme; expected https://host[:port]")),
    }
    let authority = uri.authority().ok_or_else(|| bad("it has no host"))?;
    if uri.query().is_some() {
        return Err(bad(
            "it has a query string; give only scheme, host, port and an optional path prefix",
        ));
    }
    let path = uri.path().trim_end_matches('/');
    Ok(format!(
        "{}://{}{}",
        uri.scheme_str().unwrap_or("https"),
        authority,
        path
    ))
}

type Limiters = (Quota, Mutex<HashMap<&'static str, Arc<Pacer>>>);

/// One command's pace: governor's GCRA behind a FIFO queue, so callers get
/// their permits in arrival order (governor alone lets waiters race, and
/// one can starve for seconds behind the others).
struct Pacer {
    queue: tokio::sync::Mutex<()>,
    gcra: DefaultDirectRateLimiter,
}

impl Pacer {
    fn new(quota: Quota) -> Self {
        Pacer {
            queue: tokio::sync::Mutex::new(()),
            gcra: RateLimiter::direct(quota),
        }
    }

    async fn acquire(&self) {
        let _turn = self.queue.lock().await;
        self.gcra.until_ready().await;
    }
}

struct Inner {
    http: HttpClient,
    base: String,
    /// Where to go when `base` cannot be reached.
    backup: Option<String>,
    /// Whether calls go to `backup` now.
    on_backup: AtomicBool,
    credentials: Arc<dyn Credentials>,
    attempt_timeout: Duration,
    retry: RetryPolicy,
    limiters: Option<Limiters>,
    body_budget: tokio::sync::Semaphore,
}

/// The transport: cheap to clone (shared pool, shared rate limits), safe to
/// use from many tasks.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
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

/// What one attempt ended with.
enum Attempt<R> {
    Done(R),
    Failed(ErrorKind),
}

impl Transport {
    /// A builder for the given credentials, with every other setting at its default.
    pub fn builder(credentials: impl Credentials) -> TransportBuilder {
        Self::builder_shared(Arc::new(credentials))
    }

    /// A builder for shared credentials.
    pub fn builder_shared(credentials: Arc<dyn Credentials>) -> TransportBuilder {
        TransportBuilder {
            credentials,
            endpoint: Region::China.base_url(),
            allow_plain_http: false,
            webpki_roots: true,
            extra_roots: Vec::new(),
            connect_timeout: Duration::from_secs(3),
            attempt_timeout: Duration::from_secs(5),
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle_per_host: 64,
            retry: RetryPolicy::default(),
            rate: Some(RateLimit::default()),
            region: Some(Region::China),
            failover: false,
            backup: None,
        }
    }

    /// The base URL calls go to (the primary, whether or not a failover
    /// happened; see [`Transport::active_endpoint`]).
    pub fn endpoint(&self) -> &str {
        &self.inner.base
    }

    /// The base URL calls go to now: the backup after a failover.
    pub fn active_endpoint(&self) -> &str {
        self.current_base().0
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
        let limiter = self.limiter(endpoint);

        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(limiter) = &limiter {
                tokio::select! {
                    biased;
                    () = options.aborted() => return Err(fail(attempt - 1, ErrorKind::Aborted)),
                    r = tokio::time::timeout_at(deadline, limiter.acquire()) => {
                        if r.is_err() {
                            return Err(fail(
                                attempt - 1,
                                ErrorKind::Timeout(self.inner.retry.deadline),
                            ));
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

    fn limiter(&self, endpoint: &'static Endpoint) -> Option<Arc<Pacer>> {
        let (quota, map) = self.inner.limiters.as_ref()?;
        let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
        Some(
            map.entry(endpoint.path)
                .or_insert_with(|| Arc::new(Pacer::new(*quota)))
                .clone(),
        )
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
            Err(e) => return Attempt::Failed(classify(&e)),
        };
        let status = resp.status().as_u16();
        tracing::Span::current().record("status", status);
        let bytes = match read_body(resp, &self.inner.body_budget).await {
            Ok(b) => b,
            Err(e) => {
                return Attempt::Failed(ErrorKind::Network(format!("reading the answer: {e}")))
            }
        };
        if status != 200 {
            return Attempt::Failed(ErrorKind::Response {
                status,
                excerpt: excerpt(&bytes),
            });
        }
        // The head first, borrowing `ErrorInfo` from the body: a failure
        // answer keeps only a bounded copy of its text, however long.
        match serde_json::from_slice::<Head<'_>>(&bytes) {
            Ok(head) if head.code != ErrorCode::Success => Attempt::Failed(ErrorKind::Service {
                code: head.code,
                info: bounded_info(&head.info),
            }),
            Ok(_) => match serde_json::from_slice::<R>(&bytes) {
                Ok(r) if r.is_success() => Attempt::Done(r),
                Ok(r) => Attempt::Failed(ErrorKind::Service {
                    code: r.error_code(),
                    info: bounded_info(r.error_info()),
                }),
                Err(_) => Attempt::Failed(ErrorKind::Response {
                    status,
                    excerpt: excerpt(&bytes),
                }),
            },
            Err(_) => Attempt::Failed(ErrorKind::Response {
                status,
                excerpt: excerpt(&bytes),
            }),
        }
    }
}

/// The fields every answer shares, `ErrorInfo` borrowed where it can be.
#[derive(serde::Deserialize)]
struct Head<'a> {
    #[serde(rename = "ErrorCode")]
    code: ErrorCode,
    #[serde(rename = "ErrorInfo", borrow, default)]
    info: Cow<'a, str>,
}

/// Reads a whole body (at most [`MAX_RESPONSE`]) into one buffer sized
/// from its `Content-Length`, so a large answer is held once, not twice.
/// Holds its share of [`BODY_BUDGET`] while it reads (all of
/// [`MAX_RESPONSE`] when the length is not given).
async fn read_body(
    resp: http::Response<hyper::body::Incoming>,
    budget: &tokio::sync::Semaphore,
) -> Result<Vec<u8>, String> {
    let hint = resp
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .unwrap_or(MAX_RESPONSE)
        .min(MAX_RESPONSE);
    let units = u32::try_from(hint.div_ceil(BUDGET_UNIT).max(1)).unwrap_or(u32::MAX);
    let _held = budget
        .acquire_many(units)
        .await
        .map_err(|e| e.to_string())?;
    let mut body = Limited::new(resp.into_body(), MAX_RESPONSE);
    let mut buf = Vec::with_capacity(hint);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| e.to_string())?;
        if let Ok(data) = frame.into_data() {
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

/// Sorts a client error into connect / TLS / network, with the chain of
/// causes as text (none of which holds the URL or the UserSig).
fn classify(e: &hyper_util::client::legacy::Error) -> ErrorKind {
    let mut chain = Vec::new();
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(tls) = find_rustls(err) {
            return ErrorKind::Tls(describe_tls(tls));
        }
        let text = err.to_string();
        if !chain.contains(&text) {
            chain.push(text);
        }
        cur = err.source();
    }
    let text = chain.join(": ");
    if e.is_connect() {
        ErrorKind::Connect(text)
    } else {
        ErrorKind::Network(text)
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
            "the server's certificate is not trusted (unknown issuer); add its CA with add_root_certificate_pem (the emulator hands out its CA PEM)".into()
        }
        rustls::Error::InvalidCertificate(c) => format!("the server's certificate was refused: {c:?}"),
        other => format!("TLS handshake failed: {other}"),
    }
}
