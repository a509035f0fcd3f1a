//! Taking batches from a job's stream, three ways: those of workers gone
//! silent at once (XCLAIM), any left idle past the lease (XAUTOCLAIM), and
//! new ones (XREADGROUP). Each entry comes with how often it has been
//! delivered, counting this delivery.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamClaimReply, StreamId,
    StreamPendingCountReply, StreamPendingReply, StreamReadOptions, StreamReadReply,
};
use redis::AsyncCommands;

use super::error::JobError;
use super::keys::{GROUP, LIVE_FOR_MS};

/// Entries held by workers gone silent (not in `live`), claimed for `me`
/// at once: their idle time must be at least [`LIVE_FOR_MS`] too, so two
/// live workers never claim the same.
pub(crate) async fn take_over(
    conn: &mut crate::conn::Conn,
    stream: &str,
    me: &str,
    live: &HashSet<String>,
    max: usize,
) -> Result<Vec<(StreamId, u64)>, JobError> {
    let pending: StreamPendingReply = conn.xpending(stream, GROUP).await?;
    let StreamPendingReply::Data(data) = pending else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for c in data.consumers {
        if out.len() >= max || c.name == me || live.contains(&c.name) {
            continue;
        }
        let held: StreamPendingCountReply = conn
            .xpending_consumer_count(stream, GROUP, "-", "+", max - out.len(), &c.name)
            .await?;
        if held.ids.is_empty() {
            continue;
        }
        let delivered: HashMap<String, u64> = held
            .ids
            .iter()
            .map(|p| (p.id.clone(), p.times_delivered as u64 + 1))
            .collect();
        let ids: Vec<&str> = held.ids.iter().map(|p| p.id.as_str()).collect();
        let claimed: StreamClaimReply = conn.xclaim(stream, GROUP, me, LIVE_FOR_MS, &ids).await?;
        if !claimed.ids.is_empty() {
            tracing::warn!(stream, from = %c.name, batches = claimed.ids.len(), "taking over the batches of a worker gone silent");
        }
        out.extend(claimed.ids.into_iter().map(|e| {
            let n = delivered.get(&e.id).copied().unwrap_or(2);
            (e, n)
        }));
    }
    Ok(out)
}

/// Entries left unacknowledged for longer than `lease`, claimed for `me`.
pub(crate) async fn past_lease(
    conn: &mut crate::conn::Conn,
    stream: &str,
    me: &str,
    lease: Duration,
    max: usize,
) -> Result<Vec<(StreamId, u64)>, JobError> {
    let claimed: StreamAutoClaimReply = conn
        .xautoclaim_options(
            stream,
            GROUP,
            me,
            lease.as_millis() as u64,
            "0-0",
            StreamAutoClaimOptions::default().count(max),
        )
        .await?;
    let mut out = Vec::with_capacity(claimed.claimed.len());
    for e in claimed.claimed {
        let pending: StreamPendingCountReply =
            conn.xpending_count(stream, GROUP, &e.id, &e.id, 1).await?;
        let deliveries = pending.ids.first().map_or(1, |p| p.times_delivered as u64);
        out.push((e, deliveries));
    }
    Ok(out)
}

/// Entries never delivered, read for `me`.
pub(crate) async fn new_entries(
    conn: &mut crate::conn::Conn,
    stream: &str,
    me: &str,
    max: usize,
) -> Result<Vec<(StreamId, u64)>, JobError> {
    let options = StreamReadOptions::default().group(GROUP, me).count(max);
    let read: Option<StreamReadReply> = conn.xread_options(&[stream], &[">"], &options).await?;
    Ok(read
        .map(|r| r.keys)
        .unwrap_or_default()
        .into_iter()
        .flat_map(|k| k.ids.into_iter().map(|e| (e, 1)))
        .collect())
}
