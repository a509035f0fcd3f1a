//! `banctl serve` through a bad night: a kill -9 in the middle of a raid,
//! replayed callbacks, a flood of unsigned requests, a low open files
//! limit. Real processes: serve, the emulator over TLS, redis-server.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use ban_fleet::testing::RedisServer;
use common::fleet::wait_for;
use common::serve::{
    audit_lines, free_port, group_list, metrics_text, now_unix, post, signed_query, spam_body,
    start_serve, Serve, TOKEN,
};
use common::{start_emulator, tempdir, Emu, G};
use serde_json::{json, Value};

const RULES: &str = r#"
[[rule]]
name = "spam"
on = "message"
contains_any = ["free coins"]
block = true
ladder = ["ban 1h", "ban 1d"]
window = "24h"
"#;

fn banned(emu: &Emu) -> HashSet<String> {
    group_list(emu, "Banned")
        .iter()
        .map(|m| m["Member_Account"].as_str().unwrap().to_owned())
        .collect()
}

/// Posts each bot's spam, signed, from 8 threads.
fn spam(serve: &Serve, app: &str, bots: &[String], random: u64) {
    let cmd = "Group.CallbackBeforeSendMsg";
    std::thread::scope(|s| {
        for chunk in bots.chunks(bots.len().div_ceil(8)) {
            s.spawn(move || {
                for b in chunk {
                    let q = signed_query(app, cmd, TOKEN, now_unix());
                    let (status, body) = post(&serve.addr, &q, &spam_body(b, random));
                    assert_eq!(status, 200, "{body}");
                }
            });
        }
    });
}

fn lines_of(paths: &[&Path]) -> Vec<Value> {
    paths.iter().flat_map(|p| audit_lines(p)).collect()
}

/// Decisions (account, offence) queued, and accounts with a done action.
fn decided_and_done(lines: &[Value]) -> (Vec<(String, u64)>, HashSet<String>) {
    let decided = lines
        .iter()
        .filter(|l| l["kind"] == "decision" && l["outcome"] == "queued")
        .map(|l| {
            (
                l["account"].as_str().unwrap().to_owned(),
                l["offence"].as_u64().unwrap(),
            )
        })
        .collect();
    let done = lines
        .iter()
        .filter(|l| l["kind"] == "action" && l["outcome"] == "done")
        .map(|l| l["account"].as_str().unwrap().to_owned())
        .collect();
    (decided, done)
}

