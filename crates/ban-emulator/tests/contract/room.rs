//! A room's switch and count: `modify_group_base_info` with
//! `MuteAllMember` (a frozen room refuses its members' messages with
//! 10017, the admin's pass) and `get_online_member_num`.

use super::*;

#[tokio::test]
async fn a_frozen_room_silences_its_members_until_it_is_thawed() {
    let emu = emulator().await;
    let c = raw_client(&emu, false);
    for m in ["viewer", "raider"] {
        emu.join(G, m).unwrap();
    }
    assert_eq!(emu.send_as(G, "viewer", "hi").unwrap(), 2);
    let freeze = |on: &str| json!({"GroupId": G, "MuteAllMember": on}).to_string();
    let v = call(&c, &emu, "modify_group_base_info", &freeze("On")).await;
    assert_eq!(code(&v), 0, "{v}");
    assert!(emu.group(G).unwrap().mute_all);
    // Every member's message, through the client's whole path: 10017.
    for m in ["viewer", "raider"] {
        assert_eq!(
            emu.client_send(G, m, "still here?").await,
            ErrorCode::SenderMuted,
            "{m}"
        );
    }
    let rest = call(
        &c,
        &emu,
        "send_group_msg",
        &json!({"GroupId": G, "From_Account": "raider", "Random": 1,
                "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x"}}]})
        .to_string(),
    )
    .await;
    assert_eq!(code(&rest), 10017, "{rest}");
    // The admin still speaks.
    assert_eq!(emu.send_group_msg(G, "the stream resumes soon").unwrap(), 2);
    let v = call(&c, &emu, "modify_group_base_info", &freeze("Off")).await;
    assert_eq!(code(&v), 0, "{v}");
    assert_eq!(
        emu.client_send(G, "viewer", "back").await,
        ErrorCode::Success
    );
    // Only "On" and "Off"; an unknown group is the unknown-group code.
    let v = call(&c, &emu, "modify_group_base_info", &freeze("on")).await;
    assert_eq!(code(&v), 10004, "{v}");
    let v = call(
        &c,
        &emu,
        "modify_group_base_info",
        &json!({"GroupId": "@TGS#aNOSUCH", "MuteAllMember": "On"}).to_string(),
    )
    .await;
    assert!(matches!(code(&v), 10010 | 10015), "{v}");
    assert!(!emu.group(G).unwrap().mute_all);
}

#[tokio::test]
async fn a_live_rooms_online_count_is_its_members() {
    let emu = emulator().await;
    let c = raw_client(&emu, false);
    let count = |g: &str| json!({"GroupId": g}).to_string();
    let v = call(&c, &emu, "get_online_member_num", &count(G)).await;
    assert_eq!(
        (code(&v), v["OnlineMemberNum"].as_u64()),
        (0, Some(0)),
        "{v}"
    );
    for i in 0..37 {
        emu.join(G, &format!("v{i}")).unwrap();
    }
    let v = call(&c, &emu, "get_online_member_num", &count(G)).await;
    assert_eq!(v["OnlineMemberNum"], 37, "{v}");
    let public = emu.create_group(None, GroupType::Public).unwrap();
    let v = call(&c, &emu, "get_online_member_num", &count(&public)).await;
    assert_eq!(code(&v), 10007, "{v}");
    let v = call(&c, &emu, "get_online_member_num", "{}").await;
    assert_eq!(code(&v), 10004, "{v}");
}

#[tokio::test]
async fn get_members_pages_the_latest_thousand_newest_first_to_a_zero_cursor() {
    let emu = emulator().await;
    let c = raw_client(&emu, false);
    for i in 0..1_200 {
        emu.join(G, &format!("m{i:04}")).unwrap();
    }
    emu.join(G, "gone").unwrap();
    assert!(emu.leave(G, "gone").unwrap());
    let page = |ts: u64| json!({"GroupId": G, "Timestamp": ts}).to_string();
    let mut seen = Vec::new();
    let mut ts = 0;
    let mut pages = 0;
    loop {
        let v = call(
            &c,
            &emu,
            "group_open_avchatroom_http_svc/get_members",
            &page(ts),
        )
        .await;
        assert_eq!(code(&v), 0, "{v}");
        pages += 1;
        for m in v["MemberList"].as_array().unwrap() {
            seen.push(m["Member_Account"].as_str().unwrap().to_owned());
            let joined = m["JoinTime"].as_u64().unwrap();
            assert!(joined.abs_diff(emu.now()) <= 5, "{m}");
        }
        ts = v["NextTimestamp"].as_u64().unwrap();
        if ts == 0 {
            break;
        }
        assert!(pages < 10, "the cursor never ends");
    }
    assert_eq!(pages, 2, "500 a page");
    assert_eq!(seen.len(), 1_000, "the latest 1,000");
    assert_eq!(seen[0], "m1199", "newest first");
    assert_eq!(seen[999], "m0200");
    let distinct: std::collections::HashSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), 1_000);
    assert!(
        !seen.contains(&"gone".to_owned()),
        "a member who left is not online"
    );
    // Other group types are not listed; the cursor is required.
    let public = emu.create_group(None, GroupType::Public).unwrap();
    let v = call(
        &c,
        &emu,
        "group_open_avchatroom_http_svc/get_members",
        &json!({"GroupId": public, "Timestamp": 0}).to_string(),
    )
    .await;
    assert_eq!(code(&v), 10007, "{v}");
    let v = call(
        &c,
        &emu,
        "group_open_avchatroom_http_svc/get_members",
        &json!({"GroupId": G}).to_string(),
    )
    .await;
    assert_eq!(code(&v), 10004, "{v}");
}
