//! How a fleet's limiter is configured.

use std::fmt;
use std::time::Duration;

use ban_transport::RateLimit;

/// The key prefix when none is given.
pub const DEFAULT_KEY_PREFIX: &str = "tim-ban";
/// The fleet's default rate per command: under the service's 200/s with
/// room for timer jitter (the schedule is kept by Redis's clock, so the
/// only jitter left is each process's sleep and network).
pub const DEFAULT_FLEET_PER_SEC: u32 = 195;
/// How long one limiter call may wait for Redis before the breaker opens.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(50);
/// How often a process asks Redis again while the breaker is open.
pub const DEFAULT_PROBE_EVERY: Duration = Duration::from_secs(1);
/// How often a process says it is alive.
pub const DEFAULT_HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
/// The share of the rate the processes keep back while Redis is down.
pub const DEGRADED_MARGIN: f64 = 0.10;
/// How far a 60007 pushes the shared schedule back: long enough for the
/// service's one-second window to slide past the overrun.
pub const THROTTLE_PENALTY: Duration = Duration::from_millis(250);

/// What the limiter does while Redis cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DownPolicy {
    /// Go on alone at the rate ÷ the processes last seen alive (default).
    #[default]
    LocalShare,
    /// Send nothing until Redis answers again (calls wait, bounded by
    /// their deadline).
    Closed,
}

impl std::str::FromStr for DownPolicy {
    type Err = ban_proto::SettingError;
    fn from_str(s: &str) -> Result<Self, ban_proto::SettingError> {
        match s {
            "local-share" => Ok(DownPolicy::LocalShare),
            "closed" => Ok(DownPolicy::Closed),
            other => Err(ban_proto::SettingError::unknown(
                "Redis policy",
                other,
                ["local-share", "closed"],
            )),
        }
    }
}

/// Why a fleet limiter could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// The Redis URL is not usable.
    #[error("the Redis URL is not usable; expected redis://host:port, rediss://host:port or unix:///path")]
    Url(#[source] crate::RedisFailure),
    /// A setting is out of range.
    #[error(transparent)]
    Setting(#[from] ban_proto::SettingError),
    /// Redis cannot be used as set up (checked by [`crate::RedisLimiter::check`]).
    #[error(transparent)]
    Redis(#[from] crate::RedisSetupError),
}

/// How a [`RedisLimiter`](crate::RedisLimiter) shares the budget.
#[derive(Clone)]
#[non_exhaustive]
pub struct FleetConfig {
    /// Where Redis is: one node's `redis://`, `rediss://` (TLS) or
    /// `unix://` URL, or a Cluster's nodes.
    pub redis: crate::RedisAddr,
    /// Prefix of every key, for teams sharing one Redis.
    pub key_prefix: String,
    /// The app whose budget is shared.
    pub sdkappid: u64,
    /// The whole fleet's rate per command.
    pub rate: RateLimit,
    /// What to do while Redis is down.
    pub when_down: DownPolicy,
    /// How long one call may wait for Redis.
    pub timeout: Duration,
    /// How often to ask Redis again while it is down.
    pub probe_every: Duration,
    /// How often this process says it is alive.
    pub heartbeat_every: Duration,
}

impl fmt::Debug for FleetConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password.
        f.debug_struct("FleetConfig")
            .field("redis", &self.redis)
            .field("key_prefix", &self.key_prefix)
            .field("sdkappid", &self.sdkappid)
            .field("rate", &self.rate)
            .field("when_down", &self.when_down)
            .finish_non_exhaustive()
    }
}

/// Refuses a key prefix that would be unsafe in a key: empty, with white
/// space or control characters, or with `{` or `}` (the fleet's own hash
/// tags must be the only ones, or Cluster slots split a job's keys).
///
/// ```
/// assert!(ban_fleet::check_key_prefix("tim-ban").is_ok());
/// assert!(ban_fleet::check_key_prefix("").is_err());
/// assert!(ban_fleet::check_key_prefix("a b").is_err());
/// assert!(ban_fleet::check_key_prefix("{a}").is_err());
/// ```
pub fn check_key_prefix(prefix: &str) -> Result<(), ban_proto::SettingError> {
    let bad = |why: &str| {
        Err(ban_proto::SettingError::new(
            "key prefix",
            format!("{prefix:?}"),
            why.to_owned(),
        ))
    };
    if prefix.is_empty() {
        return bad("1 byte or more");
    }
    if prefix.len() > 64 {
        return bad("at most 64 bytes");
    }
    if prefix
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '{' || c == '}')
    {
        return bad("free of white space, control characters, '{' and '}'");
    }
    Ok(())
}

/// A URL without its password.
pub(crate) fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://<redacted>{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl FleetConfig {
    /// Every setting at its default for the Redis at `redis` (a URL, or a
    /// [`crate::RedisAddr::Cluster`]) and `sdkappid`.
    pub fn new(redis: impl Into<crate::RedisAddr>, sdkappid: u64) -> Self {
        FleetConfig {
            redis: redis.into(),
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            sdkappid,
            rate: RateLimit::per_second(DEFAULT_FLEET_PER_SEC),
            when_down: DownPolicy::default(),
            timeout: DEFAULT_REDIS_TIMEOUT,
            probe_every: DEFAULT_PROBE_EVERY,
            heartbeat_every: DEFAULT_HEARTBEAT_EVERY,
        }
    }

    /// The key prefix.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// The fleet's rate per command.
    pub fn rate(mut self, rate: RateLimit) -> Self {
        self.rate = rate;
        self
    }

    /// What to do while Redis is down.
    pub fn when_down(mut self, policy: DownPolicy) -> Self {
        self.when_down = policy;
        self
    }

    /// How long one call may wait for Redis.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// How often to ask Redis again while it is down.
    pub fn probe_every(mut self, d: Duration) -> Self {
        self.probe_every = d;
        self
    }
}