/// 2,000 bans decided at a slow rate (10 calls/s, 200 bans/s), serve killed -9 a
/// second in, restarted on the same state directory: every decided member
/// ends banned, every decision has its action line, and a second wave's
/// offences go on from the first's. Returns how many were banned when the
/// kill came, and how many at the end with `fresh_state` restarts (the
/// control: a restart that lost its journal).
fn kill_in_the_middle(tag: &str, extra: &[&str], fresh_state: bool) -> (usize, usize) {
    let emu = start_emulator(tag, &["--rate-limit", "0"]);
    let app = emu.info["sdkappid"].to_string();
    let state = tempdir(tag).join("state");
    let state_s = state.to_str().unwrap().to_owned();
    let mut args: Vec<&str> = vec!["--rate", "10", "--state-dir", &state_s];
    args.extend_from_slice(extra);
    let port = free_port();
    let mut first = start_serve(&emu, port, RULES, &args);
    let bots: Vec<String> = (0..2_000).map(|i| format!("{tag}-bot{i}")).collect();
    spam(&first, &app, &bots, 1);
    wait_for("2,000 decisions", Duration::from_secs(60), || {
        decided_and_done(&audit_lines(&first.audit)).0.len() == 2_000
    });
    std::thread::sleep(Duration::from_millis(500));
    first.child.kill().unwrap(); // SIGKILL
    first.child.wait().unwrap();
    let at_kill = banned(&emu).len();
    assert!(at_kill < 2_000, "the kill came before the end: {at_kill}");

    let other_state = tempdir(tag).join("fresh");
    let other_s = other_state.to_str().unwrap().to_owned();
    let mut args2 = args.clone();
    if fresh_state {
        args2[3] = &other_s;
    }
    let second = start_serve(&emu, port, RULES, &args2);
    if fresh_state {
        std::thread::sleep(Duration::from_secs(3));
        return (at_kill, banned(&emu).len());
    }
    wait_for(
        "every decided member banned",
        Duration::from_secs(120),
        || banned(&emu).len() == 2_000,
    );
    let audits = [first.audit.as_path(), second.audit.as_path()];
    wait_for(
        "an action line for every decision",
        Duration::from_secs(30),
        || {
            let (decided, done) = decided_and_done(&lines_of(&audits));
            decided.iter().all(|(a, _)| done.contains(a))
        },
    );
    // The journal holds decisions, never a secret.
    if let Ok(journal) = std::fs::read_to_string(state.join("journal.jsonl")) {
        let key = emu.info["secret_key"].as_str().unwrap();
        assert!(!journal.contains(TOKEN) && !journal.contains(key));
    }
    // The audit says exactly what reached the service: every account with
    // a done line is banned there.
    let (_, done) = decided_and_done(&lines_of(&audits));
    let there = banned(&emu);
    assert!(done.iter().all(|a| there.contains(a)));
    // What each bot had before (nothing) was kept with its action before
    // the call: one sent again after the kill does not take the ban that
    // landed before it for an earlier state (an undo would keep it).
    let lines = lines_of(&audits);
    let befores: HashSet<String> = lines
        .iter()
        .filter(|l| l["kind"] == "action" && l["outcome"] == "done")
        .map(|l| l["before"].to_string())
        .collect();
    assert_eq!(befores, HashSet::from(["\"nothing\"".to_owned()]));
    // The second wave: offence 2 for each, as the first run counted them.
    spam(&second, &app, &bots[..20], 2);
    wait_for("20 second offences", Duration::from_secs(30), || {
        let (decided, _) = decided_and_done(&audit_lines(&second.audit));
        decided.iter().filter(|(_, n)| *n == 2).count() == 20
    });
    let (decided, _) = decided_and_done(&audit_lines(&second.audit));
    let firsts: HashMap<&str, u64> = decided
        .iter()
        .filter(|(a, _)| bots[..20].contains(a))
        .map(|(a, n)| (a.as_str(), *n))
        .filter(|(_, n)| *n == 1)
        .collect();
    assert!(
        firsts.is_empty(),
        "no offence counted again from 1: {firsts:?}"
    );
    (at_kill, banned(&emu).len())
}

#[test]
fn a_kill_in_the_middle_of_a_raid_loses_no_decided_ban() {
    let (at_kill, end) = kill_in_the_middle("kill", &[], false);
    eprintln!("banned at the kill: {at_kill}; after the restart: {end}");
    assert_eq!(end, 2_000);
    // The control: a restart without the journal leaves the rest unbanned.
    let (at_kill, end) = kill_in_the_middle("killctl", &[], true);
    eprintln!("control: banned at the kill {at_kill}, 3 s after a fresh restart {end}");
    assert!(end < 2_000, "without the journal {end} were banned");
}

#[test]
fn a_kill_with_redis_loses_no_decided_ban_and_counts_go_on() {
    let redis = RedisServer::start().unwrap();
    let url = redis.url();
    let (_, end) = kill_in_the_middle("killr", &["--redis", &url], false);
    assert_eq!(end, 2_000);
}

/// Two instances on one Redis; the one that decided 2,000 bans is killed
/// -9 in the middle: the other takes its actions over and finishes them.
#[test]
fn a_killed_instances_actions_are_finished_by_the_other() {
    let redis = RedisServer::start().unwrap();
    let url = redis.url();
    let emu = start_emulator("takeover", &["--rate-limit", "0"]);
    let app = emu.info["sdkappid"].to_string();
    let args = ["--redis", &url, "--rate", "10", "--takeover-after", "2"];
    let mut a = start_serve(&emu, free_port(), RULES, &args);
    let b = start_serve(&emu, free_port(), RULES, &args);
    let bots: Vec<String> = (0..2_000).map(|i| format!("takeover-bot{i}")).collect();
    spam(&a, &app, &bots, 1);
    wait_for("2,000 decisions", Duration::from_secs(60), || {
        decided_and_done(&audit_lines(&a.audit)).0.len() == 2_000
    });
    std::thread::sleep(Duration::from_millis(300));
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let at_kill = banned(&emu).len();
    assert!(at_kill < 2_000, "the kill came before the end: {at_kill}");
    let started = Instant::now();
    wait_for(
        "every decided member banned",
        Duration::from_secs(120),
        || banned(&emu).len() == 2_000,
    );
    eprintln!(
        "banned at the kill: {at_kill}; all 2,000 {:?} later",
        started.elapsed()
    );
    let audits = [a.audit.as_path(), b.audit.as_path()];
    wait_for(
        "an action line for every decision",
        Duration::from_secs(30),
        || {
            let (decided, done) = decided_and_done(&lines_of(&audits));
            decided.iter().all(|(acct, _)| done.contains(acct))
        },
    );
    let (_, by_b) = decided_and_done(&audit_lines(&b.audit));
    assert!(!by_b.is_empty(), "the other instance acted");
}

