//! Several banctl processes for one SDKAppID share its budget through a
//! real redis-server (started by the test on a free port) against
//! `banctl emulator` (a separate process, TLS on loopback).
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::process::Child;
use std::time::{Duration, Instant};

use ban_fleet::testing::RedisServer;
use common::fleet::{ban_stats, finish, spawn_ban};
use common::start_emulator;

#[test]
fn the_judge_can_fail_without_the_shared_budget() {
    let emu = start_emulator("nofleet", &["--rate-limit", "200", "--latency-ms", "20"]);
    let children: Vec<Child> = (0..4)
        .map(|p| spawn_ban(&emu, &format!("q{p}x"), 2_000, &[]))
        .collect();
    let mut seen = 0;
    for child in children {
        let (_, v, _) = finish(child);
        seen += v["rate_limited"].as_u64().unwrap_or(0);
    }
    let s = ban_stats(&emu);
    // More than the 1% the fleet's test below allows.
    assert!(
        s["rate_limited"].as_u64().unwrap() * 100 > s["accepted"].as_u64().unwrap(),
        "{s}"
    );
    assert_eq!(
        seen,
        s["rate_limited"].as_u64().unwrap(),
        "reports count every 60007"
    );
    assert!(s["busiest_second"].as_u64().unwrap() <= 200);
}

#[test]
fn small_jobs_are_not_starved_by_a_big_one() {
    let redis = RedisServer::start().unwrap();
    let emu = start_emulator("fair", &["--rate-limit", "200", "--latency-ms", "20"]);
    let url = redis.url();
    let fleet = ["--redis", url.as_str()];
    let big = spawn_ban(&emu, "big", 10_000, &fleet);
    // Let the big job fill its in-flight window first.
    let started = Instant::now();
    while ban_stats(&emu)["accepted"].as_u64().unwrap_or(0) < 50 {
        assert!(started.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(20));
    }
    let small: Vec<Child> = (0..3)
        .map(|p| spawn_ban(&emu, &format!("small{p}x"), 20, &fleet))
        .collect();
    for child in small {
        let (code, v, err) = finish(child);
        assert_eq!(code, Some(0), "{err} {v}");
        let ms = v["elapsed_ms"].as_u64().unwrap();
        eprintln!("a small job beside the big one took {ms} ms");
        assert!(ms < 1_000, "a 20-member job took {ms} ms beside a big one");
    }
    let (code, v, err) = finish(big);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(v["banned"].as_array().unwrap().len(), 10_000);
    // The fleet keeps 195/s of the emulator's sliding 200/s; a process
    // stalled by a busy machine can still bunch a few calls into one
    // second (and retries them). Without the shared budget four processes
    // are refused most of their calls (the test above), so 1% tells them
    // apart with room.
    let s = ban_stats(&emu);
    let limited = s["rate_limited"].as_u64().unwrap();
    let accepted = s["accepted"].as_u64().unwrap();
    assert!(
        limited * 100 <= accepted,
        "{limited} refused of {accepted}: {s}"
    );
}
