//! The fleet's `TIM_REDIS_*` variables, read once and in one place (the
//! facade's `TimEnv` reads the client's; banctl reads both).

use ban_proto::SettingError;

use crate::conn::RedisAddr;

/// The `TIM_REDIS_*` variables. An empty variable counts as unset. Its
/// `Debug` never shows a URL (it may carry a password).
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisEnv {
    /// `TIM_REDIS_URL`: the Redis a fleet shares its budget and its jobs
    /// through (one node).
    pub url: Option<String>,
    /// `TIM_REDIS_CLUSTER`: the nodes of a Redis Cluster used instead,
    /// comma-separated URLs.
    pub cluster: Option<String>,
    /// `TIM_REDIS_KEY_PREFIX`: the prefix of the fleet's keys.
    pub key_prefix: Option<String>,
}

impl std::fmt::Debug for RedisEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| v.as_ref().map(|_| "<set>");
        f.debug_struct("RedisEnv")
            .field("url", &set(&self.url))
            .field("cluster", &set(&self.cluster))
            .field("key_prefix", &self.key_prefix)
            .finish()
    }
}

impl RedisEnv {
    /// The variables this reads, in order.
    pub const VARS: &'static [&'static str] =
        &["TIM_REDIS_URL", "TIM_REDIS_CLUSTER", "TIM_REDIS_KEY_PREFIX"];

    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// Reads the variables through `get`.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        RedisEnv {
            url: get("TIM_REDIS_URL"),
            cluster: get("TIM_REDIS_CLUSTER"),
            key_prefix: get("TIM_REDIS_KEY_PREFIX"),
        }
    }

    /// Where Redis is, when a variable says: one node or a Cluster. Both
    /// set is refused (which one was meant is not known).
    pub fn addr(&self) -> Result<Option<RedisAddr>, SettingError> {
        match (&self.url, &self.cluster) {
            (Some(_), Some(_)) => Err(SettingError::new(
                "TIM_REDIS_CLUSTER",
                "set beside TIM_REDIS_URL",
                "unset when TIM_REDIS_URL is set (one node or a Cluster, not both)",
            )),
            (Some(url), None) => Ok(Some(RedisAddr::from(url))),
            (None, Some(list)) => Ok(Some(RedisAddr::cluster_from_list(list))),
            (None, None) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> RedisEnv {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RedisEnv::from_vars(|k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn one_address_or_none_and_both_is_refused_by_name() {
        assert_eq!(env(&[("TIM_REDIS_URL", " ")]).addr().unwrap(), None);
        assert!(env(&[("TIM_REDIS_URL", "redis://127.0.0.1:1")])
            .addr()
            .unwrap()
            .is_some());
        let both = env(&[
            ("TIM_REDIS_URL", "redis://127.0.0.1:1"),
            ("TIM_REDIS_CLUSTER", "redis://127.0.0.1:2"),
        ]);
        let e = both.addr().unwrap_err().to_string();
        assert!(
            e.contains("TIM_REDIS_CLUSTER is set beside TIM_REDIS_URL"),
            "{e}"
        );
    }

    #[test]
    fn a_url_never_shows_in_debug() {
        let e = env(&[("TIM_REDIS_URL", "redis://:hunter2@127.0.0.1:1")]);
        assert!(!format!("{e:?}").contains("hunter2"));
    }
}
