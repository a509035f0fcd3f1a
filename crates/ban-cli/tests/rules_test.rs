//! `banctl serve --record` and `banctl rules test` end to end: a raid
//! through a real emulator and serve, recorded, then replayed by real
//! `banctl rules test` processes; and a shadow rule on a raid.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::fleet::wait_for;
use common::serve::{
    audit_lines, emulator_calling, free_port, group_list, metrics_text, send, start_serve, TOKEN,
};
use common::{bin, json, stderr, tempdir, Emu, G};
use serde_json::{json, Value};

const OLD: &str = r#"
[allow]
accounts = ["administrator"]

[[rule]]
name = "spam"
on = "message"
contains_any = ["free coins"]
block = true
ladder = ["mute 10m", "mute 1h", "ban 7d"]
window = "24h"
"#;

fn join(emu: &Emu, members: &[String]) {
    for m in members {
        emu.control_post("join", &json!({"GroupId": G, "Member_Account": m}));
    }
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:03}")).collect()
}

/// `banctl rules test ARGS` (no credentials needed: nothing is sent).
fn rules_test(args: &[&str]) -> Output {
    Command::new(bin())
        .arg("rules")
        .arg("test")
        .args(args)
        .env_remove("TIM_ENDPOINT")
        .output()
        .unwrap()
}

