//! `banctl undo --journal`: real `banctl` processes against the emulator
//! (HTTPS on loopback). A ban and a mute of 10,000 members, some of them
//! banned or muted before with their own ends, taken back exactly; the
//! undo killed half-way and run again.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::fleet::{names, wait_for};
use common::{json, start_emulator, stderr, Emu, G};
use serde_json::{json, Value};

/// The group's list (`Banned` or `Muted`): member → end.
fn list(emu: &Emu, field: &str) -> BTreeMap<String, u64> {
    let state = emu.control_post("group", &json!({"GroupId": G}));
    let end = if field == "Banned" {
        "BannedUntil"
    } else {
        "MutedUntil"
    };
    state[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["Member_Account"].as_str().unwrap().to_owned(),
                m[end].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Every member's end within a second of the other's, and the same members.
fn assert_same(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>, what: &str) {
    let missing: Vec<&String> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    let extra: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: {} missing (e.g. {:?}), {} extra (e.g. {:?})",
        missing.len(),
        missing.first(),
        extra.len(),
        extra.first()
    );
    for (m, end) in before {
        assert!(
            end.abs_diff(after[m]) <= 1,
            "{what}: {m} ended at {end} before, {} after",
            after[m]
        );
    }
}

fn write(emu: &Emu, name: &str, members: &[String]) -> String {
    let f = emu.dir.join(name);
    std::fs::write(&f, members.join("\n")).unwrap();
    f.to_str().unwrap().to_owned()
}

fn run(emu: &Emu, args: &[&str]) -> Value {
    let out = emu.run(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}{}",
        stderr(&out),
        String::from_utf8_lossy(&out.stdout)
    );
    json(&out)
}

fn accepted(emu: &Emu, command: &str) -> u64 {
    emu.control("stats")["commands"][command]["accepted"]
        .as_u64()
        .unwrap_or(0)
}

/// Before: `pre` members banned (or muted) by earlier jobs, 50 at a time,
/// each batch with its own end.
fn earlier(emu: &Emu, verb: &str, pre: &[String]) {
    for (k, batch) in pre.chunks(50).enumerate() {
        let f = write(emu, &format!("{verb}-earlier-{k}.txt"), batch);
        let secs = (3_600 + k * 600).to_string();
        run(
            emu,
            &[
                verb,
                "--group",
                G,
                "--members-file",
                &f,
                "--duration",
                &secs,
                "--json",
            ],
        );
    }
}

