//! Two `banctl serve` instances behind one load balancer, sharing one real
//! redis-server: their joins count toward one surge, the newcomers one saw
//! join are refused by the other, one of them freezes the room, and
//! `banctl raid status|off|on` reads and forces it on both. The control:
//! the same joins split between two instances without Redis trip nothing.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::time::Duration;

use ban_fleet::testing::RedisServer;
use common::fleet::wait_for;
use common::serve::{
    audit_lines, free_port, now_unix, post, signed_query, start_serve, Serve, TOKEN,
};
use common::{json, start_emulator, Emu, G};
use serde_json::{json, Value};

/// 30 joins within 2 s trip it: more than either instance sees alone.
const RAID: &str = r#"
[raid]
joins = { count = 30, per = "2s" }
quiet = "1m"
newcomer_code = 10150
newcomer_message = "New members can chat once the raid is over"
freeze = true
"#;

fn callback(emu: &Emu, serve: &Serve, command: &str, body: &Value) -> Value {
    let app = emu.info["sdkappid"].to_string();
    let q = signed_query(&app, command, TOKEN, now_unix());
    let (status, text) = post(&serve.addr, &q, &body.to_string());
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn join(emu: &Emu, serve: &Serve, who: &[String]) {
    let list: Vec<Value> = who.iter().map(|m| json!({"Member_Account": m})).collect();
    let body = json!({"GroupId": G, "Type": "AVChatRoom", "JoinType": "Apply",
        "Operator_Account": who[0], "NewMemberList": list});
    callback(emu, serve, "Group.CallbackAfterNewMemberJoin", &body);
}

/// The before-send answer to `from`'s message, through `serve`.
fn says(emu: &Emu, serve: &Serve, from: &str) -> i64 {
    let body = json!({"GroupId": G, "Type": "AVChatRoom", "From_Account": from, "Random": rand_u64(),
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello"}}]});
    let v = callback(emu, serve, "Group.CallbackBeforeSendMsg", &body);
    v["ErrorCode"].as_i64().unwrap()
}

fn rand_u64() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    N.fetch_add(1, Ordering::Relaxed)
}

fn raid_lines(serves: &[&Serve], outcome: &str) -> Vec<Value> {
    serves
        .iter()
        .flat_map(|s| audit_lines(&s.audit))
        .filter(|l| l["kind"] == "raid" && l["outcome"] == outcome)
        .collect()
}

fn freezes(emu: &Emu) -> u64 {
    emu.control("stats")["commands"]["modify_group_base_info"]["accepted"]
        .as_u64()
        .unwrap_or(0)
}

/// 40 bots join, 20 through each instance; then each instance is asked
/// about a bot the other saw join, and about a viewer.
fn split_raid(emu: &Emu, a: &Serve, b: &Serve) -> Vec<String> {
    let bots: Vec<String> = (0..40).map(|i| format!("bot{i:02}")).collect();
    for pair in bots.chunks(2) {
        join(emu, a, &pair[..1]);
        join(emu, b, &pair[1..]);
    }
    bots
}

#[test]
fn two_instances_on_one_redis_shield_the_same_cohort() {
    let redis = RedisServer::start().unwrap();
    let url = redis.url();
    let emu = start_emulator("raidshared", &[]);
    let extra = ["--redis", url.as_str()];
    let admin = format!("127.0.0.1:{}", free_port());
    let a = start_serve(
        &emu,
        free_port(),
        RAID,
        &["--redis", url.as_str(), "--metrics-listen", &admin],
    );
    let b = start_serve(&emu, free_port(), RAID, &extra);
    let bots = split_raid(&emu, &a, &b);
    // bot00 joined through a, bot01 through b: each refused by the other,
    // once the other has followed the board (every 50 ms), down to the
    // last pair.
    wait_for("the cohort shared", Duration::from_secs(10), || {
        says(&emu, &b, "bot00") == 10150
            && says(&emu, &a, "bot01") == 10150
            && says(&emu, &b, "bot38") == 10150
            && says(&emu, &a, "bot39") == 10150
    });
    for (i, bot) in bots.iter().enumerate() {
        let other = if i % 2 == 0 { &b } else { &a };
        assert_eq!(says(&emu, other, bot), 10150, "{bot}");
    }
    assert_eq!(says(&emu, &a, "viewer"), 0);
    assert_eq!(says(&emu, &b, "viewer"), 0);
    // One trip, told and acted on by one instance: one freeze.
    wait_for("the room frozen", Duration::from_secs(10), || {
        freezes(&emu) == 1
    });
    let tripped = raid_lines(&[&a, &b], "tripped");
    assert_eq!(tripped.len(), 1, "{tripped:?}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(freezes(&emu), 1, "frozen once, not once per instance");
    assert_eq!(raid_lines(&[&a, &b], "frozen").len(), 1);

    // banctl raid status: the one raid, its 40 newcomers, frozen.
    let status = json(&emu.run(&["raid", "status", "--redis", &url, "--json"]));
    let raids = status["raids"].as_array().unwrap();
    assert_eq!(raids.len(), 1, "{status}");
    assert_eq!(
        (raids[0]["group"].as_str(), raids[0]["cohort"].as_u64()),
        (Some(G), Some(40))
    );
    assert_eq!(raids[0]["frozen"], true);
    assert!(raids[0]["refused"].as_u64().is_some());

    // banctl raid off: both instances let the newcomers speak; the room
    // is thawed.
    let out = emu.run(&["raid", "off", "--group", G, "--redis", &url]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(freezes(&emu), 2, "thawed");
    wait_for("raid mode off on both", Duration::from_secs(10), || {
        says(&emu, &a, "bot00") == 0 && says(&emu, &b, "bot01") == 0
    });
    let again = emu.run(&["raid", "off", "--group", G, "--redis", &url]);
    assert_eq!(again.status.code(), Some(1), "nothing left to end");

    // banctl raid on: the window's joiners are gone (2 s), so the cohort is
    // whoever joins from now; one instance claims it and freezes the room.
    std::thread::sleep(Duration::from_millis(2_100));
    let rules = a.rules.to_str().unwrap();
    let out = emu.run(&[
        "raid", "on", "--group", G, "--rules", rules, "--redis", &url,
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    wait_for("frozen again, once", Duration::from_secs(10), || {
        freezes(&emu) == 3
    });
    join(&emu, &a, &["late".to_owned()]);
    wait_for(
        "a late joiner refused by both",
        Duration::from_secs(10),
        || says(&emu, &b, "late") == 10150 && says(&emu, &a, "late") == 10150,
    );
    assert_eq!(says(&emu, &b, "bot00"), 0, "the earlier cohort is not");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(freezes(&emu), 3);
    assert_eq!(raid_lines(&[&a, &b], "tripped").len(), 2);

    // Off through one instance's metrics port: it ends it in Redis, the
    // other follows, and the room is thawed once.
    let out = emu.run(&["raid", "off", "--group", G, "--serve", &admin]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    wait_for("off on both, thawed", Duration::from_secs(10), || {
        says(&emu, &b, "late") == 0 && says(&emu, &a, "late") == 0 && freezes(&emu) == 4
    });
    assert_eq!(
        raid_lines(&[&a, &b], "ended").len(),
        1,
        "the one banctl did not see"
    );
}

/// The control: the same joins split between two instances without Redis
/// never make 30 on either, so nothing trips and every bot speaks.
#[test]
fn without_redis_the_split_surge_trips_nothing() {
    let emu = start_emulator("raidsplit", &[]);
    let a = start_serve(&emu, free_port(), RAID, &[]);
    let b = start_serve(&emu, free_port(), RAID, &[]);
    let bots = split_raid(&emu, &a, &b);
    std::thread::sleep(Duration::from_millis(300));
    for (i, bot) in bots.iter().enumerate() {
        let other = if i % 2 == 0 { &b } else { &a };
        assert_eq!(says(&emu, other, bot), 0, "{bot}");
    }
    // Even the instance that saw a bot join lets it speak: 20 < 30.
    assert_eq!(says(&emu, &a, "bot00"), 0);
    assert!(raid_lines(&[&a, &b], "tripped").is_empty());
    let out = emu.run(&["raid", "status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("--redis"),
        "{}",
        common::stderr(&out)
    );
}
