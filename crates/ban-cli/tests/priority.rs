//! An urgent ban beside a wave, through real processes: two `banctl job
//! work` processes keep the budget full with a 60,000-member bulk job on
//! one Redis, and `banctl ban --redis --priority urgent` is served in the
//! next free slots, while the same ban as `--priority bulk` (the control)
//! waits behind the wave's queue.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::time::Duration;

use ban_fleet::testing::RedisServer;
use common::fleet::{names, report, submit, wait_for, worker};
use common::{json, start_emulator, stderr, Emu, G};

/// The wave: long enough (3,000 calls, 15 s at 200/s) to outlast ten
/// `banctl ban` processes of a debug build.
const WAVE: usize = 60_000;

/// One `banctl ban` of one member through the shared budget: its report's
/// `elapsed_ms`.
fn ban_one(emu: &Emu, redis: &RedisServer, member: &str, priority: &str) -> u64 {
    let url = redis.url();
    let out = emu.run(&[
        "ban",
        "--group",
        G,
        "--member",
        member,
        "--duration",
        "1h",
        "--priority",
        priority,
        "--redis",
        url.as_str(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["banned"][0], member);
    v["elapsed_ms"].as_u64().unwrap()
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

#[test]
fn urgent_bans_beside_a_wave_finish_well_ahead_of_the_control() {
    let redis = RedisServer::start().unwrap();
    let emu = start_emulator("priority", &["--rate-limit", "200", "--latency-ms", "20"]);
    let id = submit(&emu, &redis, &names("wave", WAVE), &["--duration", "1h"]);
    let workers: Vec<_> = (0..2).map(|_| worker(&emu, &redis, &[])).collect();
    // The wave is at full speed before the first urgent ban.
    wait_for("the wave under way", Duration::from_secs(30), || {
        emu.control("stats")["commands"]["ban_group_member"]["accepted"]
            .as_u64()
            .unwrap_or(0)
            > 200
    });
    // Interleaved, so both meet the same wave.
    let (mut urgent, mut control) = (Vec::new(), Vec::new());
    for i in 0..5 {
        urgent.push(ban_one(&emu, &redis, &format!("raider{i}"), "urgent"));
        control.push(ban_one(&emu, &redis, &format!("late{i}"), "bulk"));
    }
    let state = report(&emu, &redis, &id).1["state"].clone();
    eprintln!("urgent {urgent:?} ms, control {control:?} ms; the wave was {state} after them");
    assert_eq!(state, "running", "the wave kept the budget busy throughout");
    assert!(
        median(urgent.clone()) * 2 < median(control.clone()),
        "urgent {urgent:?} vs control {control:?}"
    );
    for w in workers {
        let out = w.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let (_, v) = report(&emu, &redis, &id);
    assert_eq!(v["state"], "done");
    assert_eq!(v["banned"].as_array().unwrap().len(), WAVE);
    assert!(
        v["permit_wait_ms"].as_u64().unwrap() > 0,
        "{}",
        v["permit_wait_ms"]
    );
    let stats = emu.control("stats")["commands"]["ban_group_member"].clone();
    let accepted = stats["accepted"].as_u64().unwrap();
    assert_eq!(accepted, WAVE as u64 / 20 + 10, "every call once");
    // 0 on a calm machine; debug-build workers starved of CPU draw a few,
    // each retried.
    let limited = stats["rate_limited"].as_u64().unwrap();
    assert!(limited <= accepted / 100, "{limited} × 60007");
}