/// Redis stalled (SIGSTOP) for the length of a raid: actions go on with
/// this instance's share and local counts, and serve says so once.
#[test]
fn a_stalled_redis_slows_nothing_and_is_said_once() {
    let redis = RedisServer::start().unwrap();
    let url = redis.url();
    let emu = start_emulator("stall", &["--rate-limit", "0"]);
    let app = emu.info["sdkappid"].to_string();
    let serve = start_serve(&emu, free_port(), RULES, &["--redis", &url]);
    let pid = redis.pid().unwrap().to_string();
    let signal = |sig: &str| {
        let ok = std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    };
    signal("-STOP");
    let bots: Vec<String> = (0..100).map(|i| format!("stall-bot{i}")).collect();
    let started = Instant::now();
    spam(&serve, &app, &bots, 1);
    let all = || bots.iter().all(|b| banned(&emu).contains(b));
    let in_time = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        all()
    });
    let took = started.elapsed();
    signal("-CONT");
    eprintln!("100 bans with Redis stopped: {took:?}");
    assert!(in_time, "not all banned within 20 s of Redis stopping");
    wait_for("said once", Duration::from_secs(10), || {
        serve.said().contains("Redis cannot count")
    });
    let said = serve.said();
    assert_eq!(said.matches("Redis cannot count").count(), 1, "{said}");
}

/// One genuine callback posted three times, byte for byte: one offence.
/// The same message without `Random` posted with three signatures (three
/// deliveries) is three offences: only a repeat is a repeat.
#[test]
fn a_replayed_callback_counts_once_and_a_stale_one_is_refused() {
    let emu = start_emulator("replay", &[]);
    let app = emu.info["sdkappid"].to_string();
    let serve = start_serve(&emu, free_port(), RULES, &["--callback-window", "300"]);
    let cmd = "Group.CallbackBeforeSendMsg";
    let no_random = |from: &str| {
        json!({"GroupId": G, "Type": "AVChatRoom", "From_Account": from,
               "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "free coins"}}]})
        .to_string()
    };
    let q = signed_query(&app, cmd, TOKEN, now_unix() - 200);
    for _ in 0..3 {
        let (status, body) = post(&serve.addr, &q, &no_random("replayed"));
        assert_eq!(status, 200);
        assert!(
            body.contains("\"ErrorCode\":1"),
            "answered as before: {body}"
        );
    }
    for t in 0..3 {
        let q = signed_query(&app, cmd, TOKEN, now_unix() - 200 + t);
        assert_eq!(post(&serve.addr, &q, &no_random("control")).0, 200);
    }
    wait_for(
        "the control's three offences",
        Duration::from_secs(30),
        || {
            let (decided, _) = decided_and_done(&audit_lines(&serve.audit));
            decided.iter().filter(|(a, _)| a == "control").count() == 3
        },
    );
    std::thread::sleep(Duration::from_millis(300));
    let (decided, _) = decided_and_done(&audit_lines(&serve.audit));
    let replayed: Vec<u64> = decided
        .iter()
        .filter(|(a, _)| a == "replayed")
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(replayed, [1]);
    // With the default window (60 s) the same request is stale.
    let strict = start_serve(&emu, free_port(), RULES, &[]);
    let (status, body) = post(&strict.addr, &q, &no_random("replayed"));
    assert_eq!(status, 401, "{body}");
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// 20 s of a flood is too long for a test: 3,000 unsigned requests with
/// 60 KB parameters (180 MB sent) leave a few audit lines and little RSS.
#[test]
fn an_unsigned_flood_costs_bounded_disk_and_memory() {
    let emu = start_emulator("flood", &[]);
    let app = emu.info["sdkappid"].to_string();
    let serve = start_serve(&emu, free_port(), RULES, &[]);
    let pid = serve.child.id();
    let before = rss_kb(pid);
    let big = "x".repeat(60_000);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| {
                for _ in 0..500 {
                    let q = format!(
                        "SdkAppid={app}&CallbackCommand={big}&Sign=00&RequestTime={}",
                        now_unix()
                    );
                    let (status, _) = post(&serve.addr, &q, "{}");
                    assert!(status == 401 || status == 431 || status == 400, "{status}");
                }
            });
        }
    });
    let took = started.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    let after = rss_kb(pid);
    let audit = std::fs::metadata(&serve.audit).map_or(0, |m| m.len());
    let lines = audit_lines(&serve.audit);
    eprintln!(
        "3,000 requests of 60 KB in {took:?}: audit {audit} bytes in {} lines, RSS {before} -> {after} kB",
        lines.len()
    );
    // At most a line a second per reason, each a short prefix of the text.
    let secs = took.as_secs() + 2;
    assert!(lines.len() as u64 <= 2 * secs, "{} lines", lines.len());
    assert!(audit < 1_000 * (secs + 1), "{audit} bytes");
    let counted: u64 = lines.iter().filter_map(|l| l["count"].as_u64()).sum();
    assert!(counted > 100, "the lines carry the counts: {counted}");
    assert!(after < before + 64 * 1024, "RSS {before} -> {after} kB");
}

