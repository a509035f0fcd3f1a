//! The command line, as clap derives it: the commands and their flags
//! here; what each value may be in `values`, which global flags each
//! command shows in `visible`, the emulator's flags in `emulator`.

use std::path::PathBuf;

use ban_facade::Priority;
use clap::{Args, Parser, Subcommand};

#[cfg(feature = "emulator")]
mod emulator;
mod values;
mod visible;

#[cfg(feature = "emulator")]
pub(crate) use emulator::EmulatorArgs;
use values::parse_priority;
pub(crate) use values::{parse_duration, parse_group, parse_mute_duration, parse_window};
pub(crate) use visible::parse;

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
    /// A live room at once: freeze it (only the owner and admins speak),
    /// thaw it, or count who is online. One call each, whatever its size.
    Room {
        #[command(subcommand)]
        cmd: crate::room::RoomCmd,
        #[command(flatten)]
        rate: Rate,
    },
    /// Raid mode as the serve instances sharing Redis see it (`--redis`),
    /// or as one serve holds it (`--serve ADDR`): `status`, or force it
    /// `on` or `off` in a group.
    Raid {
        #[command(subcommand)]
        cmd: crate::raid_cmd::RaidCmd,
        /// A serve's metrics port (its --metrics-listen, e.g.
        /// 127.0.0.1:9100), instead of Redis.
        #[arg(long, global = true, value_name = "ADDR", conflicts_with_all = ["redis", "redis_cluster"])]
        serve: Option<std::net::SocketAddr>,
        #[command(flatten)]
        rate: Rate,
    },
    /// Log accounts out everywhere: every UserSig they hold stops working
    /// (one call an account; `--members-file` for many).
    Kick(crate::accounts::KickArgs),
    /// A live room's online members, newest first, as a members file
    /// (`--joined-since 5m`: a raid's cohort).
    Members(crate::members_cmd::MembersArgs),
    /// Silence accounts in every group of the app (`setnospeaking`), lift
    /// it, or see what is left of it. One call an account.
    Nospeak {
        #[command(subcommand)]
        cmd: crate::accounts::NoSpeakCmd,
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
    /// Calls per second per command [default: the service's 200 with a 10 ms guard alone, backing off on 60007; 195 for a --redis fleet].
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
    /// Queue a ban, unban, mute, unmute or kick of the members; prints the
    /// job's id.
    Submit {
        /// What to do: ban, unban, mute, unmute or kick (as the commands of
        /// those names; a kick is one call an account).
        #[arg(value_name = "ACTION", value_parser = ["ban", "unban", "mute", "unmute", "kick"])]
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
        /// Log the members out everywhere (`im_open_login_svc/kick`, one
        /// call an account): the same as the action `kick`. The group only
        /// names where they came from.
        #[arg(long)]
        kick: bool,
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
