//! The normaliser: the same folding applied to a rule's entries and to
//! every message, so the tricks raiders use to walk past a word list land
//! on the same text as the word. Each stage can be switched off per rule
//! (`normalize = [...]`; all are on by default):
//!
//! | stage | what it does | the trick it defeats |
//! | --- | --- | --- |
//! | `nfkc` | Unicode NFKC, then lower case | full-width `ｆｒｅｅ`, math alphanumerics `𝐟𝐫𝐞𝐞`, circled `ⓕⓡⓔⓔ`, ligatures `ﬁ`, `FREE` |
//! | `invisible` | drops format characters (Cf) and combining marks | zero-width space/joiners, word joiner, soft hyphen, BOM, bidi controls; zalgo `f̸̛r̷e̵e̶` |
//! | `confusables` | the confusable skeleton of Unicode TS #39 | Cyrillic `е`, Greek `ο`, other look-alikes |
//! | `leet` | `3`→e, `0`→o, `1`/`l`/`\|`→i, `5`/`$`→s, `4`/`@`→a, `7`→t | `fr33 c01ns` |
//! | `repeats` | a run of one character becomes one, which remembers its length (an entry's `ss` still needs two or more) | `freeeee`, `coooins` |
//! | `separators` | spaces, punctuation and symbols (emoji) inside a phrase are ignored | `f r e e`, `f.r.e.e`, `f*r*e*e`, `加 微 信`, `加，微，信` |
//! | `han` | traditional Han folded to simplified (OpenCC's tables, through fast2s) | traditional forms: `發財`→`发财`, `們`→`们` |
//!
//! The normalised text keeps, for each of its characters, the byte span of
//! the message it came from, so evidence and masks point at what was
//! written, and where the separators were, so a whole-word match knows its
//! boundaries.

use std::fmt;

use serde::Deserialize;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// One stage of the normaliser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Stage {
    /// Unicode NFKC and lower case.
    Nfkc,
    /// Format characters and combining marks removed.
    Invisible,
    /// The TS #39 confusable skeleton.
    Confusables,
    /// Leetspeak folded.
    Leet,
    /// Runs of one character collapsed.
    Repeats,
    /// Separators ignored.
    Separators,
    /// Traditional Han folded to simplified.
    Han,
}

impl Stage {
    /// Every stage, in the order they apply.
    pub const ALL: [Stage; 7] = [
        Stage::Nfkc,
        Stage::Invisible,
        Stage::Confusables,
        Stage::Leet,
        Stage::Repeats,
        Stage::Separators,
        Stage::Han,
    ];

    const fn bit(self) -> u8 {
        1 << self as u8
    }

    /// Its name in rules files.
    pub const fn as_str(self) -> &'static str {
        match self {
            Stage::Nfkc => "nfkc",
            Stage::Invisible => "invisible",
            Stage::Confusables => "confusables",
            Stage::Leet => "leet",
            Stage::Repeats => "repeats",
            Stage::Separators => "separators",
            Stage::Han => "han",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of stages.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stages(u8);

impl fmt::Debug for Stages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(Stage::ALL.iter().filter(|s| self.has(**s)))
            .finish()
    }
}

impl Default for Stages {
    fn default() -> Self {
        Stages::ALL
    }
}

impl Stages {
    /// Every stage (the default).
    pub const ALL: Stages = Stages(0x7f);
    /// None: only lower case.
    pub const NONE: Stages = Stages(0);

    /// These stages.
    pub fn of(stages: &[Stage]) -> Stages {
        Stages(stages.iter().fold(0, |b, s| b | s.bit()))
    }

    /// These stages less `stage`.
    pub const fn without(self, stage: Stage) -> Stages {
        Stages(self.0 & !stage.bit())
    }

    /// Whether `stage` is on.
    pub const fn has(self, stage: Stage) -> bool {
        self.0 & stage.bit() != 0
    }
}

/// A text after normalisation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Normalized {
    /// The normalised text.
    pub text: String,
    /// For each character of `text`, in order: its byte offset in `text`,
    /// the byte span of the input it came from, and whether a separator
    /// (or the start) comes right before it.
    pub chars: Vec<NormChar>,
}

/// One character of a [`Normalized`] text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormChar {
    /// Its byte offset in the normalised text.
    pub at: usize,
    /// The input bytes it came from.
    pub from: (usize, usize),
    /// A separator, or the start of the text, comes right before it.
    pub boundary: bool,
    /// How many times it was written in a row (1 unless the `repeats`
    /// stage collapsed a run into it).
    pub run: u32,
    /// Where a separator split its run (`grab bag`: one `b` of run 2, split
    /// between the words), so a word can begin or end inside it.
    pub split: Option<Split>,
}

