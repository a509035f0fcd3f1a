//! For users who outgrow one process: several service instances, cron jobs
//! and operators' `banctl` runs banning for one SDKAppID share its
//! 200 calls/s through Redis.
//!
//! [`RedisLimiter`] is a `ban_transport::Limiter`: plug it into a client and
//! every permit becomes a GCRA reservation in Redis, timed by Redis's clock,
//! in one of three lanes ([`ban_transport::Priority`]): an urgent caller
//! takes the next free slot, bulk callers are served in arrival order and
//! never reserve far ahead, and a waiting lane gets at least one permit in
//! 20. A 60007 that still
//! arrives pushes the shared schedule back for everyone. When Redis is down
//! or slow (each request is bounded by 50 ms), a circuit breaker stops
//! asking it, probes it about once a second, and meanwhile each process
//! goes on with 90% of the rate ÷ the processes last seen alive (or stops, with
//! [`DownPolicy::Closed`]).
//!
//! ```no_run
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use ban_facade::Client;
//! use ban_fleet::{FleetConfig, RedisLimiter};
//!
//! let limiter = RedisLimiter::new(FleetConfig::new("redis://127.0.0.1:6379", 1400000000))?;
//! let client = Client::builder()
//!     .sdkappid(1400000000)
//!     .secret_key("your-secret-key")
//!     .limiter(Arc::new(limiter))
//!     .build()?;
//! # drop(client); Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod actions;
mod config;
mod conn;
mod counter;
mod env;
mod failure;
mod jobs;
mod limiter;
mod raid;
mod setup;
#[cfg(feature = "test-util")]
pub mod testing;

pub use actions::{ActionStream, Entry as ActionEntry, READ_BLOCK};
pub use ban_facade::{JobAction, JobSpec, JobState};
pub use ban_proto::SettingError;
pub use config::{
    check_key_prefix, DownPolicy, FleetConfig, FleetError, DEFAULT_FLEET_PER_SEC,
    DEFAULT_HEARTBEAT_EVERY, DEFAULT_KEY_PREFIX, DEFAULT_PROBE_EVERY, DEFAULT_REDIS_TIMEOUT,
    DEGRADED_MARGIN, THROTTLE_PENALTY,
};
pub use conn::RedisAddr;
pub use counter::WindowCounter;
pub use env::RedisEnv;
pub use failure::RedisFailure;
pub use jobs::config::{
    fleet_patience, WorkerConfig, DEFAULT_LEASE, DEFAULT_MAX_DELIVERIES, DEFAULT_RETENTION,
    FLEET_QUIET,
};
pub use jobs::judge::{QUARANTINE_GRACE, QUARANTINE_WINDOW};
pub use jobs::queue::JobQueue;
pub use jobs::report::{JobReport, JobStatus};
pub use jobs::worker::Worker;
pub use jobs::{JobError, WorkerStats, HEARTBEAT_EVERY};
pub use limiter::{LimiterStats, RedisLimiter};
pub use raid::{BoardRaid, Ended as RaidEnded, Joined as RaidJoined, RaidBoard};
pub use setup::RedisSetupError;
