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

/// The credentials flags.
const CREDENTIALS: &[&str] = &["sdkappid", "secret_key", "secret_key_file", "admin"];
/// The flags that say where the service is.
const CONNECTION: &[&str] = &["region", "endpoint", "ca_cert", "danger_allow_plain_http"];

/// Global flags a command has no use for, by its path: hidden from its
/// help and refused when given, never silently ignored.
const NOT_FOR: &[(&[&str], &[&[&str]])] = &[
    (&["emulator"], &[CONNECTION, &["json"]]),
    (&["demo"], &[CREDENTIALS, CONNECTION, &["json"]]),
    (&["sig", "gen"], &[CONNECTION, &["admin"]]),
    (&["sig", "verify"], &[CONNECTION, &["admin"]]),
    (&["rules", "check"], &[CREDENTIALS, CONNECTION]),
    (&["rules", "test"], &[CREDENTIALS, CONNECTION]),
    (
        &["job", "status"],
        &[CONNECTION, &["secret_key", "secret_key_file", "rate"]],
    ),
    (
        &["job", "report"],
        &[CONNECTION, &["secret_key", "secret_key_file", "rate"]],
    ),
    (
        &["job", "cancel"],
        &[CONNECTION, &["secret_key", "secret_key_file", "rate"]],
    ),
    (
        &["job", "resume"],
        &[CONNECTION, &["secret_key", "secret_key_file", "rate"]],
    ),
];

/// The command line as clap derives it, less the global flags each
/// command has no use for (see [`NOT_FOR`]).
pub(crate) fn command() -> clap::Command {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    for (path, groups) in NOT_FOR {
        cmd = hide_in(cmd, path, groups, Vec::new());
    }
    cmd
}

/// Gives the command at `path` a hidden copy of each global flag named in
/// `groups`: clap then does not propagate the shown one there (it skips an
/// id the subcommand has), and a value given still reaches the parent.
fn hide_in(
    cmd: clap::Command,
    path: &[&str],
    groups: &[&[&str]],
    mut globals: Vec<clap::Arg>,
) -> clap::Command {
    globals.extend(cmd.get_arguments().filter(|a| a.is_global_set()).cloned());
    let Some((first, rest)) = path.split_first() else {
        let hidden: Vec<clap::Arg> = groups
            .iter()
            .flat_map(|g| g.iter())
            .filter_map(|id| globals.iter().rev().find(|a| a.get_id() == *id))
            .map(|a| a.clone().hide(true))
            .collect();
        return cmd.args(hidden);
    };
    if cmd.find_subcommand(first).is_none() {
        return cmd; // built without the emulator
    }
    cmd.mut_subcommand(*first, |sc| hide_in(sc, rest, groups, globals))
}

/// Parses the command line. A global flag given after a command that has
/// no use for it (`banctl sig gen --endpoint X`) is an error naming both;
/// before the command (`banctl --endpoint X sig gen`, a wrapper's settings
/// for every command) it is taken and unused.
pub(crate) fn parse() -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut cmd = command();
    let matches = cmd.try_get_matches_from_mut(&argv)?;
    let mut path = Vec::new();
    let mut leaf = &matches;
    while let Some((name, sub)) = leaf.subcommand() {
        path.push(name);
        leaf = sub;
    }
    // Where the command's last word is on the command line.
    let mut at = 0;
    for name in &path {
        at = argv
            .iter()
            .enumerate()
            .skip(at + 1)
            .find(|(_, a)| a.as_os_str() == std::ffi::OsStr::new(name))
            .map_or(at, |(i, _)| i);
    }
    if let Some((_, groups)) = NOT_FOR.iter().find(|(p, _)| *p == path.as_slice()) {
        for id in groups.iter().flat_map(|g| g.iter()) {
            let long = format!("--{}", id.replace('_', "-"));
            let with_value = format!("{long}=");
            let after = argv[at + 1..]
                .iter()
                .map(|a| a.to_string_lossy())
                .take_while(|a| a != "--")
                .any(|a| a == long || a.starts_with(&with_value));
            if after {
                let mut leaf_cmd = &mut cmd;
                for name in &path {
                    leaf_cmd = leaf_cmd
                        .find_subcommand_mut(name)
                        .expect("a parsed subcommand exists");
                }
                return Err(leaf_cmd.error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!(
                        "--{} does not apply to `banctl {}`; leave it out",
                        id.replace('_', "-"),
                        path.join(" ")
                    ),
                ));
            }
        }
    }
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
}

