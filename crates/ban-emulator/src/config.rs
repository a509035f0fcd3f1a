//! What the emulator can be told: credentials, groups, limits, faults.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use ban_proto::SettingError;
use std::time::Duration;

use ban_sign::SecretKey;
use serde::{Deserialize, Serialize};

/// The SDKAppID a default emulator answers for.
pub const DEFAULT_SDKAPPID: u64 = 1_400_000_000;
/// The secret key a default emulator signs with (a test key; never a real one).
pub const DEFAULT_SECRET_KEY: &str = "emulator-secret-key-for-local-tests-only";
/// The app admin a default emulator expects.
pub const DEFAULT_ADMIN: &str = "administrator";

/// A group type, as `create_group` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum GroupType {
    /// Audio-video group (live streams).
    AVChatRoom,
    /// Public group.
    Public,
    /// Work group (formerly Private).
    Work,
    /// Meeting group (formerly ChatRoom).
    Meeting,
    /// Community.
    Community,
}

impl GroupType {
    /// The name `create_group` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupType::AVChatRoom => "AVChatRoom",
            GroupType::Public => "Public",
            GroupType::Work => "Work",
            GroupType::Meeting => "Meeting",
            GroupType::Community => "Community",
        }
    }
}

impl fmt::Display for GroupType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GroupType {
    type Err = SettingError;
    fn from_str(s: &str) -> Result<Self, SettingError> {
        Ok(match s {
            "AVChatRoom" => GroupType::AVChatRoom,
            "Public" => GroupType::Public,
            "Work" | "Private" => GroupType::Work,
            "Meeting" | "ChatRoom" => GroupType::Meeting,
            "Community" => GroupType::Community,
            other => {
                return Err(SettingError::unknown(
                    "Type",
                    other,
                    ["AVChatRoom", "Public", "Work", "Meeting", "Community"],
                ))
            }
        })
    }
}

/// A fault the emulator can inject instead of answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultKind {
    /// Answer HTTP 200 with `ErrorCode` 10002 (internal error; retry).
    InternalError,
    /// Answer HTTP 502 Bad Gateway.
    BadGateway,
    /// Close the connection without answering.
    Drop,
    /// Answer only after [`FaultConfig::delay`], past a client's timeout.
    Delay,
    /// Answer HTTP 200 with `ErrorCode` [`FaultConfig::code`] and an
    /// `ErrorInfo` padded to [`FaultConfig::info_bytes`].
    ServiceError,
}

impl FaultKind {
    /// Every kind.
    pub const ALL: &'static [FaultKind] = &[
        FaultKind::InternalError,
        FaultKind::BadGateway,
        FaultKind::Drop,
        FaultKind::Delay,
        FaultKind::ServiceError,
    ];
}

impl FromStr for FaultKind {
    type Err = SettingError;
    fn from_str(s: &str) -> Result<Self, SettingError> {
        match s {
            "internal_error" | "10002" => Ok(FaultKind::InternalError),
            "bad_gateway" | "502" => Ok(FaultKind::BadGateway),
            "drop" => Ok(FaultKind::Drop),
            "delay" => Ok(FaultKind::Delay),
            "service_error" => Ok(FaultKind::ServiceError),
            other => Err(SettingError::unknown(
                "fault kind",
                other,
                [
                    "internal_error",
                    "bad_gateway",
                    "drop",
                    "delay",
                    "service_error",
                ],
            )),
        }
    }
}

/// Fault injection: a `rate` share of API requests (0.0..=1.0) meets one of
/// `kinds`, drawn from a generator seeded with `seed`, so a run is
/// reproducible for a given seed and arrival order.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FaultConfig {
    /// Share of requests that meet a fault.
    pub rate: f64,
    /// The kinds to draw from, evenly.
    pub kinds: Vec<FaultKind>,
    /// The generator's seed.
    pub seed: u64,
    /// How long a `Delay` fault holds the answer.
    pub delay: Duration,
    /// The `ErrorCode` a `ServiceError` fault answers.
    pub code: i64,
    /// The size a `ServiceError` fault pads its `ErrorInfo` to (0: a short text).
    pub info_bytes: usize,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            rate: 0.0,
            kinds: vec![
                FaultKind::InternalError,
                FaultKind::BadGateway,
                FaultKind::Drop,
            ],
            seed: 0,
            delay: Duration::from_secs(10),
            code: 10002,
            info_bytes: 0,
        }
    }
}

