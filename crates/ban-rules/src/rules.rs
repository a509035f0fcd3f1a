//! The rules file: TOML, read at start and on SIGHUP; a bad file is refused
//! with the line and the reason.
//!
//! ```toml
//! [allow]
//! accounts = ["administrator", "mod_alice"]   # never acted on
//!
//! [[rule]]
//! name = "spam"
//! on = "message"                     # a group message (before or after send)
//! contains_any = ["buy followers", "free coins"]   # case-insensitive
//! block = true                       # before-send: refuse it (10016); on join: refuse the application
//! # mask = true                      # or: deliver it with the matches starred
//! ladder = ["mute 10m", "mute 1h", "ban 7d"]   # one step per offence
//! window = "24h"                     # offences count this long
//! groups = ["@TGS#aLIVE"]            # only these groups (default: all)
//! ```

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::ladder::step;
pub use crate::ladder::{short, Step};
use crate::matcher::{Hit, Matcher};
use crate::normalize::{Stage, Stages};
pub use crate::rate::{RateCheck, RateScope};
pub use error::{RulesError, RulesErrorKind};

mod error;

/// What a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum On {
    /// `Group.CallbackBeforeSendMsg` / `Group.CallbackAfterSendMsg`.
    Message,
    /// `ContentCallback.ResultNotify` advising `Block` (and `Review` with
    /// `review = true`), optionally of some `labels` only.
    ContentResult,
    /// `Group.CallbackAfterNewMemberJoin`.
    Join,
}

/// Whether a rule's decisions take effect (`mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Blocks, masks and acts (the default).
    #[default]
    Enforce,
    /// Decides, audits and counts, but never blocks, masks or acts: how a
    /// new rule is tried on live traffic.
    Shadow,
}

/// A count within a time: `{ count = 5, per = "10s" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateSpec {
    pub(crate) count: u64,
    pub(crate) per: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    name: Spanned<String>,
    on: On,
    #[serde(default)]
    contains_any: Vec<String>,
    #[serde(default)]
    words_any: Vec<String>,
    #[serde(default)]
    regex_any: Vec<String>,
    #[serde(default)]
    words_file: Option<Spanned<String>>,
    #[serde(default)]
    phrases_file: Option<Spanned<String>>,
    #[serde(default)]
    normalize: Option<Vec<Stage>>,
    #[serde(default)]
    max_per_sender: Option<Spanned<RateSpec>>,
    #[serde(default)]
    max_joins: Option<Spanned<RateSpec>>,
    #[serde(default)]
    block: bool,
    #[serde(default)]
    mask: bool,
    #[serde(default)]
    review: bool,
    #[serde(default)]
    labels: Vec<String>,
    ladder: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    window: Option<Spanned<String>>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    mode: Mode,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowSpec {
    #[serde(default)]
    accounts: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    allow: AllowSpec,
    #[serde(default)]
    raid: Option<crate::raid::RaidSpec>,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleSpec>,
}

/// A checked rule.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Rule {
    /// Its name, unique in the file.
    pub name: String,
    /// What it looks at.
    pub on: On,
    /// The phrases of `contains_any`, as written.
    pub words: Vec<String>,
    /// Its phrases, words and regexes over normalised text (message text,
    /// or account names for joins).
    pub matcher: Matcher,
    /// At most this many messages per sender within this time.
    pub per_sender: Option<(u64, Duration)>,
    /// At most this many joins per group within this time.
    pub joins: Option<(u64, Duration)>,
    /// Refuse a matching message before it is sent (`on = "message"`), or
    /// a join application whose account name matches (`on = "join"`).
    pub block: bool,
    /// Deliver a matching message before it is sent with each match
    /// replaced by `*`s, one a character, instead of refusing it
    /// (`on = "message"`).
    pub mask: bool,
    /// Act on a content result advising `Review` too, not only `Block`
    /// (`on = "content_result"`).
    pub review: bool,
    /// The content-moderation labels it acts on, lower-cased (empty: all).
    pub labels: HashSet<String>,
    /// One step per offence within `window`; the last repeats.
    pub ladder: Vec<Step>,
    /// How long offences count.
    pub window: Duration,
    /// The groups it applies in (empty: all).
    pub groups: HashSet<String>,
    /// Whether its decisions take effect (`mode = "shadow"`: they do not).
    pub mode: Mode,
}

