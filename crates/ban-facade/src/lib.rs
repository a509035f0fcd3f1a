//! The client most users take: ban, unban and list banned members of
//! Tencent Cloud Chat audio-video groups (AVChatRoom).
//!
//! It wires `ban-sign`'s cached signer into `ban-transport` and adds bulk
//! jobs: [`Client::ban_members`] takes any number of members, removes
//! duplicates, splits them into calls of at most 20, keeps enough calls in
//! flight to use the whole rate budget (200 calls/s by default), and returns
//! a [`BulkReport`] in which every member is either done or failed with its
//! code and reason. A call that fails for a reason that may belong to one
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
//! assert_eq!(report.succeeded.len() + report.failed.len(), 5);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod bulk;
mod client;
mod journal;
mod stop;

pub use ban_proto::{BanDuration, BannedAccount, ErrorCode, Region};
pub use ban_transport::{AbortSignal, BuildError, CallError, ErrorKind, RateLimit, RetryPolicy};
pub use bulk::{Action, BulkOptions, BulkReport, FailedMember, Progress};
pub use client::{
    BannedStream, Client, ClientBuilder, ConfigError, InputError, InvalidMember, SignerCredentials,
    INVALID_SHOWN,
};
pub use journal::JournalError;
pub use stop::{StopKind, StopReason};
