//! Every code path of the contract, spoken to the emulator in raw HTTPS.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use ban_emulator::{Emulator, GroupType};
use ban_sign::{SecretKey, Signer};
use common::*;
use serde_json::json;

const G: &str = "@TGS#aJRGC4MH6";

/// The seed's sample request, quoting typo fixed.
const SEED: &str = r#"{"GroupId": "@TGS#aJRGC4MH6", "Members_Account":["brennanli3", "brennanli12"], "Duration":3600, "Description": "you are banned because of irregularities"}"#;

async fn emulator() -> Emulator {
    Emulator::builder().group(G).start().await.unwrap()
}

#[tokio::test]
async fn seed_request_succeeds() {
    let emu = emulator().await;
    let c = raw_client(&emu, false);
    let v = call(&c, &emu, "ban_group_member", SEED).await;
    assert_eq!(
        v,
        json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""})
    );
    let banned = emu.group(G).unwrap().banned;
    assert_eq!(banned.len(), 2);
    assert_eq!(banned[0].banned_until, emu.now() + 3600);
}

#[tokio::test]
async fn query_problems() {
    let emu = emulator().await;
    let c = raw_client(&emu, false);
    let signer = Signer::new(emu.sdkappid(), emu.secret_key().clone());
    let sig = signer.sign("administrator", emu.now(), 3600);
    let sig = sig.expose();
    let base = "/v4/group_open_http_svc/ban_group_member";
    let r = "&random=7";
    let cases: Vec<(String, i64)> = vec![
        (format!("{base}?identifier=administrator&usersig={sig}&contenttype=json{r}"), 60012),
        (format!("{base}?sdkappid=abc&identifier=administrator&usersig={sig}&contenttype=json{r}"), 60006),
        (format!("{base}?sdkappid=42&identifier=administrator&usersig={sig}&contenttype=json{r}"), 70020),
        (format!("{base}?sdkappid=1400000000&usersig={sig}&contenttype=json{r}"), 60004),
        (format!("{base}?sdkappid=1400000000&identifier=administrator&contenttype=json{r}"), 70002),
        (format!("{base}?sdkappid=1400000000&identifier=administrator&usersig=&contenttype=json{r}"), 70002),
        (format!("{base}?sdkappid=1400000000&identifier=administrator&usersig={sig}{r}"), 60002),
        (format!("{base}?sdkappid=1400000000&identifier=administrator&usersig={sig}&contenttype=xml{r}"), 60002),
        (format!("{base}?sdkappid=1400000000&identifier=administrator&usersig={sig}&contenttype=json&random=-1"), 60002),
        (format!("{base}?sdkappid=1400000000&identifier=administrator&usersig={sig}&contenttype=json"), 60002),
    ];
    for (path, want) in cases {
        let (status, v) = send(&c, &emu, "POST", &path, SEED).await;
        assert_eq!((status, code(&v)), (200, want), "{path}: {v}");
        assert_eq!(v["ActionStatus"], "FAIL");
        assert!(!v["ErrorInfo"].as_str().unwrap().is_empty());
        assert_ne!(
            ban_proto::ErrorCode::from_code(want).documented_in(),
            "none found",
            "the emulator answers only documented codes"
        );
    }
    assert!(emu.group(G).unwrap().banned.is_empty());
}

#[tokio::test]
async fn usersig_failures() {
    let emu = emulator().await;
    let c = raw_client(&emu, false);
    let now = emu.now();
    let good = Signer::new(emu.sdkappid(), emu.secret_key().clone());
    let base = "/v4/group_open_http_svc/ban_group_member";
    let cases = [
        (
            query(
                emu.sdkappid(),
                "administrator",
                good.sign("administrator", now - 100, 10).expose(),
            ),
            70001,
        ),
        (
            query(
                emu.sdkappid(),
                "administrator",
                "eJyrVgrxCdYrSy1SslJQMtIzUNJR",
            ),
            70003,
        ),
        (query(emu.sdkappid(), "administrator", "not%a%sig"), 70003),
        (
            query(
                emu.sdkappid(),
                "administrator",
                Signer::new(emu.sdkappid(), SecretKey::new("wrong"))
                    .sign("administrator", now, 60)
                    .expose(),
            ),
            70009,
        ),
        (
            query(
                emu.sdkappid(),
                "administrator",
                good.sign("someone", now, 60).expose(),
            ),
            70013,
        ),
        (
            query(
                emu.sdkappid(),
                "administrator",
                Signer::new(7, emu.secret_key().clone())
                    .sign("administrator", now, 60)
                    .expose(),
            ),
            70014,
        ),
        // A valid sig of a user who is not the app admin.
        (
            query(emu.sdkappid(), "bob", good.sign("bob", now, 60).expose()),
            10007,
        ),
    ];
    for (q, want) in cases {
        let (_, v) = send(&c, &emu, "POST", &format!("{base}?{q}"), SEED).await;
        assert_eq!(code(&v), want, "{q}: {v}");
    }
    let expired = emu
        .stats()
        .count_of("ban_group_member", ban_proto::ErrorCode::UserSigExpired);
    assert_eq!(expired, 1);
}

