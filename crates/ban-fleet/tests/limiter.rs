//! The shared limiter through a real redis-server (started by the test)
//! and the real stack: bulk jobs over HTTPS to the emulator.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::sync::Arc;
use std::time::{Duration, Instant};

use ban_emulator::Emulator;
use ban_facade::{BanDuration, Client, ClientBuilder, ErrorCode, Limiter, Priority, RateLimit};
use ban_fleet::testing::RedisServer;
use ban_fleet::{DownPolicy, FleetConfig, RedisLimiter};

const G: &str = "@TGS#aFLEET";

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:05}")).collect()
}

fn client(emu: &Emulator, limiter: &Arc<RedisLimiter>) -> Client {
    ClientBuilder::for_emulator(&emu.ready_json())
        .unwrap()
        .limiter(limiter.clone())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_dying_mid_run_falls_back_and_loses_nobody() {
    let mut redis = RedisServer::start().unwrap();
    let emu = Emulator::builder()
        .group(G)
        .rate_limit(200)
        .latency(Duration::from_millis(20))
        .start()
        .await
        .unwrap();
    // Two "processes": two limiters, each its own breaker and heartbeat.
    let config = FleetConfig::new(redis.url(), emu.sdkappid());
    let a = Arc::new(RedisLimiter::new(config.clone()).unwrap());
    let b = Arc::new(RedisLimiter::new(config).unwrap());
    let (ca, cb) = (client(&emu, &a), client(&emu, &b));
    let hour = BanDuration::from_secs(3600).unwrap();
    let (ma, mb) = (names("a", 6_000), names("b", 6_000));
    let jobs = tokio::spawn(async move {
        let (ra, rb) = tokio::join!(
            ca.ban_members(G, &ma, hour, None),
            cb.ban_members(G, &mb, hour, None)
        );
        (ra.unwrap(), rb.unwrap())
    });
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(a.stats().live, 2, "each sees both alive");
    redis.kill();
    let (ra, rb) = jobs.await.unwrap();
    for (r, l) in [(&ra, &a), (&rb, &b)] {
        assert!(r.all_succeeded(), "{:?}", r.failed.first());
        assert_eq!(r.succeeded.len(), 6_000);
        let s = l.stats();
        assert!(s.to_local >= 1 && s.local_permits > 0, "{s:?}");
        // No call waited on dead Redis longer than the bound (plus timer slack).
        assert!(s.max_redis_stall <= Duration::from_millis(50 + 25), "{s:?}");
        assert!(r.limiter.starts_with("redis→local"), "{}", r.limiter);
    }
    assert_eq!(emu.group(G).unwrap().banned.len(), 12_000, "nobody lost");
    // Each went on with half the budget: the judge saw no overrun.
    assert_eq!(
        emu.stats()
            .count_of("ban_group_member", ErrorCode::RestRateLimited),
        0
    );

    // Redis comes back: a new call goes through it again (after a probe).
    redis.restart().unwrap();
    let before = a.stats().redis_permits;
    let started = Instant::now();
    while a.stats().redis_permits == before {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            a.stats()
        );
        a.acquire("ban_group_member", Priority::Normal).await;
    }
    assert!(!a.is_degraded());
    assert!(a.stats().to_redis >= 1);
}

#[tokio::test]
async fn the_closed_policy_sends_nothing_while_redis_is_down() {
    let mut redis = RedisServer::start().unwrap();
    let url = redis.url();
    redis.kill();
    let limiter = RedisLimiter::new(
        FleetConfig::new(url, 1)
            .when_down(DownPolicy::Closed)
            .probe_every(Duration::from_millis(200)),
    )
    .unwrap();
    let waited = tokio::time::timeout(
        Duration::from_millis(700),
        limiter.acquire("x", Priority::Normal),
    )
    .await;
    assert!(waited.is_err(), "no permit while Redis is down");
    assert_eq!(limiter.stats().local_permits, 0);
    redis.restart().unwrap();
    tokio::time::timeout(
        Duration::from_secs(3),
        limiter.acquire("x", Priority::Normal),
    )
    .await
    .expect("a permit once Redis is back");
    assert_eq!(limiter.stats().redis_permits, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permits_follow_the_shared_schedule_and_60007_pushes_it_back() {
    let redis = RedisServer::start().unwrap();
    let config = FleetConfig::new(redis.url(), 7).rate(RateLimit::per_second(50));
    let (a, b) = (
        RedisLimiter::new(config.clone()).unwrap(),
        RedisLimiter::new(config).unwrap(),
    );
    // 40 permits split over two limiters at 50/s take about 0.8 s: one
    // schedule, not two.
    let started = Instant::now();
    let (wa, wb) = (a.clone(), b.clone());
    let ta = tokio::spawn(async move {
        for _ in 0..20 {
            wa.acquire("ban_group_member", Priority::Normal).await;
        }
    });
    let tb = tokio::spawn(async move {
        for _ in 0..20 {
            wb.acquire("ban_group_member", Priority::Normal).await;
        }
    });
    ta.await.unwrap();
    tb.await.unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(740), "{took:?}");
    // Another command has its own schedule.
    let started = Instant::now();
    a.acquire("unban_group_member", Priority::Normal).await;
    assert!(started.elapsed() < Duration::from_millis(40));
    // A 60007 pushes the schedule back for everyone.
    a.throttled("get_group_ban_member");
    tokio::time::sleep(Duration::from_millis(30)).await;
    let started = Instant::now();
    b.acquire("get_group_ban_member", Priority::Normal).await;
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(a.stats().throttled, 1);
}
