//! Bodies of the wrong shape, and the codes the pages give for bad fields.

use super::*;

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