#[tokio::test]
async fn request_problems() {
    let emu = emulator().await;
    emu.create_group(Some("public-1"), GroupType::Public)
        .unwrap();
    let c = raw_client(&emu, false);
    let q = admin_query(&emu);
    let members: Vec<String> = (0..21).map(|i| format!("m{i}")).collect();
    let cases = [
        ("ban_group_member", "not json".to_owned(), 60003),
        ("ban_group_member", String::new(), 60003),
        ("no_such_command", "{}".to_owned(), 10003),
        (
            "ban_group_member",
            json!({"GroupId": "@TGS#nope", "Members_Account": ["a"], "Duration": 60}).to_string(),
            // The default for a group that does not exist (see emulator.md).
            10015,
        ),
        (
            "ban_group_member",
            json!({"GroupId": G, "Members_Account": members, "Duration": 60}).to_string(),
            10005,
        ),
        (
            "unban_group_member",
            json!({"GroupId": G, "Members_Account": members}).to_string(),
            10005,
        ),
        (
            "ban_group_member",
            json!({"GroupId": G, "Members_Account": ["a"], "Duration": -5}).to_string(),
            10004,
        ),
        (
            "ban_group_member",
            json!({"GroupId": G, "Members_Account": ["a"]}).to_string(),
            10004,
        ),
        (
            "get_group_ban_member",
            json!({"GroupId": G, "Offset": 0, "Limit": 101}).to_string(),
            10004,
        ),
    ];
    for (cmd, body, want) in cases {
        let (_, v) = send(
            &c,
            &emu,
            "POST",
            &format!("/v4/group_open_http_svc/{cmd}?{q}"),
            &body,
        )
        .await;
        assert_eq!(code(&v), want, "{cmd} {body}: {v}");
    }
    // 10004 names the field.
    let (_, v) = send(
        &c,
        &emu,
        "POST",
        &format!("/v4/group_open_http_svc/ban_group_member?{q}"),
        &json!({"GroupId": G, "Members_Account": ["a"], "Duration": -5}).to_string(),
    )
    .await;
    assert!(
        v["ErrorInfo"].as_str().unwrap().contains("Duration is -5"),
        "{v}"
    );
    // GET instead of POST.
    let (status, v) = send(
        &c,
        &emu,
        "GET",
        &format!("/v4/group_open_http_svc/ban_group_member?{q}"),
        "",
    )
    .await;
    assert_eq!((status, code(&v)), (200, 60002), "{v}");
    // A path outside the API.
    let (_, v) = send(&c, &emu, "POST", &format!("/v4/other_svc/x?{q}"), "{}").await;
    assert_eq!(code(&v), 60009);
}

#[tokio::test]
async fn feature_switch_off_answers_10007() {
    let emu = Emulator::builder()
        .group(G)
        .ban_feature(false)
        .start()
        .await
        .unwrap();
    let c = raw_client(&emu, false);
    let v = call(&c, &emu, "ban_group_member", SEED).await;
    assert_eq!(code(&v), 10007);
    assert!(v["ErrorInfo"].as_str().unwrap().contains("not enabled"));
}