/// A separator inside a collapsed run: the run goes on across it, and a
/// word may end before it or begin after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    /// The input byte where the run's part before the (last) separator ends.
    pub end_before: usize,
    /// The input byte where its part after it begins.
    pub start_after: usize,
    /// How many of the run's characters come before it.
    pub run_before: u32,
}

impl Normalized {
    /// The index in [`Normalized::chars`] of the character at byte `at` of
    /// the normalised text.
    pub fn char_at(&self, at: usize) -> Option<usize> {
        self.chars.binary_search_by_key(&at, |c| c.at).ok()
    }

    /// The input's byte span behind the normalised bytes `start..end`.
    pub fn source_span(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        let first = self.char_at(start)?;
        let last = self
            .chars
            .iter()
            .rposition(|c| c.at < end)
            .filter(|&l| l >= first)?;
        Some((self.chars[first].from.0, self.chars[last].from.1))
    }

    /// Whether normalised bytes `start..end` begin and end at a boundary
    /// (a separator, the start or the end of the text).
    pub fn is_word(&self, start: usize, end: usize) -> bool {
        let Some(first) = self.char_at(start) else {
            return false;
        };
        let starts = self.chars[first].boundary;
        let ends = match self.char_at(end) {
            Some(next) => self.chars[next].boundary,
            None => end == self.text.len(),
        };
        starts && ends
    }
}

fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        // ASCII punctuation is all in Unicode's P and S categories.
        return c.is_ascii_punctuation() || c.is_whitespace();
    }
    if c.is_whitespace() {
        return true;
    }
    matches!(
        c.general_category_group(),
        GeneralCategoryGroup::Punctuation
            | GeneralCategoryGroup::Symbol
            | GeneralCategoryGroup::Separator
    ) || c == '\u{fe0f}'
        || c == '\u{fe0e}'
}

fn is_invisible(c: char) -> bool {
    // ASCII holds no marks and no format characters.
    !c.is_ascii()
        && (is_combining_mark(c)
            || matches!(
                c.general_category(),
                unicode_properties::GeneralCategory::Format
            )
            || ('\u{fe00}'..='\u{fe0f}').contains(&c))
}

fn leet(c: char) -> char {
    match c {
        '3' => 'e',
        '0' => 'o',
        '1' | 'l' | '|' => 'i',
        '5' | '$' => 's',
        '4' | '@' => 'a',
        '7' => 't',
        _ => c,
    }
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}' | '\u{20000}'..='\u{2ffff}')
}

/// Whether `c` belongs to a script written without spaces between words
/// (Han, Kana, Hangul): an entry of such characters matches as a phrase.
pub fn is_unspaced(c: char) -> bool {
    is_han(c)
        || matches!(c, '\u{3040}'..='\u{30ff}' | '\u{31f0}'..='\u{31ff}' | '\u{ac00}'..='\u{d7af}' | '\u{1100}'..='\u{11ff}')
}

