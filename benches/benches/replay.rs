//! What `banctl rules test` costs per recorded callback: a recorded line
//! parsed, its body decoded, and the callback fed to a [`Replay`] (judge,
//! event-time counter and ladder), for a day-like mix (95% ordinary chat
//! from 5,000 viewers, 5% spam from 500 bots, 60 callbacks a second of
//! event time). Beside it the baseline of `Rules::judge` alone over the
//! same callbacks: the floor any replay through the same judge pays.
//! The goal: at least 100,000 callbacks a second on one core.
#![allow(unused_crate_dependencies)] // a bench sees all its package's dependencies

use std::hint::black_box;

use ban_callback::Callback;
use ban_moderation::{Recorded, Replay};
use ban_rules::Rules;
use criterion::{criterion_group, BatchSize, Criterion, Throughput};

const LINES: usize = 20_000;

/// The house rules every moderation test and bench judges by.
const RULES: &str = include_str!("../../crates/ban-rules/tests/fixtures/house.toml");

const CHAT: [&str; 4] = [
    "what a great stream tonight, greetings from Lisbon!",
    "see you all tomorrow at 8pm, bring snacks",
    "lol that was close",
    "can you play the song from yesterday again?",
];

/// `LINES` recorded lines as `serve --record` writes them.
fn recording() -> Vec<String> {
    (0..LINES)
        .map(|i| {
            let (from, text) = if i % 20 == 0 {
                (format!("bot{:03}", i % 500), "FREE COINS at t.me/scamsite")
            } else {
                (
                    format!("viewer{:04}", (i * 7) % 5_000),
                    CHAT[i % CHAT.len()],
                )
            };
            let body = serde_json::json!({
                "CallbackCommand": "Group.CallbackBeforeSendMsg",
                "GroupId": "@TGS#aLIVE", "Type": "AVChatRoom", "From_Account": from,
                "Random": i, "MsgTime": 1_780_000_000 + i / 60,
                "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]
            });
            serde_json::json!({
                "t_ms": 1_780_000_000_000u64 + (i as u64 * 1_000) / 60,
                "command": "Group.CallbackBeforeSendMsg",
                "id": format!("{i:016x}"),
                "body": body,
            })
            .to_string()
        })
        .collect()
}

fn replay_all(lines: &[String], mut replay: Replay) -> Replay {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        for l in lines {
            let rec: Recorded<'_> = serde_json::from_str(l).unwrap();
            let cb = Callback::decode(&rec.command, rec.body.get().as_bytes()).unwrap();
            replay.feed(rec.t_ms, rec.id.as_deref(), &cb).await;
        }
    });
    replay
}

fn replay(c: &mut Criterion) {
    let rules = Rules::parse(RULES).unwrap();
    let lines = recording();
    let done = replay_all(&lines, Replay::new(rules.clone()));
    assert_eq!(
        done.stats()[0].offences,
        (LINES / 20) as u64,
        "every spam line"
    );
    let decoded: Vec<Callback> = lines
        .iter()
        .map(|l| {
            let rec: Recorded<'_> = serde_json::from_str(l).unwrap();
            Callback::decode(&rec.command, rec.body.get().as_bytes()).unwrap()
        })
        .collect();
    let mut g = c.benchmark_group("replay");
    g.throughput(Throughput::Elements(LINES as u64));
    g.sample_size(20);
    g.bench_function("parse_decode_feed", |b| {
        b.iter_batched(
            || Replay::new(rules.clone()),
            |r| black_box(replay_all(&lines, r)),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("judge_only_baseline", |b| {
        b.iter(|| {
            for cb in &decoded {
                black_box(rules.judge(black_box(cb)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, replay);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
