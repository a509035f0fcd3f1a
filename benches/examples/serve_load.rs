//! `banctl serve` under load, as a process (release build) fed by the
//! emulator's callbacks and by a load generator:
//!
//! 1. raid: 1,000 bots each spam once, three times (the emulator's clock
//!    moved past each mute): the time from the last spam until all 1,000
//!    are muted, muted longer, then banned;
//! 2. answer time: signed before-send callbacks at 5,000/s for 10 s over
//!    64 keep-alive connections, p50/p99/max of the answer; again with a
//!    10,000-line `phrases_file`, `words_any` and 20 regexes loaded, and
//!    how long those rules take to load (`Rules::load`, and serve from
//!    spawn to ready);
//! 3. memory: two waves of 1,000,000 distinct offenders (one spam each, a
//!    30 s window), serve's RSS and the keys it counts after each wave and
//!    once its window has ended (the second wave reuses what the first
//!    freed: memory is bounded by the live windows).
//!
//!    The same load on ban-moderation's axum example (the loop mounted in
//!    an axum app) beside it, when that example is built.
//!
//! `cargo build --release -p ban-cli && cargo build --release -p ban-moderation --example axum`
//! `&& cargo run --release -p ban-benches --example serve_load`
//! (`BANCTL=path` for another binary).
#![allow(unused_crate_dependencies)] // an example sees all its package's dependencies

#[path = "common/serve.rs"]
mod serve;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ban_callback::{sign, CallbackToken};
use ban_emulator::Emulator;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serve::{emulator_calling, free_port, start_serve, start_serve_bin, Serve, TOKEN};

const G: &str = "@TGS#aRAID";

fn rules(window: &str) -> String {
    format!(
        r#"
[[rule]]
name = "spam"
on = "message"
contains_any = ["free coins"]
block = true
ladder = ["mute 10m", "mute 1h", "ban 7d"]
window = "{window}"
"#
    )
}

/// The spam rule and the big lists: a 10,000-line `phrases_file` (written
/// into `dir`), `words_any` and 20 regexes.
fn big_rules(dir: &std::path::Path) -> String {
    let mut list = String::from("# 10,000 made-up phrases\n");
    for i in 0..10_000u32 {
        let w = |k: u32| -> String {
            (0..3)
                .map(|j| {
                    [
                        "ka", "zu", "mo", "ri", "te", "xo", "vu", "pa", "qi", "ne", "bo", "ji",
                        "fu", "wy", "go", "hu",
                    ][((k >> (4 * j)) & 15) as usize]
                })
                .collect()
        };
        list.push_str(&format!(
            "{} {}\n",
            w(i),
            w(i.wrapping_mul(2_654_435_761) >> 7)
        ));
    }
    std::fs::write(dir.join("phrases.txt"), list).unwrap();
    let regexes: Vec<String> = (0..20)
        .map(|i| format!("'promo{i}[a-z0-9]{{6,}}now'"))
        .collect();
    format!(
        "{}\n[[rule]]\nname = \"list\"\non = \"message\"\nphrases_file = \"phrases.txt\"\nblock = true\nladder = [\"mute 10m\"]\n\n[[rule]]\nname = \"insults\"\non = \"message\"\nwords_any = [\"ass\", \"idiot\", \"loser\"]\nblock = true\nladder = [\"mute 10m\"]\n\n[[rule]]\nname = \"links\"\non = \"message\"\nregex_any = [{}]\nblock = true\nladder = [\"mute 10m\"]\n",
        rules("24h"),
        regexes.join(", ")
    )
}

fn rss_mb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// A callback URL to `port`, signed now.
fn signed_uri(port: u16, app: u64, command: &str, token: &CallbackToken) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    format!(
        "http://127.0.0.1:{port}/tim/callback?SdkAppid={app}&CallbackCommand={command}&contenttype=json&Sign={}&RequestTime={now}",
        sign(token, &now)
    )
}

