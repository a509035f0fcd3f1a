//! Signature checks and tolerant decoding, with vectors from the formula
//! (`hex(sha256(Token + RequestTime))`; the page's own sample digest does
//! not reproduce from its inputs).
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use ban_callback::{
    sign, AuthError, Callback, CallbackQuery, CallbackToken, Verifier, DEFAULT_WINDOW,
};
use proptest::prelude::*;

const APP: u64 = 1_400_000_000;
const NOW: u64 = 1_669_872_112;

fn query(extra: &str) -> CallbackQuery {
    CallbackQuery::parse(&format!(
        "SdkAppid={APP}&CallbackCommand=Group.CallbackBeforeSendMsg&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI{extra}"
    ))
    .unwrap()
}

fn signed(token: &str, time: u64) -> CallbackQuery {
    let digest = sign(&CallbackToken::new(token), &time.to_string());
    query(&format!("&Sign={digest}&RequestTime={time}"))
}

fn verifier() -> Verifier {
    Verifier::new(APP, Some(CallbackToken::new("xxxyyy")))
}

#[test]
fn the_formula_s_vector() {
    // sha256("xxxyyy1669872112"), computed apart from this crate.
    assert_eq!(
        sign(&CallbackToken::new("xxxyyy"), "1669872112"),
        "e78a85473bed2cdc8d6fa8c4d5a4ba4735fd64156e15a99516b9890293e135de"
    );
}

#[test]
fn a_good_signature_is_accepted_and_each_fault_refused() {
    let v = verifier();
    assert_eq!(v.verify(&signed("xxxyyy", NOW), NOW + 3), Ok(()));
    // Upper-case hex is the same digest.
    let upper = sign(&CallbackToken::new("xxxyyy"), &NOW.to_string()).to_uppercase();
    let q = query(&format!("&Sign={upper}&RequestTime={NOW}"));
    assert_eq!(v.verify(&q, NOW), Ok(()));
    assert_eq!(
        v.verify(&signed("other", NOW), NOW),
        Err(AuthError::BadSign)
    );
    let q = query(&format!("&Sign={}&RequestTime={NOW}", "0".repeat(64)));
    assert_eq!(v.verify(&q, NOW), Err(AuthError::BadSign));
    let q = query(&format!("&Sign=abc&RequestTime={NOW}"));
    assert_eq!(v.verify(&q, NOW), Err(AuthError::BadSign), "a short digest");
    assert_eq!(v.verify(&query(""), NOW), Err(AuthError::MissingSign));
    let q = query("&Sign=abc");
    assert_eq!(v.verify(&q, NOW), Err(AuthError::MissingTime));
    let q = query("&Sign=abc&RequestTime=soon");
    assert_eq!(v.verify(&q, NOW), Err(AuthError::MissingTime));
    let window = DEFAULT_WINDOW.as_secs();
    let stale = signed("xxxyyy", NOW - window - 1);
    assert!(
        matches!(v.verify(&stale, NOW), Err(AuthError::Stale { age_secs, .. }) if age_secs == window + 1)
    );
    let e = v.verify(&stale, NOW).unwrap_err().to_string();
    assert!(e.contains(&format!("is {} s old", window + 1)), "{e}");
    let future = signed("xxxyyy", NOW + window + 1);
    let e = v.verify(&future, NOW).unwrap_err();
    assert!(matches!(e, AuthError::Stale { ahead: true, .. }));
    assert!(e.to_string().contains("s in the future"), "{e}");
    // Milliseconds are said as such, not as an age of 50,000 years.
    let millis = signed("xxxyyy", NOW * 1000);
    let e = v.verify(&millis, NOW).unwrap_err().to_string();
    assert!(e.contains("looks like milliseconds"), "{e}");
    assert_eq!(
        v.verify(&signed("xxxyyy", NOW - window), NOW),
        Ok(()),
        "the window's edge"
    );
    let other = CallbackQuery::parse(&format!(
        "SdkAppid=1400000001&CallbackCommand=x&Sign=a&RequestTime={NOW}"
    ))
    .unwrap();
    assert_eq!(
        v.verify(&other, NOW),
        Err(AuthError::OtherApp {
            expected: APP,
            given: 1_400_000_001
        })
    );
}

