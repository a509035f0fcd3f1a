//! Configuring a [`Client`]: the builder, which holds the transport's
//! builder (one place owns each transport default: `ban-transport`), and
//! the one reader of the `TIM_*` variables, which banctl uses too.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ban_proto::Region;
use ban_sign::{CachedSigner, Clock, RenewPolicy, SecretKey, Signer, SystemClock};
use ban_transport::{BuildError, Credentials, Limiter, RateLimit, RetryPolicy, TransportBuilder};

use crate::client::{Client, SignerCredentials};

/// The client's constructors, beside its builder: the builder knows the
/// client, the client does not know its builder.
impl Client {
    /// A builder with every default.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `TIM_*` environment variables.
    pub fn from_env() -> Result<Client, ConfigError> {
        ClientBuilder::from_env()?.build()
    }
}

/// The admin identifier used when none is given.
pub const DEFAULT_ADMIN: &str = "administrator";
/// The most calls a bulk job keeps in flight by default: enough to hold the
/// rate limit whatever the latency (64 calls of 20 at 198/s cover 320 ms).
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;

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
    #[error("cannot read {path}")]
    File {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The transport refused its settings.
    #[error(transparent)]
    Transport(#[from] BuildError),
    /// A setting from a named source (a flag, a variable) failed; the
    /// cause is the source.
    #[error("{name}")]
    Named {
        /// Where the setting came from (`--ca-cert`, `TIM_SECRET_KEY_FILE`).
        name: &'static str,
        /// What failed.
        #[source]
        error: Box<ConfigError>,
    },
}

/// The client's `TIM_*` variables, read once and in one place (banctl
/// reads them through this too; the fleet's `TIM_REDIS_*` are
/// `ban_fleet::RedisEnv`'s). An empty variable counts as unset.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct TimEnv {
    /// `TIM_SDKAPPID`, as given.
    pub sdkappid: Option<String>,
    /// `TIM_SECRET_KEY`.
    pub secret_key: Option<SecretKey>,
    /// `TIM_SECRET_KEY_FILE`: a file holding the key (one line).
    pub secret_key_file: Option<PathBuf>,
    /// `TIM_ADMIN`.
    pub admin: Option<String>,
    /// `TIM_REGION`, as given.
    pub region: Option<String>,
    /// `TIM_ENDPOINT`.
    pub endpoint: Option<String>,
    /// `TIM_CA_CERT`: a PEM file of CA certificates to trust.
    pub ca_cert: Option<PathBuf>,
}

impl std::fmt::Debug for TimEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimEnv")
            .field("sdkappid", &self.sdkappid)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field("secret_key_file", &self.secret_key_file)
            .field("admin", &self.admin)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("ca_cert", &self.ca_cert)
            .finish()
    }
}

impl TimEnv {
    /// The variables this reads, in order.
    pub const VARS: &'static [&'static str] = &[
        "TIM_SDKAPPID",
        "TIM_SECRET_KEY",
        "TIM_SECRET_KEY_FILE",
        "TIM_ADMIN",
        "TIM_REGION",
        "TIM_ENDPOINT",
        "TIM_CA_CERT",
    ];

    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// Reads the variables through `get`.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        TimEnv {
            sdkappid: get("TIM_SDKAPPID"),
            secret_key: get("TIM_SECRET_KEY").map(SecretKey::new),
            secret_key_file: get("TIM_SECRET_KEY_FILE").map(PathBuf::from),
            admin: get("TIM_ADMIN"),
            region: get("TIM_REGION"),
            endpoint: get("TIM_ENDPOINT"),
            ca_cert: get("TIM_CA_CERT").map(PathBuf::from),
        }
    }
}

/// Reads a secret key from a file: its first line, without the line end.
pub fn read_secret_key_file(path: &std::path::Path) -> Result<SecretKey, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::File {
        path: path.display().to_string(),
        source,
    })?;
    let key = text.lines().next().unwrap_or("");
    if key.is_empty() {
        return Err(ConfigError::Invalid {
            field: "secret key file",
            given: path.display().to_string(),
            reason: "it is empty".into(),
        });
    }
    Ok(SecretKey::new(key))
}

/// Parses an SDKAppID as given in a flag or variable.
pub fn parse_sdkappid(field: &'static str, v: &str) -> Result<u64, ConfigError> {
    match v.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ConfigError::Invalid {
            field,
            given: v.to_owned(),
            reason: "it must be a positive integer".into(),
        }),
    }
}

/// Parses a region as given in a flag or variable.
pub fn parse_region(field: &'static str, v: &str) -> Result<Region, ConfigError> {
    v.parse()
        .map_err(|e: ban_proto::ParseRegionError| ConfigError::Invalid {
            field,
            given: v.to_owned(),
            reason: e.to_string(),
        })
}

/// Configures a [`Client`].
#[derive(Clone)]
pub struct ClientBuilder {
    sdkappid: Option<u64>,
    secret_key: Option<SecretKey>,
    admin: String,
    ca_pems: Vec<String>,
    max_in_flight: usize,
    renew: RenewPolicy,
    transport: TransportBuilder,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("sdkappid", &self.sdkappid)
            .field("secret_key", &self.secret_key)
            .field("admin", &self.admin)
            .field("max_in_flight", &self.max_in_flight)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            sdkappid: None,
            secret_key: None,
            admin: DEFAULT_ADMIN.to_owned(),
            ca_pems: Vec::new(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            renew: RenewPolicy::default(),
            transport: TransportBuilder::new(),
        }
    }
}

impl ClientBuilder {
    /// Reads the `TIM_*` variables ([`TimEnv`]); the builder's setters can
    /// override each afterwards.
    pub fn from_env() -> Result<Self, ConfigError> {
        ClientBuilder::default().env(&TimEnv::from_env())
    }

