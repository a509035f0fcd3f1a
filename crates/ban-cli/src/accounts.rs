//! The account-level commands, app-wide, one call an account:
//! `banctl kick` (every UserSig the account holds stops working; a fresh
//! one logs in again) and `banctl nospeak set|lift|get` (`setnospeaking`:
//! its group messages, in every group, get 10017 before any callback;
//! `--c2c` silences one-to-one messages too). Every account is checked
//! before the first call; the calls run 32 at once under the rate limit.

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

use ban_facade::{CallError, InputError, MuteDuration};
use clap::{Args, Subcommand};
use futures_util::{stream, StreamExt};
use serde_json::{json, Value};

use crate::args::{parse_mute_duration, Global, Rate};
use crate::output::{self, escape, usage, usage_err, Failure};
use crate::settings::Settings;

/// Accounts acted on at once (one call each, paced by the rate limit).
const IN_FLIGHT: usize = 32;

/// The accounts a command is about.
#[derive(Debug, Args)]
pub(crate) struct Accounts {
    /// An account (repeatable).
    #[arg(long = "member", value_name = "ACCOUNT")]
    members: Vec<String>,
    /// A file of accounts, one a line (`-` for stdin; blank lines and `#`
    /// comments skipped).
    #[arg(long)]
    members_file: Option<PathBuf>,
    /// Trim leading and trailing whitespace from accounts (refused otherwise).
    #[arg(long)]
    trim: bool,
}

impl Accounts {
    /// The accounts, each once, in order.
    fn read(&self) -> Result<Vec<String>, Failure> {
        let m = crate::members::read(&self.members, self.members_file.as_deref(), self.trim)?;
        let mut seen = std::collections::HashSet::new();
        Ok(m.accounts
            .into_iter()
            .filter(|a| seen.insert(a.clone()))
            .collect())
    }
}

/// `banctl kick`.
#[derive(Debug, Args)]
pub(crate) struct KickArgs {
    #[command(flatten)]
    accounts: Accounts,
    #[command(flatten)]
    rate: Rate,
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

/// Runs `banctl kick`: the app admin itself is refused (a kick would stop
/// this tool's own calls until a fresh UserSig).
pub(crate) async fn kick(g: &Global, a: KickArgs) -> Result<ExitCode, Failure> {
    let accounts = a.accounts.read()?;
    let settings = Settings::new(g);
    let admin = settings
        .admin()
        .unwrap_or_else(|| ban_facade::DEFAULT_ADMIN.to_owned());
    if accounts.contains(&admin) {
        return Err(usage(format!(
            "--member {}: it is the app admin this tool calls as; a kick would stop its own calls until a fresh UserSig",
            escape(&admin)
        )));
    }
    let client = settings.client(&a.rate).await?;
    each(g, &accounts, |m| {
        let f = client.kick(m)?;
        Ok(async move { f.await.map(|()| json!({"kicked": true})) })
    })
    .await
}

/// Runs `banctl nospeak ...`.
pub(crate) async fn nospeak(g: &Global, cmd: NoSpeakCmd, rate: &Rate) -> Result<ExitCode, Failure> {
    let (accounts, times) = match &cmd {
        NoSpeakCmd::Set {
            accounts,
            duration,
            c2c,
        } => {
            let d = MuteDuration::from_secs(*duration);
            (accounts, Some((Some(d), c2c.then_some(d))))
        }
        NoSpeakCmd::Lift { accounts } => (
            accounts,
            Some((Some(MuteDuration::LIFT), Some(MuteDuration::LIFT))),
        ),
        NoSpeakCmd::Get { accounts } => (accounts, None),
    };
    let accounts = accounts.read()?;
    let client = Settings::new(g).client(rate).await?;
    match times {
        Some((group, c2c)) => {
            each(g, &accounts, |m| {
                let f = client.set_no_speaking(m, group, c2c)?;
                Ok(async move { f.await.map(|()| json!({"done": true})) })
            })
            .await
        }
        None => {
            each(g, &accounts, |m| {
                let f = client.no_speaking(m)?;
                Ok(async move {
                    f.await
                        .map(|s| json!({"group_secs": s.group, "c2c_secs": s.c2c}))
                })
            })
            .await
        }
    }
}

/// Checks every account with `call` (exit 2 naming the first bad one,
/// nothing sent), then runs the calls; prints a row an account (`--json`:
/// an array of `{"member", ...}`). Exit 0 when all are done, 1 when some
/// failed.
async fn each<F, Fut>(g: &Global, accounts: &[String], call: F) -> Result<ExitCode, Failure>
where
    F: Fn(&str) -> Result<Fut, InputError>,
    Fut: Future<Output = Result<Value, CallError>>,
{
    if accounts.is_empty() {
        return Err(usage(
            "give the accounts: --member ACCOUNT or --members-file FILE",
        ));
    }
    let mut calls = Vec::with_capacity(accounts.len());
    for m in accounts {
        let f = call(m)
            .map_err(|e| usage(format!("--member {}: {}", escape(m), usage_err(e).message)))?;
        calls.push(async move { (m, f.await) });
    }
    let results: Vec<_> = stream::iter(calls).buffered(IN_FLIGHT).collect().await;
    let mut failed = 0usize;
    let mut rows = Vec::with_capacity(results.len());
    for (m, r) in results {
        let mut row = r.unwrap_or_else(|e| {
            failed += 1;
            json!({"failed": output::chain(&e)})
        });
        row["member"] = json!(m);
        if !g.json {
            output::line(format_args!("{}\t{}", escape(m), said(&row)))?;
        }
        rows.push(row);
    }
    if g.json {
        output::json_value(&rows)?;
    } else if failed > 0 {
        eprintln!("{failed} of {} account(s) failed", accounts.len());
    }
    output::flush()?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A row as people read it.
fn said(row: &Value) -> String {
    if let Some(why) = row["failed"].as_str() {
        return format!("failed: {why}");
    }
    if row["kicked"] == true {
        return "kicked".to_owned();
    }
    match (row["group_secs"].as_u64(), row["c2c_secs"].as_u64()) {
        (Some(group), Some(c2c)) => format!("group {}\tc2c {}", left(group), left(c2c)),
        _ => "done".to_owned(),
    }
}

/// Seconds left, as people read them.
fn left(secs: u64) -> String {
    match secs {
        0 => "none".to_owned(),
        s if s >= u64::from(u32::MAX) => "permanent".to_owned(),
        s => format!("{s} s"),
    }
}
