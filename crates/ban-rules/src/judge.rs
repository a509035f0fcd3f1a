//! What a callback gets from the rules: the answer, and the matches.

use ban_callback::{Answer, Callback, Suggestion};

use crate::matcher::{Hit, Text};
use crate::rules::{On, Rules};

/// Message text kept as evidence, at most this many bytes.
pub const EVIDENCE_BYTES: usize = 256;

/// Text cut to [`EVIDENCE_BYTES`] at a character boundary.
///
/// ```
/// assert_eq!(ban_rules::evidence(&"é".repeat(200)).len(), 256);
/// ```
pub fn evidence(text: &str) -> String {
    let mut cut = text.len().min(EVIDENCE_BYTES);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text[..cut].to_owned()
}

/// `text` cut to 40 bytes at a character boundary, for error messages.
pub(crate) fn evidence_prefix(text: &str) -> &str {
    let mut cut = text.len().min(40);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

/// `text` with each of `spans` (byte ranges, merged where they overlap)
/// replaced by one `*` a character, or `None` without spans.
///
/// ```
/// assert_eq!(ban_rules::star("free coins now", vec![(0, 4), (2, 10)]).unwrap(), "********** now");
/// assert_eq!(ban_rules::star("加微信", vec![(0, 9)]).unwrap(), "***");
/// ```
pub fn star(text: &str, mut spans: Vec<(usize, usize)>) -> Option<String> {
    spans.retain(|(a, b)| a < b && *b <= text.len());
    if spans.is_empty() {
        return None;
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (a, b) in spans {
        let a = a.max(at);
        if a >= b || !text.is_char_boundary(a) || !text.is_char_boundary(b) {
            continue;
        }
        out.push_str(&text[at..a]);
        out.extend(text[a..b].chars().map(|_| '*'));
        at = b;
    }
    out.push_str(&text[at..]);
    Some(out)
}

/// Why a rule matched.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MatchKind {
    /// A word of the rule is in the text (the account name, for joins), or
    /// the label content moderation gave.
    Word(String),
    /// To be counted against the rule's rate (messages of the sender, joins
    /// of the group): an offence only past it.
    Rate,
}

/// A rule matched: the account it may act on, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Match {
    /// The rule's index in [`Rules::rules`].
    pub rule: usize,
    /// The group.
    pub group: String,
    /// The account.
    pub account: String,
    /// What was seen (message text cut to [`EVIDENCE_BYTES`]).
    pub evidence: String,
    /// Why.
    pub kind: MatchKind,
    /// What identifies the event, so the before- and the after-send
    /// callback of one message, or a repeat of any callback, count once:
    /// `group:sender:Random` (or `group:seq:MsgSeq`) for a message,
    /// `msgid:MsgID` for a content result, `join:group:member:EventTime`
    /// for a join.
    pub message: Option<String>,
    /// Whether the account is on the allow-list (it is never acted on).
    pub allowed: bool,
    /// What a phrase, word or regex matched, and in which part of the
    /// message (`TIMTextElem.Text`, `TIMCustomElem.Data`, ...).
    pub hit: Option<(&'static str, Hit)>,
}

impl Match {
    /// The evidence as an audit line writes it: the message, and what
    /// matched in it (the raw span, its normalised form, the entry).
    pub fn explain(&self) -> String {
        match (&self.kind, &self.hit) {
            (MatchKind::Word(_), Some((part, hit))) => evidence(&format!(
                "[matched {:?} as {:?} in {part}, normalised {:?}] {}",
                hit.entry,
                evidence_prefix(&hit.raw),
                evidence_prefix(&hit.normalized),
                self.evidence
            )),
            (MatchKind::Word(w), None) => evidence(&format!("{} [matched {w:?}]", self.evidence)),
            _ => self.evidence.clone(),
        }
    }
}

/// What a callback gets.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Judgement {
    /// The answer to send now.
    pub answer: Answer,
    /// The matches, to be counted.
    pub matches: Vec<Match>,
}

