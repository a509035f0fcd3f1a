//! The command line, as clap derives it.

use std::path::PathBuf;

use ban_facade::Priority;
use clap::{Args, Parser, Subcommand};

/// Ban, unban, mute and unmute members of Tencent Cloud Chat groups (live
/// rooms above all), and list who is banned or muted.
#[derive(Debug, Parser)]
#[command(name = "banctl", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Cmd,
}

/// Options every subcommand takes. Each credentials flag falls back to its
/// `TIM_*` variable, read by ban-facade's one reader (`TimEnv`).
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// The app's SDKAppID [or TIM_SDKAPPID].
    #[arg(long, global = true)]
    pub sdkappid: Option<String>,
    /// The app's secret key [or TIM_SECRET_KEY]; visible in `ps`: prefer --secret-key-file.
    #[arg(long, global = true)]
    pub secret_key: Option<String>,
    /// A file holding the app's secret key, one line [or TIM_SECRET_KEY_FILE].
    #[arg(long, global = true)]
    pub secret_key_file: Option<PathBuf>,
    /// The app admin identifier [or TIM_ADMIN; default: administrator].
    #[arg(long, global = true)]
    pub admin: Option<String>,
    /// Region: china, singapore, seoul, frankfurt, silicon-valley, jakarta, tokyo, mumbai [or TIM_REGION].
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// A custom base URL: a proxy, or the emulator's endpoint [or TIM_ENDPOINT].
    #[arg(long, global = true)]
    pub endpoint: Option<String>,
    /// A PEM file of CA certificates to trust, e.g. the emulator's [or TIM_CA_CERT].
    #[arg(long, global = true)]
    pub ca_cert: Option<PathBuf>,
    /// Allow a plain-HTTP endpoint (an emulator started with --plain). Sends
    /// the UserSig in clear text.
    #[arg(long, global = true)]
    pub danger_allow_plain_http: bool,
    /// Print results as JSON for scripts.
    #[arg(long, global = true)]
    pub json: bool,
    /// More logging on stderr (-v, -vv, -vvv).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Cmd {
    /// Ban members of a group (any number; sent 20 per call).
    Ban {
        #[command(flatten)]
        target: Target,
        /// How long: whole seconds (3600) or a duration (1h, 30m, 7d); at least 1 s.
        #[arg(long, value_parser = parse_duration)]
        duration: u64,
        /// Why (at most 1000 bytes), shown to the member.
        #[arg(long)]
        description: Option<String>,
    },
    /// Lift the ban of members.
    Unban {
        #[command(flatten)]
        target: Target,
    },
    /// List a group's banned members.
    List {
        /// The group ID.
        #[arg(long)]
        group: String,
        #[command(flatten)]
        rate: Rate,
    },
    /// Mute members: they stay in the group and cannot send (any number; sent 500 per call).
    Mute {
        #[command(flatten)]
        target: Target,
        /// How long: seconds (600), a duration (10m, 1h, 7d) or `permanent`.
        #[arg(long, value_parser = parse_mute_duration)]
        duration: u32,
    },
    /// Lift the mute of members.
    Unmute {
        #[command(flatten)]
        target: Target,
    },
    /// List a group's muted members with the end of each mute.
    Muted {
        /// The group ID.
        #[arg(long)]
        group: String,
        #[command(flatten)]
        rate: Rate,
    },
    /// Make or check UserSigs.
    #[command(subcommand)]
    Sig(SigCmd),
    /// Ban jobs shared by workers through Redis Streams (needs --redis or TIM_REDIS_URL).
    Job {
        #[command(subcommand)]
        cmd: JobCmd,
        #[command(flatten)]
        rate: Rate,
    },
    /// Receive Tencent's callbacks, answer them from rules, mute and ban offenders.
    Serve(crate::serve::ServeArgs),
    /// Take back a ban or mute job exactly: who had nothing is lifted, who
    /// was banned or muted before gets its own end back.
    Undo(crate::undo::UndoArgs),
    /// Check a rules file, or try it on recorded callbacks before it goes live.
    Rules {
        #[command(subcommand)]
        cmd: crate::rules_cmd::RulesCmd,
    },
    /// Run the local emulator of the ban service until interrupted.
    #[cfg(feature = "emulator")]
    Emulator(EmulatorArgs),
    /// Show the whole SDK against an in-process emulator; needs no account.
    #[cfg(feature = "emulator")]
    Demo,
}

