//! Bad input to a bulk job, refused before anything is sent.

use ban_proto::ValidationError;

use crate::journal::error::JournalError;

/// Bad input to a bulk job: nothing was sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// A field other than the member list is invalid.
    #[error(transparent)]
    Field(#[from] ValidationError),
    /// Some members are invalid; each is listed with its place and reason.
    #[error("{}", describe_invalid(.0))]
    Members(Vec<InvalidMember>),
    /// The member list is empty.
    #[error("Members_Account has 0 accounts; at least 1 is needed")]
    NoMembers,
    /// The journal cannot be used for this job.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// A member refused before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidMember {
    /// Its place in the input (0-based, duplicates counted).
    pub index: usize,
    /// The account as given.
    pub member: String,
    /// The rule it breaks.
    pub error: ValidationError,
}

impl InvalidMember {
    /// The account as an error quotes it: escaped, at most
    /// [`ban_proto::QUOTED_BYTES`] (64) bytes of it.
    pub fn quoted(&self) -> String {
        ban_proto::escape_bounded(&self.member, ban_proto::QUOTED_BYTES)
    }
}

/// How many invalid members an error names; the rest are counted.
pub const INVALID_SHOWN: usize = 10;

fn describe_invalid(bad: &[InvalidMember]) -> String {
    use std::fmt::Write;
    let mut s = format!("{} of the members are invalid, nothing was sent", bad.len());
    for b in bad.iter().take(INVALID_SHOWN) {
        let _ = write!(s, "; #{} \"{}\": {}", b.index + 1, b.quoted(), b.error);
    }
    if bad.len() > INVALID_SHOWN {
        let _ = write!(s, "; and {} more", bad.len() - INVALID_SHOWN);
    }
    s
}
