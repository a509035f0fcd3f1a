//! Several banctl processes for one SDKAppID share its budget through a
//! real redis-server (started by the test on a free port) against
//! `banctl emulator` (a separate process, TLS on loopback).
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use ban_fleet::testing::RedisServer;
use common::{json, start_emulator, stderr, Emu};
use serde_json::Value;

/// Starts `banctl ban` of `n` members named `prefix…`, with `extra` flags.
fn spawn_ban(emu: &Emu, prefix: &str, n: usize, extra: &[&str]) -> Child {
    let members: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    common::ban_file_cmd(emu, &format!("{prefix}.txt"), &members, extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> (Option<i32>, Value, String) {
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    let v = if out.stdout.is_empty() {
        Value::Null
    } else {
        json(&out)
    };
    (out.status.code(), v, err)
}

fn ban_stats(emu: &Emu) -> Value {
    emu.control("stats")["commands"]["ban_group_member"].clone()
}

#[test]
fn four_processes_share_one_budget_and_use_it() {
    let redis = RedisServer::start().unwrap();
    let emu = start_emulator("fleet", &["--rate-limit", "200", "--latency-ms", "20"]);
    let url = redis.url();
    let fleet = ["--redis", url.as_str()];
    let children: Vec<Child> = (0..4)
        .map(|p| spawn_ban(&emu, &format!("p{p}x"), 5_000, &fleet))
        .collect();
    for child in children {
        let (code, v, err) = finish(child);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(v["banned"].as_array().unwrap().len(), 5_000);
        assert_eq!(v["rate_limited"], 0);
        assert_eq!(v["limiter"], "redis", "{v}");
    }
    let s = ban_stats(&emu);
    assert_eq!(s["accepted"], 1_000, "{s}");
    assert_eq!(s["rate_limited"], 0, "no 60007: {s}");
    let busiest = s["busiest_second"].as_u64().unwrap();
    assert!(busiest <= 200, "{s}");
    let busy_ms =
        s["last_accepted_ms"].as_u64().unwrap() - s["first_accepted_ms"].as_u64().unwrap();
    let used = 1_000.0 / (busy_ms as f64 / 1000.0 * 200.0);
    eprintln!(
        "4 processes: 1000 calls in {busy_ms} ms, {:.3} of the budget, busiest second {busiest}",
        used
    );
    assert!(
        used >= 0.95,
        "used {used:.3} of the budget over {busy_ms} ms"
    );
    drop(redis);
}

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
    assert!(s["rate_limited"].as_u64().unwrap() > 0, "{s}");
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
        assert_eq!(code, Some(0), "{err}");
        let ms = v["elapsed_ms"].as_u64().unwrap();
        eprintln!("a small job beside the big one took {ms} ms");
        assert!(ms < 1_000, "a 20-member job took {ms} ms beside a big one");
    }
    let (code, v, err) = finish(big);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(v["banned"].as_array().unwrap().len(), 10_000);
    assert_eq!(ban_stats(&emu)["rate_limited"], 0);
}
