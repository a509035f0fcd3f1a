//! The fleet on a real 3-node Redis Cluster (started by the test): a job's
//! keys share one slot, its scripts run there, and the shared budget holds.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::sync::Arc;

use ban_emulator::Emulator;
use ban_facade::{AbortSignal, ClientBuilder, JobAction, JobSpec, JobState};
use ban_fleet::testing::RedisCluster;
use ban_fleet::{FleetConfig, JobQueue, RedisAddr, RedisLimiter, Worker, WorkerConfig};

const G: &str = "@TGS#aCLUSTER";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_and_its_budget_run_on_a_redis_cluster() {
    let cluster = RedisCluster::start().unwrap();
    let addr = RedisAddr::Cluster(cluster.urls());
    let emu = Emulator::builder()
        .group(G)
        .rate_limit(200)
        .start()
        .await
        .unwrap();
    let queue = JobQueue::connect(addr.clone(), "t", emu.sdkappid())
        .await
        .unwrap();
    let members: Vec<String> = (0..4_000).map(|i| format!("c{i:05}")).collect();
    let spec = JobSpec::new(
        G,
        JobAction::Ban {
            ends_at: 4_000_000_000,
            description: None,
        },
    )
    .unwrap();
    let id = queue.submit(&spec, &members).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let limiter = RedisLimiter::new(FleetConfig::new(addr.clone(), emu.sdkappid())).unwrap();
        limiter.check().await.unwrap();
        let client = ClientBuilder::for_emulator(&emu.ready_json())
            .unwrap()
            .limiter(Arc::new(limiter))
            .build()
            .unwrap();
        let w = Worker::new(
            queue.clone(),
            client,
            WorkerConfig::default().exit_when_idle(true),
        )
        .unwrap();
        tasks.push(tokio::spawn(async move { w.run(AbortSignal::new()).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let r = queue.report(&id).await.unwrap();
    assert_eq!(r.state, JobState::Done, "{:?}", r.report.stopped);
    assert_eq!(r.report.succeeded.len(), 4_000);
    assert_eq!(emu.group(G).unwrap().banned.len(), 4_000);
    assert_eq!(emu.stats().rate_limited, 0, "the shared budget held");
    queue.delete(&id).await.unwrap();
    assert!(queue.status(&id).await.is_err());
}

#[tokio::test]
async fn a_cluster_node_behind_a_plain_url_is_refused_in_words() {
    let cluster = RedisCluster::start().unwrap();
    let one = cluster.urls()[0].clone();
    let err = JobQueue::connect(one.as_str(), "t", 1).await.unwrap_err();
    let text = ban_facade::error_chain(&err);
    // In the library's words (banctl adds its flag).
    assert!(
        text.contains("node of a Redis Cluster") && text.contains("TIM_REDIS_CLUSTER"),
        "{text}"
    );
    assert!(
        !text.contains("--"),
        "the library names no banctl flag: {text}"
    );
    let limiter = RedisLimiter::new(FleetConfig::new(one, 1)).unwrap();
    let err = limiter.check().await.unwrap_err();
    assert!(ban_facade::error_chain(&err).contains("Cluster"), "{err}");
}
