//! `banctl serve` judging the committed evasion and clean corpora (those of
//! `ban-rules/tests/corpus`) with `contains_any`, `words_any`, `regex_any`
//! and a 10,000-line `phrases_file`, every message a signed before-send
//! callback over HTTP; and a rule that masks instead of refusing.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use common::serve::{free_port, now_unix, post, signed_query, start_serve_with, TOKEN};
use common::{start_emulator, G};
use serde_json::{json, Value};

const CORPUS_RULES: &str = include_str!("../../ban-rules/tests/corpus/rules.toml");
const EVASION: &str = include_str!("../../ban-rules/tests/corpus/evasion.txt");
const CLEAN: &str = include_str!("../../ban-rules/tests/corpus/clean.txt");

const MORE_RULES: &str = r#"
[[rule]]
name = "bulk list"
on = "message"
phrases_file = "phrases.txt"
block = true
ladder = ["mute 10m"]

[[rule]]
name = "mild"
on = "message"
words_any = ["darn"]
mask = true
ladder = ["mute 1m"]
"#;

/// The `i`th of the generated list's phrases: `vipbonus` and four letters.
fn phrase(i: usize) -> String {
    let mut tail = String::new();
    let mut n = i;
    for _ in 0..4 {
        tail.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
    }
    format!("vipbonus{tail}")
}

fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn serve_catches_rewrites_spares_chat_and_masks_through_http() {
    let emu = start_emulator("serverules", &["--rate-limit", "0"]);
    let mut list = String::from("# generated: 10,000 phrases\n");
    for i in 0..10_000 {
        list.push_str(&phrase(i));
        list.push('\n');
    }
    let rules = format!("{CORPUS_RULES}\n{MORE_RULES}");
    let serve = start_serve_with(
        &emu,
        free_port(),
        &rules,
        &[("phrases.txt", list.as_str())],
        &[],
    );
    let app = emu.info["sdkappid"].to_string();
    let mut random = 0u64;
    let mut answer = |text: &str| -> Value {
        random += 1;
        let body = json!({"GroupId": G, "Type": "AVChatRoom", "From_Account": format!("u{random}"),
            "Random": random, "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]})
        .to_string();
        let q = signed_query(&app, "Group.CallbackBeforeSendMsg", TOKEN, now_unix());
        let (status, answer) = post(&serve.addr, &q, &body);
        assert_eq!(status, 200, "{answer}");
        serde_json::from_str(&answer).unwrap()
    };
    let refused = |a: &Value| a["ErrorCode"] != 0;
    let spam = lines(EVASION);
    let missed: Vec<&str> = spam
        .iter()
        .copied()
        .filter(|t| !refused(&answer(t)))
        .collect();
    let clean = lines(CLEAN);
    let wrong: Vec<&str> = clean
        .iter()
        .copied()
        .filter(|t| refused(&answer(t)))
        .collect();
    let recall = 1.0 - missed.len() as f64 / spam.len() as f64;
    let fp = wrong.len() as f64 / clean.len() as f64;
    println!("through serve: recall {recall:.3}, false positives {fp:.3}");
    assert!(recall >= 0.95, "recall {recall:.3}; missed {missed:#?}");
    assert!(fp <= 0.02, "false positives {fp:.3}: {wrong:#?}");
    // The list file is at work: its first, last and a rewritten entry.
    for text in [
        phrase(0),
        phrase(9_999),
        format!("get your V I P-B0NUS{} now", &phrase(4_321)[8..]),
    ] {
        assert_eq!(answer(&text)["ErrorCode"], 1, "{text}");
    }
    assert_eq!(
        answer("vipbonus")["ErrorCode"],
        0,
        "a prefix of entries is none"
    );
    // Masked: delivered with the word starred, each rewrite of it too.
    let a = answer("well D-A-R-N it, darn");
    assert_eq!(a["ErrorCode"], 0, "{a}");
    assert_eq!(
        a["MsgBody"][0]["MsgContent"]["Text"], "well ******* it, ****",
        "{a}"
    );
    // Refusing wins over masking; a message with nothing is left as sent.
    let a = answer("darn, free coins");
    assert_eq!(
        (a["ErrorCode"].as_i64(), a.get("MsgBody")),
        (Some(1), None),
        "{a}"
    );
    let a = answer("a darning needle");
    assert_eq!(
        (a["ErrorCode"].as_i64(), a.get("MsgBody")),
        (Some(0), None),
        "{a}"
    );
}
