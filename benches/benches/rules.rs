//! What the rules cost per message: `Rules::judge` of one before-send
//! callback with 10, 1,000 and 10,000 phrases (`contains_any`) plus 20
//! regexes loaded, beside the baseline of Aho-Corasick alone over the same
//! text with the same phrases (no normaliser, no regexes). After criterion,
//! p50 and p99 of single judgements are printed (200,000 each), the figure
//! the issue's goal is stated in.
#![allow(unused_crate_dependencies)] // a bench sees all its package's dependencies

use std::hint::black_box;
use std::time::Instant;

use aho_corasick::AhoCorasick;
use ban_callback::{Callback, GroupMessage};
use ban_rules::Rules;
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};

const SIZES: [usize; 3] = [10, 1_000, 10_000];

/// Ordinary chat: what nearly every callback carries (no hit, so every
/// list and regex runs to the end).
const TEXT: &str =
    "what a great stream tonight, greetings from Lisbon! see you all tomorrow at 8pm, bring snacks";

const REGEXES: [&str; 20] = [
    r"scam(site|link)(com|net)",
    r"t\.me/[a-z0-9_]{5,}",
    r"wa\.me/[0-9]{6,}",
    r"bit\.ly/[a-z0-9]+",
    r"discord\.gg/[a-z0-9]+",
    r"(buy|cheap)(followers|views|likes)",
    r"free(coins|gems|robux|vbucks)",
    r"\b(crypto|btc|eth)giveaway\b",
    r"earn\d+(usd|dollars)perday",
    r"(whatsapp|telegram)me\d*",
    r"(vx|wx|weixin)[:：]?[a-z0-9_-]{5,}",
    r"qq[:：]?\d{5,}",
    r"加(微|v|薇)信?",
    r"(刷单|兼职)日结",
    r"免费(领取|送)",
    r"私聊(送|领)",
    r"(onlyfans|of)link",
    r"click(my|the)link",
    r"(dm|pm)meforprice",
    r"promo(code)?[a-z0-9]{6,}now",
];

/// `n` distinct phrases: two made-up words each.
fn phrases(n: usize) -> Vec<String> {
    const SYL: [&str; 16] = [
        "ka", "zu", "mo", "ri", "te", "xo", "vu", "pa", "qi", "ne", "bo", "ji", "fu", "wy", "go",
        "hu",
    ];
    (0..n)
        .map(|i| {
            let w = |k: usize| -> String { (0..3).map(|j| SYL[(k >> (4 * j)) & 15]).collect() };
            format!("{} {}", w(i), w(i.wrapping_mul(2_654_435_761) >> 7))
        })
        .collect()
}

fn rules_with(n: usize) -> Rules {
    let list = |v: &[String]| {
        v.iter()
            .map(|p| format!("{p:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let regexes: Vec<String> = REGEXES.iter().map(|r| (*r).to_owned()).collect();
    let text = format!(
        "[[rule]]\nname = \"list\"\non = \"message\"\ncontains_any = [{}]\nblock = true\nladder = [\"mute 10m\"]\n\n[[rule]]\nname = \"links\"\non = \"message\"\nregex_any = [{}]\nblock = true\nladder = [\"mute 10m\"]\n",
        list(&phrases(n)),
        list(&regexes)
    );
    Rules::parse(&text).unwrap()
}

fn message() -> Callback {
    Callback::BeforeSendMsg(GroupMessage::text_message(
        "@TGS#aLIVE",
        "AVChatRoom",
        "viewer123",
        TEXT,
        7,
        0,
    ))
}

fn rules(c: &mut Criterion) {
    let cb = message();
    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Elements(1));
    for n in SIZES {
        let rules = rules_with(n);
        assert!(rules.judge(&cb).matches.is_empty(), "ordinary chat passes");
        g.bench_with_input(BenchmarkId::new("judge", n), &n, |b, _| {
            b.iter(|| black_box(rules.judge(black_box(&cb))))
        });
        let ac = AhoCorasick::new(phrases(n)).unwrap();
        g.bench_with_input(BenchmarkId::new("aho_corasick_baseline", n), &n, |b, _| {
            b.iter(|| black_box(ac.find_iter(black_box(TEXT)).count()))
        });
    }
    g.finish();
}

/// p50 and p99 of single judgements.
fn percentiles() {
    let cb = message();
    for n in SIZES {
        let rules = rules_with(n);
        let mut times: Vec<u128> = (0..200_000)
            .map(|_| {
                let t = Instant::now();
                black_box(rules.judge(black_box(&cb)));
                t.elapsed().as_nanos()
            })
            .collect();
        times.sort_unstable();
        let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize] as f64 / 1_000.0;
        println!(
            "rules/judge/{n}: p50 {:.2} µs, p99 {:.2} µs, max {:.1} µs",
            at(0.5),
            at(0.99),
            at(1.0)
        );
    }
}

criterion_group!(benches, rules);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if !std::env::args().any(|a| a == "--list" || a == "--test") {
        percentiles();
    }
}
