//! The worker in its own crate: the facade's engine over the Redis store,
//! against a real redis-server (started by the test) and the emulator over
//! HTTPS on loopback.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ban_emulator::{Emulator, FaultKind};
use ban_facade::{
    AbortSignal, BulkReport, Client, ClientBuilder, JobAction, JobSpec, JobState, StopKind,
};
use ban_fleet::testing::RedisServer;
use ban_fleet::{FleetConfig, JobQueue, JobReport, RedisLimiter, Worker, WorkerConfig};

const G: &str = "@TGS#aWORKER";

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:05}")).collect()
}

fn ban() -> JobSpec {
    JobSpec::new(
        G,
        JobAction::Ban {
            ends_at: 4_000_000_000,
            description: Some("raid".into()),
        },
    )
    .unwrap()
}

/// A client of the emulator sharing its budget through `redis`.
fn client(emu: &Emulator, redis: &RedisServer) -> Client {
    let limiter = RedisLimiter::new(FleetConfig::new(redis.url(), emu.sdkappid())).unwrap();
    ClientBuilder::for_emulator(&emu.ready_json())
        .unwrap()
        .limiter(Arc::new(limiter))
        .build()
        .unwrap()
}

async fn run_workers(queue: &JobQueue, clients: Vec<Client>) -> Vec<ban_fleet::WorkerStats> {
    let mut tasks = Vec::new();
    for c in clients {
        let w = Worker::new(
            queue.clone(),
            c,
            WorkerConfig::default().exit_when_idle(true),
        )
        .unwrap();
        tasks.push(tokio::spawn(async move { w.run(AbortSignal::new()).await }));
    }
    let mut stats = Vec::new();
    for t in tasks {
        stats.push(t.await.unwrap().unwrap());
    }
    stats
}

