//! `banctl demo`: the whole stack against an in-process emulator over TLS.

use std::process::ExitCode;
use std::time::Instant;

use ban_emulator::{Emulator, GroupType, JoinError};
use ban_facade::{BanDuration, BulkOptions, Client};
use ban_proto::{BanListRequest, GroupId, PageLimit, PageOffset};
use indicatif::{ProgressBar, ProgressStyle};

use crate::output::{failed, Failure};

fn step(n: u32, text: impl std::fmt::Display) {
    println!("{n:>2}. {text}");
}

pub async fn demo() -> Result<ExitCode, Failure> {
    let started = Instant::now();
    println!("banctl demo: banning members of a Tencent Cloud Chat AVChatRoom, against the local emulator\n");

    let emu = Emulator::builder().start().await.map_err(failed)?;
    step(
        1,
        format!(
            "emulator listening on {} over TLS (its own CA; rate limit 200 calls/s per command)",
            emu.endpoint()
        ),
    );

    let client = Client::builder()
        .sdkappid(emu.sdkappid())
        .secret_key(emu.secret_key().expose())
        .admin(emu.admin())
        .endpoint(emu.endpoint())
        .ca_cert_pem(emu.ca_cert_pem().unwrap_or_default())
        .build()
        .map_err(failed)?;

    let group = emu
        .create_group(None, GroupType::AVChatRoom)
        .map_err(failed)?;
    let viewers = ["alice", "bob", "carol"];
    let raiders = ["raider1", "raider2"];
    for m in viewers.iter().chain(&raiders) {
        emu.join(&group, m).map_err(failed)?;
    }
    step(
        2,
        format!(
            "created AVChatRoom {group}; {} and {} joined",
            viewers.join(", "),
            raiders.join(", ")
        ),
    );

    let hour = BanDuration::from_secs(3600).map_err(failed)?;
    let report = client
        .ban_members(&group, &raiders, hour, Some("raid on the live stream"))
        .await
        .map_err(failed)?;
    if !report.all_succeeded() {
        return Err(failed(format!("the demo ban failed: {:?}", report.failed)));
    }
    step(
        3,
        format!(
            "banned {} for 1 h through the SDK ({} call, signed UserSig, HTTPS)",
            report.succeeded.join(" and "),
            report.calls
        ),
    );

    match emu.join(&group, "raider1") {
        Err(JoinError::Banned { until, .. }) => step(
            4,
            format!(
                "raider1 tries to rejoin: refused, banned until {}",
                crate::run::rfc3339(until)
            ),
        ),
        other => {
            return Err(failed(format!(
                "raider1 should have been refused, got {other:?}"
            )))
        }
    }

    let delivered = emu
        .send_group_msg(&group, "welcome to the stream!")
        .map_err(failed)?;
    let alice = emu.inbox(&group, "alice").map_err(failed)?.len();
    let raider = emu.inbox(&group, "raider1").map_err(failed)?.len();
    step(5, format!("the admin sends a message: delivered to {delivered} members; alice has {alice} message, raider1 has {raider}"));
    if raider != 0 || alice != 1 {
        return Err(failed("a banned member received a group message"));
    }

    let bots: Vec<String> = (0..1000).map(|i| format!("bot{i:04}")).collect();
    step(
        6,
        "banning 1,000 bots in one SDK call (split into calls of 20, paced at 190 calls/s):",
    );
    let bar = ProgressBar::new(bots.len() as u64);
    if let Ok(style) = ProgressStyle::with_template("    {bar:40} {pos}/{len} members {per_sec}") {
        bar.set_style(style);
    }
    let report = client
        .ban_members_with(
            &group,
            &bots,
            hour,
            Some("spam bot"),
            BulkOptions::new().progress({
                let bar = bar.clone();
                move |p| bar.set_position((p.done + p.failed) as u64)
            }),
        )
        .await
        .map_err(failed)?;
    bar.finish_and_clear();
    println!(
        "    {} banned, {} failed, in {:.2} s ({} calls, {} retries)",
        report.succeeded.len(),
        report.failed.len(),
        report.elapsed.as_secs_f64(),
        report.calls,
        report.retries
    );

    let gid = GroupId::new(group.as_str()).map_err(failed)?;
    let mut offset = 0u64;
    let mut page = 0;
    let mut listed = 0;
    step(
        7,
        "listing the banned members page by page (get_group_ban_member, 100 a page):",
    );
    loop {
        let req = BanListRequest {
            group_id: gid.reborrow(),
            offset: PageOffset(offset as u32),
            limit: PageLimit::MAX,
        };
        let resp = client.call(&req).await.map_err(failed)?.response;
        page += 1;
        listed += resp.banned.len();
        if page <= 2 || resp.next_offset == 0 {
            println!(
                "    page {page}: {} members, NextOffset {}",
                resp.banned.len(),
                resp.next_offset
            );
        } else if page == 3 {
            println!("    ...");
        }
        if resp.next_offset == 0 {
            break;
        }
        offset = resp.next_offset;
    }
    println!("    {listed} banned members in {page} pages");

    client
        .unban_members(&group, &["raider1"])
        .await
        .map_err(failed)?;
    emu.join(&group, "raider1").map_err(failed)?;
    emu.send_group_msg(&group, "second chance")
        .map_err(failed)?;
    let raider = emu.inbox(&group, "raider1").map_err(failed)?.len();
    step(
        8,
        format!("unbanned raider1: it rejoins and now has {raider} message"),
    );

    let stats = emu.stats();
    println!(
        "\nsummary: {} API calls accepted, {} rejected by the rate limit, {} members banned, 1 unbanned, in {:.2} s",
        stats.commands.values().map(|c| c.accepted).sum::<u64>(),
        stats.rate_limited,
        listed,
        started.elapsed().as_secs_f64()
    );
    emu.stop().await;
    Ok(ExitCode::SUCCESS)
}
