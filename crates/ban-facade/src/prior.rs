//! The members' state before a ban or mute job, read from the group's
//! lists before its first call (so the job can be undone exactly), and the
//! stop a failed read means.

use std::collections::{BTreeMap, HashSet};

use ban_proto::{GroupId, MutedListRequest, PageOffset};
use ban_transport::{CallError, ErrorKind};

use crate::client::Client;
use crate::job::Action;
use crate::journal::PriorState;
use crate::stop::{reason_of, Health, StopKind, StopReason};

impl Client {
    /// The end of every ban (for [`Action::Ban`] and [`Action::Unban`]) or
    /// every mute (for mutes) in `group` now, Unix seconds, and the calls
    /// the read took: the ban list page by page, the mute list in one;
    /// nothing for a kick.
    pub async fn current_ends(
        &self,
        action: Action,
        group: &GroupId<'static>,
    ) -> Result<(BTreeMap<String, u64>, u64), CallError> {
        let mut ends = BTreeMap::new();
        let mut calls = 0;
        match action {
            Action::Ban | Action::Unban => {
                let mut offset = Some(PageOffset(0));
                while let Some(at) = offset {
                    let (page, next) = self.ban_page(group, at).await?;
                    calls += 1;
                    ends.extend(page.into_iter().map(|b| (b.member_account, b.banned_until)));
                    offset = next;
                }
            }
            Action::Mute | Action::Unmute => {
                let req = MutedListRequest {
                    group_id: group.clone(),
                    topic_id: None,
                };
                let muted = self.transport.call(&req).await?.response.muted;
                calls += 1;
                ends.extend(muted.into_iter().map(|m| (m.member_account, m.muted_until)));
            }
            // A kick leaves nothing in the group to read.
            Action::Kick => {}
        }
        Ok((ends, calls))
    }

    /// What a ban or mute job's members have before it: their entries of
    /// the group's ban (or mute) list, and the calls the read took.
    pub async fn read_prior<S: AsRef<str>>(
        &self,
        action: Action,
        group: &GroupId<'static>,
        members: &[S],
    ) -> Result<PriorState, CallError> {
        let (mut ends, calls) = self.current_ends(action, group).await?;
        let wanted: HashSet<&str> = members.iter().map(AsRef::as_ref).collect();
        ends.retain(|m, _| wanted.contains(m.as_str()));
        Ok(PriorState { ends, calls })
    }
}

/// The stop of a job whose first read failed.
pub fn read_failed(err: &CallError) -> StopReason {
    let kind = Health::systemic(&err.kind).unwrap_or(match err.kind {
        ErrorKind::Connect(_) => StopKind::Unreachable,
        _ => StopKind::NoAnswer,
    });
    let mut reason = reason_of(kind, &err.kind);
    reason.reason = format!(
        "reading the members' state before the job ({}) failed: {}",
        err.command, reason.reason
    )
    .into();
    reason
}
