//! `banctl emulator`'s flags.

use std::path::PathBuf;

use clap::Args;

/// Emulator options (credentials come from --sdkappid, --secret-key, --admin).
#[derive(Debug, Args)]
pub(crate) struct EmulatorArgs {
    /// Where to listen; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// A group created as AVChatRoom at start (repeatable).
    #[arg(long = "group")]
    pub groups: Vec<String>,
    /// Calls per second per command; 0 turns the limit off.
    #[arg(long, default_value_t = 200)]
    pub rate_limit: u32,
    /// Latency added to every API answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of API requests (0..1) that meet a fault (10002, 502, dropped connection).
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Fault kinds to draw from (comma-separated): internal_error, bad_gateway, drop, delay, service_error.
    #[arg(long, value_delimiter = ',')]
    pub fault_kinds: Vec<String>,
    /// The ErrorCode a service_error fault answers.
    #[arg(long, default_value_t = 10002)]
    pub fault_code: i64,
    /// Pad a service_error fault's ErrorInfo to this many bytes (at most 2 MiB).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=(2 << 20)))]
    pub fault_info_bytes: u64,
    /// How long a `delay` fault holds its answer, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub fault_delay_ms: u64,
    /// The fault generator's seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    pub plain: bool,
    /// Refuse accounts outside [A-Za-z0-9_-] with 10004.
    #[arg(long)]
    pub strict_accounts: bool,
    /// Turn the console's member-ban switch off (answers 10007).
    #[arg(long)]
    pub ban_feature_off: bool,
    /// Allow bans in AVChatRoom groups only, as the seed document says (10007
    /// for the others); by default all five documented group types.
    #[arg(long)]
    pub avchatroom_only: bool,
    /// The app's edition: ultimate (banning works), missing (10059) or expired (60020).
    #[arg(long, default_value = "ultimate", value_name = "EDITION")]
    pub edition: String,
    /// The code a group that does not exist is answered with: 10015 or 10010.
    #[arg(long, default_value = "10015", value_name = "CODE")]
    pub unknown_group_code: String,
    /// NextOffset on the last page: standard (0) or sample (as the
    /// documentation's sample answer: the offset after the page).
    #[arg(long, default_value = "standard")]
    pub paging: String,
    /// A member whose ban and unban calls always answer 10002; repeatable.
    #[arg(long = "failing-member", value_name = "MEMBER")]
    pub failing_members: Vec<String>,
    /// A word a ban's Description may not hold (answers 80001); repeatable.
    #[arg(long = "sensitive-word", value_name = "WORD")]
    pub sensitive_words: Vec<String>,
    /// Serve the control surface (/emulator/v1/) without the token of the ready file.
    #[arg(long)]
    pub open_control: bool,
    /// Call the app back here (plain http:// on loopback): before and after
    /// each group message, on joins, above 80% of a command's rate.
    #[arg(long, value_name = "URL")]
    pub callback_url: Option<String>,
    /// Sign the callbacks with this token (visible in `ps`: prefer --callback-token-file).
    #[arg(
        long,
        value_name = "TOKEN",
        requires = "callback_url",
        conflicts_with = "callback_token_file"
    )]
    pub callback_token: Option<String>,
    /// A file holding the callback token, one line.
    #[arg(long, value_name = "FILE", requires = "callback_url")]
    pub callback_token_file: Option<PathBuf>,
    /// How long the before-send callback is waited for; then the message is delivered.
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    pub callback_timeout_ms: u64,
    /// The console's "do not deliver" setting: a before-send (or before-join)
    /// callback that is late, not HTTP 200 or not JSON refuses with 80003.
    #[arg(long, requires = "callback_url")]
    pub callback_fail_closed: bool,
    /// At most N messages a second in one group; beyond it 10023 (off by default).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub group_msg_rate: Option<u32>,
    /// Write endpoint, CA, credentials and the control token as JSON here once listening.
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
}
