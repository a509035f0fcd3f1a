//! Credentials and endpoint as two named layers, the flags over the
//! `TIM_*` variables (ban-facade's `Layer`, read by its `TimEnv`, the one
//! reader): each setting carries the flag or variable that gave it, so
//! every message speaks of the one to fix.

use ban_facade::{
    BuildError, Client, ClientBuilder, ConfigError, KeyGiven, Layer, RateLimit, SecretKey, Sourced,
    TimEnv,
};

use std::sync::Arc;

use ban_fleet::{
    DownPolicy, FleetConfig, RedisAddr, RedisEnv, RedisLimiter, DEFAULT_FLEET_PER_SEC,
};

use crate::args::{Global, Rate};
use crate::output::{chain, usage, usage_err, Failure};

/// The service's ceiling per command and app (api-facts: 200 calls/s).
const SERVICE_PER_SEC: u32 = 200;

/// What the flags and the environment say, flags first.
pub(crate) struct Settings<'a> {
    flags: &'a Global,
    env: TimEnv,
    redis_env: RedisEnv,
}

fn config(e: ConfigError) -> Failure {
    usage_err(e)
}

impl<'a> Settings<'a> {
    /// The flags, over the process environment.
    pub(crate) fn new(flags: &'a Global) -> Self {
        Settings {
            flags,
            env: TimEnv::from_env(),
            redis_env: RedisEnv::from_env(),
        }
    }

    /// The flags' layer over the variables' (a key in the flags hides the
    /// variables' key and key file, whatever they hold).
    fn layer(&self) -> Result<Layer, Failure> {
        let f = self.flags;
        let flag =
            |source: &'static str, v: &Option<String>| v.clone().map(|v| Sourced::new(source, v));
        let mut flags = Layer::default();
        flags.sdkappid = flag("--sdkappid", &f.sdkappid);
        flags.secret_key = Layer::one_key(
            f.secret_key
                .clone()
                .map(|k| Sourced::new("--secret-key", SecretKey::new(k))),
            f.secret_key_file
                .clone()
                .map(|p| Sourced::new("--secret-key-file", p)),
        )
        .map_err(config)?;
        flags.admin = flag("--admin", &f.admin);
        flags.region = flag("--region", &f.region);
        flags.endpoint = flag("--endpoint", &f.endpoint);
        flags.ca_cert = f.ca_cert.clone().map(|p| Sourced::new("--ca-cert", p));
        let mut env = self.env.clone();
        if flags.secret_key.is_some() {
            env.secret_key = None;
            env.secret_key_file = None;
        }
        Ok(flags.over(Layer::env(&env).map_err(config)?))
    }

    /// The SDKAppID, when given.
    pub(crate) fn sdkappid(&self) -> Result<Option<u64>, Failure> {
        self.layer()?.parsed_sdkappid().map_err(config)
    }

    /// The SDKAppID, or what to pass.
    pub(crate) fn require_sdkappid(&self) -> Result<u64, Failure> {
        self.sdkappid()?
            .ok_or_else(|| usage("SDKAppID is missing; pass --sdkappid or set TIM_SDKAPPID"))
    }

    /// The secret key from exactly one of --secret-key, --secret-key-file,
    /// TIM_SECRET_KEY, TIM_SECRET_KEY_FILE (flags before variables).
    pub(crate) fn secret_key(&self) -> Result<Option<SecretKey>, Failure> {
        self.layer()?.read_secret_key().map_err(config)
    }

    /// The file the secret key is read from, when it is read from one (and
    /// the flag or variable that names it).
    pub(crate) fn secret_key_path(&self) -> Option<(&'static str, std::path::PathBuf)> {
        match self.layer().ok()?.secret_key? {
            Sourced {
                value: KeyGiven::File(p),
                source,
                ..
            } => Some((source, p)),
            _ => None,
        }
    }

    /// The secret key, or what to pass.
    pub(crate) fn require_secret_key(&self) -> Result<SecretKey, Failure> {
        self.secret_key()?.ok_or_else(|| {
            usage("the secret key is missing; pass --secret-key-file or set TIM_SECRET_KEY_FILE or TIM_SECRET_KEY")
        })
    }

    /// The admin identifier, when given.
    pub(crate) fn admin(&self) -> Option<String> {
        self.flags.admin.clone().or_else(|| self.env.admin.clone())
    }

    /// Where the fleet's Redis is, from flags or variables, when given:
    /// one node (`--redis`, `TIM_REDIS_URL`) or a Cluster
    /// (`--redis-cluster`, `TIM_REDIS_CLUSTER`).
    pub(crate) fn redis_addr(&self, rate: &Rate) -> Result<Option<RedisAddr>, Failure> {
        Ok(match (&rate.redis, &rate.redis_cluster) {
            (Some(url), _) => Some(RedisAddr::from(url)),
            (None, Some(list)) => Some(RedisAddr::cluster_from_list(list)),
            (None, None) => self.redis_env.addr().map_err(usage_err)?,
        })
    }

    /// The fleet's key prefix, when given: `--redis-key-prefix` over
    /// `TIM_REDIS_KEY_PREFIX`.
    fn key_prefix(&self, rate: &Rate) -> Option<String> {
        rate.redis_key_prefix
            .clone()
            .or_else(|| self.redis_env.key_prefix.clone())
    }

