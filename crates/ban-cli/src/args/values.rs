//! What each flag's value may be: durations, group IDs, priorities.

use ban_facade::Priority;

/// `--callback-window`: a duration of 1 s to 1 h.
pub(crate) fn parse_window(s: &str) -> Result<u64, String> {
    let secs = parse_duration(s)?;
    if secs > 3_600 {
        return Err(format!(
            "{s:?} is over 1 hour: a window that long lets a captured callback be replayed for as long"
        ));
    }
    Ok(secs)
}

/// A group ID as given, refused when it starts or ends with whitespace
/// (which would be sent as part of the ID), as a member is.
pub(crate) fn parse_group(s: &str) -> Result<String, String> {
    if s.trim() != s {
        return Err(format!(
            "\"{}\" starts or ends with whitespace, which would be sent as part of the group ID; remove it",
            ban_proto::escape_bounded(s, ban_proto::QUOTED_BYTES)
        ));
    }
    Ok(s.to_owned())
}

/// The units of a duration: humantime's, less the fractions of a second
/// (bans are whole seconds) and less months and years (averages).
const WHOLE_UNITS: &[&str] = &[
    "s", "sec", "secs", "second", "seconds", "m", "min", "mins", "minute", "minutes", "h", "hr",
    "hrs", "hour", "hours", "d", "day", "days", "w", "week", "weeks",
];

/// Fractions of a second, in humantime's spellings.
const SUB_SECOND_UNITS: &[&str] = &[
    "ms",
    "msec",
    "millis",
    "milliseconds",
    "millisecond",
    "us",
    "usec",
    "micros",
    "microseconds",
    "microsecond",
    "ns",
    "nsec",
    "nanos",
    "nanoseconds",
    "nanosecond",
];

/// Units humantime takes as a calendar average.
const CALENDAR_UNITS: &[&str] = &["y", "year", "years", "M", "month", "months"];

/// Whole seconds, or a humantime duration such as `1h`, `30m`, `7d`; at
/// least 1 s and never a fraction of a second (nothing is rounded away).
pub(crate) fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(secs);
    }
    let units = s
        .split(|c: char| c.is_ascii_digit() || c.is_whitespace())
        .filter(|u| !u.is_empty());
    for unit in units {
        if CALENDAR_UNITS.contains(&unit) {
            return Err(format!(
                "{s:?} is not a fixed length: months and years have none (humantime counts a year as 365.25 days); give days or weeks, e.g. 30d or 52w"
            ));
        }
        if SUB_SECOND_UNITS.contains(&unit) {
            return Err(format!(
                "{s:?} is not whole seconds: bans and mutes are whole seconds, so ms, us and ns are not taken"
            ));
        }
        if !WHOLE_UNITS.contains(&unit) {
            return Err(format!(
                "{s:?} is not a duration: unit {unit:?} is not one of s, m, h, d, w (or second(s), minute(s), hour(s), day(s), week(s)); give seconds (3600) or a duration like 90s, 10m, 1h, 7d"
            ));
        }
    }
    let d = humantime::parse_duration(s).map_err(|e| {
        format!("{s:?} is not a duration ({e}); give seconds (3600) or a duration like 1h, 30m, 7d")
    })?;
    if d.as_secs() == 0 {
        return Err(format!(
            "{s:?} is below 1 second; bans are whole seconds, at least 1"
        ));
    }
    if d.subsec_nanos() != 0 {
        return Err(format!(
            "{s:?} is not a whole number of seconds; bans are whole seconds"
        ));
    }
    Ok(d.as_secs())
}

pub(super) fn parse_priority(s: &str) -> Result<Priority, String> {
    s.parse()
        .map_err(|e: ban_facade::SettingError| e.to_string())
}

/// A mute's length: `permanent` (4294967295), or what [`parse_duration`]
/// takes, at most 4294967294 s (the next second is the word `permanent`).
pub(crate) fn parse_mute_duration(s: &str) -> Result<u32, String> {
    if s.trim().eq_ignore_ascii_case("permanent") {
        return Ok(u32::MAX);
    }
    let secs = parse_duration(s)?;
    if secs == 0 {
        return Err("0 s lifts a mute; use unmute".to_owned());
    }
    match u32::try_from(secs) {
        Ok(n) if n < u32::MAX => Ok(n),
        _ => Err(format!(
            "{secs} s is over the longest timed mute, 4294967294 s; write `permanent` for a mute that never ends"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mute_durations() {
        assert_eq!(parse_mute_duration("permanent"), Ok(u32::MAX));
        assert_eq!(parse_mute_duration("10m"), Ok(600));
        assert!(parse_mute_duration("0").unwrap_err().contains("unmute"));
        assert!(parse_mute_duration("4294967295")
            .unwrap_err()
            .contains("permanent"));
        assert!(parse_mute_duration("forever")
            .unwrap_err()
            .contains("not a duration"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3600"), Ok(3600));
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert!(parse_duration("soon")
            .unwrap_err()
            .contains("\"soon\" is not a duration"));
        assert!(parse_duration("500ms")
            .unwrap_err()
            .contains("not whole seconds"));
        assert_eq!(parse_duration("1h 30m"), Ok(5400));
        assert_eq!(parse_duration("2weeks"), Ok(1_209_600));
        for calendar in ["1y", "1month", "2years", "1M"] {
            let e = parse_duration(calendar).unwrap_err();
            assert!(e.contains("months and years have none"), "{calendar}: {e}");
        }
        let e = parse_duration("1H").unwrap_err();
        assert!(e.contains("unit \"H\" is not one of s, m, h, d, w"), "{e}");
        assert!(!e.contains("ns"), "no unit it would refuse is offered: {e}");
    }

    #[test]
    fn cli_is_well_formed() {
        // As parsed: with each command's hidden copies of the global flags.
        crate::args::visible::command().debug_assert();
    }
}
