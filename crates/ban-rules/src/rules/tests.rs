//! The rules file's tests.
use super::*;

const GOOD: &str = r#"
[allow]
accounts = ["administrator"]

[[rule]]
name = "spam"
on = "message"
contains_any = ["Buy Followers", "free coins"]
block = true
ladder = ["mute 10m", "mute 1h", "ban 7d"]
window = "24h"

[[rule]]
name = "flood"
on = "message"
max_per_sender = { count = 5, per = "10s" }
ladder = ["mute 10m", "ban 1d"]

[[rule]]
name = "content moderation"
on = "content_result"
ladder = ["mute 1h", "mute permanent"]

[[rule]]
name = "raid"
on = "join"
max_joins = { count = 50, per = "10s" }
ladder = ["ban 1h"]
groups = ["@TGS#aLIVE"]
"#;

#[test]
fn the_issue_s_example_reads() {
    let r = Rules::parse(GOOD).unwrap();
    assert_eq!(r.rules.len(), 4);
    let spam = &r.rules[0];
    assert_eq!(
        spam.find("BUY FOLLOWERS now").unwrap().entry,
        "Buy Followers"
    );
    assert_eq!(spam.step(1), Step::Mute(Some(Duration::from_secs(600))));
    assert_eq!(spam.step(3), Step::Ban(Duration::from_secs(7 * 86_400)));
    assert_eq!(spam.step(9), Step::Ban(Duration::from_secs(7 * 86_400)));
    assert_eq!(r.rules[1].per_sender, Some((5, Duration::from_secs(10))));
    assert_eq!(r.rules[2].step(2), Step::Mute(None));
    assert!(r.rules[3].covers("@TGS#aLIVE") && !r.rules[3].covers("@TGS#aOTHER"));
    assert!(r.allow.contains("administrator"));
    assert_eq!(spam.step(1).to_string(), "mute 10m");
    assert_eq!(spam.step(3).to_string(), "ban 7d");
}

