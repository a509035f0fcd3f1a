//! Properties of the normaliser and the matchers: normalising twice is
//! normalising once, whatever the stages; a phrase found in a message is
//! still found once a raider rewrites it (zero-width characters, full-width
//! letters, separators, case, leet, repeated letters, Cyrillic look-alikes,
//! several at once).

#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use ban_rules::{normalize, Matcher, Stage, Stages};
use proptest::prelude::*;

/// Characters raiders use, and some of anything.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('a', 'z'),
        2 => proptest::char::range('A', 'Z'),
        2 => prop::sample::select(vec!['0', '1', '3', '4', '5', '7', '@', '$', '|', 'l', ' ', '.', '*', '-', '_']),
        2 => prop::sample::select(vec!['\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{ad}', '\u{feff}', '\u{202e}', '\u{301}', '\u{336}', '\u{fe0f}']),
        2 => prop::sample::select(vec!['ｆ', 'Ｒ', 'ｅ', '𝐟', 'ⓕ', 'ﬁ', 'е', 'о', 'а', 'р', 'с', 'ο', 'ν', 'Ι', 'ǀ', 'ɛ', 'Ɛ']),
        2 => prop::sample::select(vec!['們', '们', '發', '财', '財', '加', '微', '信', '，', '。', '😀', '！', '　', 'ア', '한']),
        1 => any::<char>(),
    ]
}

fn stages() -> impl Strategy<Value = Stages> {
    prop::collection::vec(prop::sample::select(Stage::ALL.to_vec()), 0..=7)
        .prop_map(|s| Stages::of(&s))
}

/// One way a raider rewrites a letter of a phrase.
#[derive(Debug, Clone, Copy)]
enum Rewrite {
    ZeroWidth,
    FullWidth,
    Separator(char),
    Upper,
    Leet,
    Repeat(u8),
    Cyrillic,
}

fn rewrite() -> impl Strategy<Value = Rewrite> {
    prop_oneof![
        Just(Rewrite::ZeroWidth),
        Just(Rewrite::FullWidth),
        prop::sample::select(vec![' ', '.', '*', '-', '_', '·', '，', '😀'])
            .prop_map(Rewrite::Separator),
        Just(Rewrite::Upper),
        Just(Rewrite::Leet),
        (1u8..4).prop_map(Rewrite::Repeat),
        Just(Rewrite::Cyrillic),
    ]
}

/// `c` written as `how` rewrites it (a letter it does not apply to stays).
fn apply(c: char, how: Rewrite, out: &mut String) {
    match how {
        Rewrite::ZeroWidth => {
            out.push(c);
            out.push('\u{200b}');
        }
        Rewrite::FullWidth => out.push(char::from_u32(c as u32 - 0x21 + 0xff01).unwrap_or(c)),
        Rewrite::Separator(s) => {
            out.push(c);
            out.push(s);
        }
        Rewrite::Upper => out.push(c.to_ascii_uppercase()),
        Rewrite::Leet => out.push(match c {
            'e' => '3',
            'o' => '0',
            'i' => '1',
            's' => '5',
            'a' => '4',
            't' => '7',
            _ => c,
        }),
        Rewrite::Repeat(n) => out.extend(std::iter::repeat_n(c, 1 + usize::from(n))),
        Rewrite::Cyrillic => out.push(match c {
            'a' => 'а',
            'e' => 'е',
            'o' => 'о',
            'p' => 'р',
            'c' => 'с',
            'x' => 'х',
            'y' => 'у',
            _ => c,
        }),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn normalising_twice_is_normalising_once(
        s in prop::collection::vec(tricky_char(), 0..40).prop_map(String::from_iter),
        st in stages(),
    ) {
        let once = normalize(&s, st).text;
        prop_assert_eq!(normalize(&once, st).text, once.clone(), "stages {:?}", st);
    }

    #[test]
    fn a_rewritten_phrase_is_still_found(
        words in prop::collection::vec("[a-z]{3,8}", 1..4),
        rewrites in prop::collection::vec(prop::option::weighted(0.6, rewrite()), 32),
        before in "[a-z ]{0,12}",
        after in "[a-z ]{0,12}",
    ) {
        let phrase = words.join(" ");
        let mut written = String::new();
        for (i, c) in phrase.chars().enumerate() {
            match rewrites[i % rewrites.len()] {
                // No separator after the phrase's last letter: it would
                // join the phrase to what follows, which is not a rewrite;
                // nor after its first: the lone letter it leaves is joined
                // to the word before it (spaced-out text), not to the
                // phrase (the phrase is still found, not as a whole word).
                Some(Rewrite::Separator(_)) if i + 1 == phrase.len() || i == 0 => written.push(c),
                Some(how) if c != ' ' => apply(c, how, &mut written),
                _ => written.push(c),
            }
        }
        let message = format!("{before} {written} {after}");
        let entries = vec![phrase.clone()];
        let anywhere = Matcher::new(Stages::ALL, &entries, &[], &[]).unwrap();
        let hits = anywhere.find_all(&message);
        prop_assert!(!hits.is_empty(), "{:?} not found in {:?}", phrase, message);
        // One hit is in the rewrite (`before` may hold the phrase too).
        let at = before.len() + 1;
        prop_assert!(
            hits.iter().any(|h| h.span.0 < at + written.len() && h.span.1 > at),
            "no span in the rewrite: {:?}", hits
        );
        // As a whole word, unless a lone letter stands beside the rewrite:
        // `a t ta` reads as the spaced-out word `atta` (the separators
        // stage joins spaced single letters), in which `tta` is no word.
        let lone = |t: Option<&str>| t.is_some_and(|t| t.chars().count() == 1);
        let beside = lone(before.split(' ').rfind(|t| !t.is_empty()))
            || lone(after.split(' ').find(|t| !t.is_empty()));
        if !beside {
            let whole = Matcher::new(Stages::ALL, &[], &entries, &[]).unwrap();
            prop_assert!(whole.find(&message).is_some(), "{:?} as a word in {:?}", phrase, message);
        }
    }
}
