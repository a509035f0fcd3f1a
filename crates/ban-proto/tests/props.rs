//! Property tests: every boundary, a differential check against an obvious
//! slow validator, round-trip identity, and never panicking on any JSON.
#![allow(unused_crate_dependencies)]
// a test target sees all its package's dependencies

// The slow validators are written as plainly as possible on purpose.
#![allow(clippy::manual_range_contains)]

use ban_proto::{
    BanDuration, BanListRequest, BanListResponse, BanRequest, Description, Envelope, GroupId,
    MemberAccount, MemberList, PageLimit, PageOffset, UnbanRequest,
};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{json, Value};

fn slow_group_id_ok(s: &str) -> bool {
    let n = s.len();
    n >= 1 && n <= 48 && s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

fn slow_account_ok(s: &str) -> bool {
    let n = s.len();
    n >= 1 && n <= 32 && !s.chars().any(|c| c.is_control())
}

fn slow_description_ok(s: &str) -> bool {
    s.len() <= 1000
}

/// Strings mixing ASCII, multi-byte UTF-8 and control characters, with
/// lengths around the limits.
fn any_text(max_chars: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::char::range('a', 'z'),
            2 => prop::char::range(' ', '~'),
            1 => Just('é'),
            1 => Just('語'),
            1 => Just('🦀'),
            1 => prop::char::range('\0', '\u{1f}'),
            1 => Just('\u{7f}'),
            1 => Just('\u{85}'),
        ],
        0..max_chars,
    )
    .prop_map(|v| v.into_iter().collect())
}

