//! The HTTPS layer of the ban SDK: turns a validated `ban-proto` request into
//! a call to Tencent Cloud Chat and a typed outcome, through the faults a
//! busy service meets.
//!
//! - hyper-util's pooled client over hyper-rustls, with the ring provider
//!   chosen explicitly, webpki roots plus any extra root (the emulator's CA),
//!   HTTP/1.1 keep-alive and HTTP/2 by ALPN, connect and per-attempt
//!   timeouts, TCP nodelay. HTTPS only, unless plain HTTP is asked for by
//!   [`TransportBuilder::danger_allow_plain_http`].
//! - The query string of every call (`sdkappid`, `identifier`, `usersig`,
//!   `random`, `contenttype=json`), with the UserSig taken from a
//!   [`Credentials`] provider at each attempt; `random` is fresh per logical
//!   call, kept across its retries, and in every outcome, error and span.
//! - Retries with exponential backoff and full jitter for transient failures,
//!   a longer pause for throttling, never for caller errors; bounded by a
//!   number of attempts and a total deadline.
//! - A client-side rate limit per command (default the service's 200 calls/s,
//!   backing off on 60007) shared by all clones: a call waits for its
//!   permit, it does not fail.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ban_proto::{BanDuration, BanRequest, GroupId, MemberList, Region, UserSig};
//! use ban_transport::{StaticCredentials, Transport};
//!
//! let creds = StaticCredentials::new(1400000000, "administrator", UserSig::new("eJw..."));
//! let transport = Transport::builder(creds).region(Region::Singapore).build()?;
//! let request = BanRequest {
//!     group_id: GroupId::new("@TGS#aJRGC4MH6")?,
//!     members: MemberList::from_strs(&["raider1", "raider2"])?,
//!     duration: BanDuration::from_secs(3600)?,
//!     description: None,
//! };
//! let outcome = transport.call(&request).await?;
//! println!("banned (random {}, {} attempts)", outcome.random, outcome.attempts);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod answer;
mod builder;
mod client;
mod control;
mod credentials;
mod error;
mod limit;
mod pace;
mod retry;
mod tls;

pub use builder::{
    TransportBuilder, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_POOL_IDLE_TIMEOUT,
    DEFAULT_POOL_MAX_IDLE_PER_HOST,
};
pub use client::{Outcome, Transport};
pub use control::{AbortSignal, AttemptObserver, CallOptions};
pub use credentials::{Credentials, CredentialsError, StaticCredentials};
pub use error::{error_chain, BuildError, CallError, Cause, CauseError, ErrorKind, SharedError};
pub use limit::{
    next_lane, BoxFuture, Limiter, LocalLimiter, Priority, RateLimit, BULK_HORIZON, FLOOR_EVERY,
    NORMAL_HORIZON, URGENT_HORIZON,
};
pub use retry::RetryPolicy;
