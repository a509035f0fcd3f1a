//! What a ban or mute job's members had before it, kept with the job in
//! Redis (its `:prior` hash), and read back for an undo of the job.

use std::collections::BTreeMap;

use ban_facade::PriorState;
use redis::AsyncCommands;

use super::error::JobError;
use super::keys::JobKeys;
use super::meta::F;

/// Members' earlier ends written a thousand at a time.
const CHUNK: usize = 1_000;

/// Writes `prior` to the job's `:prior` hash (the job's hash records the
/// calls that read it, [`F::PRIOR_READ_CALLS`], apart).
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

/// The members' state before the job, or None when it was submitted
/// without it.
pub(crate) async fn read(
    conn: &mut crate::conn::Conn,
    keys: &JobKeys,
) -> Result<Option<PriorState>, JobError> {
    let calls: Option<u64> = conn.hget(&keys.hash, F::PRIOR_READ_CALLS).await?;
    let Some(calls) = calls else {
        return Ok(None);
    };
    let ends: BTreeMap<String, u64> = conn.hgetall(&keys.prior).await?;
    Ok(Some(PriorState::new(ends, calls)))
}
