//! A rule's ladder: one step per offence, written `mute 10m`, `mute
//! permanent` or `ban 7d`.

use std::fmt;
use std::time::Duration;

use toml::Spanned;

use crate::rules::line_of;

/// One step of a ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// Mute for this long (`None`: permanently).
    Mute(Option<Duration>),
    /// Ban for this long.
    Ban(Duration),
}

/// A duration the way rules files write it: `7d`, `1h`, `10m`, `90s`.
///
/// ```
/// assert_eq!(ban_rules::short(std::time::Duration::from_secs(604_800)), "7d");
/// ```
pub fn short(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        _ if s > 0 && s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s > 0 && s.is_multiple_of(3_600) => format!("{}h", s / 3_600),
        _ if s > 0 && s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Mute(None) => f.write_str("mute permanent"),
            Step::Mute(Some(d)) => write!(f, "mute {}", short(*d)),
            Step::Ban(d) => write!(f, "ban {}", short(*d)),
        }
    }
}

pub(crate) fn step(text: &str, s: &Spanned<String>) -> Result<Step, String> {
    let at = line_of(text, s.span().start);
    let raw = s.get_ref().trim();
    let (verb, rest) = raw.split_once(' ').unwrap_or((raw, ""));
    let rest = rest.trim();
    let long = |rest: &str| {
        humantime::parse_duration(rest)
            .ok()
            .filter(|d| !d.is_zero() && d.subsec_nanos() == 0 && d.as_secs() < u64::from(u32::MAX))
            .ok_or_else(|| {
                format!("line {at}: ladder step {raw:?}: {rest:?} is not a whole-second duration from 1 s (10m, 1h, 7d)")
            })
    };
    match verb {
        "mute" if rest == "permanent" => Ok(Step::Mute(None)),
        "mute" => long(rest).map(|d| Step::Mute(Some(d))),
        "ban" => long(rest).map(Step::Ban),
        _ => Err(format!(
            "line {at}: ladder step {raw:?} is not \"mute DURATION\", \"mute permanent\" or \"ban DURATION\""
        )),
    }
}
