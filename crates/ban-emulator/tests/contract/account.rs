//! The account-level commands: `kick`, and the app-wide mute
//! (`setnospeaking` and `getnospeaking`), answered with
//! `ErrorCode` and `ErrorInfo` and no `ActionStatus`, errors included.

use super::*;

#[tokio::test]
async fn an_account_silenced_app_wide_gets_10017_in_every_group_until_lifted() {
    let emu = emulator().await;
    let c = raw_client(&emu, false);
    let other = emu.create_group(None, GroupType::Public).unwrap();
    for g in [G, other.as_str()] {
        emu.join(g, "bot").unwrap();
        emu.join(g, "viewer").unwrap();
    }
    let (c, emu) = (&c, &emu);
    let set = |body: Value| async move {
        call(c, emu, "openconfigsvr/setnospeaking", &body.to_string()).await
    };
    let v = set(json!({"Set_Account": "bot", "GroupmsgNospeakingTime": 600})).await;
    assert_eq!(code(&v), 0, "{v}");
    assert!(v.get("ActionStatus").is_none(), "{v}");
    for g in [G, other.as_str()] {
        assert_eq!(
            emu.client_send(g, "bot", "spam").await,
            ErrorCode::SenderMuted
        );
        assert_eq!(emu.client_send(g, "viewer", "hi").await, ErrorCode::Success);
    }
    let get = call(
        c,
        emu,
        "openconfigsvr/getnospeaking",
        &json!({"Get_Account": "bot"}).to_string(),
    )
    .await;
    assert_eq!(code(&get), 0, "{get}");
    assert!(get.get("ActionStatus").is_none(), "{get}");
    let left = get["GroupmsgNospeakingTime"].as_u64().unwrap();
    assert!((590..=600).contains(&left), "{get}");
    assert_eq!(get["C2CmsgNospeakingTime"], 0);
    // Permanent is kept as itself; 0 lifts.
    let v = set(json!({"Set_Account": "bot", "C2CmsgNospeakingTime": 4294967295u64})).await;
    assert_eq!(code(&v), 0, "{v}");
    let get = call(
        c,
        emu,
        "openconfigsvr/getnospeaking",
        &json!({"Get_Account": "bot"}).to_string(),
    )
    .await;
    assert_eq!(get["C2CmsgNospeakingTime"], 4294967295u64, "{get}");
    let v = set(json!({"Set_Account": "bot", "GroupmsgNospeakingTime": 0})).await;
    assert_eq!(code(&v), 0, "{v}");
    assert_eq!(emu.client_send(G, "bot", "back").await, ErrorCode::Success);
    // Neither time, a time past uint32, no account: 10004, still without
    // ActionStatus.
    for body in [
        json!({"Set_Account": "bot"}),
        json!({"Set_Account": "bot", "GroupmsgNospeakingTime": 4294967296u64}),
        json!({"GroupmsgNospeakingTime": 60}),
    ] {
        let v = set(body.clone()).await;
        assert_eq!(code(&v), 10004, "{body}: {v}");
        assert!(v.get("ActionStatus").is_none(), "{v}");
    }
}

#[tokio::test]
async fn a_kick_stops_every_usersig_the_account_holds_until_a_fresh_one() {
    let emu = emulator().await;
    let c = raw_client(&emu, false);
    emu.join(G, "bot").unwrap();
    let signer = Signer::new(emu.sdkappid(), emu.secret_key().clone());
    let old_sig = signer.sign("bot", emu.now(), 86_400);
    let login = |sig: &str| json!({"Identifier": "bot", "UserSig": sig}).to_string();
    let (status, _) = send(
        &c,
        &emu,
        "POST",
        "/emulator/v1/login",
        &login(old_sig.expose()),
    )
    .await;
    assert_eq!(status, 200);
    let v = call(
        &c,
        &emu,
        "im_open_login_svc/kick",
        &json!({"UserID": "bot"}).to_string(),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    // Logged out: it sends nothing, and its old UserSig no longer logs in.
    let msg = json!({"GroupId": G, "From_Account": "bot", "Text": "hi"}).to_string();
    let (status, v) = send(&c, &emu, "POST", "/emulator/v1/send", &msg).await;
    assert_eq!((status, v["error"].as_str()), (401, Some("kicked")), "{v}");
    let (status, v) = send(
        &c,
        &emu,
        "POST",
        "/emulator/v1/login",
        &login(old_sig.expose()),
    )
    .await;
    assert_eq!((status, code(&v)), (401, 70001), "{v}");
    // A UserSig issued after the kick logs in again, and it sends.
    emu.advance_clock(2).unwrap();
    let fresh = signer.sign("bot", emu.now(), 86_400);
    let (status, v) = send(
        &c,
        &emu,
        "POST",
        "/emulator/v1/login",
        &login(fresh.expose()),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = send(&c, &emu, "POST", "/emulator/v1/send", &msg).await;
    assert_eq!((status, code(&v)), (200, 0), "{v}");
    // Kicking the admin stops its own calls: the UserSig it holds is
    // refused with 70001 until a fresh one.
    let v = call(
        &c,
        &emu,
        "im_open_login_svc/kick",
        &json!({"UserID": emu.admin()}).to_string(),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    let v = call(
        &c,
        &emu,
        "get_group_muted_account",
        &json!({"GroupId": G}).to_string(),
    )
    .await;
    assert_eq!(code(&v), 70001, "{v}");
    emu.advance_clock(2).unwrap();
    let v = call(
        &c,
        &emu,
        "get_group_muted_account",
        &json!({"GroupId": G}).to_string(),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    // One account a call: a missing UserID is 10004.
    let v = call(&c, &emu, "im_open_login_svc/kick", "{}").await;
    assert_eq!(code(&v), 10004, "{v}");
}
