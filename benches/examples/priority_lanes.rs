//! An urgent ban beside a wave: 4 fleet workers keep the budget full with a
//! bulk job through Redis, against the emulator at 200 calls/s and 20 ms of
//! latency, and every 500 ms a moderator bans one raider: 20 bans as
//! `urgent`, then 20 as `bulk` (the control: it waits behind the wave's
//! queue). Each ban is a fresh client (its own TLS connection and Redis
//! connection), as a `banctl ban --redis --priority urgent` would be; its
//! report's `elapsed` is the figure. Prints p50/p95 of both, and for the
//! wave: 60007 answers and the share of the budget used over the whole run
//! (urgent calls included).
//!
//! `cargo run --release -p ban-benches --example priority_lanes [members]`
//! Needs `redis-server` on PATH (it starts its own on a free port).
#![allow(unused_crate_dependencies)] // an example sees all its package's dependencies

use std::sync::Arc;
use std::time::{Duration, Instant};

use ban_emulator::Emulator;
use ban_facade::{AbortSignal, BanDuration, BulkAction, BulkOptions, ClientBuilder, Priority};
use ban_fleet::testing::RedisServer;
use ban_fleet::{FleetConfig, JobAction, JobQueue, JobSpec, RedisLimiter, Worker, WorkerConfig};

const G: &str = "@TGS#aLANES";

fn percentile(v: &mut [u64], p: f64) -> u64 {
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(120_000);
    let redis = RedisServer::start()?;
    let emu = Emulator::builder()
        .group(G)
        .rate_limit(200)
        .latency(Duration::from_millis(20))
        .start()
        .await?;
    let ready = emu.ready_json();
    let limiter = || RedisLimiter::new(FleetConfig::new(redis.url(), emu.sdkappid())).map(Arc::new);
    let queue = JobQueue::connect(&redis.url(), "tim-ban", emu.sdkappid()).await?;
    let members: Vec<String> = (0..n).map(|i| format!("bot{i:07}")).collect();
    let spec = JobSpec::new(
        G,
        JobAction::Ban {
            ends_at: 4_000_000_000,
            description: None,
        },
    )?;
    let id = queue.submit(&spec, &members).await?;
    drop(members);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..4 {
        let client = ClientBuilder::for_emulator(&ready)?
            .limiter(limiter()?)
            .build()?;
        let worker = Worker::new(
            queue.clone(),
            client,
            WorkerConfig::default().exit_when_idle(true),
        )?;
        workers.push(tokio::spawn(
            async move { worker.run(AbortSignal::new()).await },
        ));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut figures = Vec::new();
    for priority in [Priority::Urgent, Priority::Bulk] {
        let mut bans = Vec::new();
        for i in 0..20 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let client = ClientBuilder::for_emulator(&ready)?
                .limiter(limiter()?)
                .build()?;
            let member = format!("{priority}-raider{i}");
            bans.push(tokio::spawn(async move {
                let ban = BulkAction::Ban {
                    duration: BanDuration::from_secs(3600).expect("a valid duration"),
                    description: None,
                };
                let options = BulkOptions::new().priority(priority);
                client.bulk(ban, G, &[member], options).await
            }));
        }
        let mut ms = Vec::new();
        for b in bans {
            let report = b.await??;
            assert!(report.all_succeeded(), "{:?}", report.failed);
            ms.push(report.elapsed.as_millis() as u64);
        }
        let wave = queue.status(&id).await?;
        figures.push((
            priority,
            percentile(&mut ms, 0.5),
            percentile(&mut ms, 0.95),
            *ms.iter().max().unwrap_or(&0),
            wave.state,
        ));
    }
    for w in workers {
        w.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let stats = emu.stats();
    let ban = stats
        .commands
        .get("ban_group_member")
        .cloned()
        .unwrap_or_default();
    for (p, p50, p95, max, state) in &figures {
        println!(
            "{p:>6} bans beside the wave: p50 {p50} ms, p95 {p95} ms, max {max} ms (the wave was {state} throughout)"
        );
    }
    let report = queue.report(&id).await?;
    println!(
        "wave: {n} members by 4 workers in {elapsed:.1} s, {} lost; {} calls accepted with the 40 bans ({:.1}% of 200/s over the run), {} × 60007, busiest second {}; the wave's permit wait {} ms in all",
        report.report.failed.len() + report.report.not_attempted.len(),
        ban.accepted,
        ban.accepted as f64 / (elapsed * 200.0) * 100.0,
        ban.rate_limited,
        ban.busiest_second,
        report.report.permit_wait.as_millis()
    );
    Ok(())
}
