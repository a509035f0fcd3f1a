//! The fields and spellings of the 2026 pages (api-facts.md, "Callbacks,
//! second check"), each decoded from a body as the pages show it.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use ban_callback::{Callback, CallbackQuery, QueryError};

/// The after-send sample of the zh page: `CallbackCommand` first, with
/// `OnlineOnlyFlag`, `Operator_Account`, `MsgId`, `MsgSeq`, `MsgTime`.
const AFTER_SEND: &str = r#"{"CallbackCommand":"Group.CallbackAfterSendMsg","GroupId":"@TGS#2J4SZEAEL","Type":"Public","From_Account":"jared","Operator_Account":"admin","Random":123456,"MsgSeq":123,"MsgTime":1490686222,"OnlineOnlyFlag":1,"MsgId":"144115233406643804-1727340445-2313613","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"red packet"}}],"CloudCustomData":"your cloud custom data","EventTime":1670574414123}"#;

#[test]
fn after_send_keeps_msg_id_online_only_flag_and_operator() {
    let Callback::AfterSendMsg(m) =
        Callback::decode("Group.CallbackAfterSendMsg", AFTER_SEND.as_bytes()).unwrap()
    else {
        panic!("not an after-send")
    };
    assert_eq!(m.msg_id, "144115233406643804-1727340445-2313613");
    assert_eq!(m.online_only_flag, Some(1));
    assert_eq!(m.operator_account, "admin");
    assert_eq!((m.msg_seq, m.msg_time), (Some(123), Some(1_490_686_222)));
    assert_eq!(m.topic_id, "");
    // Serialized again, every field is kept (the emulator sends this way).
    let again: serde_json::Value = serde_json::to_value(&m).unwrap();
    assert_eq!(again["MsgId"], "144115233406643804-1727340445-2313613");
    assert_eq!(again["OnlineOnlyFlag"], 1);
    assert!(again.get("TopicId").is_none(), "empty: left out");
}

#[test]
fn a_topic_is_kept_and_missing_fields_are_tolerated() {
    let body = r#"{"GroupId":"@GRP#cGroup","Type":"Community","From_Account":"a","TopicId":"@GRP#cGroup@TOPIC#cTopic","OnlineOnlyFlag":"0","MsgBody":null,"MsgId":null}"#;
    let Callback::BeforeSendMsg(m) =
        Callback::decode("Group.CallbackBeforeSendMsg", body.as_bytes()).unwrap()
    else {
        panic!("not a before-send")
    };
    assert_eq!(m.topic_id, "@GRP#cGroup@TOPIC#cTopic");
    assert_eq!(m.online_only_flag, Some(0), "a string number is taken");
    assert!(m.msg_body.is_empty() && m.msg_id.is_empty());
    let old = r#"{"GroupId":"g","From_Account":"a"}"#;
    let Callback::BeforeSendMsg(m) =
        Callback::decode("Group.CallbackBeforeSendMsg", old.as_bytes()).unwrap()
    else {
        panic!("not a before-send")
    };
    assert_eq!(m.online_only_flag, None);
}

#[test]
fn member_exit_and_send_exception_are_typed() {
    let exit = r#"{"CallbackCommand":"Group.CallbackAfterMemberExit","GroupId":"@TGS#2J4SZEAEL","Type":"Public","ExitType":"Kicked","Operator_Account":"leckie","ExitMemberList":[{"Member_Account":"jared"},{"Member_Account":"tommy"}],"EventTime":1670574414123}"#;
    let Callback::AfterMemberExit(e) =
        Callback::decode("Group.CallbackAfterMemberExit", exit.as_bytes()).unwrap()
    else {
        panic!("not a member exit")
    };
    assert_eq!(e.exit_type, "Kicked");
    let who: Vec<&str> = e
        .exit_members
        .iter()
        .map(|m| m.member_account.as_str())
        .collect();
    assert_eq!(who, ["jared", "tommy"]);
    assert_eq!(e.event_time, Some(1_670_574_414_123));
    let failed = r#"{"CallbackCommand":"Group.CallbackSendMsgException","GroupId":"@TGS#aLIVE","Type":"AVChatRoom","From_Account":"bot","Operator_Account":"bot","Random":9,"OnlineOnlyFlag":0,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}],"ErrorCode":10017,"ErrorInfo":"muted","EventTime":"1670574414123"}"#;
    let Callback::SendMsgException(x) =
        Callback::decode("Group.CallbackSendMsgException", failed.as_bytes()).unwrap()
    else {
        panic!("not a send exception")
    };
    assert_eq!(x.error_code, 10017);
    assert_eq!(x.message.from_account, "bot");
    assert_eq!(x.message.text(), "hi");
    assert_eq!(x.message.event_time, Some(1_670_574_414_123));
    for command in [
        "Group.CallbackAfterMemberExit",
        "Group.CallbackSendMsgException",
    ] {
        assert!(Callback::COMMANDS.contains(&command));
    }
}

#[test]
fn the_query_takes_both_spellings_of_the_app() {
    for name in ["SdkAppid", "SdkAppId"] {
        let q = CallbackQuery::parse(&format!(
            "{name}=1400000001&CallbackCommand=ContentCallback.ResultNotify&contenttype=json"
        ))
        .unwrap();
        assert_eq!(q.sdkappid, 1_400_000_001, "{name}");
    }
    // Both at once is one parameter given twice: refused, as any repeat.
    assert_eq!(
        CallbackQuery::parse("SdkAppid=1&SdkAppId=2&CallbackCommand=x"),
        Err(QueryError::Repeated("SdkAppid"))
    );
    assert_eq!(
        CallbackQuery::parse("sdkappid=1&CallbackCommand=x"),
        Err(QueryError::Missing("SdkAppid")),
        "the REST casing is not the callback's"
    );
}
