//! A rules file that cannot be used: which file, which line, why.

use std::fmt;
use std::path::Path;

/// A bad rules file: which file, where and why.
///
/// ```
/// let e = ban_rules::Rules::parse("[[rule]]\nname = \"a\"\non = \"message\"\nladder = [\"mute 1m\"]\n").unwrap_err();
/// assert_eq!(e.line, Some(2));
/// assert!(e.to_string().starts_with("line 2: rule \"a\""));
/// let e = ban_rules::Rules::load("/nonexistent/rules.toml".as_ref()).unwrap_err();
/// assert!(matches!(e.kind, ban_rules::RulesErrorKind::Read(_)));
/// assert!(std::error::Error::source(&e).is_some(), "the io::Error is its source");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct RulesError {
    /// The file, when one was read.
    pub path: Option<std::path::PathBuf>,
    /// The line (1-based), when the fault is on one.
    pub line: Option<usize>,
    /// What is wrong.
    pub kind: RulesErrorKind,
}

/// What is wrong with a rules file.
#[derive(Debug)]
#[non_exhaustive]
pub enum RulesErrorKind {
    /// It cannot be read.
    Read(std::io::Error),
    /// It holds what a rules file may not: the reason, in words.
    Invalid(String),
}

impl RulesError {
    /// An invalid file: `message` as the checks say it (`line N: why`),
    /// the line kept apart.
    pub(super) fn invalid(message: String) -> RulesError {
        let line = message
            .strip_prefix("line ")
            .and_then(|rest| rest.split_once(':'))
            .and_then(|(n, _)| n.parse().ok());
        let reason = match line {
            Some(_) => message
                .split_once(": ")
                .map_or(message.clone(), |(_, r)| r.to_owned()),
            None => message,
        };
        RulesError {
            path: None,
            line,
            kind: RulesErrorKind::Invalid(reason),
        }
    }

    pub(super) fn in_file(mut self, path: &Path) -> RulesError {
        self.path = Some(path.to_owned());
        self
    }
}

impl std::error::Error for RulesError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            RulesErrorKind::Read(e) => Some(e),
            RulesErrorKind::Invalid(_) => None,
        }
    }
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "rules file {}", p.display())?;
            match &self.kind {
                RulesErrorKind::Read(_) => return f.write_str(" cannot be read"),
                RulesErrorKind::Invalid(_) => f.write_str(": ")?,
            }
        }
        if let Some(n) = self.line {
            write!(f, "line {n}: ")?;
        }
        match &self.kind {
            RulesErrorKind::Read(_) => f.write_str("cannot be read"),
            RulesErrorKind::Invalid(why) => f.write_str(why),
        }
    }
}
