//! The client most users take: ban, unban, mute, unmute and list the banned
//! and muted members of Tencent Cloud Chat groups (live rooms, AVChatRoom, above all; the
//! service allows all five group types: Work, Public, Meeting, AVChatRoom,
//! Community).
//!
//! It wires `ban-sign`'s cached signer into `ban-transport` and adds bulk
//! jobs: [`Client::ban_members`] takes any number of members, removes
//! duplicates, splits them into calls of at most 20, keeps enough calls in
//! flight to use the whole rate budget (the service's 200 calls/s by default), and returns
//! a [`BulkReport`] in which every member is done, failed with its code and
//! reason, or not attempted because the job stopped early (and why). A call that fails for a reason that may belong to one
//! member (10004, 10019) is split to find which.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ban_facade::{BanDuration, Client, Region};
//!
//! let client = Client::builder()
//!     .sdkappid(1400000000)
//!     .secret_key("your-secret-key")
//!     .region(Region::Singapore)
//!     .build()?;
//! let raiders = ["raider1", "raider2", "raider3", "raider4", "raider5"];
//! let report = client
//!     .ban_members("@TGS#aJRGC4MH6", &raiders, BanDuration::from_secs(3600)?, Some("raid"))
//!     .await?;
//! assert_eq!(report.succeeded.len() + report.failed.len() + report.not_attempted.len(), 5);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod bulk;
mod client;
mod config;
mod drive;
mod input;
mod job;
mod journal;
mod layer;
#[cfg(feature = "test-util")]
mod memory_store;
mod options;
mod prior;
pub use prior::read_failed;
mod report;
mod run;
mod stop;
mod undo;

// Every type the client's methods take or return, so a dependent needs
// this crate alone.
pub use ban_proto::{
    BanDuration, BannedAccount, Command, ErrorCode, MemberAccount, MemberList, MuteAll,
    MuteDuration, MuteMemberList, MutedAccount, NoSpeakingState, Region, RetryClass, SettingError,
    UserSig,
};
pub use ban_sign::{Clock, RenewPolicy, SecretKey};
pub use ban_transport::{
    error_chain, AbortSignal, BuildError, CallError, Cause, Credentials, CredentialsError,
    ErrorKind, Limiter, Outcome, Priority, RateLimit, RetryPolicy, Transport, TransportBuilder,
};
pub use bulk::{validate_members, BulkAction};
pub use client::{BannedStream, Client, SignerCredentials};
pub use config::{
    parse_region, parse_sdkappid, read_secret_key_file, ClientBuilder, ConfigError, TimEnv,
    DEFAULT_ADMIN, DEFAULT_MAX_IN_FLIGHT,
};
pub use input::{InputError, InvalidMember, INVALID_SHOWN};
pub use job::{Action, JobAction, JobSpec, JobState, MuteEnd};
pub use journal::{read_journal, JournalContents, JournalError, PriorState};
pub use layer::{KeyGiven, Layer, Sourced};
pub use options::BulkOptions;
pub use report::{BulkReport, FailedMember, Progress};
pub use stop::{StopKind, StopReason};
pub use undo::{LeftAlone, Restored, UndoError, UndoOptions, UndoReport};

/// The job engine, for a store of progress other than the journal (the
/// fleet's Redis Streams): [`engine::drive`] takes batches from a
/// [`engine::ProgressStore`], runs each with its job's [`engine::JobRun`]
/// (one failure monitor per job, whose [`engine::Patience`] says how long
/// it bears a silent endpoint) and records each [`engine::BatchOutcome`].
/// `banctl ban` and a fleet worker run the same engine.
pub mod engine {
    pub use crate::drive::{drive, Batch, DriveOptions, Polled, ProgressStore};
    pub use crate::report::BatchOutcome;
    pub use crate::run::{JobRun, Members};
    pub use crate::stop::Patience;

    /// An in-memory store for tests of the engine's contract (feature
    /// `test-util`).
    #[cfg(feature = "test-util")]
    pub mod testing {
        pub use crate::memory_store::{Answer, MemoryStore};
    }
}