impl Rules {
    /// The rules on `on` that apply in `group`, with their indexes.
    fn applying<'a>(
        &'a self,
        on: On,
        group: &'a str,
    ) -> impl Iterator<Item = (usize, &'a crate::Rule)> + 'a {
        self.rules
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.on == on && r.covers(group))
    }

    /// The answer to `cb` and its matches, from the rules alone.
    pub fn judge(&self, cb: &Callback) -> Judgement {
        let mut answer = Answer::ok();
        let mut matches = Vec::new();
        let mut push = |rule: usize,
                        group: &str,
                        account: &str,
                        evidence: String,
                        kind,
                        message,
                        hit: Option<(&'static str, Hit)>| {
            matches.push(Match {
                rule,
                group: group.to_owned(),
                account: account.to_owned(),
                evidence,
                kind,
                message,
                allowed: self.allow.contains(account),
                hit,
            });
        };
        match cb {
            Callback::BeforeSendMsg(m) | Callback::AfterSendMsg(m) => {
                let before = matches!(cb, Callback::BeforeSendMsg(_));
                let parts = m.parts();
                let text: Vec<&str> = parts.iter().map(|(_, t)| *t).collect();
                let text = text.join(" ");
                // Random is in both callbacks of a message; MsgSeq only in
                // the after-send one, but it still tells repeats apart.
                let message = match (m.random, m.msg_seq) {
                    (Some(r), _) => Some(format!("{}:{}:{r}", m.group_id, m.from_account)),
                    (None, Some(seq)) => Some(format!("{}:seq:{seq}", m.group_id)),
                    (None, None) => None,
                };
                let acts = before && !self.allow.contains(&m.from_account);
                // Each part normalised once per set of stages, for every rule.
                let mut texts: Vec<Text<'_>> = parts.iter().map(|(_, t)| Text::new(t)).collect();
                let mut masking = Vec::new();
                for (i, rule) in self.applying(On::Message, &m.group_id) {
                    let found = parts.iter().zip(&mut texts).find_map(|((part, _), t)| {
                        let hit = rule.matcher.find_text(t, true).into_iter().next();
                        hit.map(|h| (*part, h))
                    });
                    let kind = match &found {
                        Some((_, hit)) => {
                            let acts = acts && !rule.shadow();
                            if acts && rule.block {
                                answer = Answer::reject();
                            }
                            if acts && rule.mask {
                                masking.push(rule);
                            }
                            MatchKind::Word(hit.entry.clone())
                        }
                        None if rule.per_sender.is_some() => MatchKind::Rate,
                        None => continue,
                    };
                    push(
                        i,
                        &m.group_id,
                        &m.from_account,
                        evidence(&text),
                        kind,
                        message.clone(),
                        found,
                    );
                }
                if !masking.is_empty() && answer.allows() {
                    let body = m.rewrite_parts(|_, t| {
                        let spans = masking.iter().flat_map(|r| r.matcher.find_all(t));
                        star(t, spans.map(|h| h.span).collect())
                    });
                    if let Some(body) = body {
                        answer = Answer::replace(body);
                    }
                }
            }
            Callback::ContentResult(r) => {
                let advice = r.suggestion();
                let Some(group) = r.group() else {
                    return Judgement { answer, matches };
                };
                let label = r.ctxcb_label.to_lowercase();
                let why = evidence(&format!(
                    "content moderation {} {}{}{}: {}",
                    advice.as_str(),
                    r.ctxcb_label,
                    if r.ctxcb_sub_label.is_empty() {
                        ""
                    } else {
                        "/"
                    },
                    r.ctxcb_sub_label,
                    r.text_content.join(" ")
                ));
                for (i, rule) in self.applying(On::ContentResult, group) {
                    let acted = advice == Suggestion::Block
                        || (rule.review && advice == Suggestion::Review);
                    if !acted || !(rule.labels.is_empty() || rule.labels.contains(&label)) {
                        continue;
                    }
                    let kind = MatchKind::Word(r.ctxcb_label.clone());
                    // One result per message, however often it is sent.
                    let message = (!r.msg_id.is_empty()).then(|| format!("msgid:{}", r.msg_id));
                    push(i, group, &r.from_account, why.clone(), kind, message, None);
                }
            }
            Callback::BeforeApplyJoinGroup(a) => {
                // Refused by name before joining; counted when they join.
                let blocked = self
                    .applying(On::Join, &a.group_id)
                    .any(|(_, r)| r.block && !r.shadow() && r.find(&a.requestor_account).is_some());
                if blocked && !self.allow.contains(&a.requestor_account) {
                    answer = Answer::reject();
                }
            }
            Callback::AfterNewMemberJoin(j) => {
                for (i, rule) in self.applying(On::Join, &j.group_id) {
                    for m in &j.new_members {
                        let found = rule.find(&m.member_account);
                        let kind = match &found {
                            Some(h) => MatchKind::Word(h.entry.clone()),
                            None if rule.joins.is_some() => MatchKind::Rate,
                            None => continue,
                        };
                        // One join per member and moment, however often told.
                        let join = j
                            .event_time
                            .map(|t| format!("join:{}:{}:{t}", j.group_id, m.member_account));
                        push(
                            i,
                            &j.group_id,
                            &m.member_account,
                            format!("joined {}", j.group_id),
                            kind,
                            join,
                            found.map(|h| ("Member_Account", h)),
                        );
                    }
                }
            }
            _ => {}
        }
        Judgement { answer, matches }
    }
}

#[cfg(test)]
mod tests;
