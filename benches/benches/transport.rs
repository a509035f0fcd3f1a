//! One ban call's round trip over keep-alive TLS to the emulator (rate
//! limit off), SDK transport beside a bare hyper client sending the same
//! bytes; throughput with 64 calls in flight; and the emulator's own
//! capacity for ban calls.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::time::Duration;

use ban_benches::{
    accounts, ban_request, bare_call, bare_client, emulator, member_names, signed_url, transport,
};
use ban_emulator::Emulator;
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::future::join_all;
use std::hint::black_box;

fn round_trip(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let emu = rt.block_on(emulator(Emulator::builder().rate_limit(0)));
    let t = rt.block_on(async { transport(&emu) });
    let bare = rt.block_on(async { bare_client(&emu) });
    let names = member_names("m", 20);
    let accts = accounts(&names);
    let req = ban_request(&accts);
    let mut body = Vec::new();
    ban_proto::encode_into(&req, &mut body).unwrap();
    let body = Bytes::from(body);
    let url = signed_url(&emu, "ban_group_member");

    let mut g = c.benchmark_group("ban_round_trip");
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(1));
    g.bench_function("bare_hyper_baseline", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(bare_call(&bare, &url, body.clone()).await) })
    });
    g.bench_function("sdk_transport", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(t.call(&req).await.unwrap()) })
    });
    g.finish();

    let mut g = c.benchmark_group("ban_64_in_flight");
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(64));
    g.bench_function("bare_hyper_baseline", |b| {
        b.to_async(&rt).iter(|| async {
            let calls = (0..64).map(|_| bare_call(&bare, &url, body.clone()));
            black_box(join_all(calls).await.len())
        })
    });
    g.bench_function("sdk_transport", |b| {
        b.to_async(&rt).iter(|| async {
            let calls = (0..64).map(|_| t.call(&req));
            black_box(join_all(calls).await.len())
        })
    });
    g.finish();
    drop(rt);
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
