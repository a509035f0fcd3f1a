//! `banctl list`: a group's banned members, printed as pages arrive;
//! `banctl muted`: its muted members, in one answer.

use std::process::ExitCode;

use futures_util::StreamExt;

use crate::args::{Global, Rate};
use crate::output::{self, escape, rfc3339, usage_err, Failure};
use crate::settings::Settings;

/// Lists banned members as pages arrive, so `| head` ends it early;
/// `--json` is an array of `{"member", "banned_until"}` (Unix seconds),
/// snake_case as every report.
pub(crate) async fn run(g: &Global, group: &str, rate: &Rate) -> Result<ExitCode, Failure> {
    let client = Settings::new(g).client(rate).await?;
    let mut stream = client.banned_members(group).map_err(usage_err)?;
    let mut all = Vec::new();
    let mut n = 0usize;
    while let Some(item) = stream.next().await {
        let b = item.map_err(output::call_failure)?;
        n += 1;
        if g.json {
            all.push(serde_json::json!({
                "member": b.member_account,
                "banned_until": b.banned_until,
            }));
        } else {
            output::line(format_args!(
                "{}\tuntil {}",
                escape(&b.member_account),
                rfc3339(b.banned_until)
            ))?;
        }
    }
    if g.json {
        output::json_value(&all)?;
    } else {
        eprintln!("{n} banned member(s) in {}", escape(group));
    }
    output::flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Lists muted members with the end of each mute (`permanent` for
/// 4294967295; `--json` keeps the service's number as `muted_until` and
/// says `permanent`).
pub(crate) async fn muted(g: &Global, group: &str, rate: &Rate) -> Result<ExitCode, Failure> {
    let client = Settings::new(g).client(rate).await?;
    let muted = client
        .muted_members(group)
        .map_err(usage_err)?
        .await
        .map_err(output::call_failure)?;
    if g.json {
        let rows: Vec<serde_json::Value> = muted
            .iter()
            .map(|m| {
                serde_json::json!({
                    "member": m.member_account,
                    "muted_until": m.muted_until,
                    "permanent": m.muted_until >= u64::from(u32::MAX),
                })
            })
            .collect();
        output::json_value(&rows)?;
    } else {
        for m in &muted {
            let until = if m.muted_until >= u64::from(u32::MAX) {
                "permanently".to_owned()
            } else {
                format!("until {}", rfc3339(m.muted_until))
            };
            output::line(format_args!("{}\t{until}", escape(&m.member_account)))?;
        }
        eprintln!("{} muted member(s) in {}", muted.len(), escape(group));
    }
    output::flush()?;
    Ok(ExitCode::SUCCESS)
}
