//! Priorities at the limiter seam, in the local limiter and in the Redis
//! schedule alike: an urgent permit is granted before the bulk permits that
//! were waiting, normal before bulk, bulk still progresses under urgent
//! traffic, and no sliding second holds more than the rate. Each test also
//! runs the control (the urgent caller asking as bulk) to show the order is
//! the lane's doing.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ban_fleet::testing::RedisServer;
use ban_fleet::{FleetConfig, RedisLimiter};
use ban_transport::{Limiter, LocalLimiter, Priority, RateLimit, FLOOR_EVERY};
use tokio::time::Instant;

const RATE: u32 = 50;
const CMD: &str = "ban_group_member";

/// Every grant: who, in which lane, when.
#[derive(Default)]
struct Grants {
    order: AtomicUsize,
    log: Mutex<Vec<(usize, &'static str, Priority, Instant)>>,
}

impl Grants {
    fn spawn(self: &Arc<Self>, limiter: Arc<dyn Limiter>, name: &'static str, p: Priority) {
        let me = self.clone();
        tokio::spawn(async move {
            limiter.acquire(CMD, p).await;
            let n = me.order.fetch_add(1, Ordering::SeqCst);
            me.log.lock().unwrap().push((n, name, p, Instant::now()));
        });
    }

    fn granted(&self) -> usize {
        self.order.load(Ordering::SeqCst)
    }

