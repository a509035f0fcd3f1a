//! The shared budget on a loaded machine: four `banctl ban --redis`
//! processes with two CPU-bound processes running beside them (started
//! here; this binary holds this one test, so nothing else runs beside it).
//!
//! The processes are release builds: a debug `banctl` beside two busy
//! cores is late for its own permits (0.88 of the budget where a release
//! one uses 0.98), and what is measured is the shared budget, not the
//! debug build. `cargo xtask test` builds `banctl --release` and runs this
//! test with `--ignored` and `BANCTL_RELEASE` set; by hand:
//!
//! ```text
//! cargo build --release -p ban-cli --bin banctl
//! BANCTL_RELEASE=$PWD/target/release/banctl cargo test -p ban-cli --test load -- --ignored
//! ```
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::process::{Child, Command, Stdio};

use ban_fleet::testing::RedisServer;
use common::fleet::{ban_stats, finish, spawn_ban};
use common::start_emulator;

/// Two processes that keep both cores busy until dropped.
struct Hogs(Vec<Child>);

impl Hogs {
    fn start() -> Hogs {
        Hogs(
            (0..2)
                .map(|_| {
                    Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .stdout(Stdio::null())
                        .spawn()
                        .unwrap()
                })
                .collect(),
        )
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs 4 processes of 5,000 members each; returns (calls, 60007, share
/// of the budget used, whether every process stayed on Redis).
fn four_processes(tag: &str, fleet: &[&str]) -> (u64, u64, f64, bool) {
    let emu = start_emulator(tag, &["--rate-limit", "200", "--latency-ms", "20"]);
    let children: Vec<Child> = (0..4)
        .map(|p| spawn_ban(&emu, &format!("{tag}{p}x"), 5_000, fleet))
        .collect();
    let mut on_redis = true;
    for child in children {
        let (code, v, err) = finish(child);
        if !fleet.is_empty() {
            assert_eq!(code, Some(0), "{err}");
            assert_eq!(v["banned"].as_array().unwrap().len(), 5_000);
        }
        on_redis &= v["limiter"] == "redis";
    }
    let s = ban_stats(&emu);
    let calls = s["accepted"].as_u64().unwrap();
    // Without the shared budget, some members may end failed for 60007.
    let limited = s["rate_limited"].as_u64().unwrap();
    assert!(s["busiest_second"].as_u64().unwrap() <= 200, "{s}");
    let busy_ms =
        s["last_accepted_ms"].as_u64().unwrap() - s["first_accepted_ms"].as_u64().unwrap();
    let used = calls as f64 / (busy_ms as f64 / 1000.0 * 200.0);
    eprintln!(
        "{tag}: {calls} calls in {busy_ms} ms, {used:.3} of the budget, {limited} × 60007, busiest second {}",
        s["busiest_second"]
    );
    (calls, limited, used, on_redis)
}

#[test]
#[ignore = "runs release binaries: cargo xtask test runs it with BANCTL_RELEASE set"]
fn four_processes_share_one_budget_beside_two_busy_cores() {
    let bin = std::env::var("BANCTL_RELEASE").expect(
        "BANCTL_RELEASE names a release banctl (cargo build --release -p ban-cli --bin banctl)",
    );
    assert!(
        std::path::Path::new(&bin).is_file(),
        "BANCTL_RELEASE={bin} is not a file (a relative path is read from crates/ban-cli)"
    );
    let _hogs = Hogs::start();
    let redis = RedisServer::start().unwrap();
    let url = redis.url();
    let (calls, limited, used, on_redis) = four_processes("shared", &["--redis", &url]);
    assert_eq!(calls, 1_000);
    assert!(on_redis, "a process fell back to its local share");
    assert!(
        limited <= calls / 100,
        "{limited} × 60007 for {calls} calls"
    );
    assert!(used >= 0.95, "used {used:.3} of the budget");
    // The same run without the shared budget: the judge refuses many.
    let (_, alone, _, _) = four_processes("alone", &[]);
    assert!(alone > 10 * limited.max(1), "{alone} × 60007 alone");
}
