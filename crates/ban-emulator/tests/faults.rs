//! Fault injection: each kind observable, deterministic for a seed.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::time::{Duration, Instant};

use ban_emulator::{Emulator, FaultKind};
use bytes::Bytes;
use common::*;
use http_body_util::Full;

const G: &str = "g1";
const BODY: &str = r#"{"GroupId":"g1","Members_Account":["a"],"Duration":60}"#;

/// Sends `n` calls one after another; records what each met.
async fn outcomes(emu: &Emulator, n: usize) -> Vec<String> {
    let c = raw_client(emu, false);
    let mut out = Vec::new();
    for _ in 0..n {
        let req = hyper::Request::post(format!(
            "{}/v4/group_open_http_svc/ban_group_member?{}",
            emu.endpoint(),
            admin_query(emu)
        ))
        .body(Full::new(Bytes::from_static(BODY.as_bytes())))
        .unwrap();
        let started = Instant::now();
        let res = tokio::time::timeout(Duration::from_millis(1000), c.request(req)).await;
        out.push(match res {
            Err(_) => "timeout".to_owned(),
            Ok(Err(_)) => "dropped".to_owned(),
            Ok(Ok(resp)) if resp.status() == 502 => "502".to_owned(),
            Ok(Ok(resp)) => {
                use http_body_util::BodyExt;
                let v: serde_json::Value =
                    serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes())
                        .unwrap();
                assert!(started.elapsed() < Duration::from_millis(1000));
                code(&v).to_string()
            }
        });
    }
    out
}

#[tokio::test]
async fn every_fault_kind_is_observable_and_counted() {
    let emu = Emulator::builder()
        .group(G)
        .rate_limit(0)
        .fault_rate(0.5)
        .fault_kinds(FaultKind::ALL.iter().copied())
        .fault_delay(Duration::from_secs(3))
        .fault_error(70107, 0)
        .seed(7)
        .start()
        .await
        .unwrap();
    let seen = outcomes(&emu, 60).await;
    for want in ["0", "10002", "502", "dropped", "timeout", "70107"] {
        assert!(
            seen.iter().any(|s| s == want),
            "{want} not seen in {seen:?}"
        );
    }
    let f = emu.stats().faults;
    for (counted, outcome) in [
        (f.internal_error, "10002"),
        (f.bad_gateway, "502"),
        (f.dropped, "dropped"),
        (f.delayed, "timeout"),
        (f.service_error, "70107"),
    ] {
        let observed = seen.iter().filter(|s| *s == outcome).count();
        assert_eq!(counted as usize, observed, "{outcome}");
    }
}

#[tokio::test]
async fn same_seed_same_faults() {
    let start = |seed| {
        Emulator::builder()
            .group(G)
            .rate_limit(0)
            .fault_rate(0.3)
            .seed(seed)
            .start()
    };
    let a = outcomes(&start(42).await.unwrap(), 40).await;
    let b = outcomes(&start(42).await.unwrap(), 40).await;
    let c = outcomes(&start(43).await.unwrap(), 40).await;
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a.iter().any(|s| s != "0"));
}

#[tokio::test]
async fn latency_is_added_to_api_answers() {
    let emu = Emulator::builder()
        .group(G)
        .latency(Duration::from_millis(150))
        .start()
        .await
        .unwrap();
    let started = Instant::now();
    let seen = outcomes(&emu, 1).await;
    assert_eq!(seen, ["0"]);
    assert!(started.elapsed() >= Duration::from_millis(150));
}