/// Options every subcommand takes. Each credentials flag falls back to its
/// `TIM_*` variable, read by ban-facade's one reader (`TimEnv`).
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// The app's SDKAppID [or TIM_SDKAPPID].
    #[arg(long, global = true, help_heading = "Credentials")]
    pub sdkappid: Option<String>,
    /// The app's secret key [or TIM_SECRET_KEY]; visible in `ps`: prefer --secret-key-file.
    #[arg(long, global = true, help_heading = "Credentials")]
    pub secret_key: Option<String>,
    /// A file holding the app's secret key, one line [or TIM_SECRET_KEY_FILE].
    #[arg(long, global = true, help_heading = "Credentials")]
    pub secret_key_file: Option<PathBuf>,
    /// The app admin identifier [or TIM_ADMIN; default: administrator].
    #[arg(long, global = true, help_heading = "Credentials")]
    pub admin: Option<String>,
    /// Region: china, singapore, seoul, frankfurt, silicon-valley, jakarta, tokyo, mumbai [or TIM_REGION].
    #[arg(long, global = true, help_heading = "Connection")]
    pub region: Option<String>,
    /// A custom base URL: a proxy, or the emulator's endpoint [or TIM_ENDPOINT].
    #[arg(long, global = true, help_heading = "Connection")]
    pub endpoint: Option<String>,
    /// A PEM file of CA certificates to trust, e.g. the emulator's [or TIM_CA_CERT].
    #[arg(long, global = true, help_heading = "Connection")]
    pub ca_cert: Option<PathBuf>,
    /// Allow a plain-HTTP endpoint (an emulator started with --plain). Sends
    /// the UserSig in clear text.
    #[arg(long, global = true, help_heading = "Connection")]
    pub danger_allow_plain_http: bool,
    /// Print results as JSON for scripts.
    #[arg(long, global = true, help_heading = "Output")]
    pub json: bool,
    /// More logging on stderr (-v, -vv, -vvv).
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = "Output")]
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
        #[arg(long, value_parser = parse_group)]
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
        #[arg(long, value_parser = parse_group)]
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
    #[arg(long, global = true, help_heading = "Rate and fleet", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rate: Option<u32>,
    /// Share the SDKAppID's budget with every process using this Redis
    /// (redis://, rediss:// or unix:// URL) [or TIM_REDIS_URL].
    #[arg(
        long,
        global = true,
        help_heading = "Rate and fleet",
        value_name = "URL",
        conflicts_with = "redis_cluster"
    )]
    pub redis: Option<String>,
    /// The same through a Redis Cluster: some of its nodes' URLs,
    /// comma-separated [or TIM_REDIS_CLUSTER].
    #[arg(
        long,
        global = true,
        help_heading = "Rate and fleet",
        value_name = "URL,URL..."
    )]
    pub redis_cluster: Option<String>,
    /// The prefix of the fleet's Redis keys [or TIM_REDIS_KEY_PREFIX; default: tim-ban].
    #[arg(
        long,
        global = true,
        help_heading = "Rate and fleet",
        value_name = "PREFIX"
    )]
    pub redis_key_prefix: Option<String>,
    /// While Redis is down: local-share (go on at the rate ÷ live processes) or closed (wait).
    #[arg(
        long,
        global = true,
        help_heading = "Rate and fleet",
        default_value = "local-share",
        value_name = "POLICY"
    )]
    pub redis_policy: String,
    /// Go on alone (with this process's share of the budget) when Redis is
    /// unreachable at the start, instead of exiting 2.
    #[arg(long, global = true, help_heading = "Rate and fleet")]
    pub redis_optional: bool,
}

/// The group and the members a command acts on.
#[derive(Debug, Args)]
pub(crate) struct Target {
    /// The group ID.
    #[arg(long, value_parser = parse_group, help_heading = "Members")]
    pub group: String,
    /// A member (repeatable; a comma is part of the account, not a separator).
    #[arg(long = "member", help_heading = "Members")]
    pub members: Vec<String>,
    /// A file of members, one per line, UTF-8 (`-` for stdin; blank lines and `#` comments skipped).
    #[arg(long, help_heading = "Members")]
    pub members_file: Option<PathBuf>,
    /// Trim leading and trailing whitespace from members (refused otherwise).
    #[arg(long, help_heading = "Members")]
    pub trim: bool,
    /// Record each finished call in FILE; run the same command again with it
    /// to resume, skipping the members already done.
    #[arg(long, value_name = "FILE", help_heading = "Job")]
    pub journal: Option<PathBuf>,
    /// The job's lane at the rate limit: urgent (the next free slot, before
    /// any waiting wave), normal or bulk.
    #[arg(long, default_value = "normal", value_name = "PRIORITY", value_parser = parse_priority, help_heading = "Job")]
    pub priority: Priority,
    #[command(flatten)]
    pub lists: ListsOut,
    #[command(flatten)]
    pub rate: Rate,
}

