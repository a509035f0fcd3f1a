//! Bulk jobs when things go wrong, end to end: real banctl processes against
//! `banctl emulator` (a separate process, TLS on loopback).
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::collections::HashSet;
use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{json, members_text as members, start_emulator, stderr, strings, Emu, BAN_STDIN, G};
use serde_json::Value;

/// `banctl ban --json` of the members on stdin in `group`, for an hour.
fn ban_stdin_of(group: &str) -> [&str; 8] {
    [
        "ban",
        "--group",
        group,
        "--members-file",
        "-",
        "--duration",
        "1h",
        "--json",
    ]
}

fn total_calls(emu: &Emu) -> u64 {
    emu.control("stats")["total_calls"].as_u64().unwrap()
}

/// The edition's codes stop a job at once (10059 never bought, 60020
/// expired), and both codes of an unknown group mean "no such group".
#[test]
fn edition_and_unknown_group_codes_stop_a_job_at_once() {
    let bots = members("ed", 10_000);
    let cases: [(&[&str], &str, &str, &str); 3] = [
        (&["--edition", "missing"], G, "edition", "10059"),
        (&["--edition", "expired"], G, "edition", "60020"),
        (
            &["--unknown-group-code", "10010"],
            "@TGS#aGONE",
            "group",
            "10010",
        ),
    ];
    for (flags, group, kind, code) in cases {
        let emu = start_emulator("edition", flags);
        let args = ban_stdin_of(group);
        let started = Instant::now();
        let out = emu.run_stdin(&args, &bots);
        let took = started.elapsed();
        assert_eq!(out.status.code(), Some(2), "{kind}: {}", stderr(&out));
        let v = json(&out);
        assert_eq!(v["stopped"]["kind"], kind, "{v:#}");
        assert_eq!(v["stopped"]["code"].to_string(), code);
        let sent = total_calls(&emu);
        assert!(sent <= 64, "{code}: {sent} calls");
        let not_attempted = v["not_attempted"].as_array().unwrap().len();
        assert_eq!(
            not_attempted + v["failed"].as_array().unwrap().len(),
            10_000
        );
        assert!(not_attempted >= 10_000 - 64 * 20, "{code}: {not_attempted}");
        assert!(took < Duration::from_secs(2), "{code}: {took:?}");
        eprintln!("{code}: exit 2 after {took:?}, {sent} calls");
    }
}

/// A transient code (70202) on 30% of calls is retried: every member done.
#[test]
fn a_transient_code_on_30_percent_of_calls_loses_nobody() {
    let emu = start_emulator(
        "transient",
        &[
            "--fault-rate",
            "0.3",
            "--fault-kinds",
            "service_error",
            "--fault-code",
            "70202",
        ],
    );
    let out = emu.run_stdin(&common::BAN_STDIN, &members("tr", 2_000));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["banned"].as_array().unwrap().len(), 2_000);
    assert!(v["failed"].as_array().unwrap().is_empty());
    assert!(
        v["retries"].as_u64().unwrap() > 0,
        "the faults were retried"
    );
}

#[test]
fn systemic_failures_stop_a_50000_member_job_within_one_window() {
    let emu = start_emulator("systemic", &[]);
    let bots = members("bot", 50_000);
    let cases: [(&[&str], &str, &str); 3] = [
        (&["--secret-key", "wrong-key"], "credentials", "70009"),
        (&["--admin", "moderator7"], "permission", "10007"),
        (&[], "group", "10015"),
    ];
    for (extra, kind, code) in cases {
        let group = if kind == "group" { "@TGS#aGONE" } else { G };
        let before = total_calls(&emu);
        let mut args = ban_stdin_of(group).to_vec();
        args.extend_from_slice(extra);
        let mut cmd = emu.cmd(&args);
        if kind == "credentials" {
            cmd.env_remove("TIM_SECRET_KEY");
        }
        let started = Instant::now();
        let out = common::run_with_stdin(cmd, &bots);
        let took = started.elapsed();
        assert_eq!(out.status.code(), Some(2), "{kind}: {}", stderr(&out));
        let sent = total_calls(&emu) - before;
        assert!(sent <= 64, "{kind}: {sent} calls sent");
        let v = json(&out);
        assert_eq!(v["stopped"]["kind"], kind, "{v:#}");
        assert_eq!(v["stopped"]["code"].to_string(), code);
        let failed = v["failed"].as_array().unwrap().len();
        let not_attempted = v["not_attempted"].as_array().unwrap().len();
        assert_eq!(
            failed + not_attempted,
            50_000,
            "{kind}: every member accounted for"
        );
        assert_eq!(
            failed as u64,
            20 * sent,
            "{kind}: sent calls are the failed members"
        );
        let err = stderr(&out);
        assert!(err.contains("stopped early") && err.contains(code), "{err}");
        assert!(
            err.contains("TIM_") || err.contains("--group"),
            "names what to fix: {err}"
        );
        assert!(took < Duration::from_secs(10), "{kind}: {took:?}");
        eprintln!("{kind}: exit 2 after {took:?}, {sent} calls");
    }
    // The other side: a per-member failure (a strict emulator refusing one
    // account) must not stop a job.
    let strict = start_emulator("perm", &["--strict-accounts"]);
    let out = strict.run_stdin(
        &BAN_STDIN,
        &(members("ok", 100) + "bad.one\n" + &members("more", 100)),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json(&out);
    assert!(v["stopped"].is_null());
    assert_eq!(v["banned"].as_array().unwrap().len(), 200);
    assert_eq!(v["failed"][0]["member"], "bad.one");
}

#[test]
fn an_unreachable_or_silent_endpoint_stops_the_job() {
    let emu = start_emulator("unreach", &[]);
    let bots = members("bot", 5_000);
    // A port nobody listens on: connections are refused.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoint = format!("https://127.0.0.1:{port}");
    let ban = BAN_STDIN;
    let started = Instant::now();
    let out = common::run_with_stdin(emu.cmd_at(&endpoint, &ban), &bots);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(json(&out)["stopped"]["kind"], "unreachable");
    // 2 × the 3 s connect timeout.
    assert!(took < Duration::from_secs(6), "{took:?}");
    eprintln!("refused: exit 2 after {took:?}");

    // A listener that accepts (the kernel's backlog does) and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("https://{}", silent.local_addr().unwrap());
    let started = Instant::now();
    let out = common::run_with_stdin(emu.cmd_at(&endpoint, &ban), &bots);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["stopped"]["kind"], "no_answer", "{v:#}");
    assert_eq!(
        v["failed"].as_array().unwrap().len() + v["not_attempted"].as_array().unwrap().len(),
        5_000
    );
    // 2 × the 5 s attempt timeout, plus one call's retry budget (not per member).
    assert!(took < Duration::from_secs(12), "{took:?}");
    eprintln!("silent: exit 2 after {took:?}");
    drop(silent);
}

