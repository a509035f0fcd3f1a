//! What a match comes to once counted: nothing (seen before, a rate not
//! passed), an allow-listed account's offence, or an offence and its
//! ladder step. One function for the live loop and for a replay, so a
//! replay decides as serve did.

use std::time::Duration;

use ban_rules::{Match, MatchKind, Rule, Step};

use crate::counter::Counter;

/// A counted match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decided {
    /// Not an offence: its message was counted already, or its rate is
    /// not passed.
    Nothing,
    /// An offence of an allow-listed account: never acted on.
    Allowed {
        /// Why it offends.
        evidence: String,
    },
    /// An offence, and the step it climbs to.
    Offence {
        /// Why it offends.
        evidence: String,
        /// The offences of the window, this one included.
        count: u64,
        /// Its ladder step.
        step: Step,
        /// Where the offences are counted.
        key: String,
        /// How long the window has left.
        left: Duration,
        /// Counted by this process alone (the shared store was away).
        local: bool,
    },
}

/// Counts `m` under `rule`: its message once within `seen_for`, its rate,
/// then the offence.
pub(crate) async fn decide(
    counter: &dyn Counter,
    rule: &Rule,
    m: &Match,
    seen_for: Duration,
) -> Decided {
    let (group, account) = (m.group.as_str(), m.account.as_str());
    if let Some(message) = &m.message {
        // The before- and after-send callbacks of one message: once.
        if counter.bump(&rule.seen_key(message), seen_for).await.count > 1 {
            return Decided::Nothing;
        }
    }
    let evidence = match &m.kind {
        MatchKind::Word(_) => m.explain(),
        _ => {
            let Some(rate) = rule.rate(group, account) else {
                return Decided::Nothing;
            };
            let counted = counter.bump(&rate.key, rate.per).await;
            if !rate.offends(counted.count) {
                return Decided::Nothing;
            }
            rate.describe(counted.count)
        }
    };
    let evidence = ban_rules::evidence(&evidence);
    if m.allowed {
        return Decided::Allowed { evidence };
    }
    let key = rule.offence_key(group, account);
    let counted = counter.bump(&key, rule.window).await;
    Decided::Offence {
        evidence,
        count: counted.count,
        step: rule.step(counted.count),
        left: counted.window_left.unwrap_or(rule.window),
        key,
        local: counted.local,
    }
}

/// Whether a callback's matches were counted already: a repeat of the
/// request (`digest`) within `seen_for`, when some match names no event
/// of its own (those are counted once by their event).
pub(crate) async fn repeated(
    counter: &dyn Counter,
    digest: Option<&str>,
    matches: &[Match],
    seen_for: Duration,
) -> bool {
    let unnamed = matches.iter().any(|m| m.message.is_none());
    match digest.filter(|_| unnamed) {
        Some(d) => counter.bump(&format!("cb:{d}"), seen_for).await.count > 1,
        None => false,
    }
}
