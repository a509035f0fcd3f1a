//! The judge's unit tests.
use super::*;
use ban_callback::{GroupMessage, MemberJoin};

const RULES: &str = r#"
[allow]
accounts = ["mod_alice"]

[[rule]]
name = "spam"
on = "message"
contains_any = ["free coins"]
block = true
ladder = ["mute 10m"]
groups = ["@TGS#aLIVE"]

[[rule]]
name = "flood"
on = "message"
max_per_sender = { count = 5, per = "10s" }
ladder = ["mute 10m"]

[[rule]]
name = "moderation"
on = "content_result"
ladder = ["mute 1h"]

[[rule]]
name = "bot names"
on = "join"
contains_any = ["_bot"]
block = true
ladder = ["ban 1d"]

[[rule]]
name = "raid"
on = "join"
max_joins = { count = 50, per = "10s" }
ladder = ["ban 1h"]
"#;

fn msg(group: &str, from: &str, text: &str) -> GroupMessage {
    GroupMessage::text_message(group, "AVChatRoom", from, text, 9, 0)
}

#[test]
fn messages_block_and_match_by_group_and_allow_list() {
    let r = Rules::parse(RULES).unwrap();
    let j = r.judge(&Callback::BeforeSendMsg(msg(
        "@TGS#aLIVE",
        "bot",
        "Free Coins!",
    )));
    assert_eq!(j.answer.error_code, 1);
    let kinds: Vec<_> = j
        .matches
        .iter()
        .map(|m| (r.rules[m.rule].name.as_str(), &m.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("spam", &MatchKind::Word("free coins".into())),
            ("flood", &MatchKind::Rate)
        ]
    );
    assert_eq!(j.matches[0].message.as_deref(), Some("@TGS#aLIVE:bot:9"));
    // After send: nothing to refuse, the same matches.
    let j = r.judge(&Callback::AfterSendMsg(msg(
        "@TGS#aLIVE",
        "bot",
        "free coins",
    )));
    assert_eq!((j.answer.error_code, j.matches.len()), (0, 2));
    // Another group: the spam rule does not apply there.
    let j = r.judge(&Callback::BeforeSendMsg(msg(
        "@TGS#aOTHER",
        "bot",
        "free coins",
    )));
    assert_eq!(j.answer.error_code, 0);
    assert_eq!(j.matches.len(), 1);
    // The allow-list: never refused, matched but marked.
    let j = r.judge(&Callback::BeforeSendMsg(msg(
        "@TGS#aLIVE",
        "mod_alice",
        "free coins",
    )));
    assert_eq!(j.answer.error_code, 0);
    assert!(j.matches.iter().all(|m| m.allowed));
}

#[test]
fn content_results_and_joins() {
    let r = Rules::parse(RULES).unwrap();
    let blocked = r#"{"From_Account":"u1","ContactItem":{"ContactType":2,"ToGroupId":"@TGS#aLIVE"},"TextContent":"bad","CtxcbResult":1,"CtxcbLabel":"Ad"}"#;
    let cb = Callback::decode("ContentCallback.ResultNotify", blocked.as_bytes()).unwrap();
    let j = r.judge(&cb);
    assert_eq!(j.matches.len(), 1);
    assert_eq!(j.matches[0].account, "u1");
    assert!(j.matches[0].evidence.contains("Ad"));
    let passed = blocked.replace("\"CtxcbResult\":1", "\"CtxcbResult\":0");
    let cb = Callback::decode("ContentCallback.ResultNotify", passed.as_bytes()).unwrap();
    assert!(r.judge(&cb).matches.is_empty());
    let join = MemberJoin::new("@TGS#aLIVE", "AVChatRoom", &["x_bot", "viewer"], 0);
    let j = r.judge(&Callback::AfterNewMemberJoin(join));
    let got: Vec<_> = j
        .matches
        .iter()
        .map(|m| (r.rules[m.rule].name.as_str(), m.account.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("bot names", "x_bot"),
            ("raid", "x_bot"),
            ("raid", "viewer")
        ]
    );
}

