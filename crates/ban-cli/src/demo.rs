//! `banctl demo`: the whole stack against an in-process emulator over TLS.
//! Every step checks what it did and prints what happened.

use std::process::ExitCode;
use std::time::Instant;

use ban_emulator::{Emulator, GroupType, JoinError};
use ban_facade::{BanDuration, BulkAction, BulkOptions, BulkReport, Client, ClientBuilder};
use futures_util::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use ban_callback::{CallbackToken, Verifier};
use ban_emulator::CallbackConfig;

use crate::output::{self, escape, failed, failed_err, rfc3339, Failure};
use ban_moderation::{ClientExecutor, Moderator};
use ban_rules::Rules;

use crate::serve::Host;

/// The rules of the demo's moderation loop.
const DEMO_RULES: &str = r#"
[[rule]]
name = "scam"
on = "message"
contains_any = ["free coins"]
block = true
ladder = ["mute 10m", "mute 1h", "ban 7d"]
window = "24h"
"#;

/// A token nobody else has, for the demo's callbacks.
fn fastrand_token() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}{:x}", t, std::process::id())
}

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

    // banctl serve's port first: the emulator calls it back.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(failed_err)?;
    let serve_addr = listener.local_addr().map_err(failed_err)?;
    let token = CallbackToken::new(format!("demo-{}", fastrand_token()));
    let emu = Emulator::builder()
        .callback(CallbackConfig::new(
            format!("http://{serve_addr}/tim/callback"),
            Some(token.clone()),
        ))
        .start()
        .await
        .map_err(failed_err)?;
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
    let rules = Rules::parse(DEMO_RULES).map_err(failed)?;
    // The moderation loop through the library's API, on this listener.
    let moderation = Moderator::builder(rules).start(ClientExecutor::new(client.clone()));
    let svc = ban_moderation::service(
        Verifier::new(emu.sdkappid(), Some(token)),
        moderation.moderator(),
    );
    let host = Host::start(
        listener,
        svc,
        moderation.moderator().clone(),
        crate::serve::HostOptions::new(None),
    )
    .map_err(failed_err)?;
    let outcome = match walk_through(&emu, &client).await {
        Ok(counts) => moderation_loop(&emu).await.map(|()| counts),
        Err(e) => Err(e),
    };
    host.stop();
    moderation
        .shutdown(std::time::Duration::from_secs(30))
        .await;
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

/// A raid in a live room, with `banctl serve` in the loop: bots spam beside
/// viewers, the emulator calls serve back, serve blocks the messages and
/// mutes, mutes longer, then bans the bots; no viewer is touched.
async fn moderation_loop(emu: &Emulator) -> Result<(), Failure> {
    let group = emu
        .create_group(None, GroupType::AVChatRoom)
        .map_err(failed_err)?;
    let viewers: Vec<String> = (0..50).map(|i| format!("viewer{i:02}")).collect();
    let bots: Vec<String> = (0..100).map(|i| format!("raidbot{i:03}")).collect();
    for m in viewers.iter().chain(&bots) {
        emu.join(&group, m).map_err(failed_err)?;
    }
    step(
        9,
        format!(
            "the moderation loop: {} bots and {} viewers in {group}; banctl serve (in-process) gets the emulator's signed callbacks and acts on a rule: \"free coins\" is blocked, then mute 10m, mute 1h, ban 7d",
            bots.len(),
            viewers.len()
        ),
    )?;
    let rounds = [
        ("muted 10 min", 601u64),
        ("muted 1 h", 3601),
        ("banned 7 d", 0),
    ];
    for (round, (what, lapse)) in rounds.iter().enumerate() {
        // Each bot's spam, and when its refusal came back.
        let room = group.as_str();
        let sent = futures_util::future::join_all(bots.iter().map(|b| async move {
            let code = emu
                .client_send(room, b, "FREE COINS at scam.example!!")
                .await;
            (code, Instant::now())
        }))
        .await;
        let refused = sent.iter().filter(|(c, _)| c.code() == 10016).count();
        for v in viewers.iter().take(10) {
            let code = emu.client_send(&group, v, "what a stream").await;
            if code.code() != 0 {
                return Err(failed(format!(
                    "{v}'s message was refused with {}",
                    code.code()
                )));
            }
        }
        // When each bot was first seen muted (or banned).
        let mut acted: std::collections::HashMap<String, Instant> = Default::default();
        let last = Instant::now();
        while acted.len() < bots.len() {
            let g = emu
                .group(&group)
                .ok_or_else(|| failed("the group is gone"))?;
            let now = Instant::now();
            let hit: Vec<&String> = if round < 2 {
                g.muted.iter().map(|m| &m.member_account).collect()
            } else {
                g.banned.iter().map(|m| &m.member_account).collect()
            };
            for m in hit.into_iter().filter(|m| m.starts_with("raidbot")) {
                acted.entry(m.clone()).or_insert(now);
            }
            if last.elapsed() > std::time::Duration::from_secs(20) {
                return Err(failed(format!(
                    "round {}: {} of {} bots {what} after 20 s",
                    round + 1,
                    acted.len(),
                    bots.len()
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let mut ms: Vec<u128> = bots
            .iter()
            .zip(&sent)
            .map(|(b, (_, at))| acted[b].saturating_duration_since(*at).as_millis())
            .collect();
        ms.sort_unstable();
        output::line(format_args!(
            "    offence {}: {refused} spams refused (10016); each bot {what} p50 {} ms, max {} ms after its spam",
            round + 1,
            ms[ms.len() / 2],
            ms[ms.len() - 1]
        ))?;
        if *lapse > 0 {
            emu.advance_clock(*lapse).map_err(failed_err)?;
        }
    }
    let g = emu
        .group(&group)
        .ok_or_else(|| failed("the group is gone"))?;
    let touched = viewers
        .iter()
        .filter(|v| {
            g.muted.iter().any(|m| &m.member_account == *v)
                || g.banned.iter().any(|b| &b.member_account == *v)
                || !g.members.contains(v)
        })
        .count();
    if touched > 0 {
        return Err(failed(format!("{touched} viewers were acted on")));
    }
    output::line(format_args!(
        "    no viewer touched: {} still in the room, none muted or banned",
        viewers.len()
    ))?;
    Ok(())
}
