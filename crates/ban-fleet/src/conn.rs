//! Where the fleet's Redis is, one node or a Cluster, and the one
//! connection type over both (redis-rs's connection manager, or its
//! cluster client's connection), so the limiter, the queue and the workers
//! speak to either the same way. Every script and transaction of the fleet
//! touches keys of one hash tag, so each runs on one Cluster slot.

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

use crate::config::redact_url;
use crate::setup::RedisSetupError;

/// Where the fleet's Redis is.
///
/// ```
/// use ban_fleet::RedisAddr;
///
/// let one: RedisAddr = "redis://127.0.0.1:6379".into();
/// let cluster = RedisAddr::cluster_from_list("redis://10.0.0.1:7000,redis://10.0.0.2:7000");
/// assert_eq!(cluster, RedisAddr::Cluster(vec!["redis://10.0.0.1:7000".into(), "redis://10.0.0.2:7000".into()]));
/// assert!(!format!("{:?}", RedisAddr::from("redis://:hunter2@h:1")).contains("hunter2"));
/// # drop(one);
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedisAddr {
    /// One Redis (`redis://`, `rediss://` or `unix://` URL).
    Node(String),
    /// A Redis Cluster, by the URLs of some of its nodes.
    Cluster(Vec<String>),
}

impl RedisAddr {
    /// A Cluster from a comma-separated list of node URLs.
    pub fn cluster_from_list(list: &str) -> RedisAddr {
        RedisAddr::Cluster(
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }
}

impl From<&str> for RedisAddr {
    fn from(url: &str) -> Self {
        RedisAddr::Node(url.to_owned())
    }
}

impl From<String> for RedisAddr {
    fn from(url: String) -> Self {
        RedisAddr::Node(url)
    }
}

impl From<&String> for RedisAddr {
    fn from(url: &String) -> Self {
        RedisAddr::Node(url.clone())
    }
}

/// Node URLs without their passwords.
impl fmt::Debug for RedisAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisAddr::Node(u) => f.debug_tuple("Node").field(&redact_url(u)).finish(),
            RedisAddr::Cluster(us) => f
                .debug_tuple("Cluster")
                .field(&us.iter().map(|u| redact_url(u)).collect::<Vec<_>>())
                .finish(),
        }
    }
}

/// A connection to one node or to a Cluster; cheap to clone, reconnects
/// by itself.
#[derive(Clone)]
pub(crate) enum Conn {
    Node(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Conn {
    /// Connects: the URL(s) checked, the connection made, bounded by the
    /// timeouts; `retries` reconnection attempts per failing command.
    pub(crate) async fn open(
        addr: &RedisAddr,
        connect: Duration,
        response: Duration,
        retries: usize,
    ) -> Result<Conn, RedisSetupError> {
        match addr {
            RedisAddr::Node(url) => {
                let client = redis::Client::open(url.as_str())
                    .map_err(|e| RedisSetupError::Url(crate::failure::RedisFailure::new(e)))?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(connect))
                    .set_response_timeout(Some(response))
                    .set_number_of_retries(retries);
                ConnectionManager::new_with_config(client, config)
                    .await
                    .map(Conn::Node)
                    .map_err(RedisSetupError::classify)
            }
            RedisAddr::Cluster(urls) => {
                if urls.is_empty() {
                    return Err(RedisSetupError::Url(crate::failure::RedisFailure::new(
                        redis::RedisError::from((
                            redis::ErrorKind::InvalidClientConfig,
                            "no Cluster node URL given",
                        )),
                    )));
                }
                let client = redis::cluster::ClusterClientBuilder::new(urls.clone())
                    .connection_timeout(connect)
                    .response_timeout(response)
                    .retries(retries as u32)
                    .build()
                    .map_err(|e| RedisSetupError::Url(crate::failure::RedisFailure::new(e)))?;
                client
                    .get_async_connection()
                    .await
                    .map(Conn::Cluster)
                    .map_err(RedisSetupError::classify)
            }
        }
    }

    /// Whether this is a Cluster connection.
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Conn::Cluster(_))
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Node(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Node(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Node(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}
