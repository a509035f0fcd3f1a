//! Ban jobs on Redis Streams: a million-member ban spread over workers,
//! nothing lost when one dies.
//!
//! A job is a hash (its [`ban_facade::JobSpec`] as JSON, its
//! [`ban_facade::JobState`], counters), a stream of batches of at most 20
//! members read through one consumer group, a set of the members done and
//! a hash of the members failed (each a [`ban_facade::FailedMember`] as
//! JSON). A worker is the facade's one engine over the Redis store: it
//! records each batch's outcome and acknowledges it in one Lua script, so
//! a batch delivered twice is counted once; delivery is at least once, and
//! repeating a ban is harmless because every ban call sends what is left
//! of one absolute end.

mod error;
pub(crate) mod judge;
mod meta;
mod prior;
pub(crate) mod queue;
mod report;
pub(crate) mod store;
pub(crate) mod upkeep;
pub(crate) mod worker;

use std::time::Duration;

use ban_facade::engine::Patience;

/// How long a fleet job may go unanswered before it pauses for every
/// worker.
pub const FLEET_QUIET: Duration = Duration::from_secs(10);

/// A fleet job's patience: it pauses only when twice the in-flight window
/// of attempts in a row failed (never fewer than the 3 a person's job
/// bears) and none was answered for [`FLEET_QUIET`]. A brownout that drops
/// even most connections never pauses it; an endpoint that is down does.
pub fn fleet_patience(max_in_flight: usize) -> Patience {
    let n = u32::try_from(max_in_flight.saturating_mul(2))
        .unwrap_or(u32::MAX)
        .max(3);
    Patience::new(n, n, FLEET_QUIET)
}
