//! Silencing end to end: `banctl mute`, `unmute`, `muted` and fleet mute
//! jobs, and the raid commands `room`, `members`, `nospeak` and `kick`: the
//! built binary against `banctl emulator` over TLS, and a real redis-server.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::process::Child;

use ban_fleet::testing::RedisServer;
use common::fleet::{names, report, submit, worker};
use common::{json, start_emulator, stderr, Emu, G};

fn members_file(emu: &Emu, name: &str, members: &[String]) -> String {
    let file = emu.dir.join(name);
    std::fs::write(&file, members.join("\n")).unwrap();
    file.to_str().unwrap().to_owned()
}

/// `from` says hi in the group through the emulator: its answer.
fn say(emu: &Emu, from: &str) -> serde_json::Value {
    emu.control_post(
        "send",
        &serde_json::json!({"GroupId": G, "From_Account": from, "Text": "hi"}),
    )
}

fn forbid_stats(emu: &Emu) -> serde_json::Value {
    emu.control("stats")["commands"]["forbid_send_msg"].clone()
}

#[test]
fn mute_list_and_unmute_two_thousand_with_json_and_text() {
    let emu = start_emulator("mute", &[]);
    let bots = names("bot", 2000);
    let file = members_file(&emu, "bots.txt", &bots);
    let out = emu.run(&[
        "mute",
        "--group",
        G,
        "--members-file",
        &file,
        "--duration",
        "10m",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["action"], "mute");
    assert_eq!(v["muted"].as_array().unwrap().len(), 2000);
    assert_eq!(v["calls"], 4, "500 a call");
    assert_eq!(forbid_stats(&emu)["accepted"], 4);

    let out = emu.run(&["muted", "--group", G, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list = json(&out);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2000);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for m in list {
        let until = m["muted_until"].as_u64().unwrap();
        assert!((now + 500..=now + 602).contains(&until), "{m}");
    }

    // Permanent: the word in, 4294967295 in the list, "permanently" in text.
    let out = emu.run(&[
        "mute",
        "--group",
        G,
        "--member",
        "owner",
        "--duration",
        "permanent",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("muted 1 of 1"));
    let out = emu.run(&["muted", "--group", G]);
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(text.contains("owner\tpermanently"), "{text}");
    assert_eq!(text.lines().count(), 2001);
    assert!(stderr(&out).contains("2001 muted member(s)"));
    let state = emu.control_post("group", &serde_json::json!({"GroupId": G}));
    let owner = state["Muted"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["Member_Account"] == "owner")
        .cloned()
        .unwrap();
    assert_eq!(owner["MutedUntil"], 4_294_967_295u64);

    let out = emu.run(&["unmute", "--group", G, "--members-file", &file, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(
        (v["unmuted"].as_array().unwrap().len(), &v["calls"]),
        (2000, &4.into())
    );
    let left = json(&emu.run(&["muted", "--group", G, "--json"]));
    assert_eq!(
        left.as_array().unwrap().len(),
        1,
        "only the permanent mute is left"
    );
}

#[test]
fn bad_mute_input_is_refused_naming_the_flag() {
    let emu = start_emulator("mutebad", &[]);
    for (duration, says) in [
        ("0", "use unmute"),
        ("4294967295", "write `permanent`"),
        ("forever", "not a duration"),
    ] {
        let out = emu.run(&[
            "mute",
            "--group",
            G,
            "--member",
            "a",
            "--duration",
            duration,
        ]);
        assert_eq!(out.status.code(), Some(2), "{duration}");
        let err = stderr(&out);
        assert!(
            err.contains("--duration") && err.contains(says),
            "{duration}: {err}"
        );
    }
    let out = emu.run(&["mute", "--group", "", "--member", "a", "--duration", "1m"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("GroupId is empty"),
        "{}",
        stderr(&out)
    );
    let stats = forbid_stats(&emu);
    let sent = stats["accepted"].as_u64().unwrap_or(0) + stats["rejected"].as_u64().unwrap_or(0);
    assert_eq!(sent, 0, "nothing was sent: {stats}");
}

#[test]
fn a_fleet_job_muting_20000_with_two_workers_ends_done() {
    let redis = RedisServer::start().unwrap();
    let emu = start_emulator("mutefleet", &["--rate-limit", "200", "--latency-ms", "20"]);
    let bots = names("fm", 20_000);
    let id = submit(&emu, &redis, &bots, &["--mute", "1h"]);
    let status = json(
        &common::fleet::job(&emu, &redis, &["status", &id, "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(
        (&status["action"], &status["priority"]),
        (&"mute".into(), &"bulk".into()),
        "a fleet job is bulk by default: {status}"
    );
    let workers: Vec<Child> = (0..2).map(|_| worker(&emu, &redis, &[])).collect();
    for w in workers {
        let out = w.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let (out, v) = report(&emu, &redis, &id);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(v["state"], "done");
    assert_eq!(v["action"], "mute");
    assert_eq!(v["muted"].as_array().unwrap().len(), 20_000);
    assert!(v["failed"].as_array().unwrap().is_empty());
    let stats = forbid_stats(&emu);
    let accepted = stats["accepted"].as_u64().unwrap();
    assert!((40..=44).contains(&accepted), "40 calls of 500, {accepted}");
    let list = json(&emu.run(&["muted", "--group", G, "--json"]));
    assert_eq!(list.as_array().unwrap().len(), 20_000);
    let ends: std::collections::HashSet<u64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["muted_until"].as_u64().unwrap())
        .collect();
    assert!(
        ends.len() <= 3,
        "one end, give or take crossed seconds: {ends:?}"
    );

    // An unmute job cancels nothing that is done and lifts them all.
    let id = submit(&emu, &redis, &bots, &["--unmute"]);
    let out = worker(&emu, &redis, &[]).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, v) = report(&emu, &redis, &id);
    assert_eq!(
        (&v["state"], v["unmuted"].as_array().unwrap().len()),
        (&"done".into(), 20_000)
    );
    assert!(json(&emu.run(&["muted", "--group", G, "--json"]))
        .as_array()
        .unwrap()
        .is_empty());
}

/// `banctl room freeze|online|thaw`: one call each; while frozen a
/// member's message (the client's whole path) gets 10017; thawed, it is
/// delivered; a bad group is exit 2 naming the flag before any call.
#[test]
fn room_freeze_counts_and_thaw_with_one_call_each() {
    let emu = start_emulator("room", &[]);
    let send = |from: &str| {
        emu.control_post(
            "send",
            &serde_json::json!({"GroupId": G, "From_Account": from, "Text": "hi"}),
        )["ErrorCode"]
            .as_i64()
            .unwrap()
    };
    for m in ["viewer", "raider"] {
        emu.control_post(
            "join",
            &serde_json::json!({"GroupId": G, "Member_Account": m}),
        );
    }
    assert_eq!(send("raider"), 0);
    let out = emu.run(&["room", "freeze", "--group", G, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["mute_all_member"], "On");
    assert_eq!(send("raider"), 10017);
    assert_eq!(send("viewer"), 10017);
    let out = emu.run(&["room", "online", "--group", G]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");
    let out = emu.run(&["room", "thaw", "--group", G]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("thawed"));
    assert_eq!(send("raider"), 0);
    let stats = emu.control("stats");
    assert_eq!(stats["commands"]["modify_group_base_info"]["accepted"], 2);
    assert_eq!(stats["commands"]["get_online_member_num"]["accepted"], 1);
    let out = emu.run(&["room", "freeze", "--group", " @TGS#aLIVE"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--group"), "{}", stderr(&out));
    assert_eq!(
        emu.control("stats")["commands"]["modify_group_base_info"]["accepted"],
        2
    );
}

/// `banctl nospeak set|get|lift`: one call an account; a silenced
/// account's message is refused in the room with 10017; every account is
/// checked before the first call.
#[test]
fn nospeak_silences_accounts_app_wide_until_lifted() {
    let emu = start_emulator("nospeak", &[]);
    let send = |from: &str| {
        emu.control_post(
            "send",
            &serde_json::json!({"GroupId": G, "From_Account": from, "Text": "hi"}),
        )["ErrorCode"]
            .as_i64()
            .unwrap()
    };
    for m in ["bot1", "bot2", "viewer"] {
        emu.control_post(
            "join",
            &serde_json::json!({"GroupId": G, "Member_Account": m}),
        );
    }
    let out = emu.run(&[
        "nospeak",
        "set",
        "--member",
        "bot1",
        "--member",
        "bot2",
        "--duration",
        "1h",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out).as_array().unwrap().len(), 2);
    assert_eq!(
        (send("bot1"), send("bot2"), send("viewer")),
        (10017, 10017, 0)
    );
    let out = emu.run(&["nospeak", "get", "--member", "bot1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.starts_with("bot1\tgroup ") && text.contains("c2c none"),
        "{text}"
    );
    let out = emu.run(&["nospeak", "lift", "--member", "bot1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!((send("bot1"), send("bot2")), (0, 10017));
    let before = emu.control("stats")["commands"]["setnospeaking"]["accepted"].clone();
    assert_eq!(before, 3);
    // A bad account anywhere: exit 2 naming it, no call at all.
    let out = emu.run(&[
        "nospeak",
        "set",
        "--member",
        "bot3",
        "--member",
        "",
        "--duration",
        "1h",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("Set_Account"), "{}", stderr(&out));
    assert_eq!(
        emu.control("stats")["commands"]["setnospeaking"]["accepted"],
        3
    );
}

/// `banctl members --joined-since`: only those who joined in the last
/// seconds, written as a members file that `mute` takes as it is.
#[test]
fn members_joined_since_writes_a_raids_cohort_as_a_members_file() {
    let emu = start_emulator("members", &[]);
    for m in ["viewer1", "viewer2"] {
        emu.control_post(
            "join",
            &serde_json::json!({"GroupId": G, "Member_Account": m}),
        );
    }
    // JoinTime is in whole seconds: the viewers are 5 s older than the bots.
    std::thread::sleep(std::time::Duration::from_secs(5));
    for i in 0..30 {
        emu.control_post(
            "join",
            &serde_json::json!({"GroupId": G, "Member_Account": format!("bot{i}")}),
        );
    }
    let file = emu.dir.join("cohort.txt");
    let out = emu.run(&[
        "members",
        "--group",
        G,
        "--joined-since",
        "3s",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&file).unwrap();
    let cohort: Vec<&str> = text.lines().collect();
    assert_eq!(cohort.len(), 30, "{text}");
    assert!(cohort.iter().all(|m| m.starts_with("bot")), "{text}");
    assert!(stderr(&out).contains("(of 32 online)"), "{}", stderr(&out));
    // All of them, as JSON.
    let out = emu.run(&["members", "--group", G, "--json"]);
    assert_eq!(json(&out).as_array().unwrap().len(), 32);
    // The file is a members file.
    let out = emu.run(&[
        "mute",
        "--group",
        G,
        "--members-file",
        file.to_str().unwrap(),
        "--duration",
        "10m",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(forbid_stats(&emu)["accepted"], 1);
}

/// `banctl kick`: one call an account from a members file; a kicked
/// client sends nothing until it logs in again; the app admin itself is
/// refused before any call.
#[test]
fn kick_logs_accounts_out_and_refuses_the_admin() {
    let emu = start_emulator("kick", &[]);
    for m in ["bot1", "bot2", "viewer"] {
        emu.control_post(
            "join",
            &serde_json::json!({"GroupId": G, "Member_Account": m}),
        );
    }
    let file = members_file(
        &emu,
        "kick.txt",
        &["bot1".into(), "bot2".into(), "bot1".into()],
    );
    let out = emu.run(&["kick", "--members-file", &file, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = json(&out);
    assert_eq!(
        rows.as_array().unwrap().len(),
        2,
        "each account once: {rows}"
    );
    assert!(
        rows.as_array().unwrap().iter().all(|r| r["kicked"] == true),
        "{rows}"
    );
    let send = |from: &str| say(&emu, from);
    assert_eq!(send("bot1")["error"], "kicked");
    assert_eq!(send("viewer")["ErrorCode"], 0);
    assert_eq!(emu.control("stats")["commands"]["kick"]["accepted"], 2);
    let out = emu.run(&["kick", "--member", "bot3", "--member", "administrator"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("app admin"), "{}", stderr(&out));
    assert_eq!(emu.control("stats")["commands"]["kick"]["accepted"], 2);
}

/// `job submit --kick`: the fleet logs a members file out, one call an
/// account, every account reported; the app admin is refused at submit.
#[test]
fn a_kick_job_logs_a_members_file_out_through_the_workers() {
    let redis = RedisServer::start().unwrap();
    let emu = start_emulator("kickjob", &[]);
    let bots = names("raider", 60);
    for m in bots.iter().chain(["viewer".to_owned()].iter()) {
        emu.control_post(
            "join",
            &serde_json::json!({"GroupId": G, "Member_Account": m}),
        );
    }
    let id = submit(&emu, &redis, &bots, &["--kick"]);
    let out = worker(&emu, &redis, &[]).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (out, v) = report(&emu, &redis, &id);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(v["action"], "kick");
    assert_eq!(v["kicked"].as_array().unwrap().len(), 60, "{v}");
    assert_eq!(emu.control("stats")["commands"]["kick"]["accepted"], 60);
    let send = |from: &str| say(&emu, from);
    assert_eq!(send("raider59")["error"], "kicked");
    assert_eq!(send("viewer")["ErrorCode"], 0);
    // The admin in the file: refused before anything is queued.
    let file = members_file(&emu, "withadmin.txt", &["x".into(), "administrator".into()]);
    let out = common::fleet::job(
        &emu,
        &redis,
        &["submit", "kick", "--group", G, "--members-file", &file],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("app admin"), "{}", stderr(&out));
    let out = common::fleet::job(
        &emu,
        &redis,
        &[
            "submit",
            "--kick",
            "--group",
            G,
            "--member",
            "x",
            "--duration",
            "1h",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(emu.control("stats")["commands"]["kick"]["accepted"], 60);
}