/// The emulator's configuration. Every field has a default, so
/// `EmulatorConfig::default()` is a working emulator on a free loopback port.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EmulatorConfig {
    /// The SDKAppID it answers for.
    pub sdkappid: u64,
    /// The secret key UserSigs must be signed with.
    pub secret_key: SecretKey,
    /// The app admin account.
    pub admin: String,
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Groups created as AVChatRoom at start.
    pub groups: Vec<String>,
    /// Calls per second per command; `None` turns the limit off.
    pub rate_limit: Option<u32>,
    /// The console switch for member banning; off answers 10007.
    pub ban_feature_enabled: bool,
    /// Added to every API answer.
    pub latency: Duration,
    /// Fault injection.
    pub faults: FaultConfig,
    /// Serve HTTPS with a certificate made at start (default) or plain HTTP.
    pub tls: bool,
    /// Refuse (10004) accounts outside `[A-Za-z0-9_-]`, as the stricter of
    /// Tencent's documented account rules says; off by default (printable
    /// ASCII and UTF-8 are accepted, as the other says).
    pub strict_accounts: bool,
    /// Allow ban, unban and list for AVChatRoom groups only (10007 for the
    /// others), as the seed document says. Off by default: the 2025 pages
    /// allow Work, Public, Meeting, AVChatRoom and Community groups.
    pub avchatroom_only: bool,
    /// How `get_group_ban_member` sets `NextOffset` on the last page.
    pub paging: Paging,
    /// Words a `Description` may not hold (80001), matched ignoring ASCII case.
    pub sensitive_words: Vec<String>,
    /// Serve the control surface (`/emulator/v1/`) without a token. Off by
    /// default: a request needs `Authorization: Bearer <token>`, with the
    /// token made at start ([`crate::Emulator::control_token`], and in the
    /// ready file), so another local process cannot reset state or expire
    /// every ban.
    pub open_control: bool,
    /// Members whose ban or unban calls always answer 10002 (a batch that
    /// keeps failing, for tests of redelivery bounds).
    pub failing_members: Vec<String>,
    /// At most this many messages a second in one group (any sliding
    /// second); beyond it a message fails with 10023 after the before-send
    /// step (and `Group.CallbackSendMsgException` follows). `None`: no
    /// limit (the service's depends on the group type and the plan).
    pub group_msg_rate: Option<u32>,
    /// The app's edition: banning needs the Ultimate (or Enterprise) one.
    pub edition: Edition,
    /// What a group that does not exist is answered: 10015 (default: what
    /// users of the live-room SDKs report) or 10010 (the other page).
    pub unknown_group_code: UnknownGroupCode,
    /// Where the emulator calls the app back, if anywhere.
    pub callback: Option<crate::CallbackConfig>,
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// How long a connection may take for its TLS handshake and for a
    /// request's headers, and may stay idle between requests.
    pub connection_timeout: Duration,
}

/// How the emulator pages `get_group_ban_member`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Paging {
    /// `NextOffset` 0 on the last page, as the field's description says.
    #[default]
    Standard,
    /// `NextOffset` is always the offset after the page, even on the last
    /// one, as the documentation's sample answer shows (`NextOffset: 2` for
    /// the 2 entries of the only page): a client must also stop on an
    /// empty page.
    Sample,
}

impl FromStr for Paging {
    type Err = SettingError;
    fn from_str(s: &str) -> Result<Self, SettingError> {
        match s {
            "standard" => Ok(Paging::Standard),
            "sample" => Ok(Paging::Sample),
            other => Err(SettingError::unknown(
                "paging",
                other,
                ["standard", "sample"],
            )),
        }
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            sdkappid: DEFAULT_SDKAPPID,
            secret_key: SecretKey::new(DEFAULT_SECRET_KEY),
            admin: DEFAULT_ADMIN.to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            groups: Vec::new(),
            rate_limit: Some(200),
            ban_feature_enabled: true,
            latency: Duration::ZERO,
            faults: FaultConfig::default(),
            tls: true,
            strict_accounts: false,
            avchatroom_only: false,
            paging: Paging::Standard,
            sensitive_words: Vec::new(),
            open_control: false,
            failing_members: Vec::new(),
            group_msg_rate: None,
            edition: Edition::Ultimate,
            unknown_group_code: UnknownGroupCode::InvalidGroupId,
            callback: None,
            max_connections: 1024,
            connection_timeout: Duration::from_secs(10),
        }
    }
}

/// The app's edition, as the ban family sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Edition {
    /// Ultimate or Enterprise: banning works (default).
    #[default]
    Ultimate,
    /// A lower edition: every ban-family call answers 10059.
    Missing,
    /// The edition expired: every ban-family call answers 60020.
    Expired,
}

impl FromStr for Edition {
    type Err = SettingError;
    fn from_str(s: &str) -> Result<Self, SettingError> {
        match s {
            "ultimate" => Ok(Edition::Ultimate),
            "missing" => Ok(Edition::Missing),
            "expired" => Ok(Edition::Expired),
            other => Err(SettingError::unknown(
                "edition",
                other,
                ["ultimate", "missing", "expired"],
            )),
        }
    }
}

/// The code a group that does not exist is answered with; Tencent's pages
/// give both, and the SDK takes both as "no such group".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UnknownGroupCode {
    /// 10015, "invalid group ID" (default).
    #[default]
    InvalidGroupId,
    /// 10010, "the group does not exist or was dismissed".
    GroupNotFound,
}

impl UnknownGroupCode {
    /// The code.
    pub fn code(self) -> ban_proto::ErrorCode {
        match self {
            UnknownGroupCode::InvalidGroupId => ban_proto::ErrorCode::InvalidGroupId,
            UnknownGroupCode::GroupNotFound => ban_proto::ErrorCode::GroupNotFound,
        }
    }
}

impl FromStr for UnknownGroupCode {
    type Err = SettingError;
    fn from_str(s: &str) -> Result<Self, SettingError> {
        match s {
            "10015" => Ok(UnknownGroupCode::InvalidGroupId),
            "10010" => Ok(UnknownGroupCode::GroupNotFound),
            other => Err(SettingError::unknown(
                "unknown-group code",
                other,
                ["10010", "10015"],
            )),
        }
    }
}