/// CPU time (user + system) of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Posts a signed probe until it is answered 200 (a 503 or a reset is
/// tried again in 200 ms); the answer and how long it took.
fn probe_until_answered(addr: &str, app: &str) -> (String, Duration) {
    let started = Instant::now();
    let body = spam_body("probe", 1);
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "no answer in 40 s"
        );
        let q = signed_query(app, "Group.CallbackBeforeSendMsg", TOKEN, now_unix());
        let Ok(mut s) = TcpStream::connect(addr) else {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        };
        let _ = write!(
            s,
            "POST /tim/callback?{q} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.set_read_timeout(Some(Duration::from_secs(40))).unwrap();
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        if resp.starts_with("HTTP/1.1 200") {
            return (resp, started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// At a 64-descriptor limit with 80 idle connections, serve neither spins
/// nor stops. With the default connection cap (the limit less 128, at
/// least 16) the ones beyond it are told 503 and the descriptors never run
/// out; with a cap above the limit, accepts fail and back off. Either
/// way a signed probe is answered once the idle ones time out (10 s).
#[test]
fn at_the_open_files_limit_serve_keeps_answering() {
    let emu = start_emulator("fdlimit", &[]);
    let app = emu.info["sdkappid"].to_string();
    // The hard limit is the ceiling serve raises its soft limit to.
    let dir = tempdir("fdlimit");
    let wrapper = dir.join("low-fd");
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\nulimit -n 64\nexec {} \"$@\"\n", common::bin()),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for (extra, counted) in [
        (&[][..], "serve_connections_refused_total"),
        (
            &["--max-connections", "1000"][..],
            "serve_accept_errors_total",
        ),
    ] {
        let serve = common::serve::start_serve_via(&wrapper, &emu, free_port(), RULES, extra);
        let pid = serve.child.id();
        let idle: Vec<TcpStream> = (0..80)
            .filter_map(|_| TcpStream::connect(&serve.addr).ok())
            .collect();
        std::thread::sleep(Duration::from_secs(1));
        let ticks = cpu_ticks(pid);
        let (resp, waited) = probe_until_answered(&serve.addr, &app);
        let spent = cpu_ticks(pid) - ticks;
        eprintln!(
            "{extra:?}: {} idle connections; the probe answered in {waited:?}; serve used {spent} ticks meanwhile",
            idle.len()
        );
        assert!(resp.contains("\"ErrorCode\":1"), "{resp}");
        // A spinning accept loop burns a core: ~100 ticks a second.
        let secs = waited.as_secs().max(1);
        assert!(spent < 30 * secs, "{spent} ticks in {secs} s");
        drop(idle);
        std::thread::sleep(Duration::from_millis(200));
        let text = metrics_text(&serve.addr);
        assert!(text.contains(counted), "{counted}: {text}");
    }
}
