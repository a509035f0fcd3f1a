//! Ban jobs on Redis Streams: a million-member ban spread over workers,
//! nothing lost when one dies.
//!
//! A job is a hash (group, action, the ban's absolute end, description,
//! total, state, counters), a stream of batches of at most 20 members read
//! through one consumer group, a set of the members done and a hash of the
//! members failed with their reasons. Workers record each batch's outcome
//! and acknowledge it in one Lua script, so a batch delivered twice is
//! counted once; delivery is at least once, and repeating a ban is
//! harmless because every ban call sends what is left of one absolute end.

pub(crate) mod queue;
mod report;
mod stream;
pub(crate) mod worker;
