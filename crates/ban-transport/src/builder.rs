//! Configures a [`Transport`]: one place owns each default.

use ban_proto::SettingError;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use ban_proto::Region;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::CertificateDer;

use crate::client::{Inner, Transport, BODY_BUDGET, BUDGET_UNIT};
use crate::credentials::Credentials;
use crate::error::BuildError;
use crate::limit::{Limiter, LocalLimiter, RateLimit};
use crate::retry::RetryPolicy;

/// Time to establish a TCP connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time one attempt may take: above the service's own 3 s timeout.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an idle pooled connection is kept.
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// How many idle connections are kept per host.
pub const DEFAULT_POOL_MAX_IDLE_PER_HOST: usize = 64;
/// TCP keep-alive on pooled connections.
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);
/// What a connection buffers of an answer not yet asked for: answers are
/// small (hyper's default grows to about 400 KiB).
const MAX_CONNECTION_BUFFER: usize = 64 << 10;

/// Configures and builds a [`Transport`].
#[derive(Clone)]
pub struct TransportBuilder {
    credentials: Option<Arc<dyn Credentials>>,
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
    limiter: Option<Arc<dyn Limiter>>,
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

impl Default for TransportBuilder {
    fn default() -> Self {
        TransportBuilder::new()
    }
}

impl TransportBuilder {
    /// Every setting at its default, no credentials yet (see
    /// [`TransportBuilder::credentials`]).
    pub fn new() -> Self {
        TransportBuilder {
            credentials: None,
            endpoint: Region::China.base_url(),
            allow_plain_http: false,
            webpki_roots: true,
            extra_roots: Vec::new(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            pool_idle_timeout: DEFAULT_POOL_IDLE_TIMEOUT,
            pool_max_idle_per_host: DEFAULT_POOL_MAX_IDLE_PER_HOST,
            retry: RetryPolicy::default(),
            rate: Some(RateLimit::default()),
            limiter: None,
            region: Some(Region::China),
            failover: false,
            backup: None,
        }
    }

    /// Who calls: the credentials provider asked for a UserSig at each attempt.
    pub fn credentials(self, credentials: impl Credentials) -> Self {
        self.credentials_shared(Arc::new(credentials))
    }

    /// [`TransportBuilder::credentials`] for a shared provider.
    pub fn credentials_shared(mut self, credentials: Arc<dyn Credentials>) -> Self {
        self.credentials = Some(credentials);
        self
    }

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
        self.extra_roots
            .extend(crate::tls::certificates_from_pem(pem)?);
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

    /// The client-side rate limit per command, in this process (default
    /// [`RateLimit::default`]); `None` turns it off.
    pub fn rate_limit(mut self, rate: Option<RateLimit>) -> Self {
        self.rate = rate;
        self.limiter = None;
        self
    }

    /// A limiter of your own (one shared by several processes, say) in
    /// place of the in-process rate limit.
    pub fn limiter(mut self, limiter: Arc<dyn Limiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Builds the transport. Must be called within a Tokio runtime's context
    /// only when calls are made; building itself does no I/O.
    pub fn build(self) -> Result<Transport, BuildError> {
        let credentials = self.credentials.ok_or_else(|| {
            BuildError::Setting(SettingError::new(
                "credentials",
                "missing",
                "given (call credentials(...))",
            ))
        })?;
        let base = parse_base(&self.endpoint, self.allow_plain_http)?;
        let backup = match (&self.backup, self.failover, self.region) {
            (Some(b), _, _) => Some(parse_base(b, self.allow_plain_http)?),
            (None, true, Some(region)) => Some(region.backup_url()),
            _ => None,
        };
        self.retry.check()?;
        for (name, d) in [
            ("connect_timeout", self.connect_timeout),
            ("attempt_timeout", self.attempt_timeout),
        ] {
            if d.is_zero() {
                return Err(BuildError::Setting(SettingError::new(name, 0, "above 0")));
            }
        }
        let limiter: Option<Arc<dyn Limiter>> = match (self.limiter, self.rate) {
            (Some(l), _) => Some(l),
            (None, Some(rate)) => Some(Arc::new(LocalLimiter::new(rate)?)),
            (None, None) => None,
        };
        let tls = crate::tls::client_config(self.webpki_roots, self.extra_roots)?;

        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(self.connect_timeout));
        http.set_keepalive(Some(TCP_KEEPALIVE));
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
            .http1_max_buf_size(MAX_CONNECTION_BUFFER)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);

        Ok(Transport {
            inner: Arc::new(Inner {
                http,
                base,
                backup,
                on_backup: AtomicBool::new(false),
                credentials,
                attempt_timeout: self.attempt_timeout,
                retry: self.retry,
                limiter,
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
