//! Bulk jobs through the whole stack against the real emulator over TLS.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ban_emulator::{Emulator, EmulatorBuilder, FaultKind, Paging};
use ban_facade::{
    BanDuration, BulkAction, BulkOptions, Client, ClientBuilder, ErrorCode, InputError,
    RetryPolicy, StopKind,
};
use futures_util::TryStreamExt;

const G: &str = "@TGS#aFACADE";

async fn setup(b: EmulatorBuilder) -> (Emulator, Client) {
    let emu = b.group(G).start().await.unwrap();
    let client = ClientBuilder::for_emulator(&emu.ready_json())
        .unwrap()
        .attempt_timeout(Duration::from_secs(2))
        .retry(
            RetryPolicy::default()
                .max_attempts(10)
                .base_backoff(Duration::from_millis(10))
                .max_backoff(Duration::from_millis(200)),
        )
        .build()
        .unwrap();
    (emu, client)
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:05}")).collect()
}

#[tokio::test]
async fn five_raiders_are_banned_and_cannot_rejoin() {
    let (emu, client) = setup(Emulator::builder()).await;
    let raiders = ["r1", "r2", "r3", "r4", "r5"];
    for r in raiders {
        emu.join(G, r).unwrap();
    }
    let report = client
        .ban_members(
            G,
            &raiders,
            BanDuration::from_secs(600).unwrap(),
            Some("raid"),
        )
        .await
        .unwrap();
    assert_eq!(report.succeeded, raiders);
    assert!(report.failed.is_empty());
    assert_eq!((report.calls, report.retries, report.duplicates), (1, 0, 0));
    for r in raiders {
        assert!(emu.join(G, r).is_err());
    }
}