#[test]
fn a_ban_of_ten_thousand_is_undone_exactly_even_after_a_kill_half_way() {
    let emu = start_emulator("undoban", &[]);
    let all = names("m", 10_000);
    earlier(&emu, "ban", &all[..1_000]);
    earlier(&emu, "mute", &all[1_000..1_500]);
    let (banned_before, muted_before) = (list(&emu, "Banned"), list(&emu, "Muted"));
    assert_eq!((banned_before.len(), muted_before.len()), (1_000, 500));

    let members = write(&emu, "all.txt", &all);
    let journal = emu.dir.join("ban.journal");
    let j = journal.to_str().unwrap();
    let v = run(
        &emu,
        &[
            "ban",
            "--group",
            G,
            "--members-file",
            &members,
            "--duration",
            "7d",
            "--journal",
            j,
            "--json",
        ],
    );
    assert_eq!(v["banned"].as_array().unwrap().len(), 10_000);
    assert!(
        v["state_read_calls"].as_u64().unwrap() >= 10,
        "the ban list read first: {v}"
    );
    eprintln!(
        "ban of 10,000: {} calls, {} reading the list first",
        v["calls"], v["state_read_calls"]
    );
    assert_eq!(list(&emu, "Banned").len(), 10_000);
    // Since the job, someone else bans 5 of them for 30 days and lifts 5.
    let rebanned: Vec<String> = all[5_000..5_005].to_vec();
    let lifted: Vec<String> = all[6_000..6_005].to_vec();
    let f = write(&emu, "reban.txt", &rebanned);
    run(
        &emu,
        &[
            "ban",
            "--group",
            G,
            "--members-file",
            &f,
            "--duration",
            "30d",
            "--json",
        ],
    );
    let f = write(&emu, "lift.txt", &lifted);
    run(
        &emu,
        &["unban", "--group", G, "--members-file", &f, "--json"],
    );
    let since = list(&emu, "Banned");

    // The undo, slowed and killed half-way.
    let calls_before = accepted(&emu, "unban_group_member");
    let bans_before = accepted(&emu, "ban_group_member");
    let undo_dir = emu.dir.join("ban.journal.undo");
    let mut child = emu
        .cmd(&[
            "undo",
            "--journal",
            j,
            "--by",
            "oncall-ana",
            "--rate",
            "40",
            "--json",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the undo half-way", Duration::from_secs(60), || {
        accepted(&emu, "unban_group_member") - calls_before >= 150
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let half = list(&emu, "Banned");
    assert!(
        half.len() > 1_000 && half.len() < 9_000,
        "half-way: {} banned",
        half.len()
    );
    assert!(undo_dir.join("plan.json").exists());

    let v = run(&emu, &["undo", "--journal", j, "--json"]);
    eprintln!(
        "undo, second run: {} calls, {} members done by the first",
        v["calls"], v["resumed"]
    );
    assert_eq!(v["undid"], "ban");
    assert_eq!(v["by"], "oncall-ana", "the plan keeps who ran it first");
    assert_eq!(v["lifted"].as_array().unwrap().len(), 8_990, "{v:#}");
    assert_eq!(v["restored"].as_array().unwrap().len(), 1_000);
    assert!(v["resumed"].as_u64().unwrap() >= 3_000, "{}", v["resumed"]);
    let alone: Vec<&str> = v["left_alone"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["member"].as_str().unwrap())
        .collect();
    let mut want: Vec<&str> = rebanned.iter().chain(&lifted).map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(alone, want);
    assert!(v["failed"].as_array().unwrap().is_empty());
    // No member sent twice: 8,990 unbans are 450 calls; a kill repeats at
    // most the calls that were on the wire.
    let unban_calls = accepted(&emu, "unban_group_member") - calls_before;
    assert!(
        (450..=450 + 16).contains(&unban_calls),
        "{unban_calls} unban calls"
    );
    eprintln!(
        "undo: {unban_calls} unban calls over both runs, {} ban calls",
        accepted(&emu, "ban_group_member") - bans_before
    );

    // Exactly the state before, but for the 10 changed since the job.
    let mut after = list(&emu, "Banned");
    for m in &rebanned {
        assert_eq!(
            after.remove(m),
            since.get(m).copied(),
            "{m} keeps the later ban"
        );
    }
    for m in &lifted {
        assert!(!after.contains_key(m), "{m} stays unbanned");
    }
    assert_same(&banned_before, &after, "bans");
    assert_same(&muted_before, &list(&emu, "Muted"), "mutes");
    // A third run changes nothing.
    let v = run(&emu, &["undo", "--journal", j, "--json"]);
    assert_eq!(v["calls"], 0, "{v}");
}

#[test]
fn a_mute_of_ten_thousand_is_undone_exactly_and_a_journal_without_the_read_is_refused() {
    let emu = start_emulator("undomute", &[]);
    let all = names("m", 10_000);
    earlier(&emu, "mute", &all[..500]);
    let f = write(&emu, "forever.txt", &all[500..510]);
    run(
        &emu,
        &[
            "mute",
            "--group",
            G,
            "--members-file",
            &f,
            "--duration",
            "permanent",
            "--json",
        ],
    );
    let before = list(&emu, "Muted");
    assert_eq!(before.len(), 510);
    let members = write(&emu, "all.txt", &all);
    let journal = emu.dir.join("mute.journal");
    let j = journal.to_str().unwrap();
    let v = run(
        &emu,
        &[
            "mute",
            "--group",
            G,
            "--members-file",
            &members,
            "--duration",
            "7d",
            "--journal",
            j,
            "--json",
        ],
    );
    assert_eq!(v["state_read_calls"], 1);
    assert_eq!(list(&emu, "Muted").len(), 10_000);
    let v = run(&emu, &["undo", "--journal", j, "--json"]);
    assert_eq!(v["undid"], "mute");
    assert_eq!(v["lifted"].as_array().unwrap().len(), 9_490);
    assert_eq!(v["restored"].as_array().unwrap().len(), 510);
    assert_same(&before, &list(&emu, "Muted"), "mutes");

    // An unban's journal cannot be undone: it says so, naming the file.
    let unban_journal = emu.dir.join("unban.journal");
    let f = write(&emu, "few.txt", &all[..3]);
    run(
        &emu,
        &[
            "unban",
            "--group",
            G,
            "--members-file",
            &f,
            "--journal",
            unban_journal.to_str().unwrap(),
            "--json",
        ],
    );
    let out = emu.run(&["undo", "--journal", unban_journal.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let said = stderr(&out);
    assert!(
        said.contains("unban.journal") && said.contains("only bans and mutes"),
        "{said}"
    );
    let out = emu.run(&[
        "undo",
        "--journal",
        Path::new("/nonexistent/x.journal").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn a_fleet_job_is_undone_exactly_from_what_redis_kept() {
    use common::fleet::{job, submit, worker};
    let redis = ban_fleet::testing::RedisServer::start().unwrap();
    let emu = start_emulator("undojob", &[]);
    let all = names("w", 2_000);
    earlier(&emu, "ban", &all[..200]);
    let before = list(&emu, "Banned");
    assert_eq!(before.len(), 200);
    let id = submit(&emu, &redis, &all, &["--duration", "7d"]);
    let out = worker(&emu, &redis, &[]).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(list(&emu, "Banned").len(), 2_000);
    let url = redis.url();
    let undo_dir = emu.dir.join("job.undo");
    let out = emu.run(&[
        "undo",
        "--job",
        &id,
        "--redis",
        &url,
        "--undo-dir",
        undo_dir.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["lifted"].as_array().unwrap().len(), 1_800, "{v}");
    assert_eq!(v["restored"].as_array().unwrap().len(), 200);
    assert_same(
        &before,
        &list(&emu, "Banned"),
        "bans after the fleet job's undo",
    );
    // Without --redis, --job says what it needs.
    let out = emu.run(&["undo", "--job", &id]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--redis"), "{}", stderr(&out));
    // An unban job kept no earlier state: refused, naming the job.
    let f = write(&emu, "few.txt", &all[..3]);
    let unban = job(
        &emu,
        &redis,
        &["submit", "--group", G, "--members-file", &f, "--unban"],
    )
    .output()
    .unwrap();
    let unban_id = common::fleet::job_id(&unban);
    let out = emu.run(&["undo", "--job", &unban_id, "--redis", &url]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains(&unban_id), "{}", stderr(&out));
}