#[tokio::test]
async fn rate_limit_answers_60007_beyond_the_limit() {
    let emu = Emulator::builder()
        .group(G)
        .rate_limit(2)
        .start()
        .await
        .unwrap();
    let c = raw_client(&emu, false);
    let mut codes = Vec::new();
    for _ in 0..10 {
        codes.push(code(
            &call(
                &c,
                &emu,
                "get_group_ban_member",
                &json!({"GroupId": G, "Offset": 0, "Limit": 10}).to_string(),
            )
            .await,
        ));
    }
    let limited = codes.iter().filter(|&&c| c == 60007).count();
    assert!(limited >= 5, "{codes:?}");
    assert_eq!(codes[0], 0);
    let stats = emu.stats();
    assert_eq!(stats.rate_limited as usize, limited);
    // Limits are per command: another command is not affected.
    assert_eq!(code(&call(&c, &emu, "ban_group_member", SEED).await), 0);
}

#[tokio::test]
async fn ban_join_message_unban_cycle() {
    let emu = emulator().await;
    let c = raw_client(&emu, false);
    for m in ["alice", "bob", "mallory"] {
        emu.join(G, m).unwrap();
    }
    let v = call(
        &c,
        &emu,
        "ban_group_member",
        &json!({"GroupId": G, "Members_Account": ["mallory", "ghost"], "Duration": 600})
            .to_string(),
    )
    .await;
    assert_eq!(code(&v), 0);

    // Banned members cannot rejoin (a member never in the group included).
    for m in ["mallory", "ghost"] {
        let err = emu.join(G, m).unwrap_err();
        assert!(
            matches!(err, ban_emulator::JoinError::Banned { until, .. } if until == emu.now() + 600),
            "{err}"
        );
    }
    // Over the control surface too.
    let (status, v) = send(
        &c,
        &emu,
        "POST",
        "/emulator/v1/join",
        &json!({"GroupId": G, "Member_Account": "mallory"}).to_string(),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(v["error"], "banned");
    assert!(v["banned_until"].as_u64().is_some());

    // A group message reaches the others, not the banned.
    let v = call(&c, &emu, "send_group_msg", &json!({"GroupId": G, "Random": 1, "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello"}}]}).to_string()).await;
    assert_eq!(code(&v), 0);
    assert_eq!(emu.inbox(G, "alice").unwrap().len(), 1);
    assert_eq!(emu.inbox(G, "alice").unwrap()[0].text, "hello");
    assert!(emu.inbox(G, "mallory").unwrap().is_empty());
    let (_, v) = send(
        &c,
        &emu,
        "POST",
        "/emulator/v1/inbox",
        &json!({"GroupId": G, "Member_Account": "bob"}).to_string(),
    )
    .await;
    assert_eq!(v["messages"][0]["Text"], "hello");

    // Banning again replaces the end time.
    call(
        &c,
        &emu,
        "ban_group_member",
        &json!({"GroupId": G, "Members_Account": ["mallory"], "Duration": 60}).to_string(),
    )
    .await;
    let until = emu
        .group(G)
        .unwrap()
        .banned
        .iter()
        .find(|b| b.member_account == "mallory")
        .unwrap()
        .banned_until;
    assert_eq!(until, emu.now() + 60);

    // Unban: rejoin and receive again.
    let v = call(
        &c,
        &emu,
        "unban_group_member",
        &json!({"GroupId": G, "Members_Account": ["mallory"]}).to_string(),
    )
    .await;
    assert_eq!(code(&v), 0);
    emu.join(G, "mallory").unwrap();
    assert_eq!(emu.send_group_msg(G, "welcome back").unwrap(), 3);
    assert_eq!(emu.inbox(G, "mallory").unwrap().len(), 1);
}

#[tokio::test]
async fn bans_expire_by_the_emulator_clock() {
    let emu = emulator().await;
    let c = raw_client(&emu, false);
    call(
        &c,
        &emu,
        "ban_group_member",
        &json!({"GroupId": G, "Members_Account": ["short"], "Duration": 60}).to_string(),
    )
    .await;
    call(
        &c,
        &emu,
        "ban_group_member",
        &json!({"GroupId": G, "Members_Account": ["long"], "Duration": 7200}).to_string(),
    )
    .await;
    assert!(emu.join(G, "short").is_err());
    let (_, v) = send(
        &c,
        &emu,
        "POST",
        "/emulator/v1/clock/advance",
        r#"{"seconds": 61}"#,
    )
    .await;
    assert_eq!(v["now"].as_u64().unwrap(), emu.now());
    emu.join(G, "short").unwrap();
    assert!(emu.join(G, "long").is_err());
    let v = call(
        &c,
        &emu,
        "get_group_ban_member",
        &json!({"GroupId": G, "Offset": 0, "Limit": 100}).to_string(),
    )
    .await;
    let list = v["BannedAccountList"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["Member_Account"], "long");
}

