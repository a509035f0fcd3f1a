//! Banning, unbanning and listing: the seed's request, the cycle, expiry,
//! paging, group types, the transport and the control surface.

use super::*;

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