#[test]
fn mask_stars_every_match_in_every_part_and_block_wins() {
    let r = Rules::parse(
        r#"
[allow]
accounts = ["mod_alice"]

[[rule]]
name = "swears"
on = "message"
words_any = ["darn"]
mask = true
ladder = ["mute 1m"]

[[rule]]
name = "spam"
on = "message"
contains_any = ["free coins"]
block = true
ladder = ["mute 10m"]
"#,
    )
    .unwrap();
    let mut m = msg("@TGS#aLIVE", "u1", "d a r n it, DARN");
    m.msg_body
        .push(ban_callback::MsgElement::custom(r#"{"gift":"d4rn"}"#));
    let j = r.judge(&Callback::BeforeSendMsg(m.clone()));
    assert!(j.answer.allows());
    let body = j.answer.msg_body.expect("a replacement body");
    assert_eq!(body[0].msg_content["Text"], "******* it, ****");
    assert_eq!(body[1].msg_content["Data"], r#"{"gift":"****"}"#);
    assert_eq!(j.matches.len(), 1, "the masked offence is still counted");
    // After send there is nothing to rewrite.
    assert!(r
        .judge(&Callback::AfterSendMsg(m))
        .answer
        .msg_body
        .is_none());
    // Blocking beats masking; the allow-listed are neither.
    let j = r.judge(&Callback::BeforeSendMsg(msg(
        "@TGS#a",
        "u1",
        "darn, free coins",
    )));
    assert_eq!((j.answer.error_code, j.answer.msg_body), (1, None));
    let j = r.judge(&Callback::BeforeSendMsg(msg("@TGS#a", "mod_alice", "darn")));
    assert!(!j.answer.modifies());
    let j = r.judge(&Callback::BeforeSendMsg(msg(
        "@TGS#a",
        "u1",
        "a darning needle",
    )));
    assert!(!j.answer.modifies() && j.matches.is_empty());
}

#[test]
fn content_results_act_on_block_and_on_review_only_when_asked() {
    let r = Rules::parse(
        r#"
[[rule]]
name = "blocked"
on = "content_result"
ladder = ["mute 1h"]

[[rule]]
name = "reviewed ads"
on = "content_result"
review = true
labels = ["ad"]
ladder = ["mute 10m"]
"#,
    )
    .unwrap();
    let judged = |suggestion: &str, label: &str| {
        let body = format!(
            r#"{{"From_Account":"u1","ContactItem":{{"ContactType":2,"ToGroupId":"@TGS#a"}},"TextContent":["x"],"CtxcbSuggestion":"{suggestion}","CtxcbLabel":"{label}","CtxcbSubLabel":"Spam","Scene":"chat"}}"#
        );
        let cb = Callback::decode("ContentCallback.ResultNotify", body.as_bytes()).unwrap();
        let j = r.judge(&cb);
        let names: Vec<_> = j
            .matches
            .iter()
            .map(|m| r.rules[m.rule].name.clone())
            .collect();
        (names, j.matches.first().map(|m| m.evidence.clone()))
    };
    let (names, why) = judged("Block", "Ad");
    assert_eq!(names, ["blocked", "reviewed ads"]);
    assert_eq!(why.unwrap(), "content moderation Block Ad/Spam: x");
    assert_eq!(judged("Review", "Ad").0, ["reviewed ads"]);
    assert!(judged("Review", "Porn").0.is_empty(), "not its label");
    assert!(judged("Pass", "Ad").0.is_empty());
    assert_eq!(judged("Block", "Porn").0, ["blocked"]);
}

#[test]
fn evidence_is_cut_at_256_bytes_on_a_character() {
    let long = "€".repeat(100);
    let e = evidence(&long);
    assert!(e.len() <= EVIDENCE_BYTES && e.len() > 250);
    assert!(long.starts_with(&e));
}

#[test]
fn a_shadow_rule_matches_but_neither_blocks_nor_masks() {
    let text = |mode: &str| {
        format!(
            "[[rule]]\nname = \"new list\"\non = \"message\"\ncontains_any = [\"free coins\"]\nblock = true\nladder = [\"ban 1d\"]\nmode = \"{mode}\"\n\n[[rule]]\nname = \"stars\"\non = \"message\"\ncontains_any = [\"coins\"]\nmask = true\nladder = [\"mute 1m\"]\nmode = \"{mode}\"\n\n[[rule]]\nname = \"names\"\non = \"join\"\ncontains_any = [\"_bot\"]\nblock = true\nladder = [\"ban 1d\"]\nmode = \"{mode}\"\n"
        )
    };
    let msg = GroupMessage::text_message("@TGS#aLIVE", "AVChatRoom", "bot1", "free coins", 7, 0);
    let apply: ban_callback::JoinApply = serde_json::from_value(serde_json::json!({
        "GroupId": "@TGS#aLIVE", "Requestor_Account": "x_bot"
    }))
    .unwrap();
    for (mode, refused) in [("enforce", true), ("shadow", false)] {
        let rules = Rules::parse(&text(mode)).unwrap();
        assert_eq!(rules.rules[0].shadow(), !refused);
        let judged = rules.judge(&Callback::BeforeSendMsg(msg.clone()));
        assert_eq!(judged.answer.error_code != 0, refused, "{mode}");
        assert!(
            judged.answer.msg_body.is_none(),
            "{mode}: block wins or nothing is masked"
        );
        assert_eq!(
            judged.matches.len(),
            2,
            "{mode}: the matches are there to count"
        );
        let join = rules.judge(&Callback::BeforeApplyJoinGroup(apply.clone()));
        assert_eq!(join.answer.error_code != 0, refused, "{mode}");
    }
    // A shadow block beside a live mask: the message is masked, not refused.
    let mixed = text("shadow").replace(
        "ladder = [\"mute 1m\"]\nmode = \"shadow\"",
        "ladder = [\"mute 1m\"]\nmode = \"enforce\"",
    );
    let rules = Rules::parse(&mixed).unwrap();
    let judged = rules.judge(&Callback::BeforeSendMsg(msg));
    assert_eq!(judged.answer.error_code, 0);
    assert!(
        judged.answer.msg_body.is_some(),
        "the enforced mask still stars"
    );
}
