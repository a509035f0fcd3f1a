//! Recall and false positives on committed corpora: spam rewritten the
//! ways raiders rewrite it (`corpus/evasion.txt`) and ordinary chat full
//! of near misses (`corpus/clean.txt`), judged by `corpus/rules.toml`.
//! The control judges the same with the normaliser off.

#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use ban_callback::{Callback, GroupMessage};
use ban_rules::Rules;

fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect()
}

fn blocked(rules: &Rules, text: &str) -> bool {
    let m = GroupMessage::text_message("@TGS#aLIVE", "AVChatRoom", "u", text, 1, 0);
    rules.judge(&Callback::BeforeSendMsg(m)).answer.error_code != 0
}

fn rates(rules: &Rules) -> (f64, f64, Vec<String>, Vec<String>) {
    let spam = lines(include_str!("corpus/evasion.txt"));
    let clean = lines(include_str!("corpus/clean.txt"));
    let missed: Vec<String> = spam
        .iter()
        .filter(|t| !blocked(rules, t))
        .map(|t| format!("{t:?}"))
        .collect();
    let wrong: Vec<String> = clean
        .iter()
        .filter(|t| blocked(rules, t))
        .map(|t| (*t).to_owned())
        .collect();
    let recall = 1.0 - missed.len() as f64 / spam.len() as f64;
    let fp = wrong.len() as f64 / clean.len() as f64;
    (recall, fp, missed, wrong)
}

const RULES: &str = include_str!("corpus/rules.toml");

#[test]
fn the_normaliser_catches_rewrites_and_spares_ordinary_chat() {
    let rules = Rules::parse(RULES).unwrap();
    let (recall, fp, missed, wrong) = rates(&rules);
    println!("with the normaliser: recall {recall:.3}, false positives {fp:.3}");
    assert!(recall >= 0.95, "recall {recall:.3}; missed: {missed:#?}");
    assert!(fp <= 0.02, "false positives {fp:.3}: {wrong:#?}");
}

#[test]
fn without_the_normaliser_recall_falls_below_half() {
    let off = RULES.replace("on = \"message\"", "on = \"message\"\nnormalize = []");
    let rules = Rules::parse(&off).unwrap();
    let (recall, fp, _, _) = rates(&rules);
    println!("without the normaliser: recall {recall:.3}, false positives {fp:.3}");
    assert!(recall < 0.5, "recall {recall:.3}");
}
