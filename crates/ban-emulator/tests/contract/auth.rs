//! The request itself: its query, its UserSig, its body, the feature switch,
//! the rate limit, and a stranger who cannot spend the app's budget.

use super::*;

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