fn differences(out: &Output) -> Vec<(String, String)> {
    let v = json(out);
    v["differences"]
        .as_array()
        .unwrap_or_else(|| panic!("no differences: {v}"))
        .iter()
        .map(|d| {
            (
                d["account"].as_str().unwrap().to_owned(),
                d["change"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_recorded_raid_replays_to_its_audit_log_and_a_new_word_shows_whom_it_adds() {
    let port = free_port();
    let emu = emulator_calling(port, "rulestest");
    let dir = tempdir("rulestest");
    let rec = dir.join("callbacks.jsonl");
    let serve = start_serve(&emu, port, OLD, &["--record", path(&rec)]);
    let bots = names("bot", 60);
    let sellers = names("seller", 12);
    let viewers = names("viewer", 20);
    join(&emu, &bots);
    join(&emu, &sellers);
    join(&emu, &viewers);
    for b in &bots {
        assert_eq!(send(&emu, b, "FREE COINS at my page"), 10016, "{b}");
    }
    for s in &sellers {
        assert_eq!(send(&emu, s, "cheap likes, dm me"), 0, "{s}");
    }
    for v in &viewers {
        assert_eq!(send(&emu, v, "hello everyone"), 0, "{v}");
    }
    wait_for("60 bots muted", Duration::from_secs(60), || {
        group_list(&emu, "Muted").len() == 60
    });
    wait_for("60 actions audited", Duration::from_secs(20), || {
        audit_lines(&serve.audit)
            .iter()
            .filter(|l| l["kind"] == "action")
            .count()
            == 60
    });
    let audit = serve.audit.clone();
    drop(serve); // the recording is flushed as it goes; a kill loses at most a torn line
    let recorded = std::fs::read_to_string(&rec).unwrap();
    let lines: Vec<Value> = recorded
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 92, "{} lines recorded", lines.len());
    assert!(lines
        .iter()
        .all(|l| l["command"].is_string() && l["t_ms"].is_u64()));
    assert!(!recorded.contains(TOKEN) && !recorded.contains("Sign"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&rec).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the recording holds message text: {mode:o}"
        );
    }
    let old = dir.join("old.toml");
    std::fs::write(&old, OLD).unwrap();
    let new = dir.join("new.toml");
    std::fs::write(
        &new,
        OLD.replace(r#"["free coins"]"#, r#"["free coins", "cheap likes"]"#),
    )
    .unwrap();
    let (rec_s, audit_s, old_s, new_s) = (path(&rec), path(&audit), path(&old), path(&new));

    // The rules that made the raid, against what serve did: the same.
    let out = rules_test(&[
        "--rules",
        old_s,
        "--callbacks",
        rec_s,
        "--audit",
        audit_s,
        "--fail-on-diff",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(differences(&out), vec![]);
    let v = json(&out);
    let spam = &v["rules"][0];
    assert_eq!(
        (spam["rule"].as_str(), spam["offences"].as_u64()),
        (Some("spam"), Some(60)),
        "{v}"
    );
    assert_eq!(spam["steps"]["mute 10m"], 60, "{v}");
    assert_eq!(v["callbacks"].as_u64(), Some(lines.len() as u64));

    // And against themselves replayed.
    let out = rules_test(&[
        "--rules",
        old_s,
        "--callbacks",
        rec_s,
        "--baseline",
        old_s,
        "--fail-on-diff",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(differences(&out), vec![]);

    // A new word: exactly the sellers are newly muted, each with its message.
    let args = [
        "--rules",
        new_s,
        "--callbacks",
        rec_s,
        "--baseline",
        old_s,
        "--fail-on-diff",
        "--json",
    ];
    let out = rules_test(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let want: Vec<(String, String)> = sellers
        .iter()
        .map(|s| (s.clone(), "newly_muted".to_owned()))
        .collect();
    assert_eq!(differences(&out), want);
    let v = json(&out);
    assert!(
        v["differences"][0]["why"]["evidence"]
            .as_str()
            .unwrap()
            .contains("cheap likes"),
        "{v}"
    );
    // Deterministic: byte for byte, as JSON and as text.
    assert_eq!(rules_test(&args).stdout, out.stdout);
    let text_args = &args[..args.len() - 1];
    let text = rules_test(text_args);
    assert_eq!(text.status.code(), Some(1));
    assert_eq!(rules_test(text_args).stdout, text.stdout);
    let said = String::from_utf8(text.stdout).unwrap();
    eprintln!("{}", said.lines().take(8).collect::<Vec<_>>().join("\n"));
    assert!(said.contains("12 account(s) treated differently"), "{said}");
    assert!(
        said.contains("newly muted") && said.contains("seller000"),
        "{said}"
    );
    // Against the audit log, the new rules add the same sellers.
    let out = rules_test(&[
        "--rules",
        new_s,
        "--callbacks",
        rec_s,
        "--audit",
        audit_s,
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "no --fail-on-diff: {}",
        stderr(&out)
    );
    assert_eq!(differences(&out), want);
    // Without a baseline, --fail-on-diff is a usage error.
    let out = rules_test(&["--rules", new_s, "--callbacks", rec_s, "--fail-on-diff"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--baseline"), "{}", stderr(&out));
    // A line that is not a recording is named.
    let bad = dir.join("bad.jsonl");
    std::fs::write(
        &bad,
        format!(
            "{}\nnot json\n{}\n",
            recorded.lines().next().unwrap(),
            recorded.lines().next().unwrap()
        ),
    )
    .unwrap();
    let out = rules_test(&["--rules", new_s, "--callbacks", path(&bad)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("line 2"), "{}", stderr(&out));
}

#[test]
fn a_shadow_rule_on_a_raid_blocks_and_acts_on_no_one_but_counts_every_match() {
    let rules = format!(
        r#"{OLD}
[[rule]]
name = "new-list"
mode = "shadow"
on = "message"
contains_any = ["cheap likes"]
block = true
ladder = ["mute 10m", "ban 7d"]
window = "24h"
"#
    );
    let port = free_port();
    let emu = emulator_calling(port, "shadowraid");
    let metrics = format!("127.0.0.1:{}", free_port());
    let serve = start_serve(&emu, port, &rules, &["--metrics-listen", &metrics]);
    let sellers = names("seller", 40);
    let bots = names("bot", 10);
    join(&emu, &sellers);
    join(&emu, &bots);
    for round in 0..2 {
        for s in &sellers {
            assert_eq!(send(&emu, s, "cheap likes, dm me"), 0, "round {round}: {s}");
        }
    }
    // The enforced rule beside it still works.
    for b in &bots {
        assert_eq!(send(&emu, b, "free coins"), 10016, "{b}");
    }
    wait_for("10 bots muted", Duration::from_secs(60), || {
        group_list(&emu, "Muted").len() == 10
    });
    wait_for(
        "80 shadow decisions audited",
        Duration::from_secs(20),
        || {
            audit_lines(&serve.audit)
                .iter()
                .filter(|l| l["rule"] == "new-list" && l["outcome"] == "shadow")
                .count()
                == 80
        },
    );
    let lines = audit_lines(&serve.audit);
    let shadow: Vec<&Value> = lines.iter().filter(|l| l["rule"] == "new-list").collect();
    assert!(
        shadow.iter().all(|l| l["kind"] == "decision"),
        "no action: {shadow:?}"
    );
    // The ladder climbs in shadow as it would for real.
    let steps: Vec<&str> = shadow
        .iter()
        .map(|l| l["step"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        steps.iter().filter(|s| **s == "ban 7d").count(),
        40,
        "{steps:?}"
    );
    let muted = group_list(&emu, "Muted");
    assert!(
        muted
            .iter()
            .all(|m| m["Member_Account"].as_str().unwrap().starts_with("bot")),
        "{muted:?}"
    );
    assert!(group_list(&emu, "Banned").is_empty());
    let text = metrics_text(&metrics);
    assert!(
        text.contains(r#"serve_shadow_decisions_total{rule="new-list"} 80"#),
        "{text}"
    );
}
