//! The UserSig as a value that never prints itself.

use std::fmt;
use std::sync::Arc;

/// A UserSig: the credential every call carries in its query string.
///
/// Its `Debug` and `Display` print a redaction, so it can sit inside structs
/// that are logged. Cloning is cheap (shared).
///
/// ```
/// # use ban_proto::UserSig;
/// let sig = UserSig::new("eJwtzM0KgjAQBOC3*secret");
/// assert_eq!(format!("{sig:?}"), "UserSig(<redacted, 23 chars>)");
/// assert_eq!(sig.expose(), "eJwtzM0KgjAQBOC3*secret");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct UserSig(Arc<str>);

impl UserSig {
    /// Wraps a UserSig.
    pub fn new(sig: impl Into<Arc<str>>) -> Self {
        UserSig(sig.into())
    }

    /// The sig itself, for the query string. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UserSig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserSig(<redacted, {} chars>)", self.0.len())
    }
}

impl fmt::Display for UserSig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted UserSig>")
    }
}
