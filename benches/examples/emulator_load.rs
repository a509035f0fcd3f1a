//! Load on the emulator: N ban calls over keep-alive TLS from 64 concurrent
//! bare hyper callers (rate limit off), printing calls/s and the process's
//! resident memory every 100,000 calls, to show the emulator is never the
//! bottleneck and its memory stays flat.
//!
//! `cargo run --release -p ban-benches --example emulator_load -- 1000000 [h1]`
//! (`h1`: HTTP/1.1 keep-alive connections instead of HTTP/2.)
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use ban_benches::{
    accounts, ban_request, bare_call, bare_client_with, emulator, member_names, signed_url,
};
use ban_emulator::Emulator;
use bytes::Bytes;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(str::to_owned)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let total: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let emu = emulator(Emulator::builder().rate_limit(0)).await;
    let http2 = std::env::args().nth(2).as_deref() != Some("h1");
    let client = bare_client_with(&emu, http2);
    println!(
        "protocol: {}",
        if http2 {
            "HTTP/2 (one keep-alive connection)"
        } else {
            "HTTP/1.1 keep-alive (a connection per caller)"
        }
    );
    let url = Arc::new(signed_url(&emu, "ban_group_member"));
    let names = member_names("m", 20);
    let accts = accounts(&names);
    let mut body = Vec::new();
    ban_proto::encode_into(&ban_request(&accts), &mut body).unwrap();
    let body = Bytes::from(body);
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    println!("calls\tcalls/s\trss_kib");
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (client, url, body, done) = (client.clone(), url.clone(), body.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n > total {
                    break;
                }
                let answer = bare_call(&client, &url, body.clone()).await;
                assert!(answer.starts_with(br#"{"ActionStatus":"OK""#), "{answer:?}");
                if n % 100_000 == 0 {
                    println!(
                        "{n}\t{:.0}\t{}",
                        n as f64 / started.elapsed().as_secs_f64(),
                        rss_kib()
                    );
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let stats = emu.stats();
    println!(
        "done: {} accepted calls in {:.1} s = {:.0} calls/s; rss {} KiB",
        stats.accepted("ban_group_member"),
        started.elapsed().as_secs_f64(),
        stats.accepted("ban_group_member") as f64 / started.elapsed().as_secs_f64(),
        rss_kib()
    );
}
