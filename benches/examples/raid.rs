//! A raid on a live room, end to end: the emulator (in process, at the
//! service's 200 calls/s) calling `banctl serve` (release build) back.
//! 50 viewers joined earlier; 10,000 bots join within 2 s, then each
//! sends three messages, one in five of them spam (6,000 bots spam: half
//! of them a text the spam rule catches, half a rewrite it does not), and
//! the viewers keep talking. Two runs:
//!
//! - `[raid]` (joins 200 per 2 s, quiet 30 s) beside a spam rule that
//!   bans: newcomers are refused at the before-send answer, at no call;
//!   spammers are banned;
//! - the control, today's answer: a join-rate ban rule (`max_joins`, the
//!   same 200 per 2 s) beside the same spam rule.
//!
//! Each says: spam delivered to viewers after the trip, newcomers'
//! messages delivered, viewers' messages delivered, REST calls before the
//! first spammer is banned, the time to the last spammer banned against
//! the ban floor (their calls of 20 at 200/s), viewers acted on, 60007.
//!
//! Then silence before ban: 10,000 members each send one caught spam at
//! once (no raid mode); the time from the last callback until none of them
//! can send (muted or banned) and until all are banned, with serve's
//! default `--silence-first-over 2000` and with it off (0), the control.
//!
//! `cargo build --release -p ban-cli && cargo run --release -p ban-benches --example raid`
//! (`BANCTL=path` for another binary).
#![allow(unused_crate_dependencies)] // an example sees all its package's dependencies

#[path = "common/serve.rs"]
mod serve;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serve::{emulator_calling, free_port, start_serve_bin};

const G: &str = "@TGS#aRAID";
const VIEWERS: usize = 50;
const BOTS: usize = 10_000;
/// Spam the rule catches, and spam it does not (a rewrite).
const SPAM: &str = "FREE COINS at scam.example";
const EVASIVE: &str = "gifts for everyone, visit scam dot example";

const SPAM_RULE: &str = r#"
[[rule]]
name = "spam"
on = "message"
contains_any = ["free coins"]
block = true
ladder = ["ban 1d"]
"#;

const RAID: &str = r#"
[raid]
joins = { count = 200, per = "2s" }
quiet = "30s"
newcomer_code = 10150
newcomer_message = "New members can chat once the raid is over"
"#;

const JOIN_RATE: &str = r#"
[[rule]]
name = "join rate"
on = "join"
max_joins = { count = 200, per = "2s" }
ladder = ["ban 1h"]
"#;

/// Whether bot `i`'s `k`th message is spam: one in five.
fn is_spam(i: usize, k: usize) -> bool {
    (i * 3 + k).is_multiple_of(5)
}

/// Whether bot `i`'s spam is the kind the rule catches (even bots).
fn caught(i: usize) -> bool {
    i.is_multiple_of(2)
}

/// One message sent: by a viewer or a bot, spam or not, when, its code.
struct Sent {
    viewer: bool,
    spam: bool,
    at_ms: u64,
    code: i64,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// When the audit log says raid mode tripped, if it did.
fn tripped_ms(audit: &std::path::Path) -> Option<u64> {
    std::fs::read_to_string(audit)
        .ok()?
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["kind"] == "raid" && l["outcome"] == "tripped")
        .and_then(|l| l["time_ms"].as_u64())
}

