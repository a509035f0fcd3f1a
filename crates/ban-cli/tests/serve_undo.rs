//! `banctl undo --audit`: serve's actions of one rule in a time range taken
//! back exactly, through real `banctl emulator`, `banctl serve` and
//! `banctl undo` processes on loopback. Serve reads each account's mute
//! (or ban) before its call and writes it in the action's audit line; the
//! undo gives it back, leaves alone what changed since, and `/metrics`
//! counts the reversals per rule.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::fleet::{names, wait_for};
use common::serve::{audit_lines, emulator_calling, free_port, metrics_text, send, start_serve};
use common::{json, stderr, Emu, G};
use serde_json::json;

const RULES: &str = r#"
[[rule]]
name = "names"
on = "join"
contains_any = ["bot"]
ladder = ["mute 1h", "ban 7d"]
window = "24h"

[[rule]]
name = "links"
on = "message"
contains_any = ["http://"]
block = true
ladder = ["mute 10m"]
window = "24h"
"#;

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
            let account = m["Member_Account"].as_str().unwrap().to_owned();
            (account, m[end].as_u64().unwrap())
        })
        .collect()
}

/// Every one of `from` sends `text`, refused before it is sent (10016).
fn spam(emu: &Emu, from: &[String], text: &str) {
    for b in from {
        assert_eq!(send(emu, b, text), 10016, "{b}: {text}");
    }
}

/// Each of `members` joins (again), which the join rule judges.
fn join(emu: &Emu, members: &[String]) {
    for m in members {
        emu.control_post("join", &json!({"GroupId": G, "Member_Account": m}));
    }
}

fn actions_done(serve_audit: &std::path::Path, rule: &str) -> usize {
    audit_lines(serve_audit)
        .iter()
        .filter(|l| l["kind"] == "action" && l["rule"] == rule && l["outcome"] == "done")
        .count()
}

fn mute(emu: &Emu, members: &[String], duration: &str) {
    let mut args = vec!["mute", "--group", G, "--duration", duration, "--json"];
    for m in members {
        args.extend_from_slice(&["--member", m]);
    }
    let out = emu.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn serves_actions_of_one_rule_in_a_time_range_are_undone_exactly() {
    let port = free_port();
    let emu = emulator_calling(port, "serveundo");
    let bots = names("bot", 60);
    // Before serve: the bots join, and a moderator mutes 10 for 3 hours.
    join(&emu, &bots);
    mute(&emu, &bots[..10], "3h");
    let serve = start_serve(&emu, port, RULES, &[]);
    // Before the range: 10 bots muted by the links rule, 10 by the join
    // rule.
    spam(&emu, &bots[50..], "see http://x");
    join(&emu, &bots[40..50]);
    wait_for(
        "the actions before the range",
        Duration::from_secs(30),
        || actions_done(&serve.audit, "links") == 10 && actions_done(&serve.audit, "names") == 10,
    );
    std::thread::sleep(Duration::from_millis(1_100));
    let since = (common::serve::now_unix()).to_string();
    let (muted_before, banned_before) = (list(&emu, "Muted"), list(&emu, "Banned"));
    assert_eq!((muted_before.len(), banned_before.len()), (30, 0));

    // The range: 40 bots join again and are muted for an hour (the 10
    // muted for 3 hours get a shorter end), 10 of them join once more and
    // are banned for 7 days.
    join(&emu, &bots[..40]);
    wait_for("the first offences", Duration::from_secs(30), || {
        actions_done(&serve.audit, "names") == 50
    });
    join(&emu, &bots[20..30]);
    wait_for("the raid's actions", Duration::from_secs(30), || {
        actions_done(&serve.audit, "names") == 60
    });
    let lines = audit_lines(&serve.audit);
    let first = lines
        .iter()
        .find(|l| l["kind"] == "action" && l["account"] == "bot0" && l["step"] == "mute 1h")
        .unwrap();
    assert!(
        first["before"]["until"].as_u64().is_some() && first["ends"].as_u64().is_some(),
        "the action's line keeps what it replaced: {first}"
    );
    assert_eq!(list(&emu, "Banned").len(), 10);
    // Since then a moderator mutes bot35 for 5 hours: not the rule's to undo.
    mute(&emu, &bots[35..36], "5h");
    let moderated = list(&emu, "Muted")["bot35"];

    let out = emu.run(&[
        "undo",
        "--audit",
        serve.audit.to_str().unwrap(),
        "--rule",
        "names",
        "--since",
        &since,
        "--by",
        "oncall-ana",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    let undos = v["undos"].as_array().unwrap();
    assert_eq!(undos.len(), 2, "the mutes and the bans of the group: {v}");
    let count =
        |key: &str| -> usize { undos.iter().map(|u| u[key].as_array().unwrap().len()).sum() };
    eprintln!(
        "undo of the rule's actions: {} lifted, {} restored, {} left alone",
        count("lifted"),
        count("restored"),
        count("left_alone")
    );
    assert_eq!((count("lifted"), count("restored")), (29 + 10, 10));
    let left: Vec<&str> = undos
        .iter()
        .flat_map(|u| u["left_alone"].as_array().unwrap())
        .map(|l| l["member"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["bot35"]);

    // The state before the range, member for member and end for end, but
    // for the moderator's later mute; the actions before the range and the
    // other rule's stay.
    let mut expected = muted_before.clone();
    expected.insert("bot35".into(), moderated);
    let after = list(&emu, "Muted");
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (m, end) in &expected {
        assert!(
            end.abs_diff(after[m]) <= 1,
            "{m}: {end} before, {} after",
            after[m]
        );
    }
    assert!(list(&emu, "Banned").is_empty());

    // Run again: nothing more is sent, the ledger counts it once.
    let calls = emu.control("stats")["commands"]["forbid_send_msg"]["accepted"].as_u64();
    let out = emu.run(&[
        "undo",
        "--audit",
        serve.audit.to_str().unwrap(),
        "--rule",
        "names",
        "--since",
        &since,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        emu.control("stats")["commands"]["forbid_send_msg"]["accepted"].as_u64(),
        calls
    );
    let text = metrics_text(&serve.addr);
    assert!(
        text.contains("rule_reversals_total{rule=\"names\"} 49"),
        "{text}"
    );
    assert!(
        text.contains("rule_reversals_total{rule=\"links\"} 0"),
        "{text}"
    );
    let undo_lines: Vec<_> = audit_lines(&serve.audit)
        .into_iter()
        .filter(|l| l["kind"] == "undo")
        .collect();
    assert!(
        undo_lines
            .iter()
            .any(|l| l["by"] == "oncall-ana" && l["rule"] == "names"),
        "the audit names who ran it: {undo_lines:?}"
    );
    let state_reads = text
        .lines()
        .find(|l| l.starts_with("serve_state_read_calls_total"))
        .unwrap_or_default()
        .to_owned();
    eprintln!("serve: {state_reads}");
}
