//! The engine's own contract, held against the in-memory store under
//! paused time: what `drive` asks a store for, when, and when it returns.
//! The job is stopped before it starts, so no batch makes a call: each
//! outcome is its member not attempted, and nothing is dialled.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::sync::Arc;
use std::time::Duration;

use ban_facade::engine::testing::{Answer, MemoryStore};
use ban_facade::engine::{drive, DriveOptions, JobRun, Patience};
use ban_facade::{AbortSignal, Client, JobAction, JobSpec, StopKind, StopReason};

/// A stopped job of a client that is never used (port 9 is never dialled:
/// a stopped job sends nothing).
fn stopped_job() -> Arc<JobRun> {
    let client = Client::builder()
        .sdkappid(1_400_000_000)
        .secret_key("not-a-real-key")
        .endpoint("https://127.0.0.1:9")
        .build()
        .unwrap();
    let spec = JobSpec::new("@TGS#aDRIVE", JobAction::Unban).unwrap();
    let run = JobRun::new(&client, spec, Patience::new(3, 3, Duration::from_secs(10))).unwrap();
    run.stop(StopReason::new(StopKind::Interrupted, "a test"));
    Arc::new(run)
}

#[tokio::test(start_paused = true)]
async fn every_batch_is_recorded_once_and_exhausted_ends_the_drive() {
    let mut store = MemoryStore::new(stopped_job())
        .then(Answer::Batches(10))
        .then(Answer::Exhausted);
    drive(&mut store, DriveOptions::new(4)).await.unwrap();
    let mut tickets: Vec<u64> = store.recorded.iter().map(|(t, _)| *t).collect();
    tickets.sort_unstable();
    assert_eq!(tickets, (0..10).collect::<Vec<_>>());
    for (t, outcome) in &store.recorded {
        assert_eq!(outcome.not_attempted, [format!("m{t}")]);
        assert_eq!(outcome.calls, 0);
    }
    // Never more than the window asked for; not polled after Exhausted.
    assert!(store.asked().iter().all(|&n| n <= 4), "{:?}", store.asked());
    assert_eq!(store.asked().first(), Some(&4));
    let after = store.polls.len();
    assert_eq!(store.shutdowns, 0);
    drive(&mut store, DriveOptions::new(4)).await.unwrap();
    assert_eq!(
        store.polls.len(),
        after + 1,
        "an exhausted script answers Exhausted again"
    );
}

#[tokio::test(start_paused = true)]
async fn refill_at_polls_only_once_that_many_slots_are_free() {
    let mut store = MemoryStore::new(stopped_job()).then(Answer::Batches(16));
    drive(&mut store, DriveOptions::new(8).refill_at(4))
        .await
        .unwrap();
    let asked = store.asked();
    // The full window first, then only when 4 (or more) slots are free.
    assert_eq!(asked[0], 8);
    assert!(asked[1..].iter().all(|&n| n >= 4), "{asked:?}");
    assert_eq!(store.recorded.len(), 16);
    // Polling for each free slot asks more often for the same work.
    let mut each = MemoryStore::new(stopped_job()).then(Answer::Batches(16));
    drive(&mut each, DriveOptions::new(8)).await.unwrap();
    assert!(
        each.polls.len() > store.polls.len(),
        "{:?} vs {asked:?}",
        each.asked()
    );
}

#[tokio::test(start_paused = true)]
async fn an_idle_store_is_asked_again_after_the_idle_wait() {
    let wait = Duration::from_millis(750);
    let mut store = MemoryStore::new(stopped_job())
        .then(Answer::Idle)
        .then(Answer::Idle)
        .then(Answer::Batches(1))
        .then(Answer::Exhausted);
    drive(&mut store, DriveOptions::new(2).idle_wait(wait))
        .await
        .unwrap();
    let at: Vec<_> = store.polls.iter().map(|(t, _)| *t).collect();
    assert_eq!(at.len(), 4, "{:?}", store.asked());
    assert_eq!(at[1] - at[0], wait);
    assert_eq!(at[2] - at[1], wait);
    assert_eq!(store.recorded.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_is_told_once_and_no_poll_follows() {
    let signal = AbortSignal::new();
    let mut store = MemoryStore::new(stopped_job());
    for _ in 0..1_000 {
        store = store.then(Answer::Idle);
    }
    let raise = {
        let signal = signal.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            signal.abort();
        })
    };
    let options = DriveOptions::new(2)
        .idle_wait(Duration::from_millis(100))
        .shutdown_on(signal);
    drive(&mut store, options).await.unwrap();
    raise.await.unwrap();
    assert_eq!(store.shutdowns, 1);
    let last = store.polls.last().unwrap().0;
    let first = store.polls[0].0;
    assert!(
        last - first <= Duration::from_secs(1),
        "polled after the shutdown"
    );
    assert!(
        store.polls.len() >= 9,
        "{} polls in 1 s of 100 ms waits",
        store.polls.len()
    );
}