/// An ASCII run of `n` bytes followed by one character of `width` bytes:
/// lengths that straddle a byte limit with a multi-byte character.
fn straddling(n: usize, width: usize) -> String {
    let c = match width {
        1 => 'a',
        2 => 'é',
        3 => '語',
        _ => '🦀',
    };
    let mut s = "a".repeat(n);
    s.push(c);
    s
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        any_text(40).prop_map(Value::String),
        prop::sample::select(vec!["OK", "FAIL", "@TGS#a", ""]).prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "ActionStatus",
                        "ErrorCode",
                        "ErrorInfo",
                        "BannedAccountList",
                        "NextOffset",
                        "Member_Account",
                        "BannedUntil",
                        "GroupId",
                        "Members_Account",
                        "Duration",
                        "Description",
                        "Offset",
                        "Limit",
                        "x",
                    ]),
                    inner
                ),
                0..8
            )
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        // Failing cases are kept in the crate's proptest-regressions/ and committed.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/props.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn group_id_matches_slow_validator(s in any_text(60)) {
        prop_assert_eq!(GroupId::new(s.as_str()).is_ok(), slow_group_id_ok(&s));
        let via_json = serde_json::from_value::<GroupId>(json!(s));
        prop_assert_eq!(via_json.is_ok(), slow_group_id_ok(&s));
    }

    #[test]
    fn account_matches_slow_validator(s in any_text(40)) {
        prop_assert_eq!(MemberAccount::new(s.as_str()).is_ok(), slow_account_ok(&s));
    }

    #[test]
    fn description_matches_slow_validator(n in 990usize..1001, width in 1usize..=4) {
        let s = straddling(n, width);
        prop_assert_eq!(Description::new(s.as_str()).is_ok(), slow_description_ok(&s));
        if let Err(e) = Description::new(s.as_str()) {
            prop_assert_eq!(e.to_string(), format!("Description is {} bytes; at most 1000 bytes", s.len()));
        }
    }

    #[test]
    fn member_list_count_boundary(n in 0usize..=25) {
        let names: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        prop_assert_eq!(MemberList::from_strs(&refs).is_ok(), (1..=20).contains(&n));
        let body = json!({"GroupId": "g", "Members_Account": names, "Duration": 60});
        prop_assert_eq!(serde_json::from_value::<BanRequest>(body).is_ok(), (1..=20).contains(&n));
    }

    #[test]
    fn duration_json_boundary(secs in prop_oneof![
        Just(-1i128), Just(0), Just(1), Just(u32::MAX as i128), Just(u32::MAX as i128 + 1),
        Just(i64::MIN as i128), Just(u64::MAX as i128), any::<i64>().prop_map(i128::from)
    ]) {
        let text = format!(r#"{{"GroupId":"g","Members_Account":["a"],"Duration":{secs}}}"#);
        let ok = serde_json::from_str::<BanRequest>(&text).is_ok();
        prop_assert_eq!(ok, secs >= 1 && secs <= u32::MAX as i128, "{}", text);
    }

    #[test]
    fn limit_json_boundary(limit in -5i64..110) {
        let r = serde_json::from_value::<BanListRequest>(json!({"GroupId": "g", "Offset": 0, "Limit": limit}));
        prop_assert_eq!(r.is_ok(), (1..=100).contains(&limit));
        prop_assert_eq!(PageLimit::new(limit.clamp(0, 1000) as u32).is_ok(), (1..=100).contains(&limit));
    }

    #[test]
    fn valid_requests_round_trip(
        group in "[!-~]{1,48}",
        members in prop::collection::vec("[a-zA-Z0-9_\\-é語]{1,8}", 1..=20),
        secs in 1u32..=u32::MAX,
        desc in prop::option::of(any_text(300).prop_filter("no limit", |s| s.len() <= 1000)),
        offset in any::<u32>(),
        limit in 1u32..=100,
    ) {
        let refs: Vec<&str> = members.iter().map(String::as_str).collect();
        let req = BanRequest {
            group_id: GroupId::new(group.as_str()).unwrap(),
            members: MemberList::from_strs(&refs).unwrap(),
            duration: BanDuration::from_secs(secs).unwrap(),
            description: desc.as_deref().map(|d| Description::new(d).unwrap()),
        };
        let mut buf = Vec::new();
        ban_proto::encode_into(&req, &mut buf).unwrap();
        let back: BanRequest = serde_json::from_slice(&buf).unwrap();
        prop_assert_eq!(&back, &req);

        let unban = UnbanRequest { group_id: req.group_id.clone(), members: req.members.clone() };
        let back: UnbanRequest = serde_json::from_str(&serde_json::to_string(&unban).unwrap()).unwrap();
        prop_assert_eq!(back, unban);

        let list = BanListRequest { group_id: req.group_id.clone(), offset: PageOffset(offset), limit: PageLimit::new(limit).unwrap() };
        let back: BanListRequest = serde_json::from_str(&serde_json::to_string(&list).unwrap()).unwrap();
        prop_assert_eq!(back, list);
    }

    #[test]
    fn responses_never_panic_on_any_json(v in json_value()) {
        let text = v.to_string();
        let _ = serde_json::from_str::<Envelope>(&text);
        let _ = serde_json::from_str::<BanListResponse>(&text);
        let _ = serde_json::from_str::<BanRequest>(&text);
        let _ = serde_json::from_str::<UnbanRequest>(&text);
        let _ = serde_json::from_str::<BanListRequest>(&text);
        // Decoding is total: it either yields a value or an error, and a
        // success answer re-encodes to something that decodes again.
        if let Ok(env) = serde_json::from_str::<Envelope>(&text) {
            let again: Envelope = serde_json::from_str(&serde_json::to_string(&env).unwrap()).unwrap();
            prop_assert_eq!(again.error_code, env.error_code);
        }
    }

    #[test]
    fn responses_never_panic_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = serde_json::from_slice::<Envelope>(&bytes);
        let _ = serde_json::from_slice::<BanListResponse>(&bytes);
    }
}

#[test]
fn fixed_boundaries() {
    assert!(MemberAccount::new("a".repeat(32)).is_ok());
    assert_eq!(
        MemberAccount::new("a".repeat(33)).unwrap_err().to_string(),
        "Member_Account is 33 bytes; at most 32 bytes"
    );
    assert!(GroupId::new("a".repeat(48)).is_ok());
    assert!(GroupId::new("a".repeat(49)).is_err());
    // 999 ASCII + 'é' (2 bytes) = 1001 bytes: refused, not truncated.
    assert!(Description::new(straddling(998, 2)).is_ok());
    assert!(Description::new(straddling(999, 2)).is_err());
    assert!(Description::new("a".repeat(1000)).is_ok());
    assert!(BanDuration::from_secs(u32::MAX).is_ok());
    assert!(BanDuration::try_from(u64::from(u32::MAX) + 1).is_err());
}
