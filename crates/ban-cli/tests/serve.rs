//! `banctl serve` end to end: real `banctl emulator` and `banctl serve`
//! processes on loopback, the emulator calling serve back with signed
//! callbacks, serve muting and banning through the emulator's REST API,
//! and a real redis-server for two instances.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use ban_fleet::testing::RedisServer;
use common::fleet::wait_for;
use common::serve::{
    audit_lines, emulator_calling, free_port, group_list, now_unix, post, send, signed_query,
    spam_body, start_serve, TOKEN,
};
use common::{start_emulator, Emu, G};
use serde_json::{json, Value};

const RULES: &str = r#"
[allow]
accounts = ["administrator"]

[[rule]]
name = "spam"
on = "message"
contains_any = ["Free Coins", "buy followers"]
block = true
ladder = ["mute 10m", "mute 1h", "ban 7d"]
window = "24h"
"#;

/// Every bot sends `text` at once (10 clients); each is refused with 10016.
fn spam_all(emu: &Emu, bots: &[String], text: &str) {
    std::thread::scope(|s| {
        for chunk in bots.chunks(bots.len().div_ceil(10)) {
            s.spawn(move || {
                for b in chunk {
                    assert_eq!(send(emu, b, text), 10016, "{b}");
                }
            });
        }
    });
}

