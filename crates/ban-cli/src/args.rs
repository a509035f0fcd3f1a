//! The command line, as clap derives it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Ban, unban and list banned members of Tencent Cloud Chat audio-video
/// groups (AVChatRoom).
#[derive(Debug, Parser)]
#[command(name = "banctl", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Cmd,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct Global {
    /// The app's SDKAppID.
    #[arg(long, env = "TIM_SDKAPPID", global = true)]
    pub sdkappid: Option<u64>,
    /// The app's secret key (prefer the environment variable to the flag).
    #[arg(long, env = "TIM_SECRET_KEY", global = true, hide_env_values = true)]
    pub secret_key: Option<String>,
    /// The app admin identifier [default: administrator].
    #[arg(long, env = "TIM_ADMIN", global = true)]
    pub admin: Option<String>,
    /// Region: china, singapore, seoul, frankfurt, silicon-valley, jakarta, tokyo, mumbai.
    #[arg(long, env = "TIM_REGION", global = true)]
    pub region: Option<String>,
    /// A custom base URL (a proxy, or the emulator's endpoint).
    #[arg(long, env = "TIM_ENDPOINT", global = true)]
    pub endpoint: Option<String>,
    /// A PEM file of CA certificates to trust (the emulator's).
    #[arg(long, env = "TIM_CA_CERT", global = true)]
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
pub enum Cmd {
    /// Ban members of an AVChatRoom (any number; sent 20 per call).
    Ban {
        #[command(flatten)]
        target: Target,
        /// How long: seconds (3600) or a duration (1h, 30m, 7d).
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
    },
    /// Make or check UserSigs.
    #[command(subcommand)]
    Sig(SigCmd),
    /// Run the local emulator of the ban service until interrupted.
    Emulator(EmulatorArgs),
    /// Show the whole SDK against an in-process emulator; needs no account.
    Demo,
}

/// The group and the members a command acts on.
#[derive(Debug, Args)]
pub struct Target {
    /// The group ID.
    #[arg(long)]
    pub group: String,
    /// A member (repeatable).
    #[arg(long = "member")]
    pub members: Vec<String>,
    /// A file of members, one per line (`-` for stdin; blank lines and `#` comments skipped).
    #[arg(long)]
    pub members_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SigCmd {
    /// Print a UserSig for an identifier, signed with the secret key.
    Gen {
        /// The account the sig is for.
        #[arg(long)]
        identifier: String,
        /// Validity in seconds.
        #[arg(long, default_value_t = 86_400)]
        expire: u64,
    },
    /// Check a UserSig: exit 0 when valid, otherwise print why and exit 1.
    Verify {
        /// The account the sig must be for.
        #[arg(long)]
        identifier: String,
        /// The UserSig.
        sig: String,
    },
}

/// Emulator options (credentials come from --sdkappid, --secret-key, --admin).
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Where to listen; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
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
    /// Fault kinds to draw from (comma-separated): internal_error, bad_gateway, drop, delay.
    #[arg(long, value_delimiter = ',')]
    pub fault_kinds: Vec<String>,
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
    /// Write endpoint, CA, credentials as JSON here once listening.
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
}

/// Seconds, or a humantime duration such as `1h`, `30m`, `7d`.
fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(secs);
    }
    humantime::parse_duration(s)
        .map(|d| d.as_secs())
        .map_err(|e| {
            format!(
                "{s:?} is not a duration ({e}); give seconds (3600) or a duration like 1h, 30m, 7d"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3600"), Ok(3600));
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert!(parse_duration("soon")
            .unwrap_err()
            .contains("\"soon\" is not a duration"));
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