/// The client-side rate limit, in this process or shared by a fleet.
#[derive(Debug, Args)]
pub(crate) struct Rate {
    /// Calls per second per command [default: 190 alone, 195 for a --redis fleet; the service allows 200].
    #[arg(long, global = true, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rate: Option<u32>,
    /// Share the SDKAppID's budget with every process using this Redis
    /// (redis://, rediss:// or unix:// URL) [or TIM_REDIS_URL].
    #[arg(
        long,
        global = true,
        value_name = "URL",
        conflicts_with = "redis_cluster"
    )]
    pub redis: Option<String>,
    /// The same through a Redis Cluster: some of its nodes' URLs,
    /// comma-separated [or TIM_REDIS_CLUSTER].
    #[arg(long, global = true, value_name = "URL,URL...")]
    pub redis_cluster: Option<String>,
    /// The prefix of the fleet's Redis keys [or TIM_REDIS_KEY_PREFIX; default: tim-ban].
    #[arg(long, global = true, value_name = "PREFIX")]
    pub redis_key_prefix: Option<String>,
    /// While Redis is down: local-share (go on at the rate ÷ live processes) or closed (wait).
    #[arg(
        long,
        global = true,
        default_value = "local-share",
        value_name = "POLICY"
    )]
    pub redis_policy: String,
    /// Go on alone (with this process's share of the budget) when Redis is
    /// unreachable at the start, instead of exiting 2.
    #[arg(long, global = true)]
    pub redis_optional: bool,
}

/// The group and the members a command acts on.
#[derive(Debug, Args)]
pub(crate) struct Target {
    /// The group ID.
    #[arg(long)]
    pub group: String,
    /// A member (repeatable).
    #[arg(long = "member")]
    pub members: Vec<String>,
    /// A file of members, one per line, UTF-8 (`-` for stdin; blank lines and `#` comments skipped).
    #[arg(long)]
    pub members_file: Option<PathBuf>,
    /// Trim leading and trailing whitespace from members (refused otherwise).
    #[arg(long)]
    pub trim: bool,
    /// Record each finished call in FILE; run the same command again with it
    /// to resume, skipping the members already done.
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// The job's lane at the rate limit: urgent (the next free slot, before
    /// any waiting wave), normal or bulk.
    #[arg(long, default_value = "normal", value_name = "PRIORITY", value_parser = parse_priority)]
    pub priority: Priority,
    #[command(flatten)]
    pub rate: Rate,
}

#[derive(Debug, Subcommand)]
pub(crate) enum JobCmd {
    /// Queue a ban, unban, mute or unmute of the members; prints the job's id.
    Submit {
        /// The group ID.
        #[arg(long)]
        group: String,
        /// A member (repeatable).
        #[arg(long = "member")]
        members: Vec<String>,
        /// A file of members, one per line, UTF-8 (`-` for stdin).
        #[arg(long)]
        members_file: Option<PathBuf>,
        /// Trim leading and trailing whitespace from members.
        #[arg(long)]
        trim: bool,
        /// Ban for this long (from now): whole seconds or 1h, 7d.
        #[arg(long, value_parser = parse_duration, required_unless_present_any = ["unban", "mute", "unmute"])]
        duration: Option<u64>,
        /// Why the ban, shown to the members.
        #[arg(long, conflicts_with_all = ["unban", "mute", "unmute"])]
        description: Option<String>,
        /// Lift bans instead (cancels the group's running ban jobs first).
        #[arg(long, conflicts_with_all = ["duration", "mute", "unmute"])]
        unban: bool,
        /// Mute instead, for this long (from now): seconds, 10m, 1h, or `permanent`.
        #[arg(long, value_name = "DURATION", value_parser = parse_mute_duration, conflicts_with_all = ["duration", "unmute"])]
        mute: Option<u32>,
        /// Lift mutes instead (cancels the group's running mute jobs first).
        #[arg(long, conflicts_with_all = ["duration"])]
        unmute: bool,
        /// The job's lane at the shared rate limit: urgent, normal or bulk
        /// (a wave: what urgent and normal work leave).
        #[arg(long, default_value = "bulk", value_name = "PRIORITY", value_parser = parse_priority)]
        priority: Priority,
        /// Accept a Redis that does not log writes (no AOF): a restart of it
        /// loses the job and leaves no record.
        #[arg(long)]
        allow_volatile_redis: bool,
        /// Skip reading the members' ban (or mute) state before the job (one
        /// call per 100 banned members of the group): faster to start, but
        /// `banctl undo --job` cannot take it back.
        #[arg(long)]
        no_prior_read: bool,
    },
    /// Work on the queued jobs until interrupted.
    Work {
        /// Batches processed at once.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1024))]
        max_in_flight: u64,
        /// Stop when no job has work left.
        #[arg(long)]
        exit_when_idle: bool,
        /// Serve Prometheus metrics on ADDR (e.g. 127.0.0.1:9464).
        #[arg(long, value_name = "ADDR")]
        metrics_listen: Option<std::net::SocketAddr>,
        /// How long a batch may stay unacknowledged before another worker takes it [default: 45000].
        #[arg(long, value_parser = clap::value_parser!(u64).range(100..))]
        lease_ms: Option<u64>,
        /// Deliveries of a failing batch before its members are reported failed [default: 5].
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100))]
        max_deliveries: Option<u64>,
    },
    /// Where a job stands: done, failed, pending, in flight, workers, rate.
    Status {
        /// The job's id.
        job: String,
    },
    /// The job's report, as `banctl ban --json` prints it; a finished job is
    /// deleted once its report is read (unless --keep).
    Report {
        /// The job's id.
        job: String,
        /// Keep a finished job after printing its report.
        #[arg(long)]
        keep: bool,
    },
    /// Stop workers from taking the job's batches.
    Cancel {
        /// The job's id.
        job: String,
    },
    /// Let workers take a paused job's batches again.
    Resume {
        /// The job's id.
        job: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SigCmd {
    /// Print a UserSig for an identifier, signed with the secret key.
    Gen {
        /// The account the sig is for.
        #[arg(long)]
        identifier: String,
        /// Validity in seconds (1 to 4294967295).
        #[arg(long, default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..=u64::from(u32::MAX)))]
        expire: u64,
    },
    /// Check a UserSig: exit 0 when valid, otherwise print why and exit 1.
    Verify {
        /// The account the sig must be for.
        #[arg(long)]
        identifier: String,
        /// The UserSig, or `-` to read it from stdin (keeps it out of `ps`).
        sig: String,
    },
}

/// Emulator options (credentials come from --sdkappid, --secret-key, --admin).
#[cfg(feature = "emulator")]
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
    /// Write endpoint, CA, credentials and the control token as JSON here once listening.
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
}