impl Rule {
    /// Whether the rule runs in shadow (`mode = "shadow"`): its matches
    /// never block, mask or act.
    pub fn shadow(&self) -> bool {
        self.mode == Mode::Shadow
    }

    /// Whether the rule applies in `group`.
    pub fn covers(&self, group: &str) -> bool {
        self.groups.is_empty() || self.groups.contains(group)
    }

    /// The first of the rule's phrases, words or regexes in `text`, after
    /// normalisation.
    pub fn find(&self, text: &str) -> Option<Hit> {
        self.matcher.find(text)
    }

    /// Where an account's offences under this rule are counted, so every
    /// host (one process or many on one store) counts them under one key.
    ///
    /// ```
    /// # let rules = ban_rules::Rules::parse("[[rule]]\nname = \"spam\"\non = \"message\"\ncontains_any = [\"x\"]\nladder = [\"mute 10m\"]").unwrap();
    /// assert_eq!(rules.rules[0].offence_key("@TGS#a", "bot"), "off:spam:@TGS#a:bot");
    /// ```
    pub fn offence_key(&self, group: &str, account: &str) -> String {
        format!("off:{}:{group}:{account}", self.name)
    }

    /// Where a message's match under this rule is remembered, so the
    /// before- and the after-send callback of one message count once.
    pub fn seen_key(&self, message: &str) -> String {
        format!("seen:{message}:{}", self.name)
    }

    /// The count a rate rule keeps for an event of `account` in `group`
    /// (`max_per_sender` or `max_joins`), or `None` for a rule without a
    /// rate.
    pub fn rate(&self, group: &str, account: &str) -> Option<RateCheck> {
        match (self.per_sender, self.joins) {
            (Some((limit, per)), _) => Some(RateCheck {
                key: format!("rate:{}:{group}:{account}", self.name),
                limit,
                per,
                scope: RateScope::Sender,
            }),
            (_, Some((limit, per))) => Some(RateCheck {
                key: format!("rate:{}:{group}", self.name),
                limit,
                per,
                scope: RateScope::Group,
            }),
            _ => None,
        }
    }

    /// The step of the `n`th offence (1-based): the ladder's last step from
    /// there on.
    pub fn step(&self, n: u64) -> Step {
        let i = usize::try_from(n.saturating_sub(1)).unwrap_or(usize::MAX);
        self.ladder[i.min(self.ladder.len() - 1)]
    }
}

/// Every rule, and the accounts never acted on.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Rules {
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// Accounts never acted on (`[allow] accounts`).
    pub allow: HashSet<String>,
    /// Raid mode (`[raid]`), if the file turns it on.
    pub raid: Option<crate::raid::Raid>,
}

/// Offences count a day unless the rule says otherwise.
const DEFAULT_WINDOW: Duration = Duration::from_secs(86_400);

/// The most entries a list file may hold.
pub const MAX_LIST_ENTRIES: usize = 1_000_000;

/// A list file: one entry a line, blank lines and `#` comments skipped.
fn read_list(base: &Path, file: &str) -> Result<Vec<String>, String> {
    let path = base.join(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot be read ({}): {e}", path.display()))?;
    let list: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    if list.len() > MAX_LIST_ENTRIES {
        return Err(format!(
            "holds {} entries; at most {MAX_LIST_ENTRIES}",
            list.len()
        ));
    }
    Ok(list)
}

pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

pub(crate) fn duration(text: &str, s: &Spanned<String>, what: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.get_ref().trim()).map_err(|e| {
        format!(
            "line {}: {what} {:?} is not a duration ({e}); write 10s, 10m, 24h, 7d",
            line_of(text, s.span().start),
            s.get_ref()
        )
    })?;
    if d.is_zero() {
        return Err(format!(
            "line {}: {what} is 0; it must be at least 1 s",
            line_of(text, s.span().start)
        ));
    }
    Ok(d)
}

