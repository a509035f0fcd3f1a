//! The mute commands as the service spells them: field names, the two
//! special durations, 500 members a call, and a permanent mute's end that
//! a 32-bit integer cannot hold.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use ban_proto::{
    encode_into, Command, Endpoint, GroupId, MuteDuration, MuteMemberList, MuteRequest,
    MutedListRequest, MutedListResponse,
};

#[test]
fn a_mute_request_is_spelled_as_documented() {
    let names: Vec<String> = (0..500).map(|i| format!("m{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let req = MuteRequest {
        group_id: GroupId::new("@TGS#aLIVE").unwrap(),
        members: MuteMemberList::from_strs(&refs).unwrap(),
        mute_time: MuteDuration::PERMANENT,
        topic_id: None,
    };
    let mut buf = Vec::new();
    encode_into(&req, &mut buf).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(v["GroupId"], "@TGS#aLIVE");
    assert_eq!(v["Members_Account"].as_array().unwrap().len(), 500);
    assert_eq!(v["MuteTime"], 4_294_967_295u64);
    assert!(v.get("TopicId").is_none());
    assert!(v.get("ShutUpTime").is_none(), "the old name is never sent");
    let back: MuteRequest<'_> = serde_json::from_slice(&buf).unwrap();
    assert_eq!(back, req);
    assert_eq!(
        MuteRequest::ENDPOINT.path,
        "v4/group_open_http_svc/forbid_send_msg"
    );
    assert_eq!(Endpoint::FORBID_SEND_MSG.max_members, Some(500));
    // 501 members are refused when decoding too.
    let too_many = serde_json::json!({
        "GroupId": "@TGS#aLIVE",
        "Members_Account": vec!["m"; 501],
        "MuteTime": 60,
    });
    let err = serde_json::from_value::<MuteRequest<'_>>(too_many).unwrap_err();
    assert!(err.to_string().contains("at most 500"), "{err}");
}

#[test]
fn the_muted_list_holds_a_permanent_end_and_tolerates_null() {
    let page: MutedListResponse = serde_json::from_str(
        r#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","GroupId":"@TGS#aLIVE",
            "MutedAccountList":[{"Member_Account":"tommy","MutedUntil":4294967295},
                                {"Member_Account":"jared","MutedUntil":1458115189}]}"#,
    )
    .unwrap();
    assert_eq!(page.muted.len(), 2);
    assert_eq!(page.muted[0].muted_until, u64::from(u32::MAX));
    let empty: MutedListResponse = serde_json::from_str(
        r#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":null,"MutedAccountList":null}"#,
    )
    .unwrap();
    assert!(empty.muted.is_empty());
    let req = MutedListRequest {
        group_id: GroupId::new("@TGS#aLIVE").unwrap(),
        topic_id: Some("@TGS#_@TGS#cQVLVHIM62CJ@TOPIC#_TestTopic".into()),
    };
    let v = serde_json::to_value(&req).unwrap();
    assert_eq!(v["TopicId"], "@TGS#_@TGS#cQVLVHIM62CJ@TOPIC#_TestTopic");
    assert_eq!(
        MutedListRequest::ENDPOINT.command,
        "get_group_muted_account"
    );
}
