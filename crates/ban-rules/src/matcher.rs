//! A rule's matchers over normalised text: phrases anywhere
//! (`contains_any`, `phrases_file`), whole words (`words_any`,
//! `words_file`) and regular expressions (`regex_any`). Every list is one
//! Aho-Corasick automaton, so a message costs one pass whether a list has
//! 10 entries or 10,000.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

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
    /// Every regex in one pass: the single ones run only on a hit.
    set: Option<RegexSet>,
}

/// A text and its normalisations, each made once however many rules read
/// it.
#[derive(Debug, Clone)]
pub struct Text<'a> {
    raw: &'a str,
    done: Vec<(Stages, Normalized)>,
}

impl<'a> Text<'a> {
    /// `raw`, not normalised yet.
    pub fn new(raw: &'a str) -> Text<'a> {
        Text {
            raw,
            done: Vec::new(),
        }
    }

    /// The text as written.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    fn ensure(&mut self, stages: Stages) {
        if !self.done.iter().any(|(s, _)| *s == stages) {
            self.done.push((stages, normalize(self.raw, stages)));
        }
    }

    fn get(&self, stages: Stages) -> Option<&Normalized> {
        self.done.iter().find(|(s, _)| *s == stages).map(|(_, n)| n)
    }

    /// The text normalised through `stages`.
    pub fn normalized(&mut self, stages: Stages) -> &Normalized {
        self.ensure(stages);
        self.get(stages)
            .unwrap_or_else(|| unreachable!("just made"))
    }
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
            .collect::<Result<Vec<_>, _>>()?;
        let set = if regexes.is_empty() {
            None
        } else {
            let set = RegexSetBuilder::new(regexes.iter().map(|(_, w)| w))
                .size_limit(REGEX_SIZE_LIMIT.saturating_mul(regexes.len()))
                .build()
                .map_err(|e| format!("the regexes cannot be built together: {e}"))?;
            Some(set)
        };
        Ok(Matcher {
            stages,
            lists,
            regexes,
            set,
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
        self.find_text(&mut Text::new(raw), true).into_iter().next()
    }

    /// Every hit in `raw` (for masking), leftmost first.
    pub fn find_all(&self, raw: &str) -> Vec<Hit> {
        self.find_text(&mut Text::new(raw), false)
    }

    /// Hits in `text` (`first`: stop at one; else every hit, leftmost
    /// first), normalising it only as far as it has not been yet.
    pub fn find_text(&self, text: &mut Text<'_>, first: bool) -> Vec<Hit> {
        if self.is_empty() {
            return Vec::new();
        }
        let folded = self.folded();
        text.ensure(self.stages);
        if self.set.is_some() {
            text.ensure(folded);
        }
        let (Some(n), folded) = (text.get(self.stages), text.get(folded)) else {
            return Vec::new();
        };
        let mut hits = self.scan(text.raw, n, folded.unwrap_or(n), first);
        if !first {
            hits.sort_by_key(|h| h.span);
        }
        hits
    }

    /// Hits in `raw`, already normalised as `n` (`first`: stop at one).
    pub fn find_in(&self, raw: &str, n: &Normalized, first: bool) -> Vec<Hit> {
        let folded = self.folded();
        if folded == self.stages || self.set.is_none() {
            return self.scan(raw, n, n, first);
        }
        self.scan(raw, n, &normalize(raw, folded), first)
    }

    /// What regexes see: the letters as written, folded, without
    /// separators, but neither leet nor runs rewritten.
    fn folded(&self) -> Stages {
        self.stages.without(Stage::Leet).without(Stage::Repeats)
    }

    fn scan(&self, raw: &str, n: &Normalized, folded: &Normalized, first: bool) -> Vec<Hit> {
        let mut hits = Vec::new();
        for list in &self.lists {
            for m in list.automaton.find_overlapping_iter(&n.text) {
                let entry = &list.entries[m.pattern().as_usize()];
                let word = list.words && !entry.phrase;
                if let Some(span) = fit(n, m.start(), &entry.runs, word) {
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
        let Some(set) = &self.set else {
            return hits;
        };
        let n = folded;
        for i in set.matches(&n.text).iter() {
            let (re, written) = &self.regexes[i];
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

/// The input span of a match of an entry (`runs`: how often each of its
/// characters repeats) at normalised byte `start`, if it holds: each
/// character repeats at least as often as the entry's (the entry `ass`
/// needs two `s`, so `as` is not it), and a `word` begins and ends at a
/// boundary, which may fall inside a run a separator split (`grab bag`).
/// A phrase's span is the tight one where the split part suffices.
fn fit(n: &Normalized, start: usize, runs: &[u32], word: bool) -> Option<(usize, usize)> {
    let first = n.char_at(start)?;
    let k = runs.len();
    let chars = n.chars.get(first..first + k)?;
    if (1..k.saturating_sub(1)).any(|i| chars[i].run < runs[i]) {
        return None;
    }
    let (c0, cl) = (chars[0], chars[k - 1]);
    let (need0, need_l) = (runs[0], runs[k - 1]);
    // The start: (input byte, how much of the run is after it, tight).
    let full_start = (c0.from.0, c0.run, false);
    let tight_start = c0
        .split
        .map(|s| (s.start_after, c0.run - s.run_before, true));
    let begin = match (word, tight_start) {
        (true, _) if c0.boundary => full_start,
        (true, Some(t)) => t,
        (true, None) => return None,
        (false, Some(t)) if t.1 >= need0 => t,
        (false, _) => full_start,
    };
    let next_is_boundary = n.chars.get(first + k).is_none_or(|c| c.boundary);
    let full_end = (cl.from.1, cl.run, false);
    let tight_end = cl.split.map(|s| (s.end_before, s.run_before, true));
    let end = match (word, tight_end) {
        (true, _) if next_is_boundary => full_end,
        (true, Some(t)) => t,
        (true, None) => return None,
        (false, Some(t)) if t.1 >= need_l => t,
        (false, _) => full_end,
    };
    if k == 1 {
        // One character of the entry: both ends in one run.
        let have = match (begin.2, end.2) {
            (false, false) => c0.run,
            (true, false) => begin.1,
            (false, true) => end.1,
            (true, true) if word => return None,
            (true, true) => return (c0.run >= need0).then_some((c0.from.0, c0.from.1)),
        };
        return (have >= need0).then_some((begin.0, end.0));
    }
    (begin.1 >= need0 && end.1 >= need_l).then_some((begin.0, end.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(words: bool, entries: &[&str]) -> Matcher {
        let e: Vec<String> = entries.iter().map(|s| (*s).to_owned()).collect();
        let (p, w) = if words { (vec![], e) } else { (e, vec![]) };
        Matcher::new(Stages::ALL, &p, &w, &[]).unwrap()
    }

    #[test]
    fn a_word_may_begin_or_end_inside_a_run_split_by_a_separator() {
        let bag = list(true, &["bag"]);
        let hit = bag.find("grab bag").expect("the run b b is split");
        assert_eq!(hit.raw, "bag");
        assert_eq!(bag.find("bag gone").unwrap().raw, "bag");
        assert!(bag.find("grabbag").is_none());
        // The split part must hold the entry's run: `as soon` is not `ass`.
        let ass = list(true, &["ass"]);
        assert!(ass.find("as soon as").is_none());
        assert!(ass.find("glass sale").is_none());
        assert_eq!(ass.find("ass sale").unwrap().raw, "ass");
        // A phrase's span is the tight one: a mask stars only the phrase.
        let phrase = list(false, &["bag"]);
        assert_eq!(phrase.find_all("grab bag")[0].raw, "bag");
        assert_eq!(phrase.find_all("f r e e bag")[0].raw, "bag");
    }
}