#[tokio::test]
async fn duplicates_are_removed_and_calls_hold_at_most_20() {
    let (emu, client) = setup(Emulator::builder()).await;
    let mut members = names("m", 45);
    members.extend(names("m", 10));
    let seen = Arc::new(AtomicUsize::new(0));
    let report = client
        .bulk(
            BulkAction::Ban {
                duration: BanDuration::from_secs(60).unwrap(),
                description: None,
            },
            G,
            &members,
            BulkOptions::new().progress({
                let seen = seen.clone();
                move |p| {
                    assert_eq!(p.total, 45);
                    seen.store(p.done, Ordering::SeqCst);
                }
            }),
        )
        .await
        .unwrap();
    assert_eq!(report.succeeded.len(), 45);
    assert_eq!(report.duplicates, 10);
    assert_eq!(report.calls, 3);
    assert_eq!(seen.load(Ordering::SeqCst), 45);
    assert_eq!(emu.stats().accepted("ban_group_member"), 3);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["banned"].as_array().unwrap().len(), 45);
    assert_eq!(json["calls"], 3);
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_sent() {
    let (emu, client) = setup(Emulator::builder()).await;
    let long = "x".repeat(33);
    let err = client
        .ban_members(
            G,
            &["ok", long.as_str(), "bad\u{7}"],
            BanDuration::from_secs(60).unwrap(),
            None,
        )
        .await
        .unwrap_err();
    match &err {
        InputError::Members(bad) => assert_eq!(bad.len(), 2),
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .contains("Member_Account is 33 bytes; at most 32 bytes"),
        "{err}"
    );
    let err = client
        .ban_members(
            G,
            &["a"],
            BanDuration::from_secs(60).unwrap(),
            Some(&"é".repeat(501)),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("Description is 1002 bytes"),
        "{err}"
    );
    let err = client
        .ban_members::<&str>(G, &[], BanDuration::from_secs(60).unwrap(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, InputError::NoMembers));
    assert!(client.unban_members("", &["a"]).await.is_err());
    assert_eq!(emu.stats().total_calls, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_through_20_percent_faults() {
    let (emu, client) = setup(
        Emulator::builder()
            .fault_rate(0.2)
            .fault_kinds([
                FaultKind::InternalError,
                FaultKind::BadGateway,
                FaultKind::Drop,
            ])
            .seed(2026),
    )
    .await;
    let members = names("bot", 5000);
    let report = client
        .ban_members(G, &members, BanDuration::from_secs(3600).unwrap(), None)
        .await
        .unwrap();
    assert!(
        report.failed.is_empty(),
        "{:?}",
        &report.failed[..report.failed.len().min(3)]
    );
    assert_eq!(report.succeeded.len(), 5000);
    assert_eq!(report.calls, 250);
    let stats = emu.stats();
    let f = &stats.faults;
    let injected = f.internal_error + f.bad_gateway + f.dropped;
    assert!(injected > 0);
    // Every injected fault was one retry; every retry met a fault.
    assert_eq!(report.retries, injected);
    assert_eq!(stats.accepted("ban_group_member"), 250);
    let banned = emu.group(G).unwrap().banned;
    assert_eq!(banned.len(), 5000);
    let mut got: Vec<_> = banned.into_iter().map(|b| b.member_account).collect();
    got.sort();
    assert_eq!(got, members);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_at_the_rate_ceiling_get_no_60007() {
    let (emu, client) = setup(
        Emulator::builder()
            .latency(Duration::from_millis(50))
            .rate_limit(200),
    )
    .await;
    let members = names("spam", 10_000);
    let started = Instant::now();
    let report = client
        .ban_members(G, &members, BanDuration::from_secs(3600).unwrap(), None)
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(report.succeeded.len(), 10_000);
    assert_eq!(report.calls, 500);
    let stats = emu.stats();
    assert_eq!(stats.rate_limited, 0, "{stats:?}");
    assert_eq!(report.retries, 0);
    // Rate-bound, not latency-bound: 500 calls one at a time would take 25 s.
    assert!(took < Duration::from_secs(6), "{took:?}");
}

#[tokio::test]
async fn banned_members_pages_through_the_list_and_unban_lifts() {
    let (emu, client) = setup(Emulator::builder()).await;
    let members = names("u", 250);
    client
        .ban_members(G, &members, BanDuration::from_secs(60).unwrap(), None)
        .await
        .unwrap();
    let listed: Vec<_> = client
        .banned_members(G)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 250);
    assert_eq!(emu.stats().accepted("get_group_ban_member"), 3);
    let mut names_listed: Vec<_> = listed.into_iter().map(|b| b.member_account).collect();
    names_listed.sort();
    assert_eq!(names_listed, members);

    let report = client.unban_members(G, &members[..30]).await.unwrap();
    assert_eq!(report.succeeded.len(), 30);
    assert_eq!(
        serde_json::to_value(&report).unwrap()["unbanned"]
            .as_array()
            .unwrap()
            .len(),
        30
    );
    emu.join(G, &members[0]).unwrap();
    let left: Vec<_> = client
        .banned_members(G)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(left.len(), 220);
}

#[tokio::test]
async fn a_group_that_does_not_exist_stops_the_job_at_once() {
    let (emu, client) = setup(Emulator::builder()).await;
    let members = names("x", 2000);
    let report = client
        .ban_members(
            "@TGS#nope",
            &members,
            BanDuration::from_secs(60).unwrap(),
            None,
        )
        .await
        .unwrap();
    assert!(report.succeeded.is_empty());
    let stop = report.stopped.as_ref().expect("stopped early");
    assert_eq!(stop.kind, StopKind::Group);
    assert_eq!(stop.code, Some(10015));
    assert!(stop.reason.contains("does not exist"), "{}", stop.reason);
    assert!(!report.failed.is_empty());
    assert!(report
        .failed
        .iter()
        .all(|f| f.code == Some(10015) && f.reason.contains("does not exist")));
    // Every member is accounted for: failed (sent) or not attempted.
    assert_eq!(report.failed.len() + report.not_attempted.len(), 2000);
    let mut all: Vec<&str> = report.remaining().collect();
    all.sort_unstable();
    assert_eq!(all, members.iter().map(String::as_str).collect::<Vec<_>>());
    // At most one in-flight window was sent, of the 100 calls the job holds.
    let sent = emu
        .stats()
        .count_of("ban_group_member", ErrorCode::InvalidGroupId);
    assert_eq!(sent, report.calls);
    assert!((1..=64).contains(&sent), "{sent} calls sent");
}

#[tokio::test]
async fn a_per_member_failure_never_stops_the_job() {
    let (_emu, client) = setup(Emulator::builder().strict_accounts(true)).await;
    let mut members = names("ok", 200);
    for i in [3, 77, 150] {
        members[i] = format!("bad.{i}");
    }
    let report = client
        .ban_members(G, &members, BanDuration::from_secs(60).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(report.stopped, None);
    assert!(report.not_attempted.is_empty());
    assert_eq!(report.failed.len(), 3);
    assert_eq!(report.succeeded.len(), 197);
}

#[tokio::test]
async fn a_call_refused_for_one_member_is_split_to_find_it() {
    let (emu, client) = setup(Emulator::builder().strict_accounts(true)).await;
    let mut members = names("ok", 43);
    members.insert(7, "bad.name".to_owned());
    members.insert(30, "naïve".to_owned());
    let report = client
        .ban_members(G, &members, BanDuration::from_secs(60).unwrap(), None)
        .await
        .unwrap();
    let failed: Vec<&str> = report.failed.iter().map(|f| f.member.as_str()).collect();
    assert_eq!(failed, ["bad.name", "naïve"]);
    assert!(report
        .failed
        .iter()
        .all(|f| f.code == Some(10004) && f.reason.contains("outside [A-Za-z0-9_-]")));
    assert_eq!(report.succeeded.len(), 43);
    assert_eq!(emu.group(G).unwrap().banned.len(), 43);
    // 3 calls, two refused; each refused call of 20 is halved down to the bad member.
    assert!(
        report.calls > 3 && report.calls <= 3 + 2 * 2 * 5,
        "{}",
        report.calls
    );
}

#[tokio::test]
async fn the_paging_stream_ends_in_both_paging_modes() {
    for paging in [Paging::Standard, Paging::Sample] {
        let (emu, client) = setup(Emulator::builder().paging(paging)).await;
        for n in [0usize, 2, 100, 250] {
            emu.reset();
            let members = names("p", n);
            if n > 0 {
                client
                    .ban_members(G, &members, BanDuration::from_secs(60).unwrap(), None)
                    .await
                    .unwrap();
            }
            let before = emu.stats().accepted("get_group_ban_member");
            let listed: Vec<_> = client
                .banned_members(G)
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            assert_eq!(listed.len(), n, "{paging:?}");
            let pages = emu.stats().accepted("get_group_ban_member") - before;
            // Standard ends on NextOffset 0; the sample's mode needs one
            // more request, answered with an empty page, when the last page
            // is not full.
            let full_pages = n.div_ceil(100).max(1) as u64;
            let want = match paging {
                Paging::Sample if n > 0 => full_pages + 1,
                _ => full_pages,
            };
            assert_eq!(pages, want, "{paging:?} {n}");
        }
    }
}

#[tokio::test]
async fn retry_after_a_minute_is_never_retried_within_it() {
    let (emu, client) = setup(
        Emulator::builder()
            .fault_rate(1.0)
            .fault_kinds([FaultKind::ServiceError])
            .fault_error(70050, 0),
    )
    .await;
    let started = Instant::now();
    let report = client
        .ban_members(
            G,
            &names("v", 60),
            BanDuration::from_secs(60).unwrap(),
            None,
        )
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(report.retries, 0, "no retry inside the minute");
    assert_eq!(report.failed.len(), 60);
    assert!(report
        .failed
        .iter()
        .all(|f| f.code == Some(70050) && f.reason.contains("retry after one minute")));
    assert_eq!(emu.stats().faults.service_error, 3);
}

#[tokio::test]
async fn a_sensitive_description_stops_the_job() {
    let (emu, client) = setup(Emulator::builder().sensitive_word("casino")).await;
    let report = client
        .ban_members(
            G,
            &names("s", 2000),
            BanDuration::from_secs(60).unwrap(),
            Some("spam for an online CASINO"),
        )
        .await
        .unwrap();
    let stop = report.stopped.expect("stopped");
    assert_eq!(stop.kind, StopKind::Description);
    assert_eq!(stop.code, Some(80001));
    assert!(
        emu.stats()
            .count_of("ban_group_member", ErrorCode::SensitiveContent)
            <= 64
    );
    assert_eq!(report.failed.len() + report.not_attempted.len(), 2000);
}