/// `--callback-window`: a duration of 1 s to 1 h.
pub(crate) fn parse_window(s: &str) -> Result<u64, String> {
    let secs = parse_duration(s)?;
    if secs > 3_600 {
        return Err(format!(
            "{s:?} is over 1 hour: a window that long lets a captured callback be replayed for as long"
        ));
    }
    Ok(secs)
}

/// Whole seconds, or a humantime duration such as `1h`, `30m`, `7d`; at
/// least 1 s and never a fraction of a second (nothing is rounded away).
fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(secs);
    }
    let d = humantime::parse_duration(s).map_err(|e| {
        format!("{s:?} is not a duration ({e}); give seconds (3600) or a duration like 1h, 30m, 7d")
    })?;
    if d.as_secs() == 0 {
        return Err(format!(
            "{s:?} is below 1 second; bans are whole seconds, at least 1"
        ));
    }
    if d.subsec_nanos() != 0 {
        return Err(format!(
            "{s:?} is not a whole number of seconds; bans are whole seconds"
        ));
    }
    Ok(d.as_secs())
}

fn parse_priority(s: &str) -> Result<Priority, String> {
    s.parse()
        .map_err(|e: ban_facade::SettingError| e.to_string())
}

/// A mute's length: `permanent` (4294967295), or what [`parse_duration`]
/// takes, at most 4294967294 s (the next second is the word `permanent`).
fn parse_mute_duration(s: &str) -> Result<u32, String> {
    if s.trim().eq_ignore_ascii_case("permanent") {
        return Ok(u32::MAX);
    }
    let secs = parse_duration(s)?;
    if secs == 0 {
        return Err("0 s lifts a mute; use unmute".to_owned());
    }
    match u32::try_from(secs) {
        Ok(n) if n < u32::MAX => Ok(n),
        _ => Err(format!(
            "{secs} s is over the longest timed mute, 4294967294 s; write `permanent` for a mute that never ends"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mute_durations() {
        assert_eq!(parse_mute_duration("permanent"), Ok(u32::MAX));
        assert_eq!(parse_mute_duration("10m"), Ok(600));
        assert!(parse_mute_duration("0").unwrap_err().contains("unmute"));
        assert!(parse_mute_duration("4294967295")
            .unwrap_err()
            .contains("permanent"));
        assert!(parse_mute_duration("forever")
            .unwrap_err()
            .contains("not a duration"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3600"), Ok(3600));
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert!(parse_duration("soon")
            .unwrap_err()
            .contains("\"soon\" is not a duration"));
        assert!(parse_duration("500ms")
            .unwrap_err()
            .contains("below 1 second"));
        assert!(parse_duration("1500ms")
            .unwrap_err()
            .contains("not a whole number of seconds"));
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
