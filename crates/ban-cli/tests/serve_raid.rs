//! The raid shield end to end: `banctl emulator` calling `banctl serve`
//! back; a surge of joins trips raid mode, newcomers are refused at the
//! before-send answer with the app's code and text (no REST call), viewers
//! speak, a spamming newcomer is banned, and raid mode ends by itself.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::time::Duration;

use common::fleet::wait_for;
use common::serve::{audit_lines, emulator_calling, free_port, group_list, start_serve, Serve};
use common::{Emu, G};
use serde_json::{json, Value};

const SPAM: &str = r#"
[[rule]]
name = "spam"
on = "message"
contains_any = ["free coins"]
block = true
ladder = ["ban 1h"]
"#;

const RAID: &str = r#"
[raid]
joins = { count = 20, per = "2s" }
quiet = "8s"
newcomer_code = 10150
newcomer_message = "New members can chat once the raid is over"
"#;

fn send(emu: &Emu, from: &str, text: &str) -> Value {
    emu.control_post(
        "send",
        &json!({"GroupId": G, "From_Account": from, "Text": text}),
    )
}

fn join(emu: &Emu, who: &[String]) {
    for m in who {
        emu.control_post("join", &json!({"GroupId": G, "Member_Account": m}));
    }
}

fn raid_lines(serve: &Serve, outcome: &str) -> Vec<Value> {
    audit_lines(&serve.audit)
        .into_iter()
        .filter(|l| l["kind"] == "raid" && l["outcome"] == outcome)
        .collect()
}

/// Viewers join, wait out the window (2 s, and 1.5 s more for a busy
/// machine's late callbacks), then `bots` join at once.
fn raid(emu: &Emu, viewers: &[String], bots: &[String]) {
    join(emu, viewers);
    std::thread::sleep(Duration::from_millis(3_500));
    join(emu, bots);
}

#[test]
fn a_surge_trips_raid_mode_newcomers_wait_viewers_speak_spammers_are_banned() {
    let port = free_port();
    let emu = emulator_calling(port, "serveraid");
    let serve = start_serve(&emu, port, &format!("{RAID}{SPAM}"), &[]);
    let viewers: Vec<String> = (0..5).map(|i| format!("viewer{i}")).collect();
    let bots: Vec<String> = (0..100).map(|i| format!("bot{i:03}")).collect();
    raid(&emu, &viewers, &bots);
    wait_for("raid mode tripped", Duration::from_secs(20), || {
        !raid_lines(&serve, "tripped").is_empty()
    });
    let tripped = &raid_lines(&serve, "tripped")[0];
    assert_eq!(tripped["group"], G);
    // Every bot is a newcomer once the after-join callbacks are in.
    wait_for("all 100 bots refused", Duration::from_secs(20), || {
        send(&emu, "bot099", "hi")["ErrorCode"] == 10150
    });
    // A newcomer's message: the app's own code and text, nobody gets it.
    let v = send(&emu, "bot000", "hello everyone");
    assert_eq!(v["ErrorCode"], 10150, "{v}");
    assert_eq!(v["ErrorInfo"], "New members can chat once the raid is over");
    // A viewer who joined before the surge speaks as usual.
    let v = send(&emu, "viewer0", "hello everyone");
    assert_eq!(v["ErrorCode"], 0, "{v}");
    // Ten newcomers spam: refused like the rest, and the spam rule still
    // counts them, so they are banned.
    for b in &bots[..10] {
        assert_eq!(
            send(&emu, b, "FREE COINS at scam.example")["ErrorCode"],
            10150
        );
    }
    wait_for("the 10 spammers banned", Duration::from_secs(20), || {
        group_list(&emu, "Banned").len() == 10
    });
    let banned: Vec<String> = group_list(&emu, "Banned")
        .iter()
        .map(|b| b["Member_Account"].as_str().unwrap().to_owned())
        .collect();
    assert!(banned.iter().all(|b| bots[..10].contains(b)), "{banned:?}");
    assert!(group_list(&emu, "Muted").is_empty(), "nobody muted");
    // What the shield cost: no mute call, and only the spammers' ban calls.
    let stats = emu.control("stats");
    assert!(
        stats["commands"]["forbid_send_msg"]["accepted"].is_null()
            || stats["commands"]["forbid_send_msg"]["accepted"] == 0,
        "{stats}"
    );
    let bans = stats["commands"]["ban_group_member"]["accepted"]
        .as_u64()
        .unwrap();
    assert!((1..=10).contains(&bans), "{bans} ban calls for 10 spammers");
    // Quiet for 8 s: raid mode ends by itself and the rest speak again.
    wait_for("raid mode ended", Duration::from_secs(20), || {
        !raid_lines(&serve, "ended").is_empty()
    });
    let v = send(&emu, "bot050", "hello, finally");
    assert_eq!(v["ErrorCode"], 0, "{v}");
    let ended = &raid_lines(&serve, "ended")[0];
    assert!(
        ended["result"]
            .as_str()
            .unwrap()
            .contains("no call made for them"),
        "{ended}"
    );
    let refusing: u64 = raid_lines(&serve, "refusing")
        .iter()
        .map(|l| l["count"].as_u64().unwrap_or(0))
        .sum();
    assert!(refusing >= 12, "refusals told: {refusing}");
}

