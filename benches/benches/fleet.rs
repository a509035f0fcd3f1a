//! The fleet's limiter: one permit reserved through a real redis-server on
//! loopback beside the in-process limiter (the baseline), and the permits
//! per second one Redis serves to 64 concurrent callers (the fleet needs
//! 200/s).
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::sync::Arc;
use std::time::Duration;

use ban_fleet::testing::RedisServer;
use ban_fleet::{FleetConfig, RedisLimiter};
use ban_transport::{Limiter, LocalLimiter, Priority, RateLimit};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::future::join_all;
use std::hint::black_box;

/// A rate far above what is measured, so a permit never waits: what is
/// timed is the cost of asking.
const UNLIMITED: u32 = 10_000_000;

fn fleet(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let redis = RedisServer::start().expect("redis-server starts (apt-get install redis-server)");
    let rate = RateLimit::per_second(UNLIMITED).with_burst(UNLIMITED);
    let local: Arc<dyn Limiter> = Arc::new(LocalLimiter::new(rate).unwrap());
    let shared: Arc<dyn Limiter> = Arc::new(
        RedisLimiter::new(
            FleetConfig::new(redis.url(), 1)
                .rate(rate)
                .timeout(Duration::from_millis(500)),
        )
        .unwrap(),
    );

    let mut g = c.benchmark_group("fleet_permit");
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(1));
    g.bench_function("local_limiter_baseline", |b| {
        b.to_async(&rt)
            .iter(|| local.acquire(black_box("ban_group_member"), Priority::Normal))
    });
    g.bench_function("redis_limiter", |b| {
        b.to_async(&rt)
            .iter(|| shared.acquire(black_box("ban_group_member"), Priority::Normal))
    });
    g.finish();

    let mut g = c.benchmark_group("fleet_64_callers");
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(64));
    for (name, limiter, priority) in [
        ("local_limiter_baseline", &local, Priority::Normal),
        ("redis_limiter_normal", &shared, Priority::Normal),
        ("redis_limiter_bulk", &shared, Priority::Bulk),
        ("redis_limiter_urgent", &shared, Priority::Urgent),
    ] {
        g.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                let permits = (0..64).map(|_| {
                    let l = limiter.clone();
                    tokio::spawn(async move { l.acquire("ban_group_member", priority).await })
                });
                black_box(join_all(permits).await.len())
            })
        });
    }
    g.finish();
    drop(rt);
    drop(redis);
}

criterion_group!(benches, fleet);
criterion_main!(benches);
