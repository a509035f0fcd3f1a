//! The client and its builder.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ban_proto::{
    BanListRequest, BannedAccount, Command, Description, GroupId, PageLimit, PageOffset, Region,
    UserSig, ValidationError,
};
use ban_sign::{CachedSigner, Clock, RenewPolicy, SecretKey, Signer, SystemClock};
use ban_transport::{
    BuildError, CallError, Credentials, CredentialsError, Outcome, RateLimit, RetryPolicy,
    Transport,
};
use futures_util::Stream;

use crate::journal::JournalError;

/// The admin identifier used when none is given.
pub const DEFAULT_ADMIN: &str = "administrator";

/// The client could not be configured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting is missing.
    #[error("{what} is missing; set {env} or pass it to the builder")]
    Missing {
        /// The setting.
        what: &'static str,
        /// The environment variable that can hold it.
        env: &'static str,
    },
    /// A setting has an unusable value.
    #[error("{field} is {given:?}: {reason}")]
    Invalid {
        /// The setting.
        field: &'static str,
        /// What was given (never a secret).
        given: String,
        /// Why it is unusable.
        reason: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    File {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The transport refused its settings.
    #[error(transparent)]
    Transport(#[from] BuildError),
}

/// Bad input to a bulk job: nothing was sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// A field other than the member list is invalid.
    #[error(transparent)]
    Field(#[from] ValidationError),
    /// Some members are invalid; each is listed with its place and reason.
    #[error("{}", describe_invalid(.0))]
    Members(Vec<InvalidMember>),
    /// The member list is empty.
    #[error("Members_Account has 0 accounts; at least 1 is needed")]
    NoMembers,
    /// The journal cannot be used for this job.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// A member refused before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidMember {
    /// Its place in the input (0-based, duplicates counted).
    pub index: usize,
    /// The account as given.
    pub member: String,
    /// The rule it breaks.
    pub error: ValidationError,
}

/// How many invalid members an error names; the rest are counted.
pub const INVALID_SHOWN: usize = 10;

fn describe_invalid(bad: &[InvalidMember]) -> String {
    use std::fmt::Write;
    let mut s = format!("{} of the members are invalid, nothing was sent", bad.len());
    for b in bad.iter().take(INVALID_SHOWN) {
        let _ = write!(
            s,
            "; #{} \"{}\": {}",
            b.index + 1,
            ban_proto::escape(&b.member),
            b.error
        );
    }
    if bad.len() > INVALID_SHOWN {
        let _ = write!(s, "; and {} more", bad.len() - INVALID_SHOWN);
    }
    s
}

/// Configures a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    sdkappid: Option<u64>,
    secret_key: Option<SecretKey>,
    admin: String,
    region: Option<Region>,
    endpoint: Option<String>,
    failover: bool,
    ca_pems: Vec<String>,
    allow_plain_http: bool,
    connect_timeout: Duration,
    attempt_timeout: Duration,
    retry: RetryPolicy,
    rate: Option<RateLimit>,
    max_in_flight: usize,
    renew: RenewPolicy,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            sdkappid: None,
            secret_key: None,
            admin: DEFAULT_ADMIN.to_owned(),
            region: None,
            endpoint: None,
            failover: false,
            ca_pems: Vec::new(),
            allow_plain_http: false,
            connect_timeout: Duration::from_secs(3),
            attempt_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            rate: Some(RateLimit::default()),
            max_in_flight: 64,
            renew: RenewPolicy::default(),
        }
    }
}