/// The control: the same raid without `[raid]`: a newcomer's message is
/// delivered, so the shield is what refused them above.
#[test]
fn without_raid_mode_the_same_newcomers_speak() {
    let port = free_port();
    let emu = emulator_calling(port, "servenoraid");
    let serve = start_serve(&emu, port, SPAM, &[]);
    let viewers: Vec<String> = (0..5).map(|i| format!("viewer{i}")).collect();
    let bots: Vec<String> = (0..100).map(|i| format!("bot{i:03}")).collect();
    raid(&emu, &viewers, &bots);
    std::thread::sleep(Duration::from_millis(500));
    let v = send(&emu, "bot000", "hello everyone");
    assert_eq!(v["ErrorCode"], 0, "{v}");
    assert!(raid_lines(&serve, "tripped").is_empty());
}

/// `freeze = true` and `mute_newcomers`: the trip turns `MuteAllMember`
/// on (a viewer's message gets 10017 too) and mutes the cohort 500 a
/// call; the end turns it off: one call each way, told in the audit.
#[test]
fn freeze_turns_the_room_off_and_on_once_and_newcomers_are_muted() {
    let port = free_port();
    let emu = emulator_calling(port, "serveraidfreeze");
    let rules = format!("{RAID}freeze = true\nmute_newcomers = \"10m\"\n{SPAM}");
    let serve = start_serve(&emu, port, &rules, &[]);
    let viewers: Vec<String> = (0..5).map(|i| format!("viewer{i}")).collect();
    let bots: Vec<String> = (0..100).map(|i| format!("bot{i:03}")).collect();
    raid(&emu, &viewers, &bots);
    wait_for("the room frozen", Duration::from_secs(20), || {
        !raid_lines(&serve, "frozen").is_empty()
    });
    let frozen =
        |emu: &Emu| emu.control_post("group", &json!({"GroupId": G}))["MuteAllMember"] == true;
    assert!(frozen(&emu));
    assert_eq!(send(&emu, "viewer0", "hello")["ErrorCode"], 10017);
    wait_for("the 100 newcomers muted", Duration::from_secs(20), || {
        group_list(&emu, "Muted").len() == 100
    });
    let muted: Vec<String> = group_list(&emu, "Muted")
        .iter()
        .map(|m| m["Member_Account"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        muted.iter().all(|m| m.starts_with("bot")),
        "no viewer muted"
    );
    wait_for("the room thawed", Duration::from_secs(30), || {
        !raid_lines(&serve, "thawed").is_empty()
    });
    assert!(!frozen(&emu));
    assert_eq!(send(&emu, "viewer0", "hello again")["ErrorCode"], 0);
    let stats = emu.control("stats");
    assert_eq!(
        stats["commands"]["modify_group_base_info"]["accepted"], 2,
        "{stats}"
    );
    let mutes = stats["commands"]["forbid_send_msg"]["accepted"]
        .as_u64()
        .unwrap();
    // Joins trickle in after the trip, so their mutes come in rounds (20
    // ms each), not 500 a call; a call per newcomer would be 100.
    assert!(
        (1..=50).contains(&mutes),
        "{mutes} mute calls for 100 newcomers"
    );
}

/// `banctl raid --serve ADDR` against one serve without Redis, through its
/// metrics port: forced on, a joiner of the window is refused; status
/// shows it; off lets it speak; the callback port does not take it.
#[test]
fn banctl_raid_forces_one_serve_through_its_metrics_port() {
    let port = free_port();
    let emu = emulator_calling(port, "serveraidctl");
    let admin = format!("127.0.0.1:{}", free_port());
    let serve = start_serve(&emu, port, RAID, &["--metrics-listen", &admin]);
    join(&emu, &["early".to_owned()]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(send(&emu, "early", "hi")["ErrorCode"], 0, "no raid yet");
    let raid = |args: &[&str]| {
        let mut all = vec!["raid"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--serve", &admin]);
        emu.run(&all)
    };
    let out = raid(&["on", "--group", G]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert_eq!(send(&emu, "early", "hi")["ErrorCode"], 10150);
    assert_eq!(
        raid(&["on", "--group", G]).status.code(),
        Some(1),
        "on already"
    );
    let status = common::json(&raid(&["status", "--json"]));
    assert_eq!(status["raids"][0]["group"], G, "{status}");
    assert_eq!(status["raids"][0]["cohort"], 1, "{status}");
    assert_eq!(raid(&["off", "--group", G]).status.code(), Some(0));
    assert_eq!(send(&emu, "early", "hi")["ErrorCode"], 0);
    assert_eq!(
        raid(&["off", "--group", G]).status.code(),
        Some(1),
        "off already"
    );
    assert_eq!(raid_lines(&serve, "tripped").len(), 1);
    assert_eq!(raid_lines(&serve, "ended").len(), 1);
    // The callback port, facing the internet, does not take it.
    let out = emu.run(&["raid", "off", "--group", G, "--serve", &serve.addr]);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("HTTP 4"),
        "{}",
        common::stderr(&out)
    );
}