    /// Like [`ClientBuilder::from_env`], reading variables through `get`.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        ClientBuilder::default().env(&TimEnv::from_vars(get))
    }

    /// Applies what `env` holds (its [`Layer::env`](crate::Layer::env)).
    pub fn env(self, env: &TimEnv) -> Result<Self, ConfigError> {
        self.layer(&crate::layer::Layer::env(env)?)
    }

    /// The app's secret key, as a [`SecretKey`] (never exposed on the way).
    pub fn secret(mut self, key: SecretKey) -> Self {
        self.secret_key = Some(key);
        self
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
    /// The most calls a bulk job keeps in flight (default
    /// [`DEFAULT_MAX_IN_FLIGHT`]; 0 is refused at build time).
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n;
        self
    }
    /// Validity and renewal of the cached UserSig.
    pub fn usersig_policy(mut self, policy: RenewPolicy) -> Self {
        self.renew = policy;
        self
    }
    /// Adjusts the transport's settings (timeouts, pool, roots, ...) with
    /// its own builder; the setters below are shortcuts for the common ones.
    pub fn transport(mut self, f: impl FnOnce(TransportBuilder) -> TransportBuilder) -> Self {
        self.transport = f(self.transport);
        self
    }
    /// The region whose domain to call (default China).
    pub fn region(self, region: Region) -> Self {
        self.transport(|t| t.region(region))
    }
    /// A custom base URL (a proxy, the emulator).
    pub fn endpoint(self, url: impl Into<String>) -> Self {
        self.transport(|t| t.endpoint(url))
    }
    /// Fails over to the region's backup domain when its primary cannot be
    /// resolved or connected (default off; no effect with a custom endpoint).
    pub fn failover_to_backup(self, enabled: bool) -> Self {
        self.transport(|t| t.failover_to_backup(enabled))
    }
    /// Allows a plain-HTTP endpoint (an emulator started with `--plain`).
    pub fn danger_allow_plain_http(self, allow: bool) -> Self {
        self.transport(|t| t.danger_allow_plain_http(allow))
    }
    /// TCP connect timeout (default [`ban_transport::DEFAULT_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(self, d: Duration) -> Self {
        self.transport(|t| t.connect_timeout(d))
    }
    /// Timeout of one attempt (default [`ban_transport::DEFAULT_ATTEMPT_TIMEOUT`]).
    pub fn attempt_timeout(self, d: Duration) -> Self {
        self.transport(|t| t.attempt_timeout(d))
    }
    /// Retry policy.
    pub fn retry(self, policy: RetryPolicy) -> Self {
        self.transport(|t| t.retry(policy))
    }
    /// Client-side rate limit per command (default [`RateLimit::default`]);
    /// `None` for off.
    pub fn rate_limit(self, rate: Option<RateLimit>) -> Self {
        self.transport(|t| t.rate_limit(rate))
    }
    /// A limiter of your own in place of the in-process rate limit (one
    /// shared by a fleet, say).
    pub fn limiter(self, limiter: Arc<dyn Limiter>) -> Self {
        self.transport(|t| t.limiter(limiter))
    }

    /// A builder for a running emulator, from what its ready file holds
    /// (`banctl emulator --ready-file`, or `Emulator::ready_json` in
    /// process): its endpoint, CA, SDKAppID, key and admin; plain HTTP
    /// allowed when it serves it. The one "client for this emulator" of the
    /// demo, tests and benches; this crate does not depend on the emulator.
    #[cfg(feature = "test-util")]
    pub fn for_emulator(ready_json: &str) -> Result<Self, ConfigError> {
        #[derive(serde::Deserialize)]
        struct Ready {
            endpoint: String,
            ca_cert_pem: Option<String>,
            sdkappid: u64,
            secret_key: String,
            admin: String,
        }
        let r: Ready = serde_json::from_str(ready_json).map_err(|e| ConfigError::Invalid {
            field: "the emulator's ready file",
            given: ban_proto::escape_bounded(ready_json, ban_proto::QUOTED_BYTES),
            reason: e.to_string(),
        })?;
        let b = ClientBuilder::default()
            .sdkappid(r.sdkappid)
            .secret_key(r.secret_key)
            .admin(r.admin)
            .endpoint(r.endpoint);
        Ok(match r.ca_cert_pem {
            Some(pem) => b.ca_cert_pem(pem),
            None => b.danger_allow_plain_http(true),
        })
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, ConfigError> {
        self.build_inner(Arc::new(SystemClock))
    }

    /// Builds the client with a clock for UserSig times (tests).
    #[cfg(feature = "test-util")]
    pub fn build_with_clock(self, clock: Arc<dyn Clock>) -> Result<Client, ConfigError> {
        self.build_inner(clock)
    }

    fn build_inner(self, clock: Arc<dyn Clock>) -> Result<Client, ConfigError> {
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
        if self.max_in_flight == 0 {
            return Err(ConfigError::Invalid {
                field: "max_in_flight",
                given: "0".into(),
                reason: "at least 1 call must be in flight".into(),
            });
        }
        if self.renew.validity == 0 {
            return Err(ConfigError::Invalid {
                field: "usersig_policy.validity",
                given: "0".into(),
                reason: "a UserSig must be valid for at least 1 second".into(),
            });
        }
        let signer = Arc::new(CachedSigner::with_clock(
            self.admin,
            Signer::new(sdkappid, key),
            self.renew,
            clock,
        ));
        let creds: Arc<dyn Credentials> = Arc::new(SignerCredentials::new(signer.clone()));
        let mut t = self.transport.credentials_shared(creds);
        for pem in &self.ca_pems {
            t = t.add_root_certificate_pem(pem)?;
        }
        Ok(Client::new(t.build()?, signer, self.max_in_flight))
    }
}