fn assert_each_once(report: &BulkReport, members: &[String]) {
    let mut seen = HashSet::new();
    for m in report
        .succeeded
        .iter()
        .chain(report.failed.iter().map(|f| &f.member))
        .chain(&report.not_attempted)
    {
        assert!(seen.insert(m.clone()), "{m} is in the report twice");
    }
    assert_eq!(seen.len(), members.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_finish_a_job_and_its_report_has_the_local_shape() {
    let redis = RedisServer::start().unwrap();
    let emu = Emulator::builder().group(G).start().await.unwrap();
    let queue = JobQueue::connect(&redis.url(), "t", emu.sdkappid())
        .await
        .unwrap();
    let members = names("w", 3_000);
    let id = queue.submit(&ban(), &members).await.unwrap();
    assert_eq!(id.len(), 16, "64 random bits as hex: {id}");
    let stats = run_workers(&queue, vec![client(&emu, &redis), client(&emu, &redis)]).await;
    assert_eq!(stats.iter().map(|s| s.batches).sum::<u64>(), 150);
    let r: JobReport = queue.report(&id).await.unwrap();
    assert_eq!(r.state, JobState::Done);
    assert_eq!(r.report.succeeded.len(), 3_000);
    assert!(r.report.stopped.is_none());
    assert_each_once(&r.report, &members);
    assert_eq!(emu.group(G).unwrap().banned.len(), 3_000);
    // The JSON decodes into the local engine's report type, keys and all.
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["job"], id.as_str());
    assert_eq!(json["banned"].as_array().unwrap().len(), 3_000);
    let local: BulkReport = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(local, r.report);
    let back: JobReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brownout_never_pauses_a_fleet_job() {
    let redis = RedisServer::start().unwrap();
    let emu = Emulator::builder()
        .group(G)
        .fault_rate(0.15)
        .fault_kinds([FaultKind::Drop])
        .start()
        .await
        .unwrap();
    let queue = JobQueue::connect(&redis.url(), "t", emu.sdkappid())
        .await
        .unwrap();
    let members = names("b", 4_000);
    let id = queue.submit(&ban(), &members).await.unwrap();
    let stats = run_workers(&queue, vec![client(&emu, &redis), client(&emu, &redis)]).await;
    let r = queue.report(&id).await.unwrap();
    assert_eq!(r.state, JobState::Done, "{:?}", r.report.stopped);
    assert_eq!(stats.iter().map(|s| s.paused_jobs).sum::<u64>(), 0);
    assert_eq!(r.report.succeeded.len(), 4_000);
    assert!(
        emu.stats().faults.dropped > 0,
        "the brownout dropped nothing"
    );
    assert_eq!(emu.group(G).unwrap().banned.len(), 4_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_failure_pauses_the_job_at_once_with_its_reason() {
    let redis = RedisServer::start().unwrap();
    let emu = Emulator::builder().group(G).start().await.unwrap();
    let queue = JobQueue::connect(&redis.url(), "t", emu.sdkappid())
        .await
        .unwrap();
    let spec = JobSpec::new("@TGS#aNOSUCH", JobAction::Unban).unwrap();
    let id = queue.submit(&spec, &names("g", 20_000)).await.unwrap();
    let started = Instant::now();
    let stats = run_workers(&queue, vec![client(&emu, &redis)]).await;
    let elapsed = started.elapsed();
    let status = queue.status(&id).await.unwrap();
    assert_eq!(status.state, JobState::Paused);
    let stop = status.stopped.unwrap();
    assert_eq!(stop.kind, StopKind::Group);
    assert!(matches!(stop.code, Some(10010 | 10015)), "{stop:?}");
    assert_eq!(stats[0].paused_jobs, 1);
    let sent = emu.stats().total_calls;
    assert!(sent <= 64, "{sent} calls after the group was refused");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    // Resumed, it pauses again for the same reason: the job's fault.
    queue.resume(&id).await.unwrap();
    assert_eq!(queue.status(&id).await.unwrap().state, JobState::Running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_ids_are_distinct_and_an_unknown_action_is_refused() {
    let redis = RedisServer::start().unwrap();
    let queue = JobQueue::connect(&redis.url(), "t", 1_400_000_000)
        .await
        .unwrap();
    let mut ids = HashSet::new();
    for _ in 0..50 {
        ids.insert(queue.submit(&ban(), &["a"]).await.unwrap());
    }
    assert_eq!(ids.len(), 50);
    // A spec this version cannot read is an error, never a ban.
    assert!(serde_json::from_str::<JobSpec>(r#"{"group":"g","action":"shadowban"}"#).is_err());
}

/// An unban cancels the group's ban jobs and starts once the longest lease
/// a live worker runs with is out: 1 s here, not the 45 s default (a guard
/// that waited out the default would not start it within the 20 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unban_waits_out_the_lease_the_workers_run_not_the_default() {
    const NOSUCH: &str = "@TGS#aNOSUCH";
    let redis = RedisServer::start().unwrap();
    let emu = Emulator::builder().group(G).start().await.unwrap();
    let queue = JobQueue::connect(&redis.url(), "t", emu.sdkappid())
        .await
        .unwrap();
    let lease = Duration::from_secs(1);
    let worker = Worker::new(
        queue.clone(),
        client(&emu, &redis),
        WorkerConfig::default().lease(lease),
    )
    .unwrap();
    let stop = AbortSignal::new();
    let running = {
        let stop = stop.clone();
        tokio::spawn(async move { worker.run(stop).await })
    };
    // A ban of a group the service does not know pauses at its first call:
    // a job that is not over, for the unban to cancel.
    let ban = JobSpec::new(
        NOSUCH,
        JobAction::Ban {
            ends_at: 4_000_000_000,
            description: None,
        },
    )
    .unwrap();
    let ban_id = queue.submit(&ban, &names("u", 40)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while queue.status(&ban_id).await.unwrap().state != JobState::Paused {
        assert!(Instant::now() < deadline, "the ban job never paused");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let unban = JobSpec::new(NOSUCH, JobAction::Unban).unwrap();
    let submitted = Instant::now();
    let unban_id = queue.submit(&unban, &names("u", 40)).await.unwrap();
    let ban_status = queue.status(&ban_id).await.unwrap();
    assert_eq!(ban_status.state, JobState::Cancelled);
    // The unban is taken (and pauses on the same unknown group) once the
    // worker's lease is out, and not before.
    loop {
        let s = queue.status(&unban_id).await.unwrap();
        if s.state == JobState::Paused {
            assert!(s.calls > 0);
            break;
        }
        assert_eq!(
            s.calls, 0,
            "the unban made calls while it was still running"
        );
        assert!(
            submitted.elapsed() < Duration::from_secs(20),
            "the unban waited more than 20 s: the guard ignored the workers' 1 s lease"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let waited = submitted.elapsed();
    assert!(
        waited >= lease,
        "the unban started after {waited:?}, inside the lease"
    );
    stop.abort();
    running.await.unwrap().unwrap();
}
