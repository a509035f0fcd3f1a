//! The first line of a journal: what job it is of, so a resume of another
//! job is refused.

use ban_proto::MemberAccount;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::FORMAT;

/// The first line of a journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Header {
    pub(crate) journal: String,
    pub(crate) action: String,
    pub(crate) group: String,
    pub(crate) members: usize,
    pub(crate) members_sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) duration: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ends_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
}

impl Header {
    /// The header of a journal of `action` on `group`'s `members`;
    /// `asked` is the duration the caller gave (seconds), kept for a ban
    /// or a mute so a resumed run asks the same.
    pub(crate) fn new(
        action: &crate::job::JobAction,
        asked: Option<u32>,
        group: &str,
        members: &[MemberAccount<'static>],
    ) -> Header {
        use crate::job::{JobAction, MuteEnd};
        let (duration, ends_at, description) = match action {
            JobAction::Ban {
                ends_at,
                description,
            } => (
                Some(asked.unwrap_or(1)),
                Some(*ends_at),
                description.clone(),
            ),
            JobAction::Mute { ends_at } => (
                Some(asked.unwrap_or(u32::MAX)),
                match ends_at {
                    MuteEnd::At(t) => Some(*t),
                    MuteEnd::Permanent => None,
                },
                None,
            ),
            JobAction::Unban | JobAction::Unmute | JobAction::Kick => (None, None, None),
        };
        Header {
            journal: FORMAT.to_owned(),
            action: action.kind().name().to_owned(),
            group: group.to_owned(),
            members: members.len(),
            members_sha256: member_set_digest(members),
            duration,
            ends_at,
            description,
        }
    }
}

/// SHA-256 of the sorted members, one a line: the same set in any order
/// gives the same digest.
fn member_set_digest(members: &[MemberAccount<'static>]) -> String {
    let mut sorted: Vec<&str> = members.iter().map(MemberAccount::as_str).collect();
    sorted.sort_unstable();
    let mut h = Sha256::new();
    for m in sorted {
        h.update(m.as_bytes());
        h.update(b"\n");
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
