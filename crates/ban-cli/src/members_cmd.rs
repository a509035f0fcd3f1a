//! `banctl members --group G [--joined-since D] [--out FILE]`: a live
//! room's online members (`get_members`, newest first, the latest 1,000),
//! written as a members file, so a raid's cohort, those who joined in the
//! last minutes, can be muted or banned with `--members-file`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::args::{parse_duration, parse_group, Global, Rate};
use crate::output::{self, escape, usage, usage_err, Failure};
use crate::settings::Settings;

/// `banctl members`.
#[derive(Debug, Args)]
pub(crate) struct MembersArgs {
    /// The group ID (a live room or a Community).
    #[arg(long, value_parser = parse_group)]
    group: String,
    /// Only members who joined this recently: seconds (300) or a duration
    /// (5m, 1h), by this machine's clock.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    joined_since: Option<u64>,
    /// Write the members file here (replaced whole) instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    rate: Rate,
}

/// Lists the room's members: one account a line (or `--json`, an array of
/// `{"member", "join_time"}`), newest first.
pub(crate) async fn run(g: &Global, a: MembersArgs) -> Result<ExitCode, Failure> {
    if let Some(out) = &a.out {
        std::fs::File::create(out)
            .map_err(|e| usage(format!("cannot write --out {}: {e}", out.display())))?;
    }
    let client = Settings::new(g).client(&a.rate).await?;
    let all = client
        .room_members(&a.group)
        .map_err(usage_err)?
        .await
        .map_err(output::call_failure)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let since = a.joined_since.map(|s| now.saturating_sub(s));
    let picked: Vec<_> = all
        .iter()
        .filter(|m| since.is_none_or(|t| m.join_time >= t))
        .collect();
    let accounts: Vec<&str> = picked.iter().map(|m| m.member_account.as_str()).collect();
    if let Some(out) = &a.out {
        crate::lists::write_members(out, &accounts)
            .map_err(|e| output::failed(format!("cannot write --out {}: {e}", out.display())))?;
    } else if g.json {
        let rows: Vec<serde_json::Value> = picked
            .iter()
            .map(|m| serde_json::json!({"member": m.member_account, "join_time": m.join_time}))
            .collect();
        output::json_value(&rows)?;
    } else {
        for m in &accounts {
            output::line(m)?;
        }
    }
    output::flush()?;
    let of = match a.joined_since {
        Some(s) => format!(" (of {} online) joined in the last {s} s", all.len()),
        None => String::new(),
    };
    eprintln!("{} member(s){of} in {}", picked.len(), escape(&a.group));
    Ok(ExitCode::SUCCESS)
}