/// Files that receive every member a job did not do, one per line: a
/// `--members-file` for the next run (a report for people lists 20).
#[derive(Debug, Default, Args)]
pub(crate) struct ListsOut {
    /// Write every failed member to FILE, one per line (their codes are in --json).
    #[arg(long, value_name = "FILE", help_heading = "Job")]
    pub failed_out: Option<PathBuf>,
    /// Write every member not attempted to FILE, one per line.
    #[arg(long, value_name = "FILE", help_heading = "Job")]
    pub not_attempted_out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum JobCmd {
    /// Queue a ban, unban, mute or unmute of the members; prints the job's id.
    Submit {
        /// What to do: ban, unban, mute or unmute (as the commands of those names).
        #[arg(value_name = "ACTION", value_parser = ["ban", "unban", "mute", "unmute"])]
        action: Option<String>,
        /// The group ID.
        #[arg(long, value_parser = parse_group, help_heading = "Members")]
        group: String,
        /// A member (repeatable; a comma is part of the account, not a separator).
        #[arg(long = "member", help_heading = "Members")]
        members: Vec<String>,
        /// A file of members, one per line, UTF-8 (`-` for stdin).
        #[arg(long, help_heading = "Members")]
        members_file: Option<PathBuf>,
        /// Trim leading and trailing whitespace from members.
        #[arg(long, help_heading = "Members")]
        trim: bool,
        /// How long a ban or mute lasts (from now): whole seconds (3600) or
        /// a duration (10m, 1h, 7d); a mute also takes `permanent`.
        #[arg(long, value_name = "DURATION")]
        duration: Option<String>,
        /// Why the ban (at most 1000 bytes), shown to the members.
        #[arg(long)]
        description: Option<String>,
        /// Older spelling of `unban`.
        #[arg(long, hide = true)]
        unban: bool,
        /// Older spelling of `mute --duration DURATION`.
        #[arg(long, hide = true, value_name = "DURATION")]
        mute: Option<String>,
        /// Older spelling of `unmute`.
        #[arg(long, hide = true)]
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
    /// The job's report, as `banctl ban --json` prints it; the job stays
    /// (--delete removes a finished one).
    Report {
        /// The job's id.
        job: String,
        /// Delete a finished job from Redis once its report is printed
        /// (and its files written); without it the job stays.
        #[arg(long)]
        delete: bool,
        /// Kept for older scripts: a report never deletes without --delete.
        #[arg(long, hide = true, conflicts_with = "delete")]
        keep: bool,
        #[command(flatten)]
        lists: ListsOut,
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

/// A group ID as given, refused when it starts or ends with whitespace
/// (which would be sent as part of the ID), as a member is.
fn parse_group(s: &str) -> Result<String, String> {
    if s.trim() != s {
        return Err(format!(
            "\"{}\" starts or ends with whitespace, which would be sent as part of the group ID; remove it",
            ban_proto::escape_bounded(s, ban_proto::QUOTED_BYTES)
        ));
    }
    Ok(s.to_owned())
}

/// The units of a duration: humantime's, less the fractions of a second
/// (bans are whole seconds) and less months and years (averages).
const WHOLE_UNITS: &[&str] = &[
    "s", "sec", "secs", "second", "seconds", "m", "min", "mins", "minute", "minutes", "h", "hr",
    "hrs", "hour", "hours", "d", "day", "days", "w", "week", "weeks",
];

/// Fractions of a second, in humantime's spellings.
const SUB_SECOND_UNITS: &[&str] = &[
    "ms",
    "msec",
    "millis",
    "milliseconds",
    "millisecond",
    "us",
    "usec",
    "micros",
    "microseconds",
    "microsecond",
    "ns",
    "nsec",
    "nanos",
    "nanoseconds",
    "nanosecond",
];

/// Units humantime takes as a calendar average.
const CALENDAR_UNITS: &[&str] = &["y", "year", "years", "M", "month", "months"];

/// Whole seconds, or a humantime duration such as `1h`, `30m`, `7d`; at
/// least 1 s and never a fraction of a second (nothing is rounded away).
pub(crate) fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(secs);
    }
    let units = s
        .split(|c: char| c.is_ascii_digit() || c.is_whitespace())
        .filter(|u| !u.is_empty());
    for unit in units {
        if CALENDAR_UNITS.contains(&unit) {
            return Err(format!(
                "{s:?} is not a fixed length: months and years have none (humantime counts a year as 365.25 days); give days or weeks, e.g. 30d or 52w"
            ));
        }
        if SUB_SECOND_UNITS.contains(&unit) {
            return Err(format!(
                "{s:?} is not whole seconds: bans and mutes are whole seconds, so ms, us and ns are not taken"
            ));
        }
        if !WHOLE_UNITS.contains(&unit) {
            return Err(format!(
                "{s:?} is not a duration: unit {unit:?} is not one of s, m, h, d, w (or second(s), minute(s), hour(s), day(s), week(s)); give seconds (3600) or a duration like 90s, 10m, 1h, 7d"
            ));
        }
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
pub(crate) fn parse_mute_duration(s: &str) -> Result<u32, String> {
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
            .contains("not whole seconds"));
        assert_eq!(parse_duration("1h 30m"), Ok(5400));
        assert_eq!(parse_duration("2weeks"), Ok(1_209_600));
        for calendar in ["1y", "1month", "2years", "1M"] {
            let e = parse_duration(calendar).unwrap_err();
            assert!(e.contains("months and years have none"), "{calendar}: {e}");
        }
        let e = parse_duration("1H").unwrap_err();
        assert!(e.contains("unit \"H\" is not one of s, m, h, d, w"), "{e}");
        assert!(!e.contains("ns"), "no unit it would refuse is offered: {e}");
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