#[test]
fn sigint_then_resume_from_the_journal_bans_everyone_exactly_once() {
    let emu = start_emulator("sigint", &[]);
    let journal = emu.dir.join("ban.journal");
    let file = emu.dir.join("bots.txt");
    std::fs::write(&file, members("bot", 10_000)).unwrap();
    let args = [
        "ban",
        "--group",
        G,
        "--members-file",
        file.to_str().unwrap(),
        "--duration",
        "2h",
        "--journal",
        journal.to_str().unwrap(),
        "--json",
    ];
    let mut child = emu
        .cmd(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let first: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(first["stopped"]["kind"], "interrupted");
    let banned1 = strings(&first["banned"]);
    // Said once, with what is done and how to finish.
    let done = format!("interrupted: {} of 10000 done; rerun", banned1.len());
    assert_eq!(err.matches(&done).count(), 1, "{err}");
    assert!(!err.contains("interrupted: interrupted"), "{err}");
    let not_attempted = strings(&first["not_attempted"]);
    assert!(
        !banned1.is_empty() && !not_attempted.is_empty(),
        "{}",
        banned1.len()
    );
    assert_eq!(
        banned1.len() + first["failed"].as_array().unwrap().len() + not_attempted.len(),
        10_000
    );

    let out = emu.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let second = json(&out);
    let banned2 = strings(&second["banned"]);
    let unique: HashSet<&String> = banned2.iter().collect();
    assert_eq!(banned2.len(), 10_000, "each member reported exactly once");
    assert_eq!(unique.len(), 10_000);
    assert_eq!(second["resumed"].as_u64().unwrap() as usize, banned1.len());

    let stats = emu.control("stats");
    let accepted = stats["commands"]["ban_group_member"]["accepted"]
        .as_u64()
        .unwrap();
    assert!(
        accepted <= 500 + 64,
        "{accepted} accepted ban calls over both runs"
    );
    let list = json(&emu.run(&["list", "--group", G, "--json"]));
    let listed: HashSet<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["member"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), 10_000);
    // The resumed calls kept the first run's end time: one BannedUntil (to
    // the second) for the whole job.
    let ends: HashSet<u64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["banned_until"].as_u64().unwrap())
        .collect();
    let (lo, hi) = (ends.iter().min().unwrap(), ends.iter().max().unwrap());
    assert!(hi - lo <= 1, "{lo}..{hi}");
}

