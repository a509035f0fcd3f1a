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

//!
//! Inside, a stack (each floor imports only the ones below it):
//! - ground: `keys` (the key layout and stream names), `clock` (this
//!   host's and Redis's), `error`;
//! - `meta` (a job's hash, typed), `report`, `config` (a worker's
//!   settings), `live` (heartbeats and leases), `claims` (taking stream
//!   entries), `prior`, `record` (the record script's seam), `upkeep`;
//! - `judge` (whose failure it is: no I/O);
//! - `queue` (submit, follow, report, cancel);
//! - `store` (the engine's Redis store, built from a queue, a client and
//!   a config);
//! - `worker` (the engine over the store).

mod claims;
mod clock;
pub(crate) mod config;
mod error;
pub(crate) mod judge;
mod keys;
mod live;
mod meta;
mod prior;
pub(crate) mod queue;
mod record;
pub(crate) mod report;
mod store;
mod upkeep;
pub(crate) mod worker;

pub use error::JobError;
pub use store::WorkerStats;
pub use upkeep::HEARTBEAT_EVERY;
