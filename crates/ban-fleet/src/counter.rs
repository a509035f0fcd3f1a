//! Counters shared by every process of an app: how many times something
//! happened within a window (an offender's offences, a sender's messages,
//! a group's joins), so several instances behind a load balancer count one
//! offender once.

use std::time::Duration;

use crate::conn::{Conn, RedisAddr};
use crate::setup::RedisSetupError;

/// Counts events per key within a window, in Redis: the first event of a
/// key starts its window (`PEXPIRE` on the first `INCR`, atomically), and
/// the key is gone when the window ends, so memory follows the live keys.
#[derive(Clone)]
pub struct WindowCounter {
    conn: Conn,
    prefix: String,
    script: redis::Script,
}

impl std::fmt::Debug for WindowCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowCounter")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

const BUMP: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
";

impl WindowCounter {
    /// Connects to `redis` (checked as the limiter checks it: reachable,
    /// the password right, a Cluster node behind a node URL refused); keys
    /// are `{key_prefix}:count:{sdkappid}:{key}`.
    pub async fn connect(
        redis: &RedisAddr,
        key_prefix: &str,
        sdkappid: u64,
    ) -> Result<WindowCounter, crate::FleetError> {
        crate::config::check_key_prefix(key_prefix)?;
        let timeout = Duration::from_secs(2);
        let mut conn = Conn::open(redis, timeout, timeout, 2).await?;
        let prefix = format!("{key_prefix}:count:{sdkappid}");
        crate::setup::probe(&mut conn, &format!("{prefix}:check")).await?;
        Ok(WindowCounter {
            conn,
            prefix,
            script: redis::Script::new(BUMP),
        })
    }

    /// The events of `key`'s window so far (0 when it has none).
    pub async fn get(&self, key: &str) -> Result<u64, RedisSetupError> {
        use redis::AsyncCommands;
        let mut conn = self.conn.clone();
        let n: Option<u64> = conn
            .get(format!("{}:{key}", self.prefix))
            .await
            .map_err(RedisSetupError::classify)?;
        Ok(n.unwrap_or(0))
    }

    /// Counts one event of `key`; returns the events of its window so far
    /// (1 for the first).
    pub async fn bump(&self, key: &str, window: Duration) -> Result<u64, RedisSetupError> {
        let mut conn = self.conn.clone();
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        self.script
            .key(format!("{}:{key}", self.prefix))
            .arg(window_ms)
            .invoke_async(&mut conn)
            .await
            .map_err(RedisSetupError::classify)
    }
}
