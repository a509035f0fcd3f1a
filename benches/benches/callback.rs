//! What a callback costs `banctl serve` before it answers: reading the
//! query, checking the signature (SHA-256 and a constant-time compare),
//! decoding the body and deciding from the rules, beside the bare SHA-256
//! of the same input (the floor: the signature alone).
#![allow(unused_crate_dependencies)] // a bench sees all its package's dependencies

use std::hint::black_box;

use ban_callback::{sign, Callback, CallbackQuery, CallbackToken, Verifier};
use ban_rules::Rules;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sha2::{Digest, Sha256};

/// The house rules every moderation test and bench judges by.
const RULES: &str = include_str!("../../crates/ban-rules/tests/fixtures/house.toml");

fn callback(c: &mut Criterion) {
    let token = CallbackToken::new("the-console-token");
    let time = "1764547200";
    let query = format!(
        "SdkAppid=1400000000&CallbackCommand=Group.CallbackBeforeSendMsg&contenttype=json&ClientIP=203.0.113.7&OptPlatform=Android&Sign={}&RequestTime={time}",
        sign(&token, time)
    );
    let body = br#"{"CallbackCommand":"Group.CallbackBeforeSendMsg","GroupId":"@TGS#aLIVE","Type":"AVChatRoom","From_Account":"viewer123","Operator_Account":"","Random":123456,"OnlineOnlyFlag":0,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"what a great stream, greetings from Lisbon"}}],"CloudCustomData":"","EventTime":1764547200123}"#;
    let verifier = Verifier::new(1_400_000_000, Some(token.clone()));
    let rules = Rules::parse(RULES).unwrap();
    let now = 1_764_547_201;

    let mut g = c.benchmark_group("callback");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sha256_baseline", |b| {
        b.iter(|| {
            let mut h = Sha256::new();
            h.update(b"the-console-token");
            h.update(black_box(time).as_bytes());
            black_box(h.finalize())
        })
    });
    g.bench_function("verify", |b| {
        b.iter(|| {
            let q = CallbackQuery::parse(black_box(&query)).unwrap();
            verifier.verify(&q, now).unwrap();
        })
    });
    g.bench_function("verify_decode_decide", |b| {
        b.iter(|| {
            let q = CallbackQuery::parse(black_box(&query)).unwrap();
            verifier.verify(&q, now).unwrap();
            let cb = Callback::decode(&q.command, black_box(body)).unwrap();
            black_box(rules.judge(&cb))
        })
    });
    g.finish();
}

criterion_group!(benches, callback);
criterion_main!(benches);