    /// The fleet's Redis and key prefix, from flags or variables.
    pub(crate) fn redis(&self, rate: &Rate) -> Result<(RedisAddr, String), Failure> {
        let addr = self.redis_addr(rate)?.ok_or_else(|| {
            usage("jobs need Redis; pass --redis URL (or --redis-cluster URL,URL...), or set TIM_REDIS_URL (or TIM_REDIS_CLUSTER)")
        })?;
        let prefix = self
            .key_prefix(rate)
            .unwrap_or_else(|| ban_fleet::DEFAULT_KEY_PREFIX.to_owned());
        Ok((addr, prefix))
    }

    /// The limiter a `--redis` fleet shares, when one is asked for.
    fn fleet(&self, rate: &Rate, sdkappid: u64) -> Result<Option<Arc<RedisLimiter>>, Failure> {
        let Some(addr) = self.redis_addr(rate)? else {
            return Ok(None);
        };
        let policy: DownPolicy = rate
            .redis_policy
            .parse()
            .map_err(|e| usage(format!("--redis-policy: {e}")))?;
        let mut config =
            FleetConfig::new(addr, sdkappid)
                .when_down(policy)
                .rate(RateLimit::per_second(
                    rate.rate.unwrap_or(DEFAULT_FLEET_PER_SEC),
                ));
        if let Some(prefix) = self.key_prefix(rate) {
            config = config.key_prefix(prefix);
        }
        RedisLimiter::new(config)
            .map(|l| Some(Arc::new(l)))
            .map_err(|e| usage(format!("--redis (TIM_REDIS_URL): {}", chain(&e))))
    }

    /// The client for ban, unban and list, paced as `rate` says. With a
    /// `--redis` fleet, Redis is checked first: set up wrong (a password,
    /// a Cluster node, ...) is exit 2 in words; unreachable is exit 2 too,
    /// unless `--redis-optional`, which goes on alone with one warning.
    pub(crate) async fn client(&self, rate: &Rate) -> Result<Client, Failure> {
        if let Some(r) = rate.rate.filter(|&r| r > SERVICE_PER_SEC) {
            eprintln!(
                "warning: --rate {r} is over the service's {SERVICE_PER_SEC} calls/s per command: expect 60007 answers (each retried), not more speed"
            );
        }
        let fleet = self.fleet(rate, self.require_sdkappid()?)?;
        if let Some(limiter) = &fleet {
            match limiter.check().await {
                Ok(_) => {}
                // The limiter says so once, when it falls back.
                Err(ban_fleet::FleetError::Redis(e)) if e.is_unreachable() && rate.redis_optional => {}
                Err(ban_fleet::FleetError::Redis(e)) if e.is_unreachable() => {
                    return Err(usage(format!(
                        "--redis (TIM_REDIS_URL): {}; nothing was sent (pass --redis-optional to go on alone with this process's share of the budget)",
                        chain(&e)
                    )))
                }
                Err(ban_fleet::FleetError::Redis(e)) => {
                    return Err(usage(format!(
                        "--redis (TIM_REDIS_URL): {}{}",
                        chain(&e),
                        crate::job::setup_hint(&e)
                    )))
                }
                Err(e) => return Err(usage(format!("--redis (TIM_REDIS_URL): {}", chain(&e)))),
            }
        }
        self.build_client(rate.rate, fleet)
    }

    fn build_client(
        &self,
        rate: Option<u32>,
        fleet: Option<Arc<RedisLimiter>>,
    ) -> Result<Client, Failure> {
        let f = self.flags;
        if std::env::var_os("TIM_ENDPOINT").is_some_and(|v| v.to_string_lossy().trim().is_empty())
            && f.endpoint.is_none()
        {
            // A misconfiguration, not a quiet fallback to production.
            return Err(usage(
                "TIM_ENDPOINT is set but empty; unset it to call the region's production host, or give the base URL",
            ));
        }
        let layer = self.layer()?;
        if layer.sdkappid.is_none() {
            self.require_sdkappid()?;
        }
        if layer.secret_key.is_none() {
            self.require_secret_key()?;
        }
        let mut b = ClientBuilder::default().layer(&layer).map_err(config)?;
        b = b.danger_allow_plain_http(f.danger_allow_plain_http);
        b = match fleet {
            Some(limiter) => b.limiter(limiter),
            None => b.rate_limit(Some(rate.map(RateLimit::per_second).unwrap_or_default())),
        };
        let client = b.build().map_err(|e| match e {
                ConfigError::Transport(BuildError::PlainHttp { given }) => usage(format!(
                    "endpoint {given:?} is plain HTTP; the service is HTTPS only (pass --danger-allow-plain-http for a local emulator started with --plain)"
                )),
                ConfigError::Transport(BuildError::Certificate(c)) => {
                    usage(format!("--ca-cert (TIM_CA_CERT): {c}"))
                }
                ConfigError::Transport(BuildError::Endpoint { given, reason }) => usage(format!(
                    "--endpoint (TIM_ENDPOINT) {given:?} is not usable: {reason}"
                )),
                other => usage(other),
            })?;
        tracing::info!(endpoint = client.transport().endpoint(), "calling");
        Ok(client)
    }
}
