//! The two clocks of the jobs: this host's (for what only this host
//! compares) and Redis's (for everything workers on several hosts compare:
//! heartbeats, liveness, a job's last success).

use super::error::JobError;

/// This host's clock, in milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Redis's clock, in milliseconds: every worker's heartbeat and every
/// liveness check read the same clock, whatever the hosts' clocks say.
pub(crate) async fn redis_time_ms(conn: &mut crate::conn::Conn) -> Result<u64, JobError> {
    let (secs, micros): (u64, u64) = redis::cmd("TIME").query_async(conn).await?;
    Ok(secs * 1000 + micros / 1000)
}
