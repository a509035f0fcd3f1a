//! The moderation loop for Tencent Cloud Chat's callbacks, as a library:
//! each verified callback is answered at once from the rules (no I/O
//! before the answer), its offences are counted and climb the rule's
//! ladder off the answer's path, and the steps are muted and banned through
//! the SDK, coalesced into as few calls as the limits allow, in the urgent
//! lane. Every decision and action is a typed [`Event`] handed to
//! [`Observer`]s: the audit file, metrics and tracing are three of them.
//!
//! A team that already runs a service for its callbacks mounts the loop
//! beside its own routes (`banctl serve` is one more host of it):
//!
//! ```no_run
//! use ban_callback::{CallbackToken, Verifier};
//! use ban_moderation::{AuditFile, ClientExecutor, Metrics, Moderator, Tracing};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let rules = ban_rules::Rules::load("rules.toml".as_ref())?;
//! let client = ban_facade::Client::from_env()?; // TIM_SDKAPPID, TIM_SECRET_KEY, TIM_ADMIN, ...
//! let moderation = Moderator::builder(rules)
//!     .observer(AuditFile::open("audit.jsonl".as_ref())?)
//!     .observer(Metrics)
//!     .observer(Tracing)
//!     .start(ClientExecutor::new(client));
//! let token = CallbackToken::new(std::fs::read_to_string("callback.token")?.trim());
//! let verifier = Verifier::new(1_400_000_000, Some(token));
//! let svc = ban_moderation::service(verifier, moderation.moderator());
//! let app = axum::Router::new()
//!     .route("/", axum::routing::get(|| async { "our own app" }))
//!     .route_service("/tim/callback", svc);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! moderation.shutdown(std::time::Duration::from_secs(30)).await;
//! # Ok(()) }
//! ```
//!
//! The seams: [`Counter`] (where counts live: [`MemoryCounter`], or
//! `RedisCounter` with the `redis` feature so instances behind a load
//! balancer count once), [`Executor`] (the client side: [`ClientExecutor`]
//! over `ban_facade::Client`, or a test double), [`Observer`].

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod audit;
mod counter;
mod decide;
mod dispatch;
mod earlier;
mod event;
mod executor;
mod file_journal;
mod http;
mod journal;
mod lines;
mod moderator;
mod raid;
mod raid_mode;
#[cfg(feature = "redis")]
mod raid_shared;
mod record;
#[cfg(feature = "redis")]
mod redis_journal;
mod replay;
mod reversal;

pub use audit::{audit_line, AuditFile, AUDIT_QUEUE};
pub use counter::{BoxFuture, Counted, Counter, MemoryCounter};
#[cfg(feature = "redis")]
pub use counter::{RedisCounter, REDIS_RETRY};
pub use dispatch::{Act, Executor};
pub use earlier::{Earlier, EarlierRead, PERMANENT_END};
pub use event::{Event, EventKind, Metrics, Observer, Observers, Outcome, RefusalReason, Tracing};
pub use executor::{bulk_action, ClientExecutor, EARLIER_FRESH};
pub use file_journal::FileJournal;
pub use http::{
    service, CallbackService, ModerationService, Verify, VerifyLayer, BODY_TIMEOUT, MAX_BODY,
};
pub use journal::{DirLock, Journal, JournalError, Recovered};
pub use moderator::{
    Moderation, Moderator, ModeratorBuilder, DEFAULT_COALESCE, DEFAULT_QUEUE,
    DEFAULT_REPLAY_WINDOW, DEFAULT_SILENCE_OVER, SEEN_FOR,
};
pub use raid::{RaidShield, Transition, MAX_COHORT};
pub use raid_mode::RAID_RULE;
#[cfg(feature = "redis")]
pub use raid_shared::MIRROR_EVERY;
pub use record::{Recorded, Recorder, DEFAULT_RECORD_KEEP, DEFAULT_RECORD_MAX_BYTES, RECORD_QUEUE};
#[cfg(feature = "redis")]
pub use redis_journal::{RedisJournal, DEFAULT_TAKEOVER};
pub use replay::{
    audit_verdicts, differences, Change, Difference, Replay, RuleStats, Severity, Verdicts, Why,
};
pub use reversal::{
    audit_jobs, note_reversal, read_reversals, reversals_path, AuditJob, AuditReadError, Reversal,
    Selection,
};