impl ClientBuilder {
    /// Reads `TIM_SDKAPPID`, `TIM_SECRET_KEY`, `TIM_ADMIN`, `TIM_REGION`,
    /// `TIM_ENDPOINT` and `TIM_CA_CERT` (a PEM file) from the environment;
    /// the builder's setters can override each afterwards.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// Like [`ClientBuilder::from_env`], reading variables through `get`.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut b = ClientBuilder::default();
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        if let Some(v) = get("TIM_SDKAPPID") {
            b.sdkappid = Some(parse_sdkappid(&v)?);
        }
        if let Some(v) = get("TIM_SECRET_KEY") {
            b.secret_key = Some(SecretKey::new(v));
        }
        if let Some(v) = get("TIM_ADMIN") {
            b.admin = v;
        }
        if let Some(v) = get("TIM_REGION") {
            b = b.region(parse_region(&v)?);
        }
        if let Some(v) = get("TIM_ENDPOINT") {
            b.endpoint = Some(v);
        }
        if let Some(v) = get("TIM_CA_CERT") {
            b = b.ca_cert_file(&v)?;
        }
        Ok(b)
    }

    /// The SDKAppID.
    pub fn sdkappid(mut self, sdkappid: u64) -> Self {
        self.sdkappid = Some(sdkappid);
        self
    }
    /// The app's secret key (UserSigs are signed and renewed with it).
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.secret_key = Some(SecretKey::new(key));
        self
    }
    /// The app admin identifier (default `administrator`).
    pub fn admin(mut self, admin: impl Into<String>) -> Self {
        self.admin = admin.into();
        self
    }
    /// The region whose domain to call (default China).
    pub fn region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self.endpoint = None;
        self
    }
    /// A custom base URL (a proxy, the emulator).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }
    /// Fails over to the region's backup domain when its primary cannot be
    /// resolved or connected (default off; no effect with a custom endpoint).
    pub fn failover_to_backup(mut self, enabled: bool) -> Self {
        self.failover = enabled;
        self
    }
    /// Trusts a CA certificate (PEM text), e.g. the emulator's.
    pub fn ca_cert_pem(mut self, pem: impl Into<String>) -> Self {
        self.ca_pems.push(pem.into());
        self
    }
    /// Trusts the CA certificates of a PEM file.
    pub fn ca_cert_file(self, path: &str) -> Result<Self, ConfigError> {
        let pem = std::fs::read_to_string(path).map_err(|source| ConfigError::File {
            path: path.to_owned(),
            source,
        })?;
        Ok(self.ca_cert_pem(pem))
    }
    /// Allows a plain-HTTP endpoint (an emulator started with `--plain`).
    pub fn danger_allow_plain_http(mut self, allow: bool) -> Self {
        self.allow_plain_http = allow;
        self
    }
    /// TCP connect timeout (default 3 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }
    /// Timeout of one attempt (default 5 s).
    pub fn attempt_timeout(mut self, d: Duration) -> Self {
        self.attempt_timeout = d;
        self
    }
    /// Retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }
    /// Client-side rate limit per command (default 200/s); `None` for off.
    pub fn rate_limit(mut self, rate: Option<RateLimit>) -> Self {
        self.rate = rate;
        self
    }
    /// The most calls a bulk job keeps in flight (default 64).
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }
    /// Validity and renewal of the cached UserSig.
    pub fn usersig_policy(mut self, policy: RenewPolicy) -> Self {
        self.renew = policy;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, ConfigError> {
        self.build_with_clock(Arc::new(SystemClock))
    }

    /// Builds the client with a clock for UserSig times (tests).
    pub fn build_with_clock(self, clock: Arc<dyn Clock>) -> Result<Client, ConfigError> {
        let sdkappid = self.sdkappid.ok_or(ConfigError::Missing {
            what: "SDKAppID",
            env: "TIM_SDKAPPID",
        })?;
        if sdkappid == 0 {
            return Err(ConfigError::Invalid {
                field: "SDKAppID",
                given: "0".into(),
                reason: "it must be a positive integer".into(),
            });
        }
        let key = self.secret_key.ok_or(ConfigError::Missing {
            what: "secret key",
            env: "TIM_SECRET_KEY",
        })?;
        if key.is_empty() {
            return Err(ConfigError::Invalid {
                field: "secret key",
                given: String::new(),
                reason: "it is empty".into(),
            });
        }
        if self.admin.is_empty() || self.admin.len() > 32 {
            return Err(ConfigError::Invalid {
                field: "admin",
                given: self.admin.clone(),
                reason: "it must be 1 to 32 bytes".into(),
            });
        }
        let signer = Arc::new(CachedSigner::with_clock(
            self.admin,
            Signer::new(sdkappid, key),
            self.renew,
            clock,
        ));
        let creds: Arc<dyn Credentials> = Arc::new(SignerCredentials(signer.clone()));
        let t = Transport::builder_shared(creds);
        let t = match self.endpoint {
            Some(e) => t.endpoint(e),
            None => t.region(self.region.unwrap_or(Region::China)),
        };
        let mut t = t
            .failover_to_backup(self.failover)
            .danger_allow_plain_http(self.allow_plain_http)
            .connect_timeout(self.connect_timeout)
            .attempt_timeout(self.attempt_timeout)
            .retry(self.retry)
            .rate_limit(self.rate);
        for pem in &self.ca_pems {
            t = t.add_root_certificate_pem(pem)?;
        }
        Ok(Client {
            transport: t.build()?,
            signer,
            max_in_flight: self.max_in_flight,
        })
    }
}