#[tokio::test]
async fn list_pages_cover_250_banned_members_exactly_once() {
    let emu = emulator().await;
    let c = raw_client(&emu, false);
    for chunk in (0..250).collect::<Vec<_>>().chunks(20) {
        let members: Vec<String> = chunk.iter().map(|i| format!("user{i:03}")).collect();
        // Different durations so the order by end time is visible.
        let duration = 1000 + chunk[0];
        let v = call(
            &c,
            &emu,
            "ban_group_member",
            &json!({"GroupId": G, "Members_Account": members, "Duration": duration}).to_string(),
        )
        .await;
        assert_eq!(code(&v), 0);
    }
    let mut seen = Vec::new();
    let mut offset = 0;
    let mut pages = 0;
    loop {
        let v = call(
            &c,
            &emu,
            "get_group_ban_member",
            &json!({"GroupId": G, "Offset": offset, "Limit": 100}).to_string(),
        )
        .await;
        assert_eq!(code(&v), 0);
        let page = v["BannedAccountList"].as_array().unwrap();
        assert!(page.len() <= 100);
        seen.extend(page.iter().map(|b| {
            (
                b["BannedUntil"].as_u64().unwrap(),
                b["Member_Account"].as_str().unwrap().to_owned(),
            )
        }));
        pages += 1;
        offset = v["NextOffset"].as_u64().unwrap();
        if offset == 0 {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 250);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "ordered by ban end time");
    sorted.dedup_by(|a, b| a.1 == b.1);
    assert_eq!(sorted.len(), 250, "each exactly once");
}

#[tokio::test]
async fn http2_and_plain_http() {
    let emu = emulator().await;
    let c = raw_client(&emu, true);
    assert_eq!(code(&call(&c, &emu, "ban_group_member", SEED).await), 0);

    let plain = Emulator::builder()
        .group(G)
        .plain_http()
        .start()
        .await
        .unwrap();
    assert!(plain.endpoint().starts_with("http://127.0.0.1:"));
    assert!(plain.ca_cert_pem().is_none());
    let c = raw_client(&plain, false);
    assert_eq!(code(&call(&c, &plain, "ban_group_member", SEED).await), 0);
}