/// `mask`, `review` and `labels`: each for the rules it means something
/// on.
fn check_content_keys(r: &RuleSpec, words_empty: bool) -> Result<(), String> {
    if r.mask && r.block {
        return Err("block = true and mask = true exclude each other: block refuses the message, mask delivers it with the matches starred; keep one".to_owned());
    }
    if r.mask && (r.on != On::Message || words_empty) {
        return Err("mask = true stars matches in a message before it is sent (on = \"message\"); it needs contains_any, words_any, regex_any, a words_file or phrases_file".to_owned());
    }
    if r.review && r.on != On::ContentResult {
        return Err(
            "review = true acts on content results advising Review (on = \"content_result\")"
                .to_owned(),
        );
    }
    if !r.labels.is_empty() && r.on != On::ContentResult {
        return Err("labels picks content-moderation labels (on = \"content_result\")".to_owned());
    }
    if r.labels.iter().any(|l| l.trim().is_empty()) {
        return Err("labels holds an empty entry".to_owned());
    }
    Ok(())
}

impl Rules {
    /// Reads and checks a rules file.
    ///
    /// `words_file` and `phrases_file` are read relative to its folder.
    pub fn load(path: &Path) -> Result<Rules, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|e| RulesError {
            path: Some(path.to_owned()),
            line: None,
            kind: RulesErrorKind::Read(e),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Rules::parse_in(&text, base).map_err(|e| e.in_file(path))
    }

    /// Checks the text of a rules file; the error names the line.
    /// `words_file` and `phrases_file` are read relative to the current
    /// folder.
    pub fn parse(text: &str) -> Result<Rules, RulesError> {
        Rules::parse_in(text, Path::new("."))
    }

    /// Checks the text of a rules file whose lists are relative to `base`.
    pub fn parse_in(text: &str, base: &Path) -> Result<Rules, RulesError> {
        Rules::check(text, base).map_err(RulesError::invalid)
    }

