//! `[raid]`: raid mode per group. A surge of joins trips it; while it
//! lasts, newcomers' messages are refused at the before-send answer (no
//! REST call), with the app's own code and text; it ends by itself after
//! `quiet` without a surge.
//!
//! ```toml
//! [raid]
//! joins = { count = 50, per = "10s" }   # a surge trips raid mode for that group
//! quiet = "2m"                          # it ends after this long without a surge
//! newcomer_code = 10150                 # the before-send refusal code (10100-10200)
//! newcomer_message = "New members can chat once the raid is over"
//! groups = ["@TGS#aLIVE"]               # only these groups (default: all)
//! freeze = true                         # MuteAllMember on while it lasts (one call each way)
//! mute_newcomers = "10m"                # mute the cohort through the API (500 a call)
//! cohort_from_room = true               # add the room's latest joiners (get_members) when it trips
//! ```
//!
//! `freeze` and `mute_newcomers` are for apps whose clients' messages do
//! not all reach the before-send callback: they cost calls, the refusal
//! at the answer does not.

use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::rules::{duration, line_of, RateSpec};

/// Raid mode's settings (`[raid]`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Raid {
    /// This many joins of one group within this time trip raid mode.
    pub joins: (u64, Duration),
    /// Raid mode ends after this long without a surge.
    pub quiet: Duration,
    /// The code a newcomer's message is refused with (10100-10200: the
    /// service passes it to the sender's client).
    pub newcomer_code: i64,
    /// The text the sender's client gets with it.
    pub newcomer_message: String,
    /// The groups it applies in (empty: all).
    pub groups: HashSet<String>,
    /// Turn `MuteAllMember` on for the room while raid mode lasts (one
    /// call each way): every member but the owner and admins is silenced.
    pub freeze: bool,
    /// Mute each newcomer through the API for this long (500 a call, in
    /// the urgent lane), when it trips and as more join while it lasts.
    pub mute_newcomers: Option<Duration>,
    /// When it trips, add to the cohort the room's online members who
    /// joined within the window by `get_members`' `JoinTime` (a few calls):
    /// the newcomers this instance did not see join (it started mid-raid,
    /// or a callback was lost).
    pub cohort_from_room: bool,
}

impl Raid {
    /// Whether raid mode applies in `group`.
    pub fn covers(&self, group: &str) -> bool {
        self.groups.is_empty() || self.groups.contains(group)
    }
}

/// The most bytes of `newcomer_message` (it is the `ErrorInfo` the sender's
/// client shows).
pub const MAX_NEWCOMER_MESSAGE: usize = 256;

const DEFAULT_QUIET: Duration = Duration::from_secs(120);
const DEFAULT_CODE: i64 = 10150;
const DEFAULT_MESSAGE: &str = "New members can chat once the raid is over";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RaidSpec {
    joins: Spanned<RateSpec>,
    #[serde(default)]
    quiet: Option<Spanned<String>>,
    #[serde(default)]
    newcomer_code: Option<Spanned<i64>>,
    #[serde(default)]
    newcomer_message: Option<Spanned<String>>,
    #[serde(default)]
    freeze: Option<Spanned<bool>>,
    #[serde(default)]
    mute_newcomers: Option<Spanned<String>>,
    #[serde(default)]
    cohort_from_room: bool,
    #[serde(default)]
    groups: Vec<String>,
}

impl RaidSpec {
    /// The checked settings; the error names the line.
    pub(crate) fn check(self, text: &str) -> Result<Raid, String> {
        let at = |span: std::ops::Range<usize>| line_of(text, span.start);
        let joins = self.joins.get_ref();
        if joins.count < 2 {
            return Err(format!(
                "line {}: raid.joins.count is {}; a surge is at least 2 joins",
                at(self.joins.span()),
                joins.count
            ));
        }
        let per = duration(text, &joins.per, "raid.joins.per")?;
        let quiet = match &self.quiet {
            Some(q) => duration(text, q, "raid.quiet")?,
            None => DEFAULT_QUIET,
        };
        let newcomer_code = match &self.newcomer_code {
            Some(c) if !(10100..=10200).contains(c.get_ref()) => {
                return Err(format!(
                    "line {}: raid.newcomer_code is {}; the service passes a before-send refusal code to the sender only from 10100 to 10200",
                    at(c.span()),
                    c.get_ref()
                ))
            }
            Some(c) => *c.get_ref(),
            None => DEFAULT_CODE,
        };
        let newcomer_message = match &self.newcomer_message {
            Some(m) if m.get_ref().trim().is_empty() => {
                return Err(format!(
                    "line {}: raid.newcomer_message is empty; say why the newcomer cannot chat",
                    at(m.span())
                ))
            }
            Some(m) if m.get_ref().len() > MAX_NEWCOMER_MESSAGE => {
                return Err(format!(
                    "line {}: raid.newcomer_message is {} bytes; at most {MAX_NEWCOMER_MESSAGE}",
                    at(m.span()),
                    m.get_ref().len()
                ))
            }
            Some(m) => m.get_ref().clone(),
            None => DEFAULT_MESSAGE.to_owned(),
        };
        let mute_newcomers = match &self.mute_newcomers {
            Some(m) => {
                let d = duration(text, m, "raid.mute_newcomers")?;
                if d.as_secs() == 0 || d.as_secs() >= u64::from(u32::MAX) {
                    return Err(format!(
                        "line {}: raid.mute_newcomers is {:?}; a mute lasts 1 s to 136 years (4294967294 s)",
                        at(m.span()),
                        m.get_ref()
                    ));
                }
                Some(d)
            }
            None => None,
        };
        for g in &self.groups {
            ban_proto::GroupId::new(g.as_str())
                .map_err(|e| format!("line {}: raid.groups: {e}", at(self.joins.span())))?;
        }
        Ok(Raid {
            joins: (joins.count, per),
            quiet,
            newcomer_code,
            newcomer_message,
            groups: self.groups.into_iter().collect(),
            freeze: self.freeze.is_some_and(|f| *f.get_ref()),
            mute_newcomers,
            cohort_from_room: self.cohort_from_room,
        })
    }
}
