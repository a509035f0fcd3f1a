//! `banctl`: ban, unban and list banned members of Tencent Cloud Chat
//! audio-video groups; make and check UserSigs; run the local emulator and a
//! demo against it.
//!
//! Exit codes: 0 all done, 1 some members failed (or a sig is invalid, or a
//! call failed), 2 bad input or configuration (nothing was sent), 130, 143
//! or 129 stopped by Ctrl-C, SIGTERM or SIGHUP.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod accounts;
mod args;
mod ban;
#[cfg(feature = "emulator")]
mod demo;
#[cfg(feature = "emulator")]
mod emulator;
mod job;
mod list;
mod lists;
mod members;
mod members_cmd;
mod output;
mod raid_cmd;
mod room;
mod rules_cmd;
mod serve;
mod settings;
mod sig;
mod signals;
mod undo;

use std::process::ExitCode;

use ban_facade::{BanDuration, BulkAction, MuteDuration};

fn main() -> ExitCode {
    let cli = match args::parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() && std::env::args_os().any(|a| a == "--json") => {
            let failure = output::Failure {
                code: 2,
                kind: "usage",
                message: json_message(&e),
            };
            return ExitCode::from(output::report_failure(true, &failure));
        }
        Err(e) => e.exit(),
    };
    let json = cli.global.json;
    let level = match cli.global.verbose {
        0 => tracing::Level::ERROR,
        1 => tracing::Level::INFO,
        2 => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    // The fleet's warnings show by default: a fallback to the local share,
    // Redis failing and coming back, a job paused, batches taken over are
    // what an operator must see (each said once, not per call).
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(level)
        .with_target("ban_fleet", level.max(tracing::Level::WARN))
        .with_target("ban_moderation::counter", level.max(tracing::Level::WARN));
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .with(filter)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let failure = output::failed(format!("cannot start the async runtime: {e}"));
            return ExitCode::from(output::report_failure(json, &failure));
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => ExitCode::from(output::report_failure(json, &e)),
    }
}

/// A clap error for `--json`: what is wrong and its tip, without the usage
/// text and without clap's own `error: ` (the JSON says it is an error).
fn json_message(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| {
        !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
    });
    let first = lines.next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let mut message = first.to_owned();
    for line in lines {
        message.push_str(if message.ends_with(':') { " " } else { "; " });
        message.push_str(line);
    }
    message
}

/// Runs the subcommand.
async fn dispatch(cli: args::Cli) -> Result<ExitCode, output::Failure> {
    use args::Cmd;
    let g = &cli.global;
    match cli.command {
        Cmd::Ban {
            target,
            duration,
            description,
        } => {
            let duration = BanDuration::try_from(duration)
                .map_err(|e| output::usage(format!("--duration: {e}")))?;
            let action = BulkAction::Ban {
                duration,
                description: description.as_deref(),
            };
            ban::run(g, &target, action).await
        }
        Cmd::Unban { target } => ban::run(g, &target, BulkAction::Unban).await,
        Cmd::Mute { target, duration } => {
            let duration = MuteDuration::from_secs(duration);
            ban::run(g, &target, BulkAction::Mute { duration }).await
        }
        Cmd::Unmute { target } => ban::run(g, &target, BulkAction::Unmute).await,
        Cmd::List { group, rate } => list::run(g, &group, &rate).await,
        Cmd::Muted { group, rate } => list::muted(g, &group, &rate).await,
        Cmd::Room { cmd, rate } => room::run(g, cmd, &rate).await,
        Cmd::Raid { cmd, serve, rate } => raid_cmd::run(g, cmd, serve, &rate).await,
        Cmd::Members(args) => members_cmd::run(g, args).await,
        Cmd::Nospeak { cmd, rate } => accounts::nospeak(g, cmd, &rate).await,
        Cmd::Kick(args) => accounts::kick(g, args).await,
        Cmd::Sig(cmd) => sig::run(g, cmd),
        Cmd::Job { cmd, rate } => job::run(g, cmd, &rate).await,
        Cmd::Serve(args) => serve::run(g, args).await,
        Cmd::Undo(args) => undo::run(g, args).await,
        Cmd::Rules { cmd } => rules_cmd::run(g.json, cmd).await,
        #[cfg(feature = "emulator")]
        Cmd::Emulator(args) => emulator::run(g, args).await,
        #[cfg(feature = "emulator")]
        Cmd::Demo if g.json => Err(output::usage(
            "demo is a walk-through for people and has no --json output; run it without --json",
        )),
        #[cfg(feature = "emulator")]
        Cmd::Demo => demo::run().await,
    }
}