    async fn until(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.granted() < n {
            assert!(
                Instant::now() < deadline,
                "{} of {n} granted",
                self.granted()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    fn index_of(&self, name: &str) -> usize {
        let log = self.log.lock().unwrap();
        log.iter().find(|g| g.1 == name).map(|g| g.0).unwrap()
    }

    /// The most grants in any sliding second.
    fn busiest_second(&self) -> usize {
        let mut at: Vec<Instant> = self.log.lock().unwrap().iter().map(|g| g.3).collect();
        at.sort();
        let mut best = 0;
        for (i, t) in at.iter().enumerate() {
            let n = at[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(1))
                .count();
            best = best.max(n);
        }
        best
    }
}

/// With `bulk` bulk callers waiting (some already granted), an urgent one
/// arrives (on `other`, another process's limiter for Redis): returns how
/// many bulk grants came between its arrival and its own grant.
async fn urgent_among_bulk(
    mine: Arc<dyn Limiter>,
    other: Arc<dyn Limiter>,
    urgent_as: Priority,
) -> (usize, Arc<Grants>) {
    let grants = Arc::new(Grants::default());
    const BULK: usize = 70;
    for _ in 0..BULK {
        grants.spawn(mine.clone(), "bulk", Priority::Bulk);
    }
    grants.until(5).await;
    let before = grants.granted();
    grants.spawn(other, "urgent", urgent_as);
    grants.until(BULK + 1).await;
    let ahead = grants.index_of("urgent") - before;
    eprintln!(
        "urgent as {urgent_as}: {ahead} bulk grants before it, busiest second {}",
        grants.busiest_second()
    );
    (ahead, grants)
}

fn local() -> Arc<dyn Limiter> {
    Arc::new(LocalLimiter::new(RateLimit::per_second(RATE)).unwrap())
}

fn shared(redis: &RedisServer) -> Arc<dyn Limiter> {
    let config = FleetConfig::new(redis.url(), 1_400_000_000).rate(RateLimit::per_second(RATE));
    Arc::new(RedisLimiter::new(config).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_an_urgent_permit_passes_the_waiting_bulk_ones() {
    let l = local();
    let (ahead, grants) = urgent_among_bulk(l.clone(), l.clone(), Priority::Urgent).await;
    // At most the caller holding the turn (waiting on the GCRA) goes first.
    assert!(ahead <= 1, "{ahead} bulk permits before the urgent one");
    assert!(grants.busiest_second() <= RATE as usize + 1);
    let l = local();
    let (ahead, _) = urgent_among_bulk(l.clone(), l, Priority::Bulk).await;
    assert!(ahead >= 60, "the control waits behind the queue: {ahead}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_an_urgent_permit_passes_the_waiting_bulk_ones() {
    let redis = RedisServer::start().unwrap();
    let (ahead, grants) = urgent_among_bulk(shared(&redis), shared(&redis), Priority::Urgent).await;
    // Bulk permits reserved within the bulk horizon (50 ms: 2.5 slots at
    // 50/s) may still go first; none of those that were waiting does.
    assert!(ahead <= 5, "{ahead} bulk permits before the urgent one");
    // Grants are woken by timers: one woken late may share a second with
    // the next rate's worth, so one over the rate is the schedule's rate.
    assert!(
        grants.busiest_second() <= RATE as usize + 2,
        "{}",
        grants.busiest_second()
    );
    let redis = RedisServer::start().unwrap();
    let (ahead, _) = urgent_among_bulk(shared(&redis), shared(&redis), Priority::Bulk).await;
    assert!(
        ahead >= 30,
        "the control waits behind the bulk tickets: {ahead}"
    );
}

/// Bulk and normal callers waiting, then an urgent one: urgent first, then
/// every normal one, then bulk.
async fn lanes_in_order(l: Arc<dyn Limiter>, slack: usize) {
    let grants = Arc::new(Grants::default());
    for _ in 0..20 {
        grants.spawn(l.clone(), "bulk", Priority::Bulk);
    }
    grants.until(3).await;
    let before = grants.granted();
    for _ in 0..5 {
        grants.spawn(l.clone(), "normal", Priority::Normal);
    }
    grants.spawn(l.clone(), "urgent", Priority::Urgent);
    grants.until(26).await;
    let log = grants.log.lock().unwrap();
    let after: Vec<Priority> = log.iter().filter(|g| g.0 >= before).map(|g| g.2).collect();
    let first_normal_or_urgent = after.iter().position(|p| *p != Priority::Bulk).unwrap();
    assert!(first_normal_or_urgent <= slack, "{after:?}");
    let last_normal = after.iter().rposition(|p| *p == Priority::Normal).unwrap();
    let bulk_before_last_normal = after[..last_normal]
        .iter()
        .filter(|p| **p == Priority::Bulk)
        .count();
    assert!(bulk_before_last_normal <= slack, "{after:?}");
    let urgent = after.iter().position(|p| *p == Priority::Urgent).unwrap();
    assert!(urgent <= slack + 1, "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normal_goes_before_bulk_and_urgent_before_both() {
    lanes_in_order(local(), 1).await;
    let redis = RedisServer::start().unwrap();
    lanes_in_order(shared(&redis), 5).await;
}

/// Urgent callers keep coming; bulk still gets its floor: 1 permit in
/// every [`FLOOR_EVERY`], the first owed one served within the urgent
/// horizon (5 slots at 50/s).
async fn bulk_is_not_starved(l: Arc<dyn Limiter>) {
    const N: usize = 100;
    let grants = Arc::new(Grants::default());
    for _ in 0..10 {
        grants.spawn(l.clone(), "bulk", Priority::Bulk);
    }
    for _ in 0..150 {
        grants.spawn(l.clone(), "urgent", Priority::Urgent);
    }
    grants.until(N).await;
    let log = grants.log.lock().unwrap();
    let first: Vec<Priority> = {
        let mut g: Vec<_> = log.iter().filter(|g| g.0 < N).collect();
        g.sort_by_key(|g| g.0);
        g.iter().map(|g| g.2).collect()
    };
    let bulk = first.iter().filter(|p| **p == Priority::Bulk).count();
    let floor = (N - 5) / FLOOR_EVERY as usize;
    assert!(
        bulk >= floor,
        "{bulk} bulk grants in {N} under an urgent flood: {first:?}"
    );
    assert!(
        bulk <= N / FLOOR_EVERY as usize + 2,
        "urgent first: {first:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_gets_its_floor_under_an_urgent_flood() {
    bulk_is_not_starved(local()).await;
    let redis = RedisServer::start().unwrap();
    bulk_is_not_starved(shared(&redis)).await;
}