/// Normalises `raw` through `stages`.
///
/// ```
/// use ban_rules::{normalize, Stages};
///
/// let plain = normalize("free coins", Stages::ALL).text;
/// for evasion in ["FREE COINS", "fr\u{200b}ee coins", "ｆｒｅｅ ｃｏｉｎｓ", "frее coins", "fr33 c01ns", "f.r.e.e c.o.i.n.s", "freeeee coins"] {
///     assert_eq!(normalize(evasion, Stages::ALL).text, plain, "{evasion}");
/// }
/// ```
pub fn normalize(raw: &str, stages: Stages) -> Normalized {
    let mut out = Normalized {
        text: String::with_capacity(raw.len()),
        chars: Vec::with_capacity(raw.len()),
    };
    let mut boundary = true;
    let mut step1 = Vec::new();
    let mut step2 = Vec::new();
    for (at, c) in raw.char_indices() {
        let from = (at, at + c.len_utf8());
        step1.clear();
        if c.is_ascii() {
            // NFKC and the skeleton leave ASCII as it is.
            step1.push(c.to_ascii_lowercase());
        } else if stages.has(Stage::Nfkc) {
            step1.extend(std::iter::once(c).nfkc().flat_map(char::to_lowercase));
        } else {
            step1.extend(c.to_lowercase());
        }
        if stages.has(Stage::Confusables) && !c.is_ascii() {
            step2.clear();
            for &d in &step1 {
                // Leave digits and the leet symbols to the leet stage.
                if d.is_ascii() {
                    step2.push(d);
                } else {
                    let mut buf = [0u8; 4];
                    let one: &str = d.encode_utf8(&mut buf);
                    step2.extend(skeleton_lower(one).chars());
                }
            }
            std::mem::swap(&mut step1, &mut step2);
        }
        for &d in &step1 {
            if stages.has(Stage::Invisible) && is_invisible(d) {
                continue;
            }
            let d = if stages.has(Stage::Leet) { leet(d) } else { d };
            if stages.has(Stage::Separators) && is_separator(d) {
                boundary = true;
                continue;
            }
            let d = if stages.has(Stage::Han) && is_han(d) {
                let mut buf = [0u8; 4];
                fast2s::convert(d.encode_utf8(&mut buf))
                    .chars()
                    .next()
                    .unwrap_or(d)
            } else {
                d
            };
            if stages.has(Stage::Repeats) && out.text.ends_with(d) && !out.chars.is_empty() {
                // The run goes on: the character now covers this input too.
                if let Some(last) = out.chars.last_mut() {
                    if boundary && last.from.1 <= from.0 {
                        last.split = Some(Split {
                            end_before: last.from.1,
                            start_after: from.0,
                            run_before: last.run,
                        });
                    }
                    last.from.1 = from.1;
                    last.run = last.run.saturating_add(1);
                }
                boundary = false;
                continue;
            }
            out.chars.push(NormChar {
                at: out.text.len(),
                from,
                boundary,
                run: 1,
                split: None,
            });
            out.text.push(d);
            boundary = false;
        }
    }
    out
}

/// The lower-cased TS #39 skeleton of `s`, taken again until it no longer
/// changes (at most 4 times): lower-casing a skeleton can give a character
/// whose skeleton differs (`δ`, `ẟ`), and normalising twice must be
/// normalising once.
fn skeleton_lower(s: &str) -> String {
    let mut out: String = unicode_security::skeleton(s)
        .flat_map(char::to_lowercase)
        .collect();
    for _ in 0..3 {
        let next: String = unicode_security::skeleton(&out)
            .flat_map(char::to_lowercase)
            .collect();
        if next == out {
            break;
        }
        out = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stage_defeats_its_trick_and_can_be_switched_off() {
        let n = |s, st| normalize(s, st).text;
        let cases: [(Stage, &str, &str); 7] = [
            (Stage::Nfkc, "ｆｒｅｅ", "free"),
            (Stage::Invisible, "fr\u{200b}e\u{301}e", "free"),
            (Stage::Confusables, "frее", "free"),
            (Stage::Leet, "fr33", "free"),
            (Stage::Repeats, "freeeee", "fre"),
            (Stage::Separators, "f.r e-e", "free"),
            (Stage::Han, "們", "们"),
        ];
        for (stage, evasion, plain) in cases {
            let want = n(plain, Stages::ALL);
            assert_eq!(n(evasion, Stages::ALL), want, "{stage}: {evasion}");
            // On its own, the stage defeats the trick; without any, it works.
            let alone = Stages::of(&[stage]);
            assert_eq!(n(evasion, alone), n(plain, alone), "{stage} alone");
            assert_ne!(n(evasion, Stages::NONE), n(plain, Stages::NONE), "{stage}");
        }
    }

    #[test]
    fn the_ascii_shortcuts_agree_with_the_unicode_tables() {
        for c in (0u8..128).map(char::from) {
            let separator = c.is_whitespace()
                || matches!(
                    c.general_category_group(),
                    GeneralCategoryGroup::Punctuation
                        | GeneralCategoryGroup::Symbol
                        | GeneralCategoryGroup::Separator
                );
            assert_eq!(is_separator(c), separator, "{c:?}");
            let invisible = is_combining_mark(c)
                || c.general_category() == unicode_properties::GeneralCategory::Format;
            assert_eq!(is_invisible(c), invisible, "{c:?}");
            assert_eq!(std::iter::once(c).nfkc().collect::<String>(), c.to_string());
        }
    }

    #[test]
    fn spans_point_at_the_input_and_boundaries_at_separators() {
        let raw = "a ｆｒｅｅ coin";
        let n = normalize(raw, Stages::ALL);
        let start = n.text.find("fre").unwrap();
        let (s, e) = n.source_span(start, start + 3).unwrap();
        assert_eq!(&raw[s..e], "ｆｒｅｅ");
        assert!(n.is_word(start, start + 3));
        assert!(!n.is_word(start, start + 2));
    }
}
