//! The one engine's failure monitor: how long a job bears connection
//! failures (its patience), against a real loopback port that refuses.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::time::{Duration, Instant};

use ban_emulator::Emulator;
use ban_facade::engine::{JobRun, Members, Patience};
use ban_facade::{Client, ClientBuilder, JobAction, JobSpec, RetryPolicy, StopKind};

const G: &str = "@TGS#aENGINE";

/// A client of the emulator's credentials sent to a port nobody listens on.
async fn refused_client(attempts: u32) -> (Emulator, Client) {
    let emu = Emulator::builder().group(G).start().await.unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = ClientBuilder::for_emulator(&emu.ready_json())
        .unwrap()
        .endpoint(format!("https://127.0.0.1:{port}"))
        .retry(
            RetryPolicy::default()
                .max_attempts(attempts)
                .base_backoff(Duration::from_millis(5))
                .max_backoff(Duration::from_millis(20)),
        )
        .build()
        .unwrap();
    (emu, client)
}

fn batch(i: usize) -> Members {
    vec![ban_facade::MemberAccount::new(format!("m{i}")).unwrap()]
}

/// Runs batches one after another until the job stops (or `limit` passes).
async fn until_stopped(run: &JobRun, limit: Duration) -> (Duration, usize) {
    let started = Instant::now();
    let mut batches = 0;
    while !run.is_stopped() && started.elapsed() < limit {
        let out = run.run_batch(batch(batches)).await;
        assert_eq!(out.done.len(), 0);
        batches += 1;
    }
    (started.elapsed(), batches)
}

#[tokio::test]
async fn a_dead_endpoint_stops_an_interactive_job_at_once_and_a_fleet_job_after_its_quiet_period() {
    let (_emu, client) = refused_client(3).await;
    let spec = JobSpec::new(G, JobAction::Unban).unwrap();

    // Interactive: 3 refused attempts, and the job stops.
    let run = JobRun::new(&client, spec.clone(), Patience::interactive(64)).unwrap();
    let (took, batches) = until_stopped(&run, Duration::from_secs(10)).await;
    assert_eq!(run.stopped().unwrap().kind, StopKind::Unreachable);
    assert!(batches <= 2, "{batches} batches before stopping");

    // Fleet: the same failures stop it only once nothing was answered for
    // the quiet period (shortened here from 10 s to 1 s).
    let quiet = Duration::from_secs(1);
    let run = JobRun::new(&client, spec, Patience::new(8, 8, quiet)).unwrap();
    let (fleet_took, fleet_batches) = until_stopped(&run, Duration::from_secs(20)).await;
    assert_eq!(run.stopped().unwrap().kind, StopKind::Unreachable);
    assert!(fleet_took >= quiet, "stopped after {fleet_took:?}");
    assert!(
        fleet_batches > batches,
        "{fleet_batches} fleet batches, {batches} interactive (in {took:?})"
    );
}

#[tokio::test]
async fn one_monitor_per_job_sees_every_batch() {
    let (_emu, client) = refused_client(1).await;
    let spec = JobSpec::new(G, JobAction::Unban).unwrap();
    // Cold threshold 3: three batches of one failed attempt each stop the
    // job, because the monitor is the job's, not the batch's.
    let run = JobRun::new(&client, spec, Patience::interactive(64)).unwrap();
    for i in 0..3 {
        assert!(
            !run.is_stopped(),
            "stopped after {i} single-attempt batches"
        );
        let out = run.run_batch(batch(i)).await;
        assert_eq!(out.failed.len(), 1);
        assert_eq!(out.calls, 1);
    }
    assert!(run.is_stopped());
    let out = run.run_batch(batch(9)).await;
    assert_eq!(out.not_attempted, ["m9"], "a stopped job sends nothing");
    assert_eq!(out.calls, 0);
}
