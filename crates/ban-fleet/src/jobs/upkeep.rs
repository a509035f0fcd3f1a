//! What a worker does beside its batches: say it is alive (a heartbeat in
//! Redis time, every second), and renew the leases of the batches it holds
//! (every third of the lease), whatever its batches are doing.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::streams::StreamClaimOptions;
use redis::AsyncCommands;

use super::keys::{Layout, GROUP};
use super::live;

/// How often a worker says it is alive.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);

/// The stream entries this worker holds, by stream.
#[derive(Debug, Clone, Default)]
pub(crate) struct Leases(Arc<Mutex<HashMap<String, HashSet<String>>>>);

impl Leases {
    pub(crate) fn add(&self, stream: &str, entry: &str) {
        let mut held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        held.entry(stream.to_owned())
            .or_default()
            .insert(entry.to_owned());
    }

    pub(crate) fn remove(&self, stream: &str, entry: &str) {
        let mut held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(set) = held.get_mut(stream) {
            set.remove(entry);
            if set.is_empty() {
                held.remove(stream);
            }
        }
    }

    fn snapshot(&self) -> Vec<(String, Vec<String>)> {
        let held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        held.iter()
            .map(|(s, e)| (s.clone(), e.iter().cloned().collect()))
            .collect()
    }
}

/// Beats and renews until the task is aborted. Redis errors are waited
/// out (logged once an outage).
pub(crate) async fn upkeep(
    mut conn: crate::conn::Conn,
    layout: Layout,
    consumer: String,
    leases: Leases,
    lease: Duration,
) {
    // A short lease (tests use 300 ms) is renewed more often than the
    // heartbeat beats.
    let renew_every = (lease / 3).max(Duration::from_millis(10));
    let tick = renew_every.min(HEARTBEAT_EVERY);
    let mut beaten = Instant::now() - HEARTBEAT_EVERY;
    let mut renewed = Instant::now();
    let mut failing = false;
    loop {
        let mut ok = true;
        let mut tried = false;
        if beaten.elapsed() >= HEARTBEAT_EVERY {
            tried = true;
            beaten = Instant::now();
            let beat = live::beat(&mut conn, &layout, &consumer, lease);
            ok &= matches!(
                tokio::time::timeout(HEARTBEAT_EVERY, beat).await,
                Ok(Ok(()))
            );
        }
        if renewed.elapsed() >= renew_every {
            tried = true;
            renewed = Instant::now();
            for (stream, entries) in leases.snapshot() {
                // JUSTID: the idle time restarts, the delivery count does not.
                let claim = conn.xclaim_options::<_, _, _, _, _, redis::Value>(
                    &stream,
                    GROUP,
                    &consumer,
                    0,
                    &entries,
                    StreamClaimOptions::default().with_justid(),
                );
                ok &= matches!(tokio::time::timeout(renew_every, claim).await, Ok(Ok(_)));
            }
        }
        if tried {
            if !ok && !failing {
                tracing::warn!(
                    "the worker's heartbeat or lease renewal fails (Redis down?); retrying"
                );
            }
            failing = !ok;
        }
        tokio::time::sleep(tick).await;
    }
}