#[test]
fn without_a_token_only_the_app_is_checked() {
    let v = Verifier::new(APP, None);
    assert!(!v.requires_sign());
    assert_eq!(v.verify(&query(""), NOW), Ok(()));
    let empty = Verifier::new(APP, Some(CallbackToken::new("")));
    assert!(
        !empty.requires_sign(),
        "an empty token authenticates nothing"
    );
}

#[test]
fn the_token_never_shows() {
    let v = verifier();
    let text = format!("{v:?} {:?}", CallbackToken::new("xxxyyy"));
    assert!(!text.contains("xxxyyy"), "{text}");
    let err = v
        .verify(&signed("other", NOW), NOW)
        .unwrap_err()
        .to_string();
    assert!(!err.contains("xxxyyy") && !err.contains("e78a"), "{err}");
}

#[test]
fn tolerant_decoding_where_the_pages_disagree() {
    let msg = |event_time: &str| {
        format!(
            r#"{{"GroupId":"@TGS#a1","Type":"AVChatRoom","From_Account":"bot","Random":7,"MsgBody":[{{"MsgType":"TIMTextElem","MsgContent":{{"Text":"buy "}}}},{{"MsgType":"TIMFaceElem","MsgContent":{{"Index":1}}}},{{"MsgType":"TIMTextElem","MsgContent":{{"Text":"followers"}}}}],"EventTime":{event_time}}}"#
        )
    };
    for t in ["1669872112000", "\"1669872112000\""] {
        let Callback::BeforeSendMsg(m) =
            Callback::decode("Group.CallbackBeforeSendMsg", msg(t).as_bytes()).unwrap()
        else {
            panic!()
        };
        assert_eq!(m.event_time, Some(1_669_872_112_000));
        assert_eq!(m.text(), "buy followers");
    }
    let bad = Callback::decode("Group.CallbackBeforeSendMsg", msg("\"soon\"").as_bytes());
    assert!(bad.unwrap_err().to_string().contains("not a whole number"));
    for text in [r#""spam""#, r#"["spam"]"#] {
        let body = format!(
            r#"{{"From_Account":"bot","ContactItem":{{"ContactType":2,"ToGroupId":"@TGS#a1"}},"ContentType":"Text","TextContent":{text},"CtxcbResult":1,"CtxcbKeywords":null}}"#
        );
        let Callback::ContentResult(r) =
            Callback::decode("ContentCallback.ResultNotify", body.as_bytes()).unwrap()
        else {
            panic!()
        };
        assert_eq!(r.text_content, ["spam"]);
        assert!(r.blocked());
        assert_eq!(r.group(), Some("@TGS#a1"));
        assert!(r.ctxcb_keywords.is_empty());
    }
    let join = r#"{"GroupId":"@TGS#a1","NewMemberList":[{"Member_Account":"a"},{"Member_Account":"b"}],"JoinType":"Apply"}"#;
    let Callback::AfterNewMemberJoin(j) =
        Callback::decode("Group.CallbackAfterNewMemberJoin", join.as_bytes()).unwrap()
    else {
        panic!()
    };
    assert_eq!(j.new_members.len(), 2);
    let alert = r#"{"CallbackCommand":"Alert.RequestOverLimit","ServiceName":"openim","Command":"batchsendmsg","Request":510,"Limit":200}"#;
    let Callback::RequestOverLimit(a) =
        Callback::decode("Alert.RequestOverLimit", alert.as_bytes()).unwrap()
    else {
        panic!()
    };
    assert_eq!((a.request, a.limit), (Some(510), Some(200)));
    // An unknown command is not an error, whatever its body.
    assert_eq!(
        Callback::decode("Group.CallbackSomethingNew", b"not json").unwrap(),
        Callback::Unknown("Group.CallbackSomethingNew".into())
    );
}

proptest! {
    #[test]
    fn what_is_signed_verifies_and_any_other_token_does_not(
        token in "[ -~]{1,40}", other in "[ -~]{1,40}", t in 1_000_000_000u64..2_000_000_000, skew in 0u64..300,
    ) {
        let v = Verifier::new(APP, Some(CallbackToken::new(token.clone())));
        prop_assert_eq!(v.verify(&signed(&token, t), t + skew), Ok(()));
        if other != token {
            prop_assert_eq!(v.verify(&signed(&other, t), t), Err(AuthError::BadSign));
        }
    }
}