#[test]
fn a_torn_journal_resumes_and_another_jobs_journal_is_refused() {
    let emu = start_emulator("journal", &[]);
    let journal = emu.dir.join("j.journal");
    let file = emu.dir.join("m.txt");
    std::fs::write(&file, members("m", 60)).unwrap();
    let args = |group: &str| {
        vec![
            "ban".to_owned(),
            "--group".to_owned(),
            group.to_owned(),
            "--members-file".to_owned(),
            file.to_str().unwrap().to_owned(),
            "--duration".to_owned(),
            "600".to_owned(),
            "--journal".to_owned(),
            journal.to_str().unwrap().to_owned(),
            "--json".to_owned(),
        ]
    };
    let run = |group: &str| {
        let a = args(group);
        emu.run(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let out = run(G);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["calls"], 3);
    let text = std::fs::read_to_string(&journal).unwrap();
    // The header, what the members had before (nothing), three calls.
    assert_eq!(text.lines().count(), 5, "{text}");
    assert!(
        text.lines().nth(1).unwrap().contains("prior_read"),
        "{text}"
    );
    // A crash in the middle of the last record.
    let cut = text.len() - 25;
    std::fs::write(&journal, &text[..cut]).unwrap();
    let out = run(G);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["calls"], 1, "only the torn call is sent again");
    assert_eq!(v["resumed"], 40);
    assert_eq!(v["banned"].as_array().unwrap().len(), 60);
    let text = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(text.lines().count(), 5);
    assert!(text.ends_with('\n'));

    let before = total_calls(&emu);
    let out = run("@TGS#aOTHER");
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert_eq!(v["error"]["exit_code"], 2);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("written for another job: its group is @TGS#aCLI"),
        "{msg}"
    );
    assert_eq!(total_calls(&emu), before, "nothing sent");
}

#[test]
fn members_files_cannot_ban_the_wrong_string() {
    let emu = start_emulator("files", &[]);
    let file = emu.dir.join("raid.txt");
    let text = "\u{feff}raider1 \r\n# the raid of the 25th\r\n\r\nraider2\r\n  raider3\r\n   \r\nraider4\r\n";
    std::fs::write(&file, text).unwrap();
    let ban = [
        "ban",
        "--group",
        G,
        "--members-file",
        file.to_str().unwrap(),
        "--duration",
        "60",
    ];
    let out = emu.run(&ban);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("2 member(s) have leading or trailing whitespace")
            && err.contains("line 1, line 5"),
        "{err}"
    );
    assert!(err.contains("--trim"), "{err}");
    assert_eq!(total_calls(&emu), 0, "nothing sent");

    let out = emu.run(&[&ban[..], &["--trim", "--json"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("trimmed whitespace from 2 member(s)"));
    let banned = strings(&json(&out)["banned"]);
    assert_eq!(banned, ["raider1", "raider2", "raider3", "raider4"]);

    // Not UTF-8: refused with its line.
    std::fs::write(&file, b"ok1\nbad\xff\xfe\n").unwrap();
    let out = emu.run(&ban);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("line 2 is not UTF-8"),
        "{}",
        stderr(&out)
    );

    // Invalid members are named, escaped, with their line and rule.
    let long = "x".repeat(40);
    std::fs::write(&file, format!("ok\n{long}\nbell\u{7}\n")).unwrap();
    let out = emu.run(&ban);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "line 2 \"{long}\": Member_Account is 40 bytes; at most 32 bytes"
        )),
        "{err}"
    );
    assert!(err.contains("line 3 \"bell\\u{7}\""), "{err}");

    // A 10 MB line is quoted by its first 64 bytes, never echoed whole.
    let huge = "y".repeat(10 << 20);
    std::fs::write(&file, format!("ok\n{huge}\n")).unwrap();
    let out = emu.run(&ban);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.len() < 1_000, "{} bytes of error", err.len());
    assert!(
        err.contains(&format!("line 2 \"{}...\"", "y".repeat(64))),
        "{err}"
    );
    assert!(err.contains("at most 32 bytes"), "{err}");
    assert_eq!(total_calls(&emu), 1, "only the --trim run sent");
}

#[test]
fn fifty_thousand_failures_with_a_huge_error_body_stay_small() {
    // Every call answers 70107 with a 1.5 MB ErrorInfo.
    let emu = start_emulator(
        "rss",
        &[
            "--plain",
            "--rate-limit",
            "0",
            "--fault-rate",
            "1",
            "--fault-kinds",
            "service_error",
            "--fault-code",
            "70107",
            "--fault-info-bytes",
            "1500000",
        ],
    );
    let mut cmd = emu.cmd(
        &[
            &BAN_STDIN[..],
            &["--rate", "5000", "--danger-allow-plain-http"],
        ]
        .concat(),
    );
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    let bots = members("bot", 50_000);
    let writer = {
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || std::io::Write::write_all(&mut stdin, bots.as_bytes()))
    };
    let reader = {
        let mut stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut s = String::new();
            stdout.read_to_string(&mut s).map(|_| s)
        })
    };
    // The peak resident set, read until the process ends.
    let mut peak_kb = 0u64;
    while child.try_wait().unwrap().is_none() {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            if let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            {
                peak_kb = peak_kb.max(kb);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    writer.join().unwrap().unwrap();
    let stdout = reader.join().unwrap().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let failed = v["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 50_000);
    assert!(failed
        .iter()
        .all(|f| f["code"] == 70107 && f["reason"].as_str().unwrap().len() < 400));
    eprintln!("peak RSS {} MB", peak_kb / 1024);
    assert!(peak_kb > 0 && peak_kb < 100 * 1024, "peak RSS {peak_kb} kB");
}