fn percentile(v: &mut [u64], p: f64) -> u64 {
    v.sort_unstable();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn spam(from: &str, random: u64) -> Vec<u8> {
    serde_json::json!({"GroupId": G, "Type": "AVChatRoom", "From_Account": from, "Random": random,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": if random.is_multiple_of(100) { "free coins" } else { "hello there" }}}],
        "EventTime": 1_764_547_200_000u64})
    .to_string()
    .into_bytes()
}

/// Signed before-send callbacks at 5,000/s for 10 s over 64 keep-alive
/// connections to `port`: the answers' p50, p99 and max.
async fn answer_load(
    client: &Arc<Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>>,
    port: u16,
    app: u64,
    token: &CallbackToken,
) -> Result<String, Box<dyn std::error::Error>> {
    let per_task = 5000 / 64;
    let seconds = 10;
    let mut tasks = Vec::new();
    let started = Instant::now();
    for t in 0..64u64 {
        let client = client.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / per_task));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut lat = Vec::new();
            for i in 0..per_task * seconds {
                tick.tick().await;
                let uri = signed_uri(port, app, "Group.CallbackBeforeSendMsg", &token);
                let body = spam(&format!("viewer{t}-{i}"), i);
                let req = hyper::Request::post(uri)
                    .body(Full::new(Bytes::from(body)))
                    .unwrap();
                let sent = Instant::now();
                let resp = client.request(req).await.unwrap();
                assert_eq!(resp.status(), 200);
                let _ = resp.into_body().collect().await.unwrap();
                lat.push(sent.elapsed().as_micros() as u64);
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let n = all.len();
    Ok(format!(
        "{n} callbacks in {elapsed:.1} s ({:.0}/s): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        n as f64 / elapsed,
        percentile(&mut all, 0.5) as f64 / 1000.0,
        percentile(&mut all, 0.99) as f64 / 1000.0,
        percentile(&mut all, 1.0) as f64 / 1000.0,
    ))
}

/// ban-moderation's axum example on `port`, or `None` when it is not built.
fn start_axum(emu: &Emulator, port: u16, dir: &std::path::Path) -> Option<Serve> {
    let bin =
        std::env::var("AXUM_EXAMPLE").unwrap_or_else(|_| "target/release/examples/axum".to_owned());
    if !std::path::Path::new(&bin).exists() {
        return None;
    }
    let child = Command::new(&bin)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--rules"])
        .arg(dir.join("rules.toml"))
        .arg("--callback-token-file")
        .arg(dir.join("token"))
        .env("TIM_SDKAPPID", emu.sdkappid().to_string())
        .env("TIM_SECRET_KEY", emu.secret_key().expose())
        .env("TIM_ENDPOINT", emu.endpoint())
        .env("TIM_CA_CERT", dir.join("ca.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the axum example did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    Some(Serve(child))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("serve-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let port = free_port();
    let emu = emulator_calling(G, port).await;
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let client = Arc::new(client);
    let token = CallbackToken::new(TOKEN);
    let app = emu.sdkappid();
    // `serve_load compare OLD_BANCTL`: answer times of this banctl and an
    // older build, alternately (two rounds each), nothing else.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [mode, old] = &args[..] {
        if mode == "compare" {
            let new =
                std::env::var("BANCTL").unwrap_or_else(|_| "target/release/banctl".to_owned());
            for round in 1..=2 {
                for (name, bin, journal) in
                    [("this", new.as_str(), true), ("old", old.as_str(), false)]
                {
                    let port = free_port();
                    let serve = start_serve_bin(bin, journal, &emu, port, &rules("24h"), &dir, &[]);
                    println!(
                        "round {round}, {name} banctl: {}",
                        answer_load(&client, port, app, &token).await?
                    );
                    drop(serve);
                }
            }
            return Ok(());
        }
    }
    let serve = start_serve(&emu, port, &rules("24h"), &dir);

    // 1. The raid.
    let bots: Vec<String> = (0..1000).map(|i| format!("bot{i:04}")).collect();
    for b in &bots {
        emu.join(G, b)?;
    }
    for (what, lapse) in [
        ("muted 10 min", 601u64),
        ("muted 1 h", 3601),
        ("banned 7 d", 0),
    ] {
        let first = Instant::now();
        let sends = bots.iter().map(|b| emu.client_send(G, b, "FREE COINS"));
        let codes = futures_util::future::join_all(sends).await;
        let last = Instant::now();
        let refused = codes.iter().filter(|c| c.code() == 10016).count();
        loop {
            let g = emu.group(G).unwrap();
            let n = if lapse > 0 {
                g.muted.len()
            } else {
                g.banned.len()
            };
            if n == bots.len() {
                break;
            }
            assert!(
                last.elapsed() < Duration::from_secs(60),
                "{n} {what} after 60 s"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        println!(
            "raid: 1000 bots spam ({:.0} ms for all 1000, {refused} refused with 10016): all {what} {} ms after the last spam",
            (last - first).as_secs_f64() * 1000.0,
            last.elapsed().as_millis()
        );
        if lapse > 0 {
            emu.advance_clock(lapse)?;
        }
    }
    let stats = emu.stats();
    println!(
        "raid: {} mute calls and {} ban calls for 2000 mutes and 1000 bans",
        stats.accepted("forbid_send_msg"),
        stats.accepted("ban_group_member")
    );

    // 2. Answer time at 5,000 callbacks/s: banctl serve, then the same
    // loop mounted in an axum app (ban-moderation's example).
    println!(
        "answers, banctl serve: {}",
        answer_load(&client, port, app, &token).await?
    );
    drop(serve);
    let big = big_rules(&dir);
    std::fs::write(dir.join("rules.toml"), &big)?;
    let t = Instant::now();
    let loaded = ban_rules::Rules::load(&dir.join("rules.toml"))?;
    let load_ms = t.elapsed().as_secs_f64() * 1000.0;
    let entries: usize = loaded.rules.iter().map(|r| r.matcher.len()).sum();
    let big_port = free_port();
    let t = Instant::now();
    let serve = start_serve(&emu, big_port, &big, &dir);
    println!(
        "rules with {entries} entries: Rules::load {load_ms:.0} ms; serve ready {:.0} ms after spawn",
        t.elapsed().as_secs_f64() * 1000.0
    );
    println!(
        "answers, banctl serve with 10,000 phrases: {}",
        answer_load(&client, big_port, app, &token).await?
    );
    drop(serve);
    let axum_port = free_port();
    match start_axum(&emu, axum_port, &dir) {
        Some(mounted) => {
            println!(
                "answers, axum-mounted: {}",
                answer_load(&client, axum_port, app, &token).await?
            );
            drop(mounted);
        }
        None => println!("answers, axum-mounted: skipped (build it: cargo build --release -p ban-moderation --example axum)"),
    }

    // 3. Memory after a million distinct offenders.
    let port = free_port();
    let serve = start_serve(&emu, port, &rules("30s"), &dir);
    let pid = serve.0.id();
    let before = rss_mb(pid);
    let keys = || async {
        let req = hyper::Request::get(format!("http://127.0.0.1:{port}/metrics"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let text = client
            .request(req)
            .await
            .unwrap()
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes();
        String::from_utf8_lossy(&text)
            .lines()
            .find_map(|l| l.strip_prefix("serve_counted_keys "))
            .unwrap_or("?")
            .to_owned()
    };
    for wave in 1..=2 {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for t in 0..32u64 {
            let client = client.clone();
            let token = token.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..1_000_000 / 32 {
                    let uri = signed_uri(port, app, "Group.CallbackAfterSendMsg", &token);
                    let body = spam(&format!("w{wave}o{t}-{i}"), 0);
                    let req = hyper::Request::post(uri)
                        .body(Full::new(Bytes::from(body)))
                        .unwrap();
                    let resp = client.request(req).await.unwrap();
                    let _ = resp.into_body().collect().await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await?;
        }
        let sent = started.elapsed().as_secs_f64();
        println!(
            "memory, wave {wave}: serve's RSS {before} MB at start, {} MB after 1,000,000 distinct offenders (sent in {sent:.0} s), {} keys counted",
            rss_mb(pid),
            keys().await
        );
        tokio::time::sleep(Duration::from_secs(40)).await;
        println!(
            "memory, wave {wave}: {} MB and {} keys once their 30 s window ended",
            rss_mb(pid),
            keys().await
        );
    }
    drop(serve);
    emu.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
