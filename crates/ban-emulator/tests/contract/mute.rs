//! Muting as documented: limits, permanent, lifting, group types, and what
//! a muted or banned sender gets.

use super::*;

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