    fn check(text: &str, base: &Path) -> Result<Rules, String> {
        let spec: FileSpec = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| format!("line {}: ", line_of(text, s.start)))
                .unwrap_or_default();
            format!("{at}{}", e.message())
        })?;
        let mut rules = Vec::new();
        let mut names = HashSet::new();
        for r in spec.rules {
            let at = line_of(text, r.name.span().start);
            let name = r.name.get_ref().trim().to_owned();
            if name.is_empty() {
                return Err(format!("line {at}: a rule's name is empty"));
            }
            if !names.insert(name.clone()) {
                return Err(format!("line {at}: two rules are named {name:?}"));
            }
            let rate = |spec: &Option<Spanned<RateSpec>>, what: &str| -> Result<_, String> {
                spec.as_ref()
                    .map(|s| {
                        let line = line_of(text, s.span().start);
                        if s.get_ref().count == 0 {
                            return Err(format!(
                                "line {line}: {what}.count is 0; it must be at least 1"
                            ));
                        }
                        Ok((
                            s.get_ref().count,
                            duration(text, &s.get_ref().per, &format!("{what}.per"))?,
                        ))
                    })
                    .transpose()
            };
            let per_sender = rate(&r.max_per_sender, "max_per_sender")?;
            let joins = rate(&r.max_joins, "max_joins")?;
            let words: Vec<String> = r
                .contains_any
                .iter()
                .map(|w| w.trim().to_lowercase())
                .collect();
            for (key, list) in [
                ("contains_any", &r.contains_any),
                ("words_any", &r.words_any),
                ("regex_any", &r.regex_any),
            ] {
                if list.iter().any(|w| w.trim().is_empty()) {
                    return Err(format!("line {at}: rule {name:?}: {key} holds an empty entry (it would match everything)"));
                }
            }
            let mut phrases = r.contains_any.clone();
            let mut word_list = r.words_any.clone();
            for (file, into, key) in [
                (&r.phrases_file, &mut phrases, "phrases_file"),
                (&r.words_file, &mut word_list, "words_file"),
            ] {
                if let Some(f) = file {
                    let line = line_of(text, f.span().start);
                    into.extend(read_list(base, f.get_ref()).map_err(|e| {
                        format!("line {line}: rule {name:?}: {key} {:?}: {e}", f.get_ref())
                    })?);
                }
            }
            let stages = r.normalize.as_deref().map_or(Stages::ALL, Stages::of);
            let matcher = Matcher::new(stages, &phrases, &word_list, &r.regex_any)
                .map_err(|e| format!("line {at}: rule {name:?}: {e}"))?;
            let words_empty = matcher.is_empty();
            match r.on {
                On::Message if words_empty && per_sender.is_none() => {
                    return Err(format!("line {at}: rule {name:?} (on = \"message\") needs contains_any, words_any, regex_any, a words_file or phrases_file, or max_per_sender"));
                }
                On::Join if words_empty && joins.is_none() => {
                    return Err(format!("line {at}: rule {name:?} (on = \"join\") needs contains_any, words_any or regex_any (in account names), or max_joins"));
                }
                On::Message | On::ContentResult if joins.is_some() => {
                    return Err(format!(
                        "line {at}: rule {name:?}: max_joins is for on = \"join\""
                    ));
                }
                On::Join | On::ContentResult if per_sender.is_some() => {
                    return Err(format!(
                        "line {at}: rule {name:?}: max_per_sender is for on = \"message\""
                    ));
                }
                _ => {}
            }
            if r.block && (r.on == On::ContentResult || words_empty) {
                return Err(format!("line {at}: rule {name:?}: block = true refuses matching messages before they are sent (on = \"message\") or join applications by account name (on = \"join\"); it needs contains_any, words_any or regex_any"));
            }
            check_content_keys(&r, words_empty)
                .map_err(|e| format!("line {at}: rule {name:?}: {e}"))?;
            if r.ladder.get_ref().is_empty() {
                return Err(format!(
                    "line {}: rule {name:?}: the ladder is empty; give at least one step, e.g. [\"mute 10m\"]",
                    line_of(text, r.ladder.span().start)
                ));
            }
            let ladder = r
                .ladder
                .get_ref()
                .iter()
                .map(|s| step(text, s))
                .collect::<Result<Vec<_>, _>>()?;
            let window = match &r.window {
                Some(w) => duration(text, w, "window")?,
                None => DEFAULT_WINDOW,
            };
            for g in &r.groups {
                ban_proto::GroupId::new(g.as_str())
                    .map_err(|e| format!("line {at}: rule {name:?}: groups: {e}"))?;
            }
            rules.push(Rule {
                name,
                on: r.on,
                words,
                matcher,
                per_sender,
                joins,
                block: r.block,
                mask: r.mask,
                review: r.review,
                labels: r.labels.iter().map(|l| l.trim().to_lowercase()).collect(),
                ladder,
                window,
                groups: r.groups.into_iter().collect(),
                mode: r.mode,
            });
        }
        let raid = spec.raid.map(|r| r.check(text)).transpose()?;
        if rules.is_empty() && raid.is_none() {
            return Err("no [[rule]] and no [raid]: a rules file needs at least one".to_owned());
        }
        Ok(Rules {
            rules,
            allow: spec.allow.accounts.into_iter().collect(),
            raid,
        })
    }
}

#[cfg(test)]
mod tests;
