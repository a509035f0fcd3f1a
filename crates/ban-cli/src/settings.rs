//! Credentials and endpoint from flags, falling back to the `TIM_*`
//! variables (read by ban-facade's `TimEnv`, the one reader); every message
//! speaks of flags and variables.

use ban_facade::{
    parse_region, parse_sdkappid, read_secret_key_file, BuildError, Client, ClientBuilder,
    ConfigError, RateLimit, SecretKey, TimEnv,
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

    /// The SDKAppID, when given.
    pub(crate) fn sdkappid(&self) -> Result<Option<u64>, Failure> {
        match (&self.flags.sdkappid, &self.env.sdkappid) {
            (Some(v), _) => parse_sdkappid("--sdkappid", v).map(Some).map_err(config),
            (None, Some(v)) => parse_sdkappid("TIM_SDKAPPID", v).map(Some).map_err(config),
            (None, None) => Ok(None),
        }
    }

    /// The SDKAppID, or what to pass.
    pub(crate) fn require_sdkappid(&self) -> Result<u64, Failure> {
        self.sdkappid()?
            .ok_or_else(|| usage("SDKAppID is missing; pass --sdkappid or set TIM_SDKAPPID"))
    }

    /// The secret key from exactly one of --secret-key, --secret-key-file,
    /// TIM_SECRET_KEY, TIM_SECRET_KEY_FILE (flags before variables).
    pub(crate) fn secret_key(&self) -> Result<Option<SecretKey>, Failure> {
        let f = self.flags;
        match (&f.secret_key, &f.secret_key_file) {
            (Some(_), Some(_)) => {
                return Err(usage(
                    "both --secret-key and --secret-key-file are given; give one",
                ))
            }
            (Some(k), None) => return Ok(Some(SecretKey::new(k.clone()))),
            (None, Some(path)) => {
                return read_secret_key_file(path)
                    .map(Some)
                    .map_err(|e| usage(format!("--secret-key-file: {}", chain(&e))))
            }
            (None, None) => {}
        }
        match (&self.env.secret_key, &self.env.secret_key_file) {
            (Some(_), Some(_)) => Err(usage(
                "both TIM_SECRET_KEY and TIM_SECRET_KEY_FILE are set; set one",
            )),
            (Some(k), None) => Ok(Some(k.clone())),
            (None, Some(path)) => read_secret_key_file(path)
                .map(Some)
                .map_err(|e| usage(format!("TIM_SECRET_KEY_FILE: {}", chain(&e)))),
            (None, None) => Ok(None),
        }
    }

    /// The file the secret key is read from, when it is read from one (and
    /// the flag or variable that names it).
    pub(crate) fn secret_key_path(&self) -> Option<(&'static str, &std::path::Path)> {
        match (&self.flags.secret_key, &self.flags.secret_key_file) {
            (None, Some(p)) => Some(("--secret-key-file", p.as_path())),
            (Some(_), _) => None,
            (None, None) => self
                .env
                .secret_key_file
                .as_deref()
                .filter(|_| self.env.secret_key.is_none())
                .map(|p| ("TIM_SECRET_KEY_FILE", p)),
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

    /// The fleet's Redis and key prefix, from flags or variables.
    pub(crate) fn redis(&self, rate: &Rate) -> Result<(RedisAddr, String), Failure> {
        let addr = self.redis_addr(rate)?.ok_or_else(|| {
            usage("jobs need Redis; pass --redis URL (or --redis-cluster URL,URL...), or set TIM_REDIS_URL (or TIM_REDIS_CLUSTER)")
        })?;
        let prefix = rate
            .redis_key_prefix
            .as_ref()
            .or(self.redis_env.key_prefix.as_ref())
            .cloned()
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
        if let Some(prefix) = rate
            .redis_key_prefix
            .as_ref()
            .or(self.redis_env.key_prefix.as_ref())
        {
            config = config.key_prefix(prefix.clone());
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
        let mut b = ClientBuilder::default()
            .sdkappid(self.require_sdkappid()?)
            .secret_key(self.require_secret_key()?.expose());
        if let Some(admin) = self.admin() {
            b = b.admin(admin);
        }
        match (&f.region, &self.env.region) {
            (Some(r), _) => b = b.region(parse_region("--region", r).map_err(config)?),
            (None, Some(r)) => b = b.region(parse_region("TIM_REGION", r).map_err(config)?),
            (None, None) => {}
        }
        if let Some(endpoint) = &f.endpoint {
            if endpoint.trim().is_empty() {
                return Err(usage(
                    "--endpoint is empty; give the base URL (https://…), or leave the flag out for the region's host",
                ));
            }
        }
        if let Some(endpoint) = f.endpoint.as_ref().or(self.env.endpoint.as_ref()) {
            b = b.endpoint(endpoint.clone());
        } else if std::env::var_os("TIM_ENDPOINT").is_some() {
            // A misconfiguration, not a quiet fallback to production.
            return Err(usage(
                "TIM_ENDPOINT is set but empty; unset it to call the region's production host, or give the base URL",
            ));
        }
        match (&f.ca_cert, &self.env.ca_cert) {
            (Some(p), _) => {
                b = b
                    .ca_cert_file(&p.to_string_lossy())
                    .map_err(|e| usage(format!("--ca-cert: {}", chain(&e))))?
            }
            (None, Some(p)) => {
                b = b
                    .ca_cert_file(&p.to_string_lossy())
                    .map_err(|e| usage(format!("TIM_CA_CERT: {}", chain(&e))))?
            }
            (None, None) => {}
        }
        b = b.danger_allow_plain_http(f.danger_allow_plain_http);
        b = match fleet {
            Some(limiter) => b.limiter(limiter),
            None => b.rate_limit(Some(RateLimit::per_second(
                rate.unwrap_or(RateLimit::DEFAULT_PER_SEC),
            ))),
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
