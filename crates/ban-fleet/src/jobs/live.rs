//! Who is alive: each worker's heartbeat (Redis time) in the app's workers
//! set, beside the lease it runs with, so a submitter waits out the lease
//! the live workers really hold their batches for.

use std::collections::HashSet;
use std::time::Duration;

use redis::AsyncCommands;

use super::clock::redis_time_ms;
use super::error::JobError;
use super::keys::{Layout, LIVE_FOR_MS};

/// Says `consumer` is alive now (Redis time), running with `lease`.
pub(crate) async fn beat(
    conn: &mut crate::conn::Conn,
    layout: &Layout,
    consumer: &str,
    lease: Duration,
) -> Result<(), JobError> {
    let now = redis_time_ms(conn).await?;
    let lease_ms = u64::try_from(lease.as_millis()).unwrap_or(u64::MAX);
    let _: () = redis::pipe()
        .zadd(layout.workers(), consumer, now)
        .ignore()
        .hset(layout.leases(), consumer, lease_ms)
        .ignore()
        .query_async(conn)
        .await?;
    Ok(())
}

/// Takes `consumer` out of the live set.
pub(crate) async fn leave(
    conn: &mut crate::conn::Conn,
    layout: &Layout,
    consumer: &str,
) -> Result<(), JobError> {
    let _: () = redis::pipe()
        .zrem(layout.workers(), consumer)
        .ignore()
        .hdel(layout.leases(), consumer)
        .ignore()
        .query_async(conn)
        .await?;
    Ok(())
}

/// The workers whose heartbeat is younger than [`LIVE_FOR_MS`] at `now`.
pub(crate) async fn live_workers(
    conn: &mut crate::conn::Conn,
    layout: &Layout,
    now: u64,
) -> Result<HashSet<String>, JobError> {
    let live: Vec<String> = conn
        .zrangebyscore(layout.workers(), now.saturating_sub(LIVE_FOR_MS), "+inf")
        .await?;
    Ok(live.into_iter().collect())
}

/// How many workers are alive at `now`.
pub(crate) async fn count_live(
    conn: &mut crate::conn::Conn,
    layout: &Layout,
    now: u64,
) -> Result<u64, JobError> {
    Ok(conn
        .zcount(layout.workers(), now.saturating_sub(LIVE_FOR_MS), "+inf")
        .await?)
}

/// The longest lease a worker may still hold a batch for: that of every
/// worker seen within its lease plus [`LIVE_FOR_MS`] (one whose Redis is
/// down still sends the calls it holds, unseen). None when no such worker
/// said its lease. Leases of workers gone longer are dropped on the way.
pub(crate) async fn longest_lease(
    conn: &mut crate::conn::Conn,
    layout: &Layout,
) -> Result<Option<Duration>, JobError> {
    let now = redis_time_ms(conn).await?;
    let leases: Vec<(String, u64)> = conn.hgetall(layout.leases()).await?;
    let mut longest = None;
    for (consumer, lease_ms) in leases {
        let seen: Option<u64> = conn.zscore(layout.workers(), &consumer).await?;
        match seen {
            Some(t) if now.saturating_sub(t) <= lease_ms.saturating_add(LIVE_FOR_MS) => {
                longest = longest.max(Some(Duration::from_millis(lease_ms)));
            }
            _ => {
                let _: () = conn.hdel(layout.leases(), &consumer).await?;
            }
        }
    }
    Ok(longest)
}