#[tokio::test]
async fn create_group_over_rest() {
    let emu = emulator().await;
    let c = raw_client(&emu, false);
    let v = call(
        &c,
        &emu,
        "create_group",
        r#"{"Type": "AVChatRoom", "Name": "live"}"#,
    )
    .await;
    let id = v["GroupId"].as_str().unwrap().to_owned();
    assert!(id.starts_with("@TGS#a"));
    assert_eq!(emu.group(&id).unwrap().kind, GroupType::AVChatRoom);
    let v = call(
        &c,
        &emu,
        "create_group",
        r#"{"Type": "Work", "GroupId": "my-work"}"#,
    )
    .await;
    assert_eq!(v["GroupId"], "my-work");
    assert_eq!(
        code(&call(&c, &emu, "create_group", r#"{"Type": "Nope"}"#).await),
        10004
    );
    assert_eq!(
        code(
            &call(
                &c,
                &emu,
                "create_group",
                r#"{"Type": "Work", "GroupId": "my-work"}"#
            )
            .await
        ),
        10021
    );
}

#[tokio::test]
async fn stats_and_reset_over_the_control_surface() {
    let emu = emulator().await;
    let c = raw_client(&emu, false);
    call(&c, &emu, "ban_group_member", SEED).await;
    call(&c, &emu, "ban_group_member", "{}").await;
    let (status, v) = send(&c, &emu, "GET", "/emulator/v1/stats", "").await;
    assert_eq!(status, 200);
    assert_eq!(v["total_calls"], 2);
    assert_eq!(v["commands"]["ban_group_member"]["accepted"], 1);
    assert_eq!(v["commands"]["ban_group_member"]["rejected"], 1);
    assert_eq!(v["commands"]["ban_group_member"]["by_code"]["10004"], 1);
    assert_eq!(v["rate_limited"], 0);
    let (_, v) = send(
        &c,
        &emu,
        "POST",
        "/emulator/v1/group",
        &json!({"GroupId": G}).to_string(),
    )
    .await;
    assert_eq!(v["Banned"].as_array().unwrap().len(), 2);
    let (status, _) = send(&c, &emu, "POST", "/emulator/v1/reset", "").await;
    assert_eq!(status, 200);
    assert_eq!(emu.stats().total_calls, 0);
    assert!(emu.group(G).unwrap().banned.is_empty());
}

#[tokio::test]
async fn strict_accounts_are_refused_with_10004_naming_the_member() {
    let emu = Emulator::builder()
        .group(G)
        .strict_accounts(true)
        .start()
        .await
        .unwrap();
    let c = raw_client(&emu, false);
    let v = call(
        &c,
        &emu,
        "ban_group_member",
        &json!({"GroupId": G, "Members_Account": ["ok_1", "not.ok"], "Duration": 60}).to_string(),
    )
    .await;
    assert_eq!(code(&v), 10004);
    assert!(
        v["ErrorInfo"]
            .as_str()
            .unwrap()
            .contains("Members_Account[1] \"not.ok\""),
        "{v}"
    );
    assert!(
        emu.group(G).unwrap().banned.is_empty(),
        "nothing of a refused call is applied"
    );
    assert_eq!(code(&call(&c, &emu, "ban_group_member", SEED).await), 0);
}

#[tokio::test]
async fn every_documented_group_type_can_be_banned_in() {
    let emu = emulator().await;
    let c = raw_client(&emu, false);
    for kind in [
        GroupType::Work,
        GroupType::Public,
        GroupType::Meeting,
        GroupType::AVChatRoom,
        GroupType::Community,
    ] {
        let g = emu.create_group(None, kind).unwrap();
        for m in ["viewer", "raider"] {
            emu.join(&g, m).unwrap();
        }
        let ban = json!({"GroupId": g, "Members_Account": ["raider"], "Duration": 600});
        assert_eq!(
            code(&call(&c, &emu, "ban_group_member", &ban.to_string()).await),
            0,
            "{kind}"
        );
        // Out of the group, cannot rejoin, receives nothing.
        assert_eq!(emu.group(&g).unwrap().members, ["viewer"], "{kind}");
        assert!(emu.join(&g, "raider").is_err(), "{kind}");
        emu.send_group_msg(&g, "hello").unwrap();
        assert!(emu.inbox(&g, "raider").unwrap().is_empty(), "{kind}");
        let list = call(
            &c,
            &emu,
            "get_group_ban_member",
            &json!({"GroupId": g, "Offset": 0, "Limit": 10}).to_string(),
        )
        .await;
        assert_eq!(
            list["BannedAccountList"][0]["Member_Account"], "raider",
            "{kind}"
        );
        let unban = json!({"GroupId": g, "Members_Account": ["raider"]});
        assert_eq!(
            code(&call(&c, &emu, "unban_group_member", &unban.to_string()).await),
            0,
            "{kind}"
        );
        emu.join(&g, "raider").unwrap();
    }
}

#[tokio::test]
async fn avchatroom_only_refuses_other_group_types_with_10007() {
    let emu = Emulator::builder()
        .group(G)
        .avchatroom_only(true)
        .start()
        .await
        .unwrap();
    let c = raw_client(&emu, false);
    let public = emu.create_group(None, GroupType::Public).unwrap();
    let v = call(
        &c,
        &emu,
        "ban_group_member",
        &json!({"GroupId": public, "Members_Account": ["a"], "Duration": 60}).to_string(),
    )
    .await;
    assert_eq!(code(&v), 10007);
    assert!(
        v["ErrorInfo"].as_str().unwrap().contains("AVChatRoom only"),
        "{v}"
    );
    assert_eq!(code(&call(&c, &emu, "ban_group_member", SEED).await), 0);
}

#[tokio::test]
async fn a_stranger_with_a_garbage_sig_cannot_spend_the_apps_budget() {
    let emu = Emulator::builder()
        .group(G)
        .rate_limit(5)
        .start()
        .await
        .unwrap();
    let c = raw_client(&emu, false);
    let base = "/v4/group_open_http_svc/ban_group_member";
    let garbage = query(emu.sdkappid(), "administrator", "garbage");
    for _ in 0..50 {
        let (_, v) = send(&c, &emu, "POST", &format!("{base}?{garbage}"), SEED).await;
        assert_eq!(code(&v), 70003);
    }
    // The app's own call is not throttled by them.
    assert_eq!(code(&call(&c, &emu, "ban_group_member", SEED).await), 0);
    assert_eq!(emu.stats().rate_limited, 0);
}

#[tokio::test]
async fn a_description_with_a_sensitive_word_is_refused_with_80001() {
    let emu = Emulator::builder()
        .group(G)
        .sensitive_word("forbidden")
        .start()
        .await
        .unwrap();
    let c = raw_client(&emu, false);
    let v = call(&c, &emu, "ban_group_member", &json!({"GroupId": G, "Members_Account": ["a"], "Duration": 60, "Description": "a FORBIDDEN word"}).to_string()).await;
    assert_eq!(code(&v), 80001);
    assert!(emu.group(G).unwrap().banned.is_empty());
    assert_eq!(code(&call(&c, &emu, "ban_group_member", SEED).await), 0);
}

#[tokio::test]
async fn sample_paging_answers_a_next_offset_on_the_last_page() {
    let emu = Emulator::builder()
        .group(G)
        .paging(ban_emulator::Paging::Sample)
        .start()
        .await
        .unwrap();
    let c = raw_client(&emu, false);
    call(&c, &emu, "ban_group_member", SEED).await;
    // As the documentation's sample: Limit 20, 2 entries, NextOffset 2.
    let v = call(
        &c,
        &emu,
        "get_group_ban_member",
        &json!({"GroupId": G, "Offset": 0, "Limit": 20}).to_string(),
    )
    .await;
    assert_eq!(v["BannedAccountList"].as_array().unwrap().len(), 2);
    assert_eq!(v["NextOffset"], 2);
    let v = call(
        &c,
        &emu,
        "get_group_ban_member",
        &json!({"GroupId": G, "Offset": 2, "Limit": 20}).to_string(),
    )
    .await;
    assert!(v["BannedAccountList"].as_array().unwrap().is_empty());
    assert_eq!(v["NextOffset"], 2);
}

/// Sends each body to its command; checks the code and that nothing was banned.
async fn refused(emu: &Emulator, cases: &[(&str, serde_json::Value, i64)]) {
    let c = raw_client(emu, false);
    for (cmd, body, want) in cases {
        let v = call(&c, emu, cmd, &body.to_string()).await;
        assert_eq!(code(&v), *want, "{cmd} {body}: {v}");
    }
    assert!(emu.group(G).unwrap().banned.is_empty());
}

#[tokio::test]
async fn a_body_of_the_wrong_shape_or_missing_a_required_field_is_10004() {
    let emu = emulator().await;
    refused(
        &emu,
        &[
            ("ban_group_member", json!([G, ["a"], 60, null]), 10004),
            ("unban_group_member", json!([G, ["a"]]), 10004),
            ("get_group_ban_member", json!([G, 0, 10]), 10004),
            (
                "get_group_ban_member",
                json!({"GroupId": G, "Limit": 10}),
                10004,
            ),
            (
                "ban_group_member",
                json!({"Members_Account": ["a"], "Duration": 60}),
                10004,
            ),
            (
                "ban_group_member",
                json!({"GroupId": G, "Duration": 60}),
                10004,
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn documented_codes_for_non_string_accounts_and_malformed_group_ids() {
    let emu = emulator().await;
    refused(
        &emu,
        &[
            (
                "ban_group_member",
                json!({"GroupId": G, "Members_Account": ["a", 7], "Duration": 60}),
                60015,
            ),
            (
                "unban_group_member",
                json!({"GroupId": G, "Members_Account": [null]}),
                60015,
            ),
            (
                "ban_group_member",
                json!({"GroupId": "", "Members_Account": ["a"], "Duration": 60}),
                10015,
            ),
            (
                "get_group_ban_member",
                json!({"GroupId": "x".repeat(49), "Offset": 0}),
                10015,
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn mute_as_documented_limits_permanent_lift_and_group_types() {
    let emu = emulator().await;
    let c = raw_client(&emu, false);
    let now = emu.now();
    let five_hundred: Vec<String> = (0..500).map(|i| format!("m{i:03}")).collect();
    let v = call(
        &c,
        &emu,
        "forbid_send_msg",
        &json!({"GroupId": G, "Members_Account": five_hundred, "MuteTime": 600}).to_string(),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    let mut too_many = five_hundred.clone();
    too_many.push("m500".into());
    let v = call(
        &c,
        &emu,
        "forbid_send_msg",
        &json!({"GroupId": G, "Members_Account": too_many, "MuteTime": 600}).to_string(),
    )
    .await;
    assert_eq!(code(&v), 10005, "{v}");
    assert!(
        v["ErrorInfo"].as_str().unwrap().contains("at most 500"),
        "{v}"
    );
    // Permanent is kept as 4294967295; MuteTime 0 lifts.
    let body = json!({"GroupId": G, "Members_Account": ["m000"], "MuteTime": 4294967295u64});
    assert_eq!(
        code(&call(&c, &emu, "forbid_send_msg", &body.to_string()).await),
        0
    );
    let body = json!({"GroupId": G, "Members_Account": ["m001"], "MuteTime": 0});
    assert_eq!(
        code(&call(&c, &emu, "forbid_send_msg", &body.to_string()).await),
        0
    );
    let list = call(
        &c,
        &emu,
        "get_group_muted_account",
        &json!({"GroupId": G}).to_string(),
    )
    .await;
    assert_eq!(code(&list), 0, "{list}");
    assert_eq!(list["GroupId"], G);
    let muted = list["MutedAccountList"].as_array().unwrap();
    assert_eq!(muted.len(), 499, "one lifted, no paging");
    let until = |m: &str| {
        muted
            .iter()
            .find(|e| e["Member_Account"] == m)
            .map(|e| e["MutedUntil"].as_u64().unwrap())
    };
    assert_eq!(until("m000"), Some(4_294_967_295));
    assert_eq!(until("m001"), None);
    let end = until("m002").unwrap();
    assert!((now + 600..=now + 602).contains(&end), "{end} vs {now}");
    // MuteTime beyond uint32 is refused naming it; it is required.
    let over = json!({"GroupId": G, "Members_Account": ["a"], "MuteTime": 4294967296u64});
    let v = call(&c, &emu, "forbid_send_msg", &over.to_string()).await;
    assert_eq!(code(&v), 10004, "{v}");
    let missing = json!({"GroupId": G, "Members_Account": ["a"]});
    let v = call(&c, &emu, "forbid_send_msg", &missing.to_string()).await;
    assert_eq!(code(&v), 10004, "{v}");
    assert!(v["ErrorInfo"].as_str().unwrap().contains("MuteTime"), "{v}");
    // A Work group has no mute: 10004; its muted list is empty, as the
    // page lists Private (Work) groups for get_group_muted_account.
    let work = emu.create_group(None, GroupType::Work).unwrap();
    let body = json!({"GroupId": work, "Members_Account": ["a"], "MuteTime": 60});
    let v = call(&c, &emu, "forbid_send_msg", &body.to_string()).await;
    assert_eq!(code(&v), 10004, "{v}");
    let v = call(
        &c,
        &emu,
        "get_group_muted_account",
        &json!({"GroupId": work}).to_string(),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    assert_eq!(v["MutedAccountList"], json!([]), "{v}");
    // A TopicId outside a Community is refused, not applied to the whole
    // group; in a Community it is taken.
    let topic =
        json!({"GroupId": G, "Members_Account": ["t1"], "MuteTime": 60, "TopicId": "@TGS#_topic"});
    let v = call(&c, &emu, "forbid_send_msg", &topic.to_string()).await;
    assert_eq!(code(&v), 10004, "{v}");
    assert!(v["ErrorInfo"].as_str().unwrap().contains("TopicId"), "{v}");
    assert!(emu
        .group(G)
        .unwrap()
        .muted
        .iter()
        .all(|m| m.member_account != "t1"));
    let v = call(
        &c,
        &emu,
        "get_group_muted_account",
        &json!({"GroupId": G, "TopicId": "@TGS#_topic"}).to_string(),
    )
    .await;
    assert_eq!(code(&v), 10004, "{v}");
    let community = emu.create_group(None, GroupType::Community).unwrap();
    let topic = json!({"GroupId": community, "Members_Account": ["t1"], "MuteTime": 60, "TopicId": "@TGS#_topic"});
    assert_eq!(
        code(&call(&c, &emu, "forbid_send_msg", &topic.to_string()).await),
        0
    );
    for kind in [GroupType::Public, GroupType::Meeting, GroupType::Community] {
        let g = emu.create_group(None, kind).unwrap();
        let body = json!({"GroupId": g, "Members_Account": ["a"], "MuteTime": 60});
        assert_eq!(
            code(&call(&c, &emu, "forbid_send_msg", &body.to_string()).await),
            0,
            "{kind}"
        );
    }
}

#[tokio::test]
async fn old_mute_names_are_refused_not_taken() {
    let emu = emulator().await;
    let c = raw_client(&emu, false);
    let body = json!({"GroupId": G, "Members_Account": ["a"], "ShutUpTime": 60});
    let v = call(&c, &emu, "forbid_send_msg", &body.to_string()).await;
    assert_eq!(code(&v), 10004, "{v}");
    let both = json!({"GroupId": G, "Members_Account": ["a"], "ShutUpTime": 60, "MuteTime": 60});
    let v = call(&c, &emu, "forbid_send_msg", &both.to_string()).await;
    assert_eq!(code(&v), 10004, "{v}");
    assert!(
        v["ErrorInfo"]
            .as_str()
            .unwrap()
            .contains("old name of MuteTime"),
        "{v}"
    );
    let v = call(
        &c,
        &emu,
        "get_group_shutted_uin",
        &json!({"GroupId": G}).to_string(),
    )
    .await;
    assert_eq!(code(&v), 10003, "{v}");
    assert!(
        v["ErrorInfo"]
            .as_str()
            .unwrap()
            .contains("get_group_muted_account"),
        "{v}"
    );
    assert!(emu.group(G).unwrap().muted.is_empty());
}

#[tokio::test]
async fn a_muted_sender_gets_10017_a_banned_one_10007_and_unmute_lets_it_send() {
    let emu = emulator().await;
    let c = raw_client(&emu, false);
    for m in ["talker", "listener", "raider"] {
        emu.join(G, m).unwrap();
    }
    let send = |from: &str| {
        json!({"GroupId": G, "From_Account": from, "Random": 1,
               "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}]})
        .to_string()
    };
    assert_eq!(
        code(&call(&c, &emu, "send_group_msg", &send("talker")).await),
        0
    );
    let mute = json!({"GroupId": G, "Members_Account": ["talker"], "MuteTime": 600});
    assert_eq!(
        code(&call(&c, &emu, "forbid_send_msg", &mute.to_string()).await),
        0
    );
    let v = call(&c, &emu, "send_group_msg", &send("talker")).await;
    assert_eq!(code(&v), 10017, "{v}");
    // A mute survives leaving and rejoining, and the muted member still
    // receives what others send.
    emu.leave(G, "talker").unwrap();
    emu.join(G, "talker").unwrap();
    assert_eq!(
        code(&call(&c, &emu, "send_group_msg", &send("talker")).await),
        10017
    );
    assert_eq!(
        code(&call(&c, &emu, "send_group_msg", &send("listener")).await),
        0
    );
    assert_eq!(
        emu.inbox(G, "talker").unwrap().last().unwrap().from,
        "listener"
    );
    let ban = json!({"GroupId": G, "Members_Account": ["raider"], "Duration": 600});
    assert_eq!(
        code(&call(&c, &emu, "ban_group_member", &ban.to_string()).await),
        0
    );
    let v = call(&c, &emu, "send_group_msg", &send("raider")).await;
    assert_eq!(code(&v), 10007, "{v}");
    let lift = json!({"GroupId": G, "Members_Account": ["talker"], "MuteTime": 0});
    assert_eq!(
        code(&call(&c, &emu, "forbid_send_msg", &lift.to_string()).await),
        0
    );
    assert_eq!(
        code(&call(&c, &emu, "send_group_msg", &send("talker")).await),
        0
    );
    // A mute ends by the emulator's clock.
    let short = json!({"GroupId": G, "Members_Account": ["listener"], "MuteTime": 30});
    assert_eq!(
        code(&call(&c, &emu, "forbid_send_msg", &short.to_string()).await),
        0
    );
    assert!(matches!(
        emu.send_as(G, "listener", "x"),
        Err(ban_emulator::JoinError::Muted { .. })
    ));
    emu.advance_clock(31).unwrap();
    // The raider was removed by its ban: talker and listener receive it.
    assert_eq!(emu.send_as(G, "listener", "x").unwrap(), 2);
}