fn muted(emu: &Emu) -> Vec<(String, u64)> {
    group_list(emu, "Muted")
        .iter()
        .map(|m| {
            (
                m["Member_Account"].as_str().unwrap().to_owned(),
                m["MutedUntil"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn banned(emu: &Emu) -> Vec<String> {
    let state = emu.control_post("group", &json!({"GroupId": G}));
    state["Banned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Member_Account"].as_str().unwrap().to_owned())
        .collect()
}

fn emu_now(emu: &Emu) -> u64 {
    emu.control("clock")["now"].as_u64().unwrap()
}

fn advance(emu: &Emu, secs: u64) {
    emu.control_post("clock/advance", &json!({"seconds": secs}));
}

#[test]
fn a_raid_is_muted_then_muted_longer_then_banned_and_nobody_else_is_touched() {
    let port = free_port();
    let emu = emulator_calling(port, "serveraid");
    let serve = start_serve(&emu, port, RULES, &[]);
    let bots: Vec<String> = (0..200).map(|i| format!("bot{i:03}")).collect();
    let people: Vec<String> = (0..20).map(|i| format!("viewer{i:02}")).collect();
    for m in bots.iter().chain(&people) {
        emu.control_post("join", &json!({"GroupId": G, "Member_Account": m}));
    }
    let rounds = [(600u64, "mute 10m"), (3600, "mute 1h")];
    for (secs, step) in rounds {
        // The raid: every bot at once. Blocked before it is sent: the
        // sender gets 10016.
        spam_all(&emu, &bots, "FREE COINS here");
        for p in &people {
            assert_eq!(send(&emu, p, "hello everyone"), 0);
        }
        let now = emu_now(&emu);
        wait_for(
            &format!("200 bots muted ({step})"),
            Duration::from_secs(60),
            || {
                muted(&emu)
                    .iter()
                    .filter(|(_, until)| *until >= now + secs - 5)
                    .count()
                    == 200
            },
        );
        let list = muted(&emu);
        assert!(
            list.iter().all(|(m, _)| m.starts_with("bot")),
            "only bots: {list:?}"
        );
        assert!(
            list.iter().all(|(_, until)| *until <= now + secs + 5),
            "{step}: {list:?}"
        );
        // Their mutes lapse before the next round (emulator clock).
        advance(&emu, secs + 1);
        assert!(muted(&emu).is_empty());
    }
    spam_all(&emu, &bots, "buy followers");
    wait_for("200 bots banned (7 days)", Duration::from_secs(60), || {
        banned(&emu).len() == 200
    });
    assert!(banned(&emu).iter().all(|m| m.starts_with("bot")));
    let state = emu.control_post("group", &json!({"GroupId": G}));
    let members = state["Members"].as_array().unwrap();
    assert_eq!(members.len(), 20, "the viewers stay: {members:?}");
    // The audit log: one decision and one action per bot and round, each
    // with its step and result.
    wait_for("every action audited", Duration::from_secs(10), || {
        audit_lines(&serve.audit)
            .iter()
            .filter(|l| l["kind"] == "action")
            .count()
            == 600
    });
    let lines = audit_lines(&serve.audit);
    let decisions: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "decision").collect();
    assert_eq!(decisions.len(), 600);
    for step in ["mute 10m", "mute 1h", "ban 7d"] {
        let n = lines
            .iter()
            .filter(|l| l["kind"] == "action" && l["step"] == step && l["result"] == "done")
            .count();
        assert_eq!(n, 200, "{step}");
    }
    let d = decisions[0];
    assert_eq!(
        (d["rule"].as_str(), d["offence"].as_u64()),
        (Some("spam"), Some(1))
    );
    assert!(
        d["evidence"].as_str().unwrap().contains("FREE COINS"),
        "{d}"
    );
    assert!(lines
        .iter()
        .all(|l| !l["account"].as_str().unwrap_or("bot").starts_with("viewer")));
    let text = std::fs::read_to_string(&serve.audit).unwrap();
    assert!(
        !text.contains(TOKEN),
        "the token never reaches the audit log"
    );
    // Few calls: the offenders of a round were coalesced.
    let stats = emu.control("stats");
    let mutes = stats["commands"]["forbid_send_msg"]["accepted"]
        .as_u64()
        .unwrap();
    let bans = stats["commands"]["ban_group_member"]["accepted"]
        .as_u64()
        .unwrap();
    eprintln!("raid: {mutes} mute calls for 400 mutes, {bans} ban calls for 200 bans");
    // 10 clients sending at once: bursts share calls (a call per offender
    // would be 400 and 200).
    assert!(mutes < 200, "{mutes} mute calls for 400 mutes");
    assert!(
        (10..200).contains(&bans),
        "{bans} ban calls for 200 bans (20 a call)"
    );
}

#[test]
fn bad_signatures_stale_times_and_other_apps_get_401_and_cause_nothing() {
    let emu = start_emulator("serveauth", &[]);
    let serve = start_serve(&emu, free_port(), RULES, &[]);
    let app = emu.info["sdkappid"].to_string();
    let cmd = "Group.CallbackBeforeSendMsg";
    let now = now_unix();
    let good = signed_query(&app, cmd, TOKEN, now);
    let (status, body) = post(&serve.addr, &good, &spam_body("ok-bot", 1));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["ErrorCode"],
        1,
        "blocked: {body}"
    );
    let refused = [
        signed_query(&app, cmd, "wrong-token", now),
        signed_query(&app, cmd, TOKEN, now - 301),
        signed_query(&app, cmd, TOKEN, now + 301),
        format!("SdkAppid={app}&CallbackCommand={cmd}&RequestTime={now}"),
        signed_query("1400000999", cmd, TOKEN, now),
        format!("CallbackCommand={cmd}"),
    ];
    for (i, q) in refused.iter().enumerate() {
        let (status, body) = post(&serve.addr, q, &spam_body(&format!("evil{i}"), 2));
        assert_eq!(status, 401, "{q}: {body}");
        assert!(!body.contains(TOKEN));
    }
    // An unknown command is answered OK, never an error.
    let (status, body) = post(
        &serve.addr,
        &signed_query(&app, "Group.CallbackNew", TOKEN, now),
        "{}",
    );
    assert_eq!(
        (status, body.contains("\"ErrorCode\":0")),
        (200, true),
        "{body}"
    );
    wait_for("the good one acted on", Duration::from_secs(30), || {
        muted(&emu).iter().any(|(m, _)| m == "ok-bot")
    });
    std::thread::sleep(Duration::from_millis(300));
    let list = muted(&emu);
    assert_eq!(list.len(), 1, "nobody refused was acted on: {list:?}");
    // Refusals are audited at most a line per reason per second, each
    // with the count it stands for; metrics count every one.
    let lines = audit_lines(&serve.audit);
    let told: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "refused").collect();
    assert!(
        told.iter()
            .any(|l| l["result"].as_str().unwrap().contains("SdkAppid parameter")),
        "{lines:?}"
    );
    let auth: u64 = told
        .iter()
        .filter(|l| !l["result"].as_str().unwrap().contains("SdkAppid parameter"))
        .map(|l| l["count"].as_u64().unwrap())
        .sum();
    assert!((1..=5).contains(&auth), "{lines:?}");
    // Health and metrics beside the callbacks.
    let mut s = TcpStream::connect(&serve.addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    assert!(
        text.contains("serve_refused_total{reason=\"auth\"} 5"),
        "{text}"
    );
    assert!(
        text.contains("serve_refused_total{reason=\"query\"} 1"),
        "{text}"
    );
    assert!(!text.contains(TOKEN));
}

/// Two instances behind a load balancer: each bot's two offences go one to
/// each instance. Returns the offence numbers the audit logs hold per bot.
fn two_instances(emu: &Emu, extra: &[&str]) -> Vec<Vec<u64>> {
    let a = start_serve(emu, free_port(), RULES, extra);
    let b = start_serve(emu, free_port(), RULES, extra);
    let app = emu.info["sdkappid"].to_string();
    let cmd = "Group.CallbackAfterSendMsg";
    let bots: Vec<String> = (0..30).map(|i| format!("twin{i:02}")).collect();
    for (i, bot) in bots.iter().enumerate() {
        let q = signed_query(&app, cmd, TOKEN, now_unix());
        assert_eq!(post(&a.addr, &q, &spam_body(bot, 2 * i as u64)).0, 200);
        let q = signed_query(&app, cmd, TOKEN, now_unix());
        assert_eq!(post(&b.addr, &q, &spam_body(bot, 2 * i as u64 + 1)).0, 200);
    }
    let decisions = || {
        let mut all = audit_lines(&a.audit);
        all.extend(audit_lines(&b.audit));
        all.into_iter()
            .filter(|l| l["kind"] == "decision")
            .collect::<Vec<_>>()
    };
    wait_for("60 decisions", Duration::from_secs(30), || {
        decisions().len() == 60
    });
    let lines = decisions();
    let actions = || {
        let mut all = audit_lines(&a.audit);
        all.extend(audit_lines(&b.audit));
        all.into_iter()
            .filter(|l| l["kind"] == "action")
            .map(|l| format!("{} {} {}", l["account"], l["step"], l["result"]))
            .collect::<Vec<_>>()
    };
    wait_for("60 actions", Duration::from_secs(30), || {
        actions().len() == 60
    });
    let acts = actions();
    for bot in &bots {
        let of = |step: &str| {
            acts.iter()
                .filter(|a| a.starts_with(&format!("\"{bot}\" \"{step}\"")))
                .count()
        };
        assert_eq!(of("mute 10m") + of("mute 1h"), 2, "{bot}: {acts:?}");
    }
    bots.iter()
        .map(|bot| {
            let mut n: Vec<u64> = lines
                .iter()
                .filter(|l| l["account"] == bot.as_str())
                .map(|l| l["offence"].as_u64().unwrap())
                .collect();
            n.sort_unstable();
            n
        })
        .collect()
}

#[test]
fn two_instances_on_one_redis_escalate_each_offence_once() {
    let redis = RedisServer::start().unwrap();
    let emu = start_emulator("servetwins", &[]);
    let url = redis.url();
    let shared = two_instances(&emu, &["--redis", url.as_str()]);
    assert!(shared.iter().all(|n| n == &[1, 2]), "{shared:?}");
    // What serve keeps in Redis: counts under account names, never the token.
    let keys = std::process::Command::new("redis-cli")
        .args(["-u", url.as_str(), "--scan"])
        .output()
        .unwrap();
    let keys = String::from_utf8(keys.stdout).unwrap();
    assert!(
        keys.lines()
            .any(|k| k.contains(":count:") && k.contains("twin00")),
        "{keys}"
    );
    assert!(!keys.contains(TOKEN));
    for k in keys.lines().filter(|k| k.contains(":count:")) {
        let v = std::process::Command::new("redis-cli")
            .args(["-u", url.as_str(), "GET", k])
            .output()
            .unwrap();
        let v = String::from_utf8(v.stdout).unwrap();
        assert!(v.trim().parse::<u64>().is_ok(), "{k} = {v}");
    }
    // The first offence's shorter mute, not sent yet when the second was
    // counted, is superseded: every bot ends muted for the hour.
    let now = emu_now(&emu);
    wait_for("30 bots muted for an hour", Duration::from_secs(30), || {
        muted(&emu).iter().filter(|(_, u)| *u >= now + 3500).count() == 30
    });
    // The control: without Redis each instance counts alone, and every
    // bot's second offence is taken for a first.
    let emu = start_emulator("servetwins2", &[]);
    let alone = two_instances(&emu, &[]);
    assert!(alone.iter().all(|n| n == &[1, 1]), "{alone:?}");
}

#[cfg(unix)]
#[test]
fn sighup_reloads_the_rules_and_a_bad_file_keeps_the_old_ones() {
    let emu = start_emulator("servehup", &[]);
    let pid_file = emu.dir.join("serve.pid");
    let mut serve = start_serve(
        &emu,
        free_port(),
        RULES,
        &["--pid-file", pid_file.to_str().unwrap()],
    );
    // The reload goes to this serve's own pid, as the docs say.
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    assert_eq!(pid.trim(), serve.child.id().to_string());
    let app = emu.info["sdkappid"].to_string();
    let verdict = |text: &str| {
        let body = json!({"GroupId": G, "From_Account": "someone", "Random": 1,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]})
        .to_string();
        let q = signed_query(&app, "Group.CallbackBeforeSendMsg", TOKEN, now_unix());
        let (status, answer) = post(&serve.addr, &q, &body);
        assert_eq!(status, 200, "{answer}");
        serde_json::from_str::<Value>(&answer).unwrap()["ErrorCode"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(verdict("cheap views here"), 0);
    let hup = || {
        assert!(std::process::Command::new("kill")
            .args(["-HUP", pid.trim()])
            .status()
            .unwrap()
            .success());
    };
    let reloads = |n: usize| {
        wait_for("the reload audited", Duration::from_secs(10), || {
            audit_lines(&serve.audit)
                .iter()
                .filter(|l| l["kind"] == "reload")
                .count()
                == n
        })
    };
    std::fs::write(
        &serve.rules,
        RULES.replace("\"buy followers\"", "\"cheap views\""),
    )
    .unwrap();
    hup();
    reloads(1);
    assert_eq!(verdict("cheap views here"), 1, "the new word blocks");
    std::fs::write(&serve.rules, "[[rule]]\nname = 1\n").unwrap();
    hup();
    reloads(2);
    let lines = audit_lines(&serve.audit);
    let last = lines.iter().rfind(|l| l["kind"] == "reload").unwrap();
    assert!(
        last["result"]
            .as_str()
            .unwrap()
            .contains("the old rules stay"),
        "{last}"
    );
    assert_eq!(verdict("cheap views here"), 1, "the old rules still work");
    // SIGTERM stops it cleanly and takes the pid file away.
    assert!(std::process::Command::new("kill")
        .args(["-TERM", pid.trim()])
        .status()
        .unwrap()
        .success());
    let status = serve.child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", serve.said());
    assert!(!pid_file.exists(), "the pid file outlived serve");
}

/// A masked word reaches the room starred: serve answers the emulator's
/// before-send callback with a replacement `MsgBody`, and the emulator
/// delivers that, not the words sent (it used to deliver the original).
#[test]
fn a_masked_message_is_delivered_starred_to_the_room() {
    const MASK: &str = r#"
[[rule]]
name = "insults"
on = "message"
words_any = ["idiot"]
mask = true
ladder = ["mute 10m"]
window = "24h"
"#;
    let port = free_port();
    let emu = emulator_calling(port, "servemask");
    let _serve = start_serve(&emu, port, MASK, &[]);
    for m in ["rude", "viewer"] {
        emu.control_post("join", &json!({"GroupId": G, "Member_Account": m}));
    }
    assert_eq!(send(&emu, "rude", "you i d i o t"), 0, "delivered, masked");
    assert_eq!(send(&emu, "viewer", "hello all"), 0);
    let inbox = emu.control_post("inbox", &json!({"GroupId": G, "Member_Account": "viewer"}));
    let texts: Vec<&str> = inbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 2, "{inbox}");
    assert!(texts[0].starts_with("you "), "{texts:?}");
    assert!(
        texts[0].contains('*') && !texts[0].contains("d i o"),
        "{texts:?}"
    );
    assert_eq!(texts[1], "hello all", "ordinary chat untouched");
}
