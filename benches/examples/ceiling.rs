//! Bans at the ceiling: one process's bulk ban of 10,000 members (500 calls
//! of 20) against the emulator's strict judge (never 201 calls in any
//! sliding second) with 50 ms of latency. The floor is 499 intervals of
//! 5 ms plus one round trip: 2.545 s. Beside the default pace (the
//! service's 200/s read with a 10 ms guard, backing off on 60007), the
//! baseline: the fixed 190/s the client held before.
//!
//! `cargo run --release -p ban-benches --example ceiling [runs]`
#![allow(unused_crate_dependencies)] // an example sees all its package's dependencies

use std::time::{Duration, Instant};

use ban_benches::{emulator, member_names, GROUP};
use ban_emulator::Emulator;
use ban_facade::{BanDuration, BulkAction, BulkOptions, Client, Priority, RateLimit};

const FLOOR_SECS: f64 = 2.545;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("runs: a number"))
        .unwrap_or(3);
    let members = member_names("bot", 10_000);
    let hour = BanDuration::from_secs(3600).expect("nonzero");
    for (name, rate) in [
        (
            "default (200/s, 10 ms guard, backs off on 60007)",
            RateLimit::default(),
        ),
        ("baseline: fixed 190/s", RateLimit::per_second(190)),
    ] {
        for round in 0..runs {
            let emu = emulator(
                Emulator::builder()
                    .latency(Duration::from_millis(50))
                    .rate_limit(200),
            )
            .await;
            let client = Client::builder()
                .sdkappid(emu.sdkappid())
                .secret_key(emu.secret_key().expose())
                .endpoint(emu.endpoint())
                .ca_cert_pem(emu.ca_cert_pem().expect("TLS"))
                .rate_limit(Some(rate))
                .build()
                .expect("client builds");
            if round == 0 && name.starts_with("default") {
                as_serve_sends(&client, &members, hour, &emu).await;
                emu.reset();
            }
            let started = Instant::now();
            let report = client
                .ban_members(GROUP, &members, hour, None)
                .await
                .expect("the job runs");
            let took = started.elapsed().as_secs_f64();
            let stats = emu.stats();
            println!(
                "{name}: {took:.3} s ({:.3}x the {FLOOR_SECS} s floor), {} calls, {} banned, 60007: {}, busiest second: {}",
                took / FLOOR_SECS,
                report.calls,
                report.succeeded.len(),
                stats.rate_limited,
                stats
                    .commands
                    .get("ban_group_member")
                    .map_or(0, |c| c.busiest_second),
            );
            emu.stop().await;
        }
    }
}

/// The same 10,000 as `banctl serve` sends them: 500 one-call jobs at once
/// in the urgent lane, sharing the client's pace.
async fn as_serve_sends(client: &Client, members: &[String], hour: BanDuration, emu: &Emulator) {
    let started = Instant::now();
    let mut jobs = tokio::task::JoinSet::new();
    for chunk in members.chunks(20) {
        let (client, chunk) = (client.clone(), chunk.to_vec());
        jobs.spawn(async move {
            let action = BulkAction::Ban {
                duration: hour,
                description: None,
            };
            let options = BulkOptions::new().priority(Priority::Urgent);
            client.bulk(action, GROUP, &chunk, options).await
        });
    }
    let mut calls = 0;
    while let Some(done) = jobs.join_next().await {
        calls += done.expect("a job runs").expect("a valid job").calls;
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "default, as serve sends (500 one-call urgent jobs at once): {took:.3} s ({:.3}x the {FLOOR_SECS} s floor), {calls} calls, 60007: {}",
        took / FLOOR_SECS,
        emu.stats().rate_limited
    );
}
