//! A million-member ban spread over 4 workers through Redis Streams,
//! against the emulator at 200 calls/s: the elapsed time beside the
//! 250 s floor (1,000,000 members = 50,000 calls), members lost (must be
//! 0), Redis's memory and this process's peak RSS (the 4 workers and the
//! emulator share it here).
//!
//! `cargo run --release -p ban-benches --example fleet_million [members] [workers]`
//! Needs `redis-server` on PATH (it starts its own on a free port).
#![allow(unused_crate_dependencies)] // an example sees all its package's dependencies

use std::sync::Arc;
use std::time::{Duration, Instant};

use ban_emulator::Emulator;
use ban_facade::{AbortSignal, ClientBuilder};
use ban_fleet::testing::RedisServer;
use ban_fleet::{FleetConfig, JobAction, JobQueue, JobSpec, RedisLimiter, Worker, WorkerConfig};

fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let workers: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(4);
    let redis = RedisServer::start()?;
    let emu = Emulator::builder()
        .group("@TGS#aMILLION")
        .rate_limit(200)
        .latency(Duration::from_millis(20))
        .start()
        .await?;
    let queue = JobQueue::connect(&redis.url(), "tim-ban", emu.sdkappid()).await?;
    let members: Vec<String> = (0..n).map(|i| format!("bot{i:07}")).collect();
    let submitted = Instant::now();
    let id = queue
        .submit(
            &JobSpec::new(
                "@TGS#aMILLION",
                JobAction::Ban {
                    ends_at: 4_000_000_000,
                    description: Some("bot wave".into()),
                },
            )?,
            &members,
        )
        .await?;
    println!(
        "submitted {n} members in {:.2} s (job {id})",
        submitted.elapsed().as_secs_f64()
    );
    drop(members);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let limiter = Arc::new(RedisLimiter::new(FleetConfig::new(
            redis.url(),
            emu.sdkappid(),
        ))?);
        let client = ClientBuilder::for_emulator(&emu.ready_json())
            .unwrap()
            .limiter(limiter)
            .build()?;
        let worker = Worker::new(
            queue.clone(),
            client,
            WorkerConfig::default().exit_when_idle(true),
        )?;
        tasks.push(tokio::spawn(
            async move { worker.run(AbortSignal::new()).await },
        ));
    }
    for t in tasks {
        t.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let report = queue.report(&id).await?;
    let floor = n.div_ceil(20) as f64 / 200.0;
    let stats = emu.stats();
    let ban = stats
        .commands
        .get("ban_group_member")
        .cloned()
        .unwrap_or_default();
    let mut conn = redis::Client::open(redis.url())?
        .get_multiplexed_async_connection()
        .await?;
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut conn)
        .await?;
    let used = info
        .lines()
        .find_map(|l| l.strip_prefix("used_memory_peak_human:"))
        .unwrap_or("?")
        .trim()
        .to_owned();
    println!(
        "{n} members, {workers} workers: {elapsed:.1} s (floor {floor:.0} s, {:+.1}%), {} done, {} failed, {} lost, {} calls ({} × 60007, busiest second {}), Redis peak memory {used}, this process's peak RSS {} MB",
        (elapsed / floor - 1.0) * 100.0,
        report.report.succeeded.len(),
        report.report.failed.len(),
        report.report.not_attempted.len(),
        ban.accepted,
        ban.rate_limited,
        ban.busiest_second,
        peak_rss_mb()
    );
    Ok(())
}
