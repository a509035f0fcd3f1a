//! Why a job call failed.

use ban_facade::{InputError, JobState, StopReason};
use ban_proto::SettingError;

use crate::failure::RedisFailure;

/// Why a job call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The input was refused before anything was queued.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Redis refused or could not be reached.
    #[error("Redis failed")]
    Redis(#[source] RedisFailure),
    /// Redis cannot be used as set up (a password, a Cluster node, no
    /// persistence, ...), or is unreachable at the start.
    #[error(transparent)]
    Setup(#[from] crate::RedisSetupError),
    /// No such job (never submitted, deleted after its report was read, or
    /// lost by a Redis that does not persist its data).
    #[error("job {0} does not exist: never submitted, deleted after its report was read, or lost by Redis (a restart without persistence)")]
    NoSuchJob(String),
    /// A worker setting makes no sense.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// This worker's calls are refused (its key, its admin, its network)
    /// while other workers of the job succeed: it stopped serving, and the
    /// job goes on without it.
    #[error("this worker stopped serving job {job}: its calls are refused ({}) while other workers of the job succeed; fix this worker's settings", .reason.kind)]
    Quarantined {
        /// The job.
        job: String,
        /// What refused this worker's calls.
        reason: StopReason,
    },
    /// The job is not in a state the call applies to.
    #[error("job {id} is {state}; it must be {wanted}")]
    State {
        /// The job.
        id: String,
        /// Its state.
        state: JobState,
        /// What the call needs.
        wanted: &'static str,
    },
    /// Something to be written to Redis could not be encoded as JSON.
    #[error("{what} cannot be encoded")]
    Encode {
        /// What was being encoded (the spec, a batch's outcome).
        what: &'static str,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The job's data is not what this version wrote.
    #[error("job {id}: {what}")]
    Corrupt {
        /// The job.
        id: String,
        /// What is wrong.
        what: String,
    },
}

#[doc(hidden)]
impl From<redis::RedisError> for JobError {
    fn from(e: redis::RedisError) -> Self {
        JobError::Redis(RedisFailure::new(e))
    }
}
