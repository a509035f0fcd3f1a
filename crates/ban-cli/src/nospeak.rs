//! `banctl nospeak set|lift|get`: the app-wide mute of accounts
//! (`setnospeaking`, one account a call): their group messages, in every
//! group of the app, get 10017 before any callback; `--c2c` silences
//! their one-to-one messages too.

use std::process::ExitCode;

use ban_facade::MuteDuration;
use clap::{Args, Subcommand};
use futures_util::{stream, StreamExt};

use crate::args::{parse_mute_duration, Global, Rate};
use crate::output::{self, escape, usage, usage_err, Failure};
use crate::settings::Settings;

/// Accounts set at once (one call each, paced by the rate limit).
const IN_FLIGHT: usize = 32;

/// The accounts a `nospeak` command is about.
#[derive(Debug, Args)]
pub(crate) struct Accounts {
    /// An account (repeat for more).
    #[arg(long = "member", value_name = "ACCOUNT", required = true)]
    members: Vec<String>,
}

/// `banctl nospeak ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum NoSpeakCmd {
    /// Silence accounts in every group of the app (their messages get
    /// 10017), for a time or `permanent`.
    Set {
        #[command(flatten)]
        accounts: Accounts,
        /// How long: seconds (600), a duration (10m, 1h, 7d) or `permanent`.
        #[arg(long, value_parser = parse_mute_duration)]
        duration: u32,
        /// Silence their one-to-one messages too.
        #[arg(long)]
        c2c: bool,
    },
    /// Lift the app-wide silence of accounts (group and one-to-one).
    Lift {
        #[command(flatten)]
        accounts: Accounts,
    },
    /// What is left of accounts' app-wide silences.
    Get {
        #[command(flatten)]
        accounts: Accounts,
    },
}

/// Runs `banctl nospeak ...`: exit 0 when every account is done, 1 when
/// some failed (each said), 2 for bad input before any call.
pub(crate) async fn run(g: &Global, cmd: NoSpeakCmd, rate: &Rate) -> Result<ExitCode, Failure> {
    let (members, group, c2c) = match &cmd {
        NoSpeakCmd::Set {
            accounts,
            duration,
            c2c,
        } => {
            let d = MuteDuration::from_secs(*duration);
            (&accounts.members, Some(d), c2c.then_some(d))
        }
        NoSpeakCmd::Lift { accounts } => (
            &accounts.members,
            Some(MuteDuration::LIFT),
            Some(MuteDuration::LIFT),
        ),
        NoSpeakCmd::Get { accounts } => (&accounts.members, None, None),
    };
    let client = Settings::new(g).client(rate).await?;
    let get = matches!(cmd, NoSpeakCmd::Get { .. });
    // Every account checked before the first call.
    let mut calls = Vec::with_capacity(members.len());
    for m in members {
        let call = if get {
            let f = client.no_speaking(m).map_err(|e| member_err(m, e))?;
            futures_util::future::Either::Left(async move { f.await.map(Some) })
        } else {
            let f = client
                .set_no_speaking(m, group, c2c)
                .map_err(|e| member_err(m, e))?;
            futures_util::future::Either::Right(async move { f.await.map(|()| None) })
        };
        calls.push(async move { (m, call.await) });
    }
    let results: Vec<_> = stream::iter(calls).buffered(IN_FLIGHT).collect().await;
    let mut failed = 0usize;
    let mut rows = Vec::new();
    for (m, r) in results {
        let row = match r {
            Ok(Some(s)) => {
                serde_json::json!({"member": m, "group_secs": s.group, "c2c_secs": s.c2c})
            }
            Ok(None) => serde_json::json!({"member": m, "done": true}),
            Err(e) => {
                failed += 1;
                serde_json::json!({"member": m, "failed": output::chain(&e)})
            }
        };
        if !g.json {
            let said = match (&row["failed"], row["group_secs"].as_u64()) {
                (serde_json::Value::String(why), _) => format!("failed: {why}"),
                (_, Some(group)) => format!(
                    "group {}\tc2c {}",
                    left(group),
                    left(row["c2c_secs"].as_u64().unwrap_or(0))
                ),
                _ => "done".to_owned(),
            };
            output::line(format_args!("{}\t{said}", escape(m)))?;
        }
        rows.push(row);
    }
    if g.json {
        output::json_value(&rows)?;
    }
    output::flush()?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Seconds left, as people read them.
fn left(secs: u64) -> String {
    match secs {
        0 => "none".to_owned(),
        s if s >= u64::from(u32::MAX) => "permanent".to_owned(),
        s => format!("{s} s"),
    }
}

fn member_err(m: &str, e: ban_facade::InputError) -> Failure {
    let f = usage_err(e);
    usage(format!("--member {}: {}", escape(m), f.message))
}
