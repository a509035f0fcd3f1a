//! Serialization on the hot path: ban-proto into a reused buffer, beside a
//! plain `#[derive(Serialize)]` struct of owned Strings (what peers do).
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use ban_benches::{accounts, ban_request, member_names};
use ban_proto::{BanListResponse, Envelope};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde::{Deserialize, Serialize};
use std::hint::black_box;

#[derive(Serialize)]
struct BaselineBan {
    #[serde(rename = "GroupId")]
    group_id: String,
    #[serde(rename = "Members_Account")]
    members: Vec<String>,
    #[serde(rename = "Duration")]
    duration: u32,
    #[serde(rename = "Description")]
    description: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct BaselineEntry {
    #[serde(rename = "Member_Account")]
    member: String,
    #[serde(rename = "BannedUntil")]
    until: u64,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct BaselineList {
    #[serde(rename = "ActionStatus")]
    status: String,
    #[serde(rename = "ErrorCode")]
    code: i64,
    #[serde(rename = "ErrorInfo", default)]
    info: String,
    #[serde(rename = "BannedAccountList", default)]
    list: Vec<BaselineEntry>,
    #[serde(rename = "NextOffset", default)]
    next: u64,
}

fn requests(c: &mut Criterion) {
    let mut g = c.benchmark_group("serialize_ban_request");
    for n in [1usize, 20] {
        let names = member_names("member", n);
        let accts = accounts(&names);
        let req = ban_request(&accts);
        let mut buf = Vec::with_capacity(1024);
        ban_proto::encode_into(&req, &mut buf).unwrap();
        g.throughput(Throughput::Bytes(buf.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("ban_proto_reused_buffer", n),
            &n,
            |b, _| {
                b.iter(|| {
                    buf.clear();
                    ban_proto::encode_into(black_box(&req), &mut buf).unwrap();
                    black_box(buf.len())
                })
            },
        );
        g.bench_with_input(BenchmarkId::new("owned_strings_baseline", n), &n, |b, _| {
            b.iter(|| {
                let owned = BaselineBan {
                    group_id: "@TGS#aBENCH".to_owned(),
                    members: black_box(&names).clone(),
                    duration: 3600,
                    description: "spam".to_owned(),
                };
                black_box(serde_json::to_vec(&owned).unwrap())
            })
        });
    }
    g.finish();
}

fn responses(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode_response");
    let ok = br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#;
    g.throughput(Throughput::Bytes(ok.len() as u64));
    g.bench_function("envelope", |b| {
        b.iter(|| black_box(serde_json::from_slice::<Envelope>(black_box(ok)).unwrap()))
    });
    g.bench_function("envelope_value_baseline", |b| {
        b.iter(|| black_box(serde_json::from_slice::<serde_json::Value>(black_box(ok)).unwrap()))
    });
    let list = serde_json::json!({
        "ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "",
        "BannedAccountList": (0..100).map(|i| serde_json::json!({"Member_Account": format!("member{i:05}"), "BannedUntil": 1_800_000_000u64 + i})).collect::<Vec<_>>(),
        "NextOffset": 100
    })
    .to_string();
    g.throughput(Throughput::Bytes(list.len() as u64));
    g.bench_function("ban_list_100", |b| {
        b.iter(|| black_box(serde_json::from_str::<BanListResponse>(black_box(&list)).unwrap()))
    });
    g.bench_function("ban_list_100_owned_baseline", |b| {
        b.iter(|| black_box(serde_json::from_str::<BaselineList>(black_box(&list)).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, requests, responses);
criterion_main!(benches);
