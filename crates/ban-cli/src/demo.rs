//! `banctl demo`: the whole stack against an in-process emulator over TLS.
//! Every step checks what it did and prints what happened.

use std::process::ExitCode;
use std::time::Instant;

use ban_emulator::{Emulator, GroupType, JoinError};
use ban_facade::{BanDuration, BulkAction, BulkOptions, BulkReport, Client, ClientBuilder};
use futures_util::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use crate::output::{self, escape, failed, failed_err, rfc3339, Failure};

fn step(n: u32, text: impl std::fmt::Display) -> Result<(), Failure> {
    output::line(format_args!("{n:>2}. {text}"))
}

/// Fails the demo unless every member of the report is done.
fn check(what: &str, report: &BulkReport) -> Result<(), Failure> {
    if report.all_succeeded() {
        return Ok(());
    }
    Err(failed(format!(
        "{what}: {} failed, {} not attempted{}",
        report.failed.len(),
        report.not_attempted.len(),
        report
            .stopped
            .as_ref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default()
    )))
}

pub(crate) async fn run() -> Result<ExitCode, Failure> {
    let started = Instant::now();
    output::line("banctl demo: banning members of a Tencent Cloud Chat AVChatRoom, against the local emulator\n")?;

    let emu = Emulator::builder().start().await.map_err(failed_err)?;
    let rate = emu.config().rate_limit.map_or_else(
        || "no rate limit".to_owned(),
        |r| format!("rate limit {r} calls/s per command"),
    );
    step(
        1,
        format!(
            "emulator listening on {} over TLS (its own CA; {rate})",
            emu.endpoint()
        ),
    )?;
    let client = ClientBuilder::for_emulator(&emu.ready_json())
        .map_err(failed_err)?
        .build()
        .map_err(failed_err)?;
    let outcome = walk_through(&emu, &client).await;
    let stats = emu.stats();
    emu.stop().await;
    let (banned, unbanned) = outcome?;
    output::line(format_args!(
        "\nsummary: {} API calls accepted, {} refused by the rate limit, {banned} members banned, {unbanned} unbanned, in {:.2} s",
        stats.commands.values().map(|c| c.accepted).sum::<u64>(),
        stats.rate_limited,
        started.elapsed().as_secs_f64()
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The steps; returns how many members it banned and unbanned.
async fn walk_through(emu: &Emulator, client: &Client) -> Result<(usize, usize), Failure> {
    let group = emu
        .create_group(None, GroupType::AVChatRoom)
        .map_err(failed_err)?;
    let viewers = ["alice", "bob", "carol"];
    let raiders = ["raider1", "raider2"];
    for m in viewers.iter().chain(&raiders) {
        emu.join(&group, m).map_err(failed_err)?;
    }
    step(
        2,
        format!(
            "created AVChatRoom {group}; {} and {} joined",
            viewers.join(", "),
            raiders.join(", ")
        ),
    )?;

    let hour = BanDuration::from_secs(3600).map_err(failed_err)?;
    let report = client
        .ban_members(&group, &raiders, hour, Some("raid on the live stream"))
        .await
        .map_err(failed_err)?;
    check("the raiders' ban", &report)?;
    step(
        3,
        format!(
            "banned {} for 1 h through the SDK ({} call(s), signed UserSig, HTTPS)",
            report
                .succeeded
                .iter()
                .map(|m| escape(m))
                .collect::<Vec<_>>()
                .join(" and "),
            report.calls
        ),
    )?;

    match emu.join(&group, "raider1") {
        Err(JoinError::Banned { until, .. }) => step(
            4,
            format!(
                "raider1 tries to rejoin: refused, banned until {}",
                rfc3339(until)
            ),
        )?,
        other => {
            return Err(failed(format!(
                "raider1 should have been refused, got {other:?}"
            )))
        }
    }

    let delivered = emu
        .send_group_msg(&group, "welcome to the stream!")
        .map_err(failed_err)?;
    let alice = emu.inbox(&group, "alice").map_err(failed_err)?.len();
    let raider = emu.inbox(&group, "raider1").map_err(failed_err)?.len();
    if raider != 0 || alice != 1 {
        return Err(failed(format!(
            "alice has {alice} message(s) and raider1 {raider}; a ban must withhold messages"
        )));
    }
    step(5, format!("the admin sends a message: delivered to {delivered} members; alice has {alice} message, raider1 has {raider}"))?;

    let bots: Vec<String> = (0..1000).map(|i| format!("bot{i:04}")).collect();
    step(
        6,
        format!(
            "banning {} bots in one SDK call (split into calls of 20, paced under the rate limit):",
            bots.len()
        ),
    )?;
    let bar = ProgressBar::new(bots.len() as u64);
    if let Ok(style) = ProgressStyle::with_template("    {bar:40} {pos}/{len} members {per_sec}") {
        bar.set_style(style);
    }
    let spam = BulkAction::Ban {
        duration: hour,
        description: Some("spam bot"),
    };
    let options = BulkOptions::new().progress({
        let bar = bar.clone();
        move |p| bar.set_position((p.done + p.failed) as u64)
    });
    let bulk = client
        .bulk(spam, &group, &bots, options)
        .await
        .map_err(failed_err)?;
    bar.finish_and_clear();
    check("the bots' ban", &bulk)?;
    output::line(format_args!(
        "    {} banned, {} failed, in {:.2} s ({} calls, {} retries)",
        bulk.succeeded.len(),
        bulk.failed.len(),
        bulk.elapsed.as_secs_f64(),
        bulk.calls,
        bulk.retries
    ))?;

    step(
        7,
        "listing the banned members (get_group_ban_member, a stream of pages of 100):",
    )?;
    let calls_before = emu.stats().accepted("get_group_ban_member");
    let listed: Vec<_> = client
        .banned_members(&group)
        .map_err(failed_err)?
        .try_collect()
        .await
        .map_err(failed_err)?;
    let pages = emu.stats().accepted("get_group_ban_member") - calls_before;
    let banned = report.succeeded.len() + bulk.succeeded.len();
    if listed.len() != banned {
        return Err(failed(format!(
            "the list holds {} members; {banned} were banned",
            listed.len()
        )));
    }
    output::line(format_args!(
        "    {} banned members in {pages} pages",
        listed.len()
    ))?;

    let lifted = client
        .unban_members(&group, &["raider1"])
        .await
        .map_err(failed_err)?;
    check("the unban", &lifted)?;
    emu.join(&group, "raider1").map_err(failed_err)?;
    emu.send_group_msg(&group, "second chance")
        .map_err(failed_err)?;
    let raider = emu.inbox(&group, "raider1").map_err(failed_err)?.len();
    step(
        8,
        format!(
            "unbanned {}: it rejoins and now has {raider} message(s)",
            lifted.succeeded.join(", ")
        ),
    )?;
    Ok((banned, lifted.succeeded.len()))
}