#[test]
fn bad_files_name_the_line_and_the_reason() {
    let cases = [
        ("[[rule]]\nname = \"a\"\non = \"message\"\ncontains_any = [\"x\"]\nladder = [\"kick 1h\"]\n", "line 5", "not \"mute DURATION\""),
        ("[[rule]]\nname = \"a\"\non = \"message\"\ncontains_any = [\"x\"]\nladder = [\"mute soon\"]\n", "line 5", "whole-second duration"),
        ("[[rule]]\nname = \"a\"\non = \"mesage\"\nladder = [\"mute 1m\"]\n", "line 3", "unknown variant"),
        ("[[rule]]\nname = \"a\"\non = \"message\"\nladder = [\"mute 1m\"]\n", "line 2", "needs contains_any"),
        ("[[rule]]\nname = \"a\"\non = \"message\"\ncontains_any = [\"x\"]\nladder = []\n", "line 5", "ladder is empty"),
        ("[[rule]]\nname = \"a\"\non = \"message\"\ncontains_any = [\"x\"]\nladder = [\"ban 1h\"]\nwindow = \"0s\"\n", "line 6", "at least 1 s"),
        ("[[rule]]\nname = \"a\"\non = \"join\"\nmax_joins = { count = 0, per = \"10s\" }\nladder = [\"ban 1h\"]\n", "line 4", "count is 0"),
        ("[[rule]]\nname = \"a\"\non = \"message\"\ncontains_any = [\"x\"]\nladder = [\"ban 1h\"]\ncolour = \"red\"\n", "line 6", "unknown field"),
        ("[[rule]]\nname = \"a\"\non = \"content_result\"\nblock = true\nladder = [\"ban 1h\"]\n", "line 2", "block = true"),
        ("[[rule]]\nname = \"a\"\non = \"message\"\ncontains_any = [\"x\"]\nblock = true\nmask = true\nladder = [\"ban 1h\"]\n", "line 2", "block = true and mask = true exclude each other"),
        ("[[rule]]\nname = \"a\"\non = \"join\"\ncontains_any = [\"x\"]\nmask = true\nladder = [\"ban 1h\"]\n", "line 2", "mask = true stars matches"),
        ("[[rule]]\nname = \"a\"\non = \"message\"\nmax_per_sender = { count = 5, per = \"10s\" }\nmask = true\nladder = [\"ban 1h\"]\n", "line 2", "it needs contains_any"),
        ("[[rule]]\nname = \"a\"\non = \"message\"\ncontains_any = [\"x\"]\nreview = true\nladder = [\"ban 1h\"]\n", "line 2", "review = true acts on content results"),
        ("[[rule]]\nname = \"a\"\non = \"join\"\ncontains_any = [\"x\"]\nlabels = [\"Ad\"]\nladder = [\"ban 1h\"]\n", "line 2", "labels picks"),
        ("[[rule]]\nname = \"a\"\non = \"content_result\"\nlabels = [\" \"]\nladder = [\"ban 1h\"]\n", "line 2", "labels holds an empty entry"),
        ("[[rule]]\nname = \"a\"\non = \"message\"\ncontains_any = [\"x\"]\nmode = \"dry\"\nladder = [\"ban 1h\"]\n", "line 5", "unknown variant `dry`, expected `enforce` or `shadow`"),
        ("", "", "no [[rule]]"),
        ("[raid]\njoins = { count = 1, per = \"10s\" }\n", "line 2", "a surge is at least 2 joins"),
        ("[raid]\njoins = { count = 50, per = \"soon\" }\n", "line 2", "raid.joins.per \"soon\" is not a duration"),
        ("[raid]\njoins = { count = 50, per = \"10s\" }\nnewcomer_code = 10016\n", "line 3", "only from 10100 to 10200"),
        ("[raid]\njoins = { count = 50, per = \"10s\" }\nnewcomer_message = \" \"\n", "line 3", "newcomer_message is empty"),
        ("[raid]\njoins = { count = 50, per = \"10s\" }\nquiet = \"0s\"\n", "line 3", "at least 1 s"),
        ("[raid]\njoins = { count = 50, per = \"10s\" }\nmute_newcomers = \"200y\"\n", "line 3", "a mute lasts 1 s to 136 years"),
        ("[raid]\njoins = { count = 50, per = \"10s\" }\nmute_newcomers = \"0s\"\n", "line 3", "at least 1 s"),
        ("[raid]\njoins = { count = 50, per = \"10s\" }\nfreeze = \"yes\"\n", "line 3", "invalid type"),
        ("[raid]\njoins = { count = 50, per = \"10s\" }\nshield = true\n", "line 3", "unknown field"),
        ("[raid]\nquiet = \"2m\"\n", "line 1", "missing field `joins`"),
    ];
    for (text, line, reason) in cases {
        let err = Rules::parse(text).unwrap_err().to_string();
        assert!(
            err.starts_with(line) && err.contains(reason),
            "{text:?}: {err}"
        );
    }
}

#[test]
fn a_raid_section_alone_is_a_rules_file_with_its_defaults() {
    let rules = Rules::parse("[raid]\njoins = { count = 50, per = \"10s\" }\n").unwrap();
    assert!(rules.rules.is_empty());
    let raid = rules.raid.unwrap();
    assert_eq!(raid.joins, (50, Duration::from_secs(10)));
    assert_eq!(raid.quiet, Duration::from_secs(120));
    assert_eq!(raid.newcomer_code, 10150);
    assert!(!raid.freeze && raid.mute_newcomers.is_none() && !raid.cohort_from_room);
    let full = Rules::parse(
        "[raid]\njoins = { count = 50, per = \"10s\" }\nfreeze = true\nmute_newcomers = \"10m\"\ncohort_from_room = true\n",
    )
    .unwrap()
    .raid
    .unwrap();
    assert!(full.freeze && full.cohort_from_room);
    assert_eq!(full.mute_newcomers, Some(Duration::from_secs(600)));
    assert_eq!(
        raid.newcomer_message,
        "New members can chat once the raid is over"
    );
    assert!(raid.covers("@TGS#any"));
    let long = format!(
        "[raid]\njoins = {{ count = 50, per = \"10s\" }}\nnewcomer_message = \"{}\"\ngroups = [\"@TGS#aLIVE\"]\n",
        "x".repeat(257)
    );
    let err = Rules::parse(&long).unwrap_err().to_string();
    assert!(err.contains("is 257 bytes; at most 256"), "{err}");
    let scoped = Rules::parse(&long.replace(&"x".repeat(257), "wait"))
        .unwrap()
        .raid
        .unwrap();
    assert!(scoped.covers("@TGS#aLIVE") && !scoped.covers("@TGS#other"));
}
