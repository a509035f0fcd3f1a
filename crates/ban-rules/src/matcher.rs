//! A rule's matchers over normalised text: phrases anywhere
//! (`contains_any`, `phrases_file`), whole words (`words_any`,
//! `words_file`) and regular expressions (`regex_any`). Every list is one
//! Aho-Corasick automaton, so a message costs one pass whether a list has
//! 10 entries or 10,000.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{Regex, RegexBuilder};

use crate::normalize::{is_unspaced, normalize, Normalized, Stage, Stages};

/// The largest compiled regex (bytes), so a rules file cannot make the
/// judge slow or large.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// One entry of a list, normalised.
#[derive(Debug, Clone)]
struct Entry {
    /// As written in the rules.
    written: String,
    /// How many times each of its normalised characters repeats.
    runs: Vec<u32>,
    /// Matches as a phrase even in `words_any` (Han, Kana, Hangul).
    phrase: bool,
}

#[derive(Debug, Clone)]
struct List {
    automaton: AhoCorasick,
    entries: Vec<Entry>,
    words: bool,
}

/// What a matcher found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Hit {
    /// The entry as the rules write it (or the regex).
    pub entry: String,
    /// The bytes of the input that matched.
    pub span: (usize, usize),
    /// Those bytes.
    pub raw: String,
    /// What those bytes normalise to.
    pub normalized: String,
}

/// A rule's matchers.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    stages: Stages,
    lists: Vec<List>,
    regexes: Vec<(Regex, String)>,
}

fn build_list(stages: Stages, written: &[String], words: bool) -> Result<Option<List>, String> {
    if written.is_empty() {
        return Ok(None);
    }
    let mut patterns = Vec::with_capacity(written.len());
    let mut entries = Vec::with_capacity(written.len());
    for w in written {
        let n = normalize(w, stages);
        if n.text.is_empty() {
            return Err(format!(
                "the entry {:?} is nothing once normalised",
                crate::judge::evidence_prefix(w)
            ));
        }
        entries.push(Entry {
            written: w.clone(),
            runs: n.chars.iter().map(|c| c.run).collect(),
            phrase: n.text.chars().any(is_unspaced),
        });
        patterns.push(n.text);
    }
    let automaton = AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .build(&patterns)
        .map_err(|e| format!("the list cannot be built: {e}"))?;
    Ok(Some(List {
        automaton,
        entries,
        words,
    }))
}

impl Matcher {
    /// Matchers of `phrases` (anywhere), `words` (whole words) and
    /// `regexes` (on the normalised text), all normalised by `stages`.
    pub fn new(
        stages: Stages,
        phrases: &[String],
        words: &[String],
        regexes: &[String],
    ) -> Result<Matcher, String> {
        let mut lists = Vec::new();
        lists.extend(build_list(stages, phrases, false)?);
        lists.extend(build_list(stages, words, true)?);
        let regexes = regexes
            .iter()
            .map(|r| {
                RegexBuilder::new(r)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map(|re| (re, r.clone()))
                    .map_err(|e| {
                        let why = e.to_string();
                        let why = why.lines().last().unwrap_or("").trim().to_owned();
                        format!(
                            "the regex {:?} does not compile: {why}",
                            crate::judge::evidence_prefix(r)
                        )
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Matcher {
            stages,
            lists,
            regexes,
        })
    }

    /// Whether it has nothing to match.
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty() && self.regexes.is_empty()
    }

    /// The stages it normalises with.
    pub fn stages(&self) -> Stages {
        self.stages
    }

    /// Entries in its lists, and regexes.
    pub fn len(&self) -> usize {
        self.lists.iter().map(|l| l.entries.len()).sum::<usize>() + self.regexes.len()
    }

    /// The first hit in `raw`, if any.
    pub fn find(&self, raw: &str) -> Option<Hit> {
        if self.is_empty() {
            return None;
        }
        self.find_in(raw, &normalize(raw, self.stages), true)
            .into_iter()
            .next()
    }

    /// Every hit in `raw` (for masking), leftmost first.
    pub fn find_all(&self, raw: &str) -> Vec<Hit> {
        if self.is_empty() {
            return Vec::new();
        }
        let mut hits = self.find_in(raw, &normalize(raw, self.stages), false);
        hits.sort_by_key(|h| h.span);
        hits
    }

    /// Hits in `raw`, already normalised as `n` (`first`: stop at one).
    pub fn find_in(&self, raw: &str, n: &Normalized, first: bool) -> Vec<Hit> {
        let mut hits = Vec::new();
        for list in &self.lists {
            for m in list.automaton.find_overlapping_iter(&n.text) {
                let entry = &list.entries[m.pattern().as_usize()];
                if !runs_hold(n, m.start(), &entry.runs) {
                    continue;
                }
                if list.words && !entry.phrase && !n.is_word(m.start(), m.end()) {
                    continue;
                }
                if let Some(span) = n.source_span(m.start(), m.end()) {
                    hits.push(Hit {
                        entry: entry.written.clone(),
                        raw: raw[span.0..span.1].to_owned(),
                        span,
                        normalized: n.text[m.start()..m.end()].to_owned(),
                    });
                    if first {
                        return hits;
                    }
                }
            }
        }
        if self.regexes.is_empty() {
            return hits;
        }
        // Regexes see the letters as written: folded, without separators,
        // but neither leet nor runs rewritten.
        let folded = self.stages.without(Stage::Leet).without(Stage::Repeats);
        let owned;
        let n = if folded == self.stages {
            n
        } else {
            owned = normalize(raw, folded);
            &owned
        };
        for (re, written) in &self.regexes {
            for m in re.find_iter(&n.text) {
                if m.is_empty() {
                    continue;
                }
                if let Some(span) = n.source_span(m.start(), m.end()) {
                    hits.push(Hit {
                        entry: written.clone(),
                        raw: raw[span.0..span.1].to_owned(),
                        span,
                        normalized: m.as_str().to_owned(),
                    });
                    if first {
                        return hits;
                    }
                }
            }
        }
        hits
    }
}

/// Whether each character of the match repeats at least as often as the
/// entry's (the entry `ass` needs two `s`, so `as` is not it).
fn runs_hold(n: &Normalized, start: usize, runs: &[u32]) -> bool {
    let Some(first) = n.char_at(start) else {
        return false;
    };
    n.chars[first..]
        .iter()
        .zip(runs)
        .all(|(c, need)| c.run >= *need)
}
