//! Rate rules: the count they keep and when a count offends.

use std::time::Duration;

use crate::rules::short;

/// What a rate counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateScope {
    /// Messages of one sender in one group (`max_per_sender`).
    Sender,
    /// Joins of one group (`max_joins`).
    Group,
}

/// The count a rate rule keeps, and when a count offends.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateCheck {
    /// Where the events are counted.
    pub key: String,
    /// The most events allowed within `per`.
    pub limit: u64,
    /// The window.
    pub per: Duration,
    /// What is counted.
    pub scope: RateScope,
}

impl RateCheck {
    /// Whether the `count`th event of the window is an offence. Per
    /// sender, the message that passes the limit offends, once a window
    /// (a flood is one offence, not one per message); per group, every
    /// join past it does (each joiner is an account to act on).
    ///
    /// ```
    /// # let rules = ban_rules::Rules::parse("[[rule]]\nname = \"flood\"\non = \"message\"\nmax_per_sender = { count = 2, per = \"10s\" }\nladder = [\"mute 10m\"]").unwrap();
    /// let rate = rules.rules[0].rate("@TGS#a", "bot").unwrap();
    /// assert_eq!((1..=4).map(|n| rate.offends(n)).collect::<Vec<_>>(), [false, false, true, false]);
    /// ```
    pub fn offends(&self, count: u64) -> bool {
        match self.scope {
            RateScope::Sender => count == self.limit + 1,
            RateScope::Group => count > self.limit,
        }
    }

    /// The evidence of an offending count, e.g. `6 messages from the
    /// sender within 10s`.
    pub fn describe(&self, count: u64) -> String {
        let what = match self.scope {
            RateScope::Sender => "messages from the sender",
            RateScope::Group => "joins of the group",
        };
        format!("{count} {what} within {}", short(self.per))
    }
}
