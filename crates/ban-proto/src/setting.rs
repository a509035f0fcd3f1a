//! A setting (or a name from a vocabulary) that makes no sense, said the
//! way every other validation error here says it: the setting, what was
//! given, and what it must be.

/// The most bytes of a given value that a [`SettingError`] quotes.
pub const QUOTED_BYTES: usize = 64;

/// A setting that makes no sense.
///
/// ```
/// let e = ban_proto::SettingError::new("retry.max_attempts", 0, "at least 1");
/// assert_eq!(e.to_string(), "retry.max_attempts is 0; it must be at least 1");
/// let e = ban_proto::SettingError::unknown("job state", "stopped", ["running", "done"]);
/// assert_eq!(e.to_string(), "job state is \"stopped\"; it must be one of: running, done");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} is {given}; it must be {expected}")]
#[non_exhaustive]
pub struct SettingError {
    /// The setting.
    pub name: &'static str,
    /// What was given (escaped, at most [`QUOTED_BYTES`] of it).
    pub given: String,
    /// What it must be.
    pub expected: String,
}

impl SettingError {
    /// `name` was given `given`, and must be `expected`.
    pub fn new(
        name: &'static str,
        given: impl std::fmt::Display,
        expected: impl Into<String>,
    ) -> Self {
        SettingError {
            name,
            given: crate::escape_bounded(&given.to_string(), QUOTED_BYTES),
            expected: expected.into(),
        }
    }

    /// `given` is not one of `names`.
    pub fn unknown<'a>(
        name: &'static str,
        given: &str,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        SettingError {
            name,
            given: format!("\"{}\"", crate::escape_bounded(given, QUOTED_BYTES)),
            expected: format!(
                "one of: {}",
                names.into_iter().collect::<Vec<_>>().join(", ")
            ),
        }
    }
}