async fn run(name: &str, rules: &str) -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("raid-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let audit = dir.join("audit.jsonl");
    let port = free_port();
    let emu = emulator_calling(G, port).await;
    let bin = std::env::var("BANCTL").unwrap_or_else(|_| "target/release/banctl".to_owned());
    let audit_arg = audit.to_string_lossy().into_owned();
    let _serve = start_serve_bin(
        &bin,
        true,
        &emu,
        port,
        rules,
        &dir,
        &["--audit", &audit_arg],
    );
    let viewers: Vec<String> = (0..VIEWERS).map(|i| format!("viewer{i:02}")).collect();
    let bots: Vec<String> = (0..BOTS).map(|i| format!("bot{i:05}")).collect();
    for v in &viewers {
        emu.join(G, v)?;
    }
    // Out of the join window before the surge.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let calls_before = emu.stats().total_calls;
    let joined = Instant::now();
    let joined_ms = now_ms();
    for chunk in bots.chunks(500) {
        for b in chunk {
            emu.join(G, b)?;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let join_secs = joined.elapsed().as_secs_f64();
    // The after-join callbacks reach serve.
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Three rounds: every bot and every viewer speaks once a round.
    let mut sends = Vec::new();
    for k in 0..3 {
        for (i, b) in bots.iter().enumerate() {
            let text = match (is_spam(i, k), caught(i)) {
                (true, true) => SPAM,
                (true, false) => EVASIVE,
                _ => "hello",
            };
            sends.push((false, is_spam(i, k), b.clone(), text));
        }
        for v in &viewers {
            sends.push((true, false, v.clone(), "great stream"));
        }
    }
    // The first ban, and the calls spent until it, watched throughout.
    let emu_ref = &emu;
    let watch = async move {
        loop {
            if emu_ref.group(G).is_some_and(|g| !g.banned.is_empty()) {
                return (now_ms(), emu_ref.stats().total_calls - calls_before);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    let sending = Instant::now();
    let sends = futures_util::stream::iter(sends)
        .map(|(viewer, spam, who, text)| async move {
            let code = emu_ref.client_send(G, &who, text).await.code();
            Sent {
                viewer,
                spam,
                at_ms: now_ms(),
                code,
            }
        })
        .buffer_unordered(256)
        .collect::<Vec<Sent>>();
    let (sent, first_ban) =
        tokio::join!(sends, tokio::time::timeout(Duration::from_secs(90), watch));
    let first_ban = first_ban.ok();
    let send_secs = sending.elapsed().as_secs_f64();
    let first_spam_ms = sent
        .iter()
        .filter(|s| s.spam)
        .map(|s| s.at_ms)
        .min()
        .unwrap_or(0);
    // The spammers the rule can know: those whose spam it catches.
    let spammers: HashSet<&String> = bots
        .iter()
        .enumerate()
        .filter(|(i, _)| caught(*i) && (0..3).any(|k| is_spam(*i, k)))
        .map(|(_, b)| b)
        .collect();
    // Until every one of them is banned (or a minute has passed).
    let started = Instant::now();
    let all_banned_ms = loop {
        let g = emu.group(G).ok_or("no group")?;
        let banned: HashSet<&str> = g.banned.iter().map(|b| b.member_account.as_str()).collect();
        if spammers.iter().all(|s| banned.contains(s.as_str())) {
            break Some(now_ms());
        }
        if started.elapsed() > Duration::from_secs(60) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };

    let g = emu.group(G).ok_or("no group")?;
    let acted: HashSet<&str> = g
        .banned
        .iter()
        .map(|b| b.member_account.as_str())
        .chain(g.muted.iter().map(|m| m.member_account.as_str()))
        .collect();
    let viewers_acted = viewers
        .iter()
        .filter(|v| acted.contains(v.as_str()))
        .count();
    let stats = emu.stats();
    let trip = tripped_ms(&audit);
    let after = |s: &Sent| trip.is_none_or(|t| s.at_ms >= t);
    let spam_delivered = sent
        .iter()
        .filter(|s| s.spam && s.code == 0 && after(s))
        .count();
    let bot_delivered = sent
        .iter()
        .filter(|s| !s.viewer && s.code == 0 && after(s))
        .count();
    let viewer_sent = sent.iter().filter(|s| s.viewer).count();
    let viewer_delivered = sent.iter().filter(|s| s.viewer && s.code == 0).count();
    let ban_calls = spammers.len().div_ceil(20);
    let floor = ban_calls as f64 / 200.0;
    println!(
        "== {name}: {BOTS} bots joined in {join_secs:.1} s; {} messages sent in {send_secs:.1} s; {} bots spam, {} of them with spam the rule catches",
        sent.len(),
        2 * spammers.len(),
        spammers.len()
    );
    match trip {
        Some(t) => println!(
            "raid mode tripped {:.3} s after the first bot joined",
            t.saturating_sub(joined_ms) as f64 / 1000.0
        ),
        None => println!("raid mode: none"),
    }
    println!(
        "spam delivered to the viewers after the trip: {spam_delivered}; newcomers' messages delivered: {bot_delivered} of {}",
        sent.len() - viewer_sent
    );
    println!("viewers' messages delivered: {viewer_delivered} of {viewer_sent}");
    match first_ban {
        Some((_, calls)) => println!("REST calls before the first ban: {calls}"),
        None => println!("no ban"),
    }
    match (all_banned_ms, trip) {
        (Some(t), trip) => println!(
            "every caught spammer banned {:.3} s after the first spam{} (ban floor for {}: {ban_calls} calls at 200/s, {floor:.3} s; the spam came over {send_secs:.1} s)",
            t.saturating_sub(first_spam_ms) as f64 / 1000.0,
            trip.map_or(String::new(), |tr| format!(
                ", {:.3} s after the trip",
                t.saturating_sub(tr) as f64 / 1000.0
            )),
            spammers.len()
        ),
        (None, _) => println!("not every caught spammer was banned within 60 s"),
    }
    println!(
        "calls: {} ban, {} mute; viewers acted on: {viewers_acted}; 60007: {}",
        stats.accepted("ban_group_member")
            + stats.count_of("ban_group_member", ban_proto::ErrorCode::RestRateLimited),
        stats.accepted("forbid_send_msg"),
        stats.rate_limited
    );
    Ok(())
}

/// 10,000 members' spam at once: how soon none can send, and all are banned.
async fn silence(name: &str, silence_over: &str) -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("silence-{silence_over}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let port = free_port();
    let emu = emulator_calling(G, port).await;
    let bin = std::env::var("BANCTL").unwrap_or_else(|_| "target/release/banctl".to_owned());
    let _serve = start_serve_bin(
        &bin,
        true,
        &emu,
        port,
        SPAM_RULE,
        &dir,
        &["--silence-first-over", silence_over],
    );
    let members: Vec<String> = (0..BOTS).map(|i| format!("m{i:05}")).collect();
    for m in &members {
        emu.join(G, m)?;
    }
    let emu_ref = &emu;
    let started = Instant::now();
    let started_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    futures_util::stream::iter(members.iter())
        .map(|m| async move { emu_ref.client_send(G, m, SPAM).await })
        .buffer_unordered(512)
        .collect::<Vec<_>>()
        .await;
    let sent = started.elapsed().as_secs_f64();
    let last = Instant::now();
    let (mut silenced, mut banned) = (None, None);
    while banned.is_none() && last.elapsed() < Duration::from_secs(60) {
        let g = emu.group(G).ok_or("no group")?;
        let done: HashSet<&str> = g.banned.iter().map(|b| b.member_account.as_str()).collect();
        let quiet: HashSet<&str> = g
            .muted
            .iter()
            .map(|m| m.member_account.as_str())
            .chain(done.iter().copied())
            .collect();
        if silenced.is_none() && quiet.len() == members.len() {
            silenced = Some(last.elapsed().as_secs_f64());
        }
        if done.len() == members.len() {
            banned = Some(last.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stats = emu.stats();
    let bans = stats.commands.get("ban_group_member");
    let span = bans.map_or(0, |c| {
        c.last_accepted_ms.saturating_sub(c.first_accepted_ms)
    });
    let first_ban = bans.map_or(0, |c| c.first_accepted_ms.saturating_sub(started_ms));
    println!(
        "   the first ban call {:.3} s after the first callback; the ban calls spanned {:.3} s",
        first_ban as f64 / 1000.0,
        span as f64 / 1000.0
    );
    println!(
        "== {name} (--silence-first-over {silence_over}): {BOTS} spam callbacks in {sent:.2} s; after the last: none can send {}, all banned {} ({} after the first; ban floor: 500 calls at 200/s, 2.500 s); {} mute and {} ban calls, 60007: {}",
        silenced.map_or("-".to_owned(), |s| format!("{s:.3} s")),
        banned.map_or("not within 60 s".to_owned(), |s| format!("{s:.3} s")),
        banned.map_or("-".to_owned(), |s| format!("{:.3} s", s + sent)),
        stats.accepted("forbid_send_msg"),
        stats.accepted("ban_group_member"),
        stats.rate_limited
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    run("raid mode", &format!("{SPAM_RULE}{RAID}")).await?;
    run("control: join-rate ban", &format!("{SPAM_RULE}{JOIN_RATE}")).await?;
    silence("silence before ban", "2000").await?;
    silence("control: bans alone", "0").await?;
    Ok(())
}
