//! The seed document's samples decode and re-encode to the same JSON.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use ban_proto::{
    ActionStatus, BanListRequest, BanListResponse, BanRequest, Command, Endpoint, Envelope,
    ErrorCode, ServiceResponse, UnbanRequest,
};
use serde_json::{json, Value};

/// The seed's sample request with its quoting typo fixed
/// (`[brennanli3", "brennanli12]` -> `["brennanli3", "brennanli12"]`).
const SEED_REQUEST: &str = r#"{
"GroupId": "@TGS#aJRGC4MH6",
"Members_Account":["brennanli3", "brennanli12"],
"Duration":3600,
"Description": "you are banned because of irregularities"
}"#;

const SEED_RESPONSE: &str = r#"{
"ActionStatus": "OK",
"ErrorInfo": "",
"ErrorCode":0
}"#;

#[test]
fn seed_request_round_trips() {
    let req: BanRequest = serde_json::from_str(SEED_REQUEST).unwrap();
    assert_eq!(req.group_id.as_str(), "@TGS#aJRGC4MH6");
    assert_eq!(
        req.members.iter().collect::<Vec<_>>(),
        ["brennanli3", "brennanli12"]
    );
    assert_eq!(req.duration.as_secs(), 3600);
    let mut buf = Vec::new();
    ban_proto::encode_into(&req, &mut buf).unwrap();
    let again: Value = serde_json::from_slice(&buf).unwrap();
    let original: Value = serde_json::from_str(SEED_REQUEST).unwrap();
    assert_eq!(again, original);
    assert_eq!(
        <BanRequest as Command>::ENDPOINT,
        &Endpoint::BAN_GROUP_MEMBER
    );
}

#[test]
fn seed_response_round_trips() {
    let resp: Envelope = serde_json::from_str(SEED_RESPONSE).unwrap();
    assert!(resp.is_success());
    assert_eq!(resp.action_status, ActionStatus::Ok);
    let again = serde_json::to_value(&resp).unwrap();
    assert_eq!(again, serde_json::from_str::<Value>(SEED_RESPONSE).unwrap());
}

#[test]
fn failure_and_unknown_fields_are_tolerated() {
    let resp: Envelope = serde_json::from_value(json!({
        "ActionStatus": "FAIL", "ErrorCode": 10005, "ErrorInfo": "too many",
        "RequestId": "abc", "Extra": {"nested": [1, 2]}
    }))
    .unwrap();
    assert_eq!(resp.error_code, ErrorCode::TooManyMembers);
    assert!(!resp.is_success());
    let resp: Envelope =
        serde_json::from_value(json!({"ActionStatus": "MAYBE", "ErrorCode": 77777})).unwrap();
    assert_eq!(resp.action_status, ActionStatus::Other("MAYBE".into()));
    assert_eq!(resp.error_code, ErrorCode::Other(77777));
    assert_eq!(resp.error_info, "");
}

#[test]
fn ban_list_response_decodes_and_round_trips() {
    let body = json!({
        "ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0,
        "BannedAccountList": [
            {"Member_Account": "brennanli3", "BannedUntil": 1700003600},
            {"Member_Account": "brennanli12", "BannedUntil": 1700007200}
        ],
        "NextOffset": 2
    });
    let resp: BanListResponse = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(resp.banned.len(), 2);
    assert_eq!(resp.banned[1].banned_until, 1_700_007_200);
    assert_eq!(resp.next_offset, ban_proto::PageOffset(2));
    assert_eq!(serde_json::to_value(&resp).unwrap(), body);
}

#[test]
fn other_requests_round_trip() {
    let unban = json!({"GroupId": "@TGS#aJRGC4MH6", "Members_Account": ["a", "b"]});
    let req: UnbanRequest = serde_json::from_value(unban.clone()).unwrap();
    assert_eq!(serde_json::to_value(&req).unwrap(), unban);
    let list = json!({"GroupId": "g1", "Offset": 100, "Limit": 50});
    let req: BanListRequest = serde_json::from_value(list.clone()).unwrap();
    assert_eq!(serde_json::to_value(&req).unwrap(), list);
    // Limit is always sent, even when the caller left it to the default.
    let req: BanListRequest =
        serde_json::from_value(json!({"GroupId": "g1", "Offset": 0})).unwrap();
    assert_eq!(
        serde_json::to_value(&req).unwrap(),
        json!({"GroupId": "g1", "Offset": 0, "Limit": 100})
    );
    // Offset is documented as required.
    let err = serde_json::from_value::<BanListRequest>(json!({"GroupId": "g1"})).unwrap_err();
    assert!(err.to_string().contains("Offset"), "{err}");
}

#[test]
fn deserialize_checks_like_construction() {
    let cases = [
        (
            json!({"GroupId": "", "Members_Account": ["a"], "Duration": 1}),
            "GroupId is empty",
        ),
        (
            json!({"GroupId": "g", "Members_Account": [], "Duration": 1}),
            "Members_Account has 0 accounts; at least 1 per call",
        ),
        (
            json!({"GroupId": "g", "Members_Account": ["a"], "Duration": 0}),
            "Duration is 0; it must be 1..=4294967295 seconds",
        ),
        (
            json!({"GroupId": "g", "Members_Account": ["a", 7], "Duration": 1}),
            "Members_Account[1] is a number; accounts must be strings",
        ),
        (
            json!({"GroupId": "g", "Members_Account": ["a"], "Duration": "60"}),
            "invalid type",
        ),
        (
            json!({"GroupId": "g", "Members_Account": ["a"]}),
            "missing field `Duration`",
        ),
        (
            json!({"GroupId": "g", "Members_Account": ["a"], "Duration": 5, "Description": "x".repeat(1001)}),
            "Description is 1001 bytes; at most 1000 bytes",
        ),
    ];
    for (body, want) in cases {
        let err = serde_json::from_value::<BanRequest>(body.clone())
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{body}: {err}");
    }
}

#[test]
fn null_lists_and_error_info_decode_as_empty() {
    let page: ban_proto::BanListResponse = serde_json::from_str(
        r#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":null,"BannedAccountList":null,"NextOffset":0}"#,
    )
    .unwrap();
    assert!(page.banned.is_empty());
    assert_eq!(page.error_info, "");
    let env: ban_proto::Envelope =
        serde_json::from_str(r#"{"ActionStatus":"FAIL","ErrorCode":10002,"ErrorInfo":null}"#)
            .unwrap();
    assert_eq!(env.error_info, "");
    assert_eq!(env.error_code.code(), 10002);
}
