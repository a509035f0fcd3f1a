//! The local limiter's pace against the emulator's strict judge: at the
//! service's ceiling it gets no 60007, and against a service slower than
//! it expects it backs off on the first 60007 instead of holding its rate.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::sync::Arc;
use std::time::Duration;

use ban_emulator::Emulator;
use ban_proto::{BanDuration, BanRequest, GroupId, MemberList};
use ban_transport::{BoxFuture, Limiter, LocalLimiter, Priority, RateLimit, Transport};
use common::*;

const COMMAND: &str = "ban_group_member";

/// The same pace, deaf to 60007: the control, a fixed rate.
struct Deaf(LocalLimiter);

impl Limiter for Deaf {
    fn acquire(&self, command: &'static str, priority: Priority) -> BoxFuture<'_, ()> {
        self.0.acquire(command, priority)
    }
}

/// `calls` one-member bans from 20 tasks through `t`; all must succeed.
async fn ban_from_20_tasks(t: &Transport, calls: usize) {
    let mut tasks = Vec::new();
    for task in 0..20 {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            for i in (task..calls).step_by(20) {
                let member = format!("m{i}");
                let members = [member.as_str()];
                let request = BanRequest {
                    group_id: GroupId::new(G).unwrap(),
                    members: MemberList::from_strs(&members).unwrap(),
                    duration: BanDuration::from_secs(3600).unwrap(),
                    description: None,
                };
                t.call(&request).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// Runs 1,000 calls paced at 200/s against a service that allows 180 in
/// any second; the 60007s it met.
async fn against_180(limiter: Arc<dyn Limiter>) -> u64 {
    let emu = emulator(Emulator::builder().rate_limit(180)).await;
    let t = builder(&emu).limiter(limiter).build().unwrap();
    ban_from_20_tasks(&t, 1_000).await;
    assert_eq!(emu.stats().accepted(COMMAND), 1_000);
    emu.stats().rate_limited
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pace_above_the_service_backs_off_on_the_first_60007() {
    let local = Arc::new(LocalLimiter::new(RateLimit::per_second(200)).unwrap());
    let adaptive = against_180(local.clone()).await;
    let slowed = local.pace(COMMAND);
    // 200 → 190.5 → 181.8 → 173.9: a step per burst of 60007, not one per
    // refused call.
    assert!((150.0..=182.0).contains(&slowed), "paced at {slowed}/s");

    // The control: the same pace, deaf to 60007, keeps meeting them.
    let deaf = Arc::new(Deaf(LocalLimiter::new(RateLimit::per_second(200)).unwrap()));
    let fixed = against_180(deaf).await;
    eprintln!("60007: {adaptive} backing off, {fixed} at a fixed 200/s");
    assert!(adaptive >= 1, "the service refused some first");
    assert!(
        adaptive * 2 < fixed,
        "{adaptive} with the back-off, {fixed} without"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_paces_at_the_ceiling_and_the_strict_judge_refuses_nothing() {
    let emu = emulator(Emulator::builder().rate_limit(200)).await;
    let local = Arc::new(LocalLimiter::new(RateLimit::default()).unwrap());
    let t = builder(&emu).limiter(local.clone()).build().unwrap();
    let started = std::time::Instant::now();
    ban_from_20_tasks(&t, 600).await;
    let took = started.elapsed();
    assert_eq!(emu.stats().rate_limited, 0);
    assert!((local.pace(COMMAND) - 200.0 / 1.01).abs() < 0.01);
    // 600 calls at 198/s: 3.03 s at least; the old 190/s took 3.15 s.
    assert!(took >= Duration::from_millis(3_000), "{took:?}");
}
