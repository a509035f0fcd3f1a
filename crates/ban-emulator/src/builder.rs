//! [`EmulatorBuilder`]: the emulator's settings, one method each.

use std::net::SocketAddr;
use std::time::Duration;

use ban_sign::SecretKey;

use crate::{
    CallbackConfig, Edition, Emulator, EmulatorConfig, EmulatorError, FaultKind, Paging,
    UnknownGroupCode,
};

/// Builds an [`EmulatorConfig`] and starts the emulator.
#[derive(Debug, Clone, Default)]
pub struct EmulatorBuilder {
    config: EmulatorConfig,
}

impl EmulatorBuilder {
    /// The SDKAppID (default 1400000000).
    pub fn sdkappid(mut self, sdkappid: u64) -> Self {
        self.config.sdkappid = sdkappid;
        self
    }
    /// The secret key (default: a fixed local test key).
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.config.secret_key = SecretKey::new(key);
        self
    }
    /// The app admin identifier (default `administrator`).
    pub fn admin(mut self, admin: impl Into<String>) -> Self {
        self.config.admin = admin.into();
        self
    }
    /// Where to listen (default `127.0.0.1:0`).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.config.listen = addr;
        self
    }
    /// A group to create as AVChatRoom at start (repeatable).
    pub fn group(mut self, id: impl Into<String>) -> Self {
        self.config.groups.push(id.into());
        self
    }
    /// Calls per second per command (default 200); 0 turns the limit off.
    pub fn rate_limit(mut self, per_sec: u32) -> Self {
        self.config.rate_limit = (per_sec > 0).then_some(per_sec);
        self
    }
    /// The console switch for member banning (default on).
    pub fn ban_feature(mut self, enabled: bool) -> Self {
        self.config.ban_feature_enabled = enabled;
        self
    }
    /// Latency added to every API answer.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.config.latency = latency;
        self
    }
    /// Share of API requests (0..=1) that meet a fault.
    pub fn fault_rate(mut self, rate: f64) -> Self {
        self.config.faults.rate = rate;
        self
    }
    /// Which faults to inject (default: 10002, 502, dropped connection).
    pub fn fault_kinds(mut self, kinds: impl IntoIterator<Item = FaultKind>) -> Self {
        self.config.faults.kinds = kinds.into_iter().collect();
        self
    }
    /// The fault generator's seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.faults.seed = seed;
        self
    }
    /// How long a `Delay` fault holds its answer (default 10 s).
    pub fn fault_delay(mut self, delay: Duration) -> Self {
        self.config.faults.delay = delay;
        self
    }
    /// What a `ServiceError` fault answers: its `ErrorCode`, and the size
    /// its `ErrorInfo` is padded to.
    pub fn fault_error(mut self, code: i64, info_bytes: usize) -> Self {
        self.config.faults.code = code;
        self.config.faults.info_bytes = info_bytes;
        self
    }
    /// Ban, unban and list for AVChatRoom groups only (10007 for others).
    pub fn avchatroom_only(mut self, only: bool) -> Self {
        self.config.avchatroom_only = only;
        self
    }
    /// How `get_group_ban_member` sets `NextOffset` on the last page.
    pub fn paging(mut self, paging: Paging) -> Self {
        self.config.paging = paging;
        self
    }
    /// A word a `Description` may not hold (80001); repeatable.
    pub fn sensitive_word(mut self, word: impl Into<String>) -> Self {
        self.config.sensitive_words.push(word.into());
        self
    }
    /// Refuse accounts outside `[A-Za-z0-9_-]` with 10004.
    pub fn strict_accounts(mut self, strict: bool) -> Self {
        self.config.strict_accounts = strict;
        self
    }
    /// Serve the control surface without a token (see
    /// [`EmulatorConfig::open_control`]).
    pub fn open_control(mut self, open: bool) -> Self {
        self.config.open_control = open;
        self
    }
    /// A member whose ban or unban calls always answer 10002; repeatable.
    pub fn failing_member(mut self, member: impl Into<String>) -> Self {
        self.config.failing_members.push(member.into());
        self
    }
    /// At most `per_sec` messages a second in one group; beyond it 10023
    /// (see [`EmulatorConfig::group_msg_rate`]).
    pub fn group_msg_rate(mut self, per_sec: u32) -> Self {
        self.config.group_msg_rate = Some(per_sec);
        self
    }
    /// Calls the app back at `config.url` (see [`CallbackConfig`]).
    pub fn callback(mut self, config: CallbackConfig) -> Self {
        self.config.callback = Some(config);
        self
    }

    /// The app's edition (default Ultimate: banning works).
    pub fn edition(mut self, edition: Edition) -> Self {
        self.config.edition = edition;
        self
    }
    /// The code a group that does not exist is answered with (default 10015).
    pub fn unknown_group_code(mut self, code: UnknownGroupCode) -> Self {
        self.config.unknown_group_code = code;
        self
    }
    /// Connections served at once (default 1024).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.config.max_connections = n;
        self
    }
    /// The TLS handshake, a request's headers and body, and an idle
    /// keep-alive connection are each bounded by this (default 10 s).
    pub fn connection_timeout(mut self, d: Duration) -> Self {
        self.config.connection_timeout = d;
        self
    }
    /// Serve plain HTTP instead of HTTPS.
    pub fn plain_http(mut self) -> Self {
        self.config.tls = false;
        self
    }
    /// The configuration built so far.
    pub fn config(&self) -> &EmulatorConfig {
        &self.config
    }
    /// Starts the emulator.
    pub async fn start(self) -> Result<Emulator, EmulatorError> {
        Emulator::start(self.config).await
    }
}
