//! The raid board on a real redis-server (and a real 3-node Cluster): two
//! instances' joins trip one raid, exactly one of them is told it tripped,
//! the cohort follows, and exactly one ends it.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::time::Duration;

use ban_fleet::testing::{RedisCluster, RedisServer};
use ban_fleet::{RaidBoard, RedisAddr};

const WINDOW: (u64, Duration) = (4, Duration::from_secs(10));
const QUIET: Duration = Duration::from_secs(60);

async fn two_instances_share_one_raid(addr: RedisAddr) {
    let a = RaidBoard::connect(&addr, "t", 7).await.unwrap();
    let b = RaidBoard::connect(&addr, "t", 7).await.unwrap();
    let g = "@TGS#aRAID";
    // Two joins on each instance: neither alone reaches 4.
    let j = a
        .joined(g, &["v1", "v2"], WINDOW, QUIET, 100)
        .await
        .unwrap();
    assert!(!j.tripped && !j.on && j.joins == 2, "{j:?}");
    let j = b
        .joined(g, &["n1", "n2"], WINDOW, QUIET, 100)
        .await
        .unwrap();
    assert!(j.tripped && j.on, "{j:?}");
    assert_eq!(j.joins, 4);
    let mut cohort = j.added.clone();
    cohort.sort();
    assert_eq!(cohort, ["n1", "n2", "v1", "v2"], "the window's joiners");
    // A join while it is on: a newcomer, told to the instance that saw it
    // only; not a second trip.
    let j = a
        .joined(g, &["n3", "n1"], WINDOW, QUIET, 100)
        .await
        .unwrap();
    assert!(!j.tripped && j.on);
    assert_eq!(j.added, ["n3"]);
    assert_eq!(j.cohort, 5);
    // The other instance follows the cohort from the stream.
    let (got, last) = a.newcomers(g, "0", 100).await.unwrap();
    assert_eq!(got.len(), 5);
    let (none, again) = a.newcomers(g, &last, 100).await.unwrap();
    assert!(none.is_empty());
    assert_eq!(again, last);
    assert!(b.is_newcomer(g, "n3").await.unwrap());
    assert!(!b.is_newcomer(g, "viewer").await.unwrap());

    b.add_refused(g, 3).await.unwrap();
    a.add_refused(g, 2).await.unwrap();
    let raids = b.raids().await.unwrap();
    assert_eq!(raids.len(), 1);
    assert_eq!((raids[0].group.as_str(), raids[0].cohort), (g, 5));
    assert_eq!(raids[0].refused, 5);

    // Not quiet yet: nobody ends it; forced, exactly one caller does.
    assert_eq!(a.end(g, QUIET, false).await.unwrap(), None);
    let ended = a.end(g, QUIET, true).await.unwrap().unwrap();
    assert_eq!((ended.cohort, ended.refused, ended.frozen), (5, 5, false));
    assert_eq!(b.end(g, QUIET, true).await.unwrap(), None);
    assert!(b.raids().await.unwrap().is_empty());
    assert!(!a.is_newcomer(g, "n3").await.unwrap());
    // Forced on: its cohort is the window's joiners.
    let j = b.force_on(g, WINDOW.1, QUIET, 100, false).await.unwrap();
    assert!(j.tripped && j.cohort == 5);
    assert!(
        !a.force_on(g, WINDOW.1, QUIET, 100, false)
            .await
            .unwrap()
            .tripped
    );
    // Forced without a claim: exactly one instance claims the acting.
    assert!(a.claim(g).await.unwrap());
    assert!(!b.claim(g).await.unwrap());
    b.frozen(g).await.unwrap();
    // A short quiet ends it at the next look.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let ended = a.end(g, Duration::from_millis(1), false).await.unwrap();
    assert!(ended.is_some_and(|e| e.frozen), "the ender thaws");
    assert!(!a.claim(g).await.unwrap(), "nothing to claim once it ended");
}

#[tokio::test]
async fn two_instances_share_one_raid_on_a_redis_server() {
    let redis = RedisServer::start().unwrap();
    two_instances_share_one_raid(RedisAddr::from(redis.url())).await;
}

#[tokio::test]
async fn two_instances_share_one_raid_on_a_redis_cluster() {
    let cluster = RedisCluster::start().unwrap();
    two_instances_share_one_raid(RedisAddr::Cluster(cluster.urls())).await;
}

#[tokio::test]
async fn the_cohort_stops_at_its_cap() {
    let redis = RedisServer::start().unwrap();
    let a = RaidBoard::connect(&RedisAddr::from(redis.url()), "t", 7)
        .await
        .unwrap();
    let many: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let j = a.joined("g", &refs, WINDOW, QUIET, 6).await.unwrap();
    assert!(j.tripped);
    assert_eq!((j.cohort, j.added.len()), (6, 6));
    // Without the cap, all 10 would be in it.
    let j = a.joined("h", &refs, WINDOW, QUIET, 100).await.unwrap();
    assert_eq!(j.cohort, 10);
}
