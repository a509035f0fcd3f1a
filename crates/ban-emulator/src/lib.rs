//! Tencent Cloud Chat's member-ban service on loopback: a real HTTPS server
//! that behaves as the service contract says, for tests, demos and
//! benchmarks.
//!
//! It serves `ban_group_member`, `unban_group_member`,
//! `get_group_ban_member`, `forbid_send_msg` (mute),
//! `get_group_muted_account`, `create_group` and `send_group_msg` under
//! `/v4/group_open_http_svc/`, checks the query string and the UserSig (with
//! `ban-sign`'s verifier) and answers with the service's error codes and HTTP
//! status 200. A control surface under `/emulator/v1/` stands in for what the
//! service learns from client SDKs (members joining, reading messages) and
//! for tests (clock, statistics, reset). It can add latency, enforce the rate
//! limit, and inject faults deterministically from a seed.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ban_emulator::{Emulator, GroupType};
//!
//! let emu = Emulator::builder().group("@TGS#aDEMO").start().await?;
//! assert!(emu.endpoint().starts_with("https://127.0.0.1:"));
//! assert!(emu.ca_cert_pem().unwrap().contains("BEGIN CERTIFICATE"));
//! emu.join("@TGS#aDEMO", "alice")?;
//! let other = emu.create_group(None, GroupType::Public)?;
//! assert!(emu.group(&other).is_some());
//! emu.stop().await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod builder;
mod callback;
mod config;
mod core;
mod server;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use ban_sign::{Clock, SecretKey};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use crate::builder::EmulatorBuilder;
pub use crate::callback::{CallbackConfig, CallbackStats};
pub use crate::config::{
    Edition, EmulatorConfig, FaultConfig, FaultKind, GroupType, Paging, UnknownGroupCode,
    DEFAULT_ADMIN, DEFAULT_SDKAPPID, DEFAULT_SECRET_KEY,
};
use crate::core::Core;
pub use crate::core::{
    CommandStats, FaultStats, GroupState, InboxMessage, JoinError, Stats, UNKNOWN_COMMAND,
};
pub use crate::tls::client_config;
pub use ban_callback::CallbackToken;

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The certificate or TLS configuration could not be made.
    #[error("cannot set up TLS")]
    Tls(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A configuration value is out of range.
    #[error("invalid emulator configuration")]
    Config(#[from] ban_proto::SettingError),
    /// A group ID is invalid.
    #[error("invalid emulator configuration")]
    Group(#[from] ban_proto::ValidationError),
    /// The emulator refused the request, with the service's code.
    #[error("the emulator answered {code}: {info}")]
    Refused {
        /// The service code.
        code: i64,
        /// Why.
        info: String,
    },
}

/// What a client needs to talk to a running emulator; `banctl emulator
/// --ready-file` writes this as JSON.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReadyInfo {
    /// Base URL, e.g. `https://127.0.0.1:40123`.
    pub endpoint: String,
    /// The CA certificate to trust (PEM); `None` for plain HTTP.
    pub ca_cert_pem: Option<String>,
    /// The SDKAppID.
    pub sdkappid: u64,
    /// The secret key to sign UserSigs with (a local test key).
    pub secret_key: String,
    /// The app admin identifier.
    pub admin: String,
    /// The token the control surface needs (`Authorization: Bearer ...`);
    /// `None` when it was started open.
    #[serde(default)]
    pub control_token: Option<String>,
}

impl std::fmt::Debug for ReadyInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadyInfo")
            .field("endpoint", &self.endpoint)
            .field("sdkappid", &self.sdkappid)
            .field("secret_key", &"<redacted>")
            .field("admin", &self.admin)
            .field(
                "control_token",
                &self.control_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// A running emulator. Dropping it stops the server; [`Emulator::stop`]
/// stops it and waits.
pub struct Emulator {
    core: Arc<Core>,
    addr: SocketAddr,
    endpoint: String,
    ca_pem: Option<String>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// A builder with every default.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// Starts an emulator with this configuration on the current Tokio runtime.
    pub async fn start(config: EmulatorConfig) -> Result<Emulator, EmulatorError> {
        if !(0.0..=1.0).contains(&config.faults.rate) {
            return Err(
                ban_proto::SettingError::new("fault rate", config.faults.rate, "0..=1").into(),
            );
        }
        for g in &config.groups {
            ban_proto::GroupId::new(g.as_str())?;
        }
        if config.max_connections == 0 || config.connection_timeout.is_zero() {
            return Err(ban_proto::SettingError::new(
                "max_connections and connection_timeout",
                "0",
                "above 0",
            )
            .into());
        }
        let caller = match &config.callback {
            Some(c) => Some(Arc::new(callback::Caller::new(c, config.sdkappid)?)),
            None => None,
        };
        if !config.listen.ip().is_loopback() {
            tracing::warn!(
                listen = %config.listen,
                "the emulator listens on a non-loopback address: other machines can reach it{}",
                if config.open_control { ", and its control surface is open" } else { "" }
            );
        }
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| EmulatorError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                addr: config.listen,
                source,
            })?;
        let (acceptor, ca_pem) = if config.tls {
            let tls = tls::make()?;
            (
                Some(tokio_rustls::TlsAcceptor::from(tls.config)),
                Some(tls.ca_pem),
            )
        } else {
            (None, None)
        };
        let scheme = if config.tls { "https" } else { "http" };
        let endpoint = format!("{scheme}://{addr}");
        let core = Arc::new(Core::new(config, caller));
        let (shutdown, rx) = watch::channel(false);
        let task = tokio::spawn(server::run(listener, acceptor, core.clone(), rx));
        tracing::info!(%endpoint, "ban emulator listening");
        Ok(Emulator {
            core,
            addr,
            endpoint,
            ca_pem,
            shutdown,
            task: Some(task),
        })
    }

    /// The base URL, e.g. `https://127.0.0.1:40123`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
    /// The CA certificate (PEM) clients must trust; `None` for plain HTTP.
    pub fn ca_cert_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }
    /// The SDKAppID.
    pub fn sdkappid(&self) -> u64 {
        self.core.config.sdkappid
    }
    /// The secret key UserSigs must be signed with.
    pub fn secret_key(&self) -> &SecretKey {
        &self.core.config.secret_key
    }
    /// The app admin identifier.
    pub fn admin(&self) -> &str {
        &self.core.config.admin
    }
    /// The configuration it runs with.
    pub fn config(&self) -> &EmulatorConfig {
        &self.core.config
    }
    /// What a client needs, as written to a ready file.
    pub fn ready_info(&self) -> ReadyInfo {
        ReadyInfo {
            endpoint: self.endpoint.clone(),
            ca_cert_pem: self.ca_pem.clone(),
            sdkappid: self.sdkappid(),
            secret_key: self.secret_key().expose().to_owned(),
            admin: self.admin().to_owned(),
            control_token: self.control_token().map(str::to_owned),
        }
    }
    /// [`Emulator::ready_info`] as the JSON of its ready file: what a
    /// client is built from (`ban_facade::ClientBuilder::for_emulator`).
    pub fn ready_json(&self) -> String {
        serde_json::to_string(&self.ready_info()).unwrap_or_default()
    }
    /// The token the control surface (`/emulator/v1/`) needs as
    /// `Authorization: Bearer <token>`; `None` when started open.
    pub fn control_token(&self) -> Option<&str> {
        self.core.control_token()
    }
    /// Counts of calls, rejections by code, and faults.
    pub fn stats(&self) -> Stats {
        self.core.stats()
    }
    /// The emulator clock (Unix seconds): bans end by it.
    pub fn now(&self) -> u64 {
        self.core.clock.now_unix()
    }
    /// Moves the emulator clock forward; returns the new time. Refuses a
    /// step over 100 years, or one that would overflow the clock.
    pub fn advance_clock(&self, secs: u64) -> Result<u64, EmulatorError> {
        Ok(self.core.clock.advance(secs)?)
    }
    /// Creates a group; `None` generates an `@TGS#a...` ID. Returns the ID.
    pub fn create_group(&self, id: Option<&str>, kind: GroupType) -> Result<String, EmulatorError> {
        if let Some(id) = id {
            ban_proto::GroupId::new(id)?;
        }
        self.core
            .groups
            .create_group(id, kind, "")
            .map_err(|(code, info)| EmulatorError::Refused {
                code: code.code(),
                info,
            })
    }
    /// A member joins a group (refused while banned).
    pub fn join(&self, group: &str, member: &str) -> Result<(), JoinError> {
        self.core.groups.join(group, member)
    }
    /// A member leaves a group; returns whether it was a member.
    pub fn leave(&self, group: &str, member: &str) -> Result<bool, JoinError> {
        self.core.groups.leave(group, member)
    }
    /// The messages a member received in a group.
    pub fn inbox(&self, group: &str, member: &str) -> Result<Vec<InboxMessage>, JoinError> {
        self.core.groups.inbox(group, member)
    }
    /// Sends a text message to a group as the admin; returns how many
    /// members received it (members who are not banned).
    pub fn send_group_msg(&self, group: &str, text: &str) -> Result<usize, JoinError> {
        self.core
            .groups
            .send_group_msg(
                group,
                &self.core.config.admin,
                &crate::core::Outgoing::text(text),
            )
            .map(|(_, n)| n)
    }
    /// Sends a text message to a group as `from`; returns how many members
    /// received it. A banned sender is refused ([`JoinError::Banned`]; over
    /// REST, 10007), a muted one too ([`JoinError::Muted`]; 10017).
    pub fn send_as(&self, group: &str, from: &str, text: &str) -> Result<usize, JoinError> {
        self.core
            .groups
            .send_group_msg(group, from, &crate::core::Outgoing::text(text))
            .map(|(_, n)| n)
    }
    /// A member's message through the whole path a client's takes: refused
    /// when banned (10007) or muted (10017), and with callbacks on, held for
    /// the app's before-send verdict (10016 when it refuses). Returns the
    /// answer's `ErrorCode`.
    pub async fn client_send(&self, group: &str, from: &str, text: &str) -> ban_proto::ErrorCode {
        let reply = self
            .core
            .control_send(group, from, crate::core::Outgoing::text(text), "Web");
        let body = server::settle(&self.core, reply).await.map(|r| r.1);
        body.and_then(|b| serde_json::from_slice::<ban_proto::Envelope>(&b).ok())
            .map_or(ban_proto::ErrorCode::InternalError, |e| e.error_code)
    }
    /// A snapshot of a group: members, bans and mutes in force.
    pub fn group(&self, group: &str) -> Option<GroupState> {
        self.core.groups.group_state(group)
    }
    /// Clears every group, ban, statistic and clock offset, and recreates the
    /// groups of the configuration.
    pub fn reset(&self) {
        self.core.reset();
    }
    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
