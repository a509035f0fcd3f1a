//! What a ban or mute job's members had before it, kept with the job in
//! Redis (its `:prior` hash), and what an undo of the job reads back.

use std::collections::{BTreeMap, HashSet};

use ban_facade::{JobAction, JournalContents, MuteEnd, PriorState};
use redis::AsyncCommands;

use super::meta::F;
use super::queue::{JobError, JobKeys, JobQueue};

/// Members' earlier ends written a thousand at a time.
const CHUNK: usize = 1_000;

/// Writes `prior` to the job's `:prior` hash.
pub(crate) async fn store(
    conn: &mut crate::conn::Conn,
    keys: &JobKeys,
    prior: &PriorState,
) -> Result<(), JobError> {
    let entries: Vec<(&String, &u64)> = prior.ends.iter().collect();
    for chunk in entries.chunks(CHUNK) {
        let _: () = conn.hset_multiple(&keys.prior, chunk).await?;
    }
    Ok(())
}

impl JobQueue {
    /// What an undo of the job needs: its action, group and end, the
    /// members done, and their state before it (none when the job was
    /// submitted without it).
    pub async fn undo_source(&self, id: &str) -> Result<JournalContents, JobError> {
        let meta = self.meta(id).await?;
        let keys = self.keys(id);
        let mut conn = self.conn.clone();
        let done: HashSet<String> = conn.smembers(&keys.done).await?;
        let calls: Option<u64> = conn.hget(&keys.hash, F::PRIOR_READ_CALLS).await?;
        let prior = match calls {
            Some(calls) => {
                let ends: BTreeMap<String, u64> = conn.hgetall(&keys.prior).await?;
                Some(PriorState::new(ends, calls))
            }
            None => None,
        };
        let ends_at = match &meta.spec.action {
            JobAction::Ban { ends_at, .. } => Some(*ends_at),
            JobAction::Mute {
                ends_at: MuteEnd::At(t),
            } => Some(*t),
            _ => None,
        };
        Ok(JournalContents::new(
            meta.spec.action.kind(),
            meta.spec.group.clone(),
            meta.total as usize,
            format!("job:{id}"),
            ends_at,
            done,
            prior,
        ))
    }
}
