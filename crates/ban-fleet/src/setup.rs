//! Checking a Redis before a fleet uses it: reachable, the password right,
//! not a Cluster node behind a single-node URL, the database there, and,
//! for jobs, writes logged to disk. Each failure in words an operator acts
//! on; "Redis is down" apart from "Redis is set up wrong".

use std::time::Duration;

use redis::aio::ConnectionLike;
use redis::{ErrorKind, RedisError, ServerErrorKind};

use crate::failure::RedisFailure;

/// Why a Redis cannot be used by the fleet.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisSetupError {
    /// The URL does not parse.
    #[error("the Redis URL is not usable; expected redis://host:port, rediss://host:port or unix:///path")]
    Url(#[source] RedisFailure),
    /// Nothing answers: refused, timed out, unreachable. The only failure
    /// that waiting may cure.
    #[error("Redis is unreachable")]
    Unreachable(#[source] RedisFailure),
    /// Redis asks for a password the URL does not give.
    #[error("Redis requires a password: add it to the URL (redis://:PASSWORD@host:port, or redis://USER:PASSWORD@host:port for an ACL user)")]
    NeedsPassword(#[source] RedisFailure),
    /// The user name or password was refused.
    #[error("Redis refused the user name or password in the URL")]
    BadPassword(#[source] RedisFailure),
    /// The URL names one node of a Redis Cluster.
    #[error("this Redis is a node of a Redis Cluster: give the cluster's nodes (a Cluster address, or TIM_REDIS_CLUSTER) instead of one node's URL")]
    Cluster(#[source] RedisFailure),
    /// The database number in the URL does not exist.
    #[error("the database number in the Redis URL does not exist on this server (redis://host:port/N needs N below its `databases` setting)")]
    Database(#[source] RedisFailure),
    /// The ACL user may not run a command the fleet needs.
    #[error("the Redis user may not run a command the fleet needs; grant it the key prefix (~PREFIX:*) and +@read +@write +@stream +@scripting +info +time")]
    NoPermission(#[source] RedisFailure),
    /// Redis logs no writes: a restart loses every job.
    #[error("Redis does not log writes ({found}): a restart would lose every job and leave no record; turn on the append-only file (`appendonly yes` in redis.conf, or CONFIG SET appendonly yes), or accept the loss explicitly (`JobQueue::allow_volatile`)")]
    Volatile {
        /// What `INFO persistence` said.
        found: String,
    },
    /// Any other refusal.
    #[error("Redis refused the fleet's commands")]
    Other(#[source] RedisFailure),
}

impl RedisSetupError {
    /// Sorts a Redis error: down, or set up wrong (and how).
    pub(crate) fn classify(e: RedisError) -> RedisSetupError {
        let wrap = RedisFailure::new;
        let code = e.code().unwrap_or("").to_owned();
        let detail = e.detail().unwrap_or("").to_ascii_lowercase();
        match e.kind() {
            ErrorKind::Io | ErrorKind::ClusterConnectionNotFound => {
                RedisSetupError::Unreachable(wrap(e))
            }
            ErrorKind::InvalidClientConfig => RedisSetupError::Url(wrap(e)),
            ErrorKind::Server(ServerErrorKind::Moved | ServerErrorKind::Ask) => {
                RedisSetupError::Cluster(wrap(e))
            }
            ErrorKind::Server(ServerErrorKind::NoPerm) => RedisSetupError::NoPermission(wrap(e)),
            _ if code == "NOAUTH" => RedisSetupError::NeedsPassword(wrap(e)),
            _ if code == "WRONGPASS" || code == "NOPERM" && detail.contains("password") => {
                RedisSetupError::BadPassword(wrap(e))
            }
            ErrorKind::AuthenticationFailed => {
                if detail.contains("no password") || detail.contains("without") {
                    RedisSetupError::NeedsPassword(wrap(e))
                } else {
                    RedisSetupError::BadPassword(wrap(e))
                }
            }
            _ if code == "NOPERM" => RedisSetupError::NoPermission(wrap(e)),
            _ if detail.contains("db index") => RedisSetupError::Database(wrap(e)),
            _ if detail.contains("cluster") => RedisSetupError::Cluster(wrap(e)),
            _ => RedisSetupError::Other(wrap(e)),
        }
    }

    /// Whether this is Redis being down (waiting may cure it), not a setup
    /// to fix.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, RedisSetupError::Unreachable(_))
    }
}

/// Asks Redis a command every fleet process needs, and one a Cluster node
/// behind a plain URL refuses with MOVED (a key of the fleet's); a node
/// that says it is in a Cluster is refused too, unless reached as one.
pub(crate) async fn probe(conn: &mut crate::conn::Conn, key: &str) -> Result<(), RedisSetupError> {
    if !conn.is_cluster() {
        let info: String = redis::cmd("INFO")
            .arg("cluster")
            .query_async(conn)
            .await
            .map_err(RedisSetupError::classify)?;
        if info.lines().any(|l| l.trim() == "cluster_enabled:1") {
            return Err(RedisSetupError::Cluster(RedisFailure::new(
                redis::RedisError::from((
                    redis::ErrorKind::InvalidClientConfig,
                    "INFO cluster says cluster_enabled:1",
                )),
            )));
        }
    }
    let _: (u64, u64) = redis::cmd("TIME")
        .query_async(conn)
        .await
        .map_err(RedisSetupError::classify)?;
    let _: u64 = redis::cmd("EXISTS")
        .arg(key)
        .query_async(conn)
        .await
        .map_err(RedisSetupError::classify)?;
    Ok(())
}

/// Whether Redis logs every write (`aof_enabled:1` in `INFO persistence`,
/// which managed services that hide CONFIG still answer).
pub(crate) async fn check_durable<C: ConnectionLike>(conn: &mut C) -> Result<(), RedisSetupError> {
    // One node answers a text; a Cluster, a map of its nodes' texts.
    let reply: redis::Value = redis::cmd("INFO")
        .arg("persistence")
        .query_async(conn)
        .await
        .map_err(RedisSetupError::classify)?;
    let texts: Vec<String> = match redis::from_redis_value::<String>(reply.clone()) {
        Ok(one) => vec![one],
        Err(_) => redis::from_redis_value::<std::collections::HashMap<String, String>>(reply)
            .map_err(|e| RedisSetupError::Other(RedisFailure::new(e.into())))?
            .into_values()
            .collect(),
    };
    for info in &texts {
        let aof = info
            .lines()
            .find_map(|l| l.strip_prefix("aof_enabled")?.strip_prefix(':'))
            .map(str::trim);
        if aof != Some("1") {
            return Err(RedisSetupError::Volatile {
                found: format!(
                    "aof_enabled:{}, rdb snapshots alone lose what came after the last one",
                    aof.unwrap_or("?")
                ),
            });
        }
    }
    Ok(())
}

/// Capped exponential backoff for reconnecting: 100 ms doubling to 5 s.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            next: Duration::from_millis(100),
        }
    }
}

impl Backoff {
    pub(crate) const MAX: Duration = Duration::from_secs(5);

    /// Waits the next step.
    pub(crate) async fn wait(&mut self) {
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(Self::MAX);
    }
}

/// The Redis error underneath (a setup failure without one becomes an I/O
/// error of its words), for code that speaks redis-rs's results.
impl From<RedisSetupError> for RedisError {
    fn from(e: RedisSetupError) -> RedisError {
        match e {
            RedisSetupError::Url(r)
            | RedisSetupError::Unreachable(r)
            | RedisSetupError::NeedsPassword(r)
            | RedisSetupError::BadPassword(r)
            | RedisSetupError::Cluster(r)
            | RedisSetupError::Database(r)
            | RedisSetupError::NoPermission(r)
            | RedisSetupError::Other(r) => r.into_inner(),
            other @ RedisSetupError::Volatile { .. } => {
                RedisError::from((ErrorKind::Client, "Redis set up wrong", other.to_string()))
            }
        }
    }
}
