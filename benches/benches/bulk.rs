//! The 10,000-member job against an emulator with 50 ms latency and a
//! 200 calls/s limit: the facade's pipelined bulk ban beside the same job
//! made one call at a time (what peer SDKs do). The floor is 500 calls /
//! 200 per second = 2.5 s.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::time::Duration;

use ban_benches::{emulator, member_names, GROUP};
use ban_emulator::Emulator;
use ban_facade::{BanDuration, Client};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

fn bulk(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let emu = rt.block_on(emulator(
        Emulator::builder()
            .latency(Duration::from_millis(50))
            .rate_limit(200),
    ));
    let client = Client::builder()
        .sdkappid(emu.sdkappid())
        .secret_key(emu.secret_key().expose())
        .endpoint(emu.endpoint())
        .ca_cert_pem(emu.ca_cert_pem().unwrap())
        .build()
        .unwrap();
    let members = member_names("bot", 10_000);
    let hour = BanDuration::from_secs(3600).unwrap();

    let mut g = c.benchmark_group("bulk_ban_10k_50ms_200rps");
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(1));
    g.measurement_time(Duration::from_secs(30));
    g.throughput(Throughput::Elements(members.len() as u64));
    g.bench_function("facade_pipelined", |b| {
        b.to_async(&rt).iter(|| async {
            let report = client
                .ban_members(GROUP, &members, hour, None)
                .await
                .unwrap();
            assert!(report.all_succeeded());
            black_box(report.calls)
        })
    });
    g.bench_function("one_call_at_a_time_baseline", |b| {
        b.to_async(&rt).iter(|| async {
            let mut calls = 0;
            for chunk in members.chunks(20) {
                let report = client.ban_members(GROUP, chunk, hour, None).await.unwrap();
                calls += report.calls;
            }
            black_box(calls)
        })
    });
    g.finish();
    assert_eq!(
        emu.stats().rate_limited,
        0,
        "the job never ran over the service's limit"
    );
}

criterion_group!(benches, bulk);
criterion_main!(benches);