fn parse_sdkappid(v: &str) -> Result<u64, ConfigError> {
    v.trim().parse().map_err(|_| ConfigError::Invalid {
        field: "TIM_SDKAPPID",
        given: v.to_owned(),
        reason: "it must be a positive integer".into(),
    })
}

fn parse_region(v: &str) -> Result<Region, ConfigError> {
    v.parse()
        .map_err(|e: ban_proto::ParseRegionError| ConfigError::Invalid {
            field: "TIM_REGION",
            given: v.to_owned(),
            reason: e.to_string(),
        })
}

/// ban-sign's cached signer as ban-transport's credentials provider: what
/// [`Client`] plugs in, public for those who build a `Transport` themselves.
///
/// ```
/// use std::sync::Arc;
/// use ban_facade::SignerCredentials;
/// use ban_sign::{CachedSigner, RenewPolicy, SecretKey, Signer};
/// use ban_transport::Transport;
///
/// let signer = CachedSigner::new("administrator", Signer::new(1400000000, SecretKey::new("key")), RenewPolicy::default());
/// let transport = Transport::builder(SignerCredentials::new(Arc::new(signer))).build()?;
/// # Ok::<(), ban_transport::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SignerCredentials(Arc<CachedSigner>);

impl SignerCredentials {
    /// Wraps a cached signer.
    pub fn new(signer: Arc<CachedSigner>) -> Self {
        SignerCredentials(signer)
    }
}

impl Credentials for SignerCredentials {
    fn sdkappid(&self) -> u64 {
        self.0.sdkappid()
    }
    fn identifier(&self) -> &str {
        self.0.identifier()
    }
    fn usersig(&self) -> Result<UserSig, CredentialsError> {
        Ok(self.0.usersig())
    }
}

/// The ban client: cheap to clone, safe to share across tasks.
#[derive(Clone)]
pub struct Client {
    pub(crate) transport: Transport,
    signer: Arc<CachedSigner>,
    pub(crate) max_in_flight: usize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("transport", &self.transport)
            .field("signer", &self.signer)
            .field("max_in_flight", &self.max_in_flight)
            .finish()
    }
}

/// A boxed stream of banned members.
pub type BannedStream = Pin<Box<dyn Stream<Item = Result<BannedAccount, CallError>> + Send>>;

impl Client {
    /// A builder with every default.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `TIM_*` environment variables.
    pub fn from_env() -> Result<Client, ConfigError> {
        ClientBuilder::from_env()?.build()
    }

    /// The transport underneath, for calls this client does not wrap.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Sends one request of any command through the signed transport.
    pub async fn call<C: Command>(&self, request: &C) -> Result<Outcome<C::Response>, CallError> {
        self.transport.call(request).await
    }

    /// The current admin UserSig (renewed before expiry).
    pub fn usersig(&self) -> UserSig {
        self.signer.usersig()
    }

    /// Every banned member of a group, page by page (100 a page), as a
    /// stream. A page that fails ends the stream with its error.
    pub fn banned_members(&self, group: &str) -> Result<BannedStream, InputError> {
        let group = GroupId::new(group.to_owned())?;
        let client = self.clone();
        struct Paging {
            client: Client,
            group: GroupId<'static>,
            offset: Option<u64>,
            page: std::vec::IntoIter<BannedAccount>,
        }
        let start = Paging {
            client,
            group,
            offset: Some(0),
            page: Vec::new().into_iter(),
        };
        let stream = futures_util::stream::try_unfold(start, |mut st| async move {
            loop {
                if let Some(next) = st.page.next() {
                    return Ok(Some((next, st)));
                }
                let Some(offset) = st.offset else {
                    return Ok(None);
                };
                let req = BanListRequest {
                    group_id: st.group.reborrow(),
                    offset: PageOffset(u32::try_from(offset).unwrap_or(u32::MAX)),
                    limit: PageLimit::MAX,
                };
                let page = st.client.transport.call(&req).await?.response;
                // 0 means no more pages, and so does an empty page (the
                // documented sample answers a non-zero NextOffset on its last
                // page); an offset that does not advance would loop forever.
                st.offset = (page.next_offset > offset && !page.banned.is_empty())
                    .then_some(page.next_offset);
                st.page = page.banned.into_iter();
            }
        });
        Ok(Box::pin(stream))
    }

    pub(crate) fn validate_description(
        d: Option<&str>,
    ) -> Result<Option<Description<'static>>, InputError> {
        Ok(d.map(|d| Description::new(d.to_owned())).transpose()?)
    }
}
