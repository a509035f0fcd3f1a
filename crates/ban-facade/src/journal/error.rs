//! Why a journal cannot be used.

use std::path::PathBuf;

/// Why a journal cannot be used; nothing was sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// The file could not be read or written.
    #[error("journal {path} cannot be read or written")]
    Io {
        /// The journal's path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The journal was written for another job.
    #[error("journal {path} was written for another job: its {field} is {journal}, this job's is {given}; use another journal file for this job")]
    Mismatch {
        /// The journal's path.
        path: PathBuf,
        /// What differs: action, group, member set, duration, description.
        field: &'static str,
        /// What the journal holds.
        journal: String,
        /// What this job has.
        given: String,
    },
    /// A line other than a torn last line is unreadable.
    #[error("journal {path} line {line} is not readable ({reason}); it was not written by this tool or was edited")]
    Corrupt {
        /// The journal's path.
        path: PathBuf,
        /// The line number (1-based).
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}
