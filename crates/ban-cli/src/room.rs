//! `banctl room freeze|thaw|online`: a live room at once, for a raid.
//! `freeze` turns `MuteAllMember` on (every member but the owner and the
//! admins gets 10017 until `thaw`), one call whatever the room's size;
//! `online` prints how many members are online.

use std::process::ExitCode;

use ban_facade::MuteAll;
use clap::Subcommand;

use crate::args::{parse_group, Global, Rate};
use crate::output::{self, escape, usage_err, Failure};
use crate::settings::Settings;

/// `banctl room ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum RoomCmd {
    /// Silence every member but the owner and the admins
    /// (`MuteAllMember` On), until `thaw`.
    Freeze {
        /// The group ID.
        #[arg(long, value_parser = parse_group)]
        group: String,
    },
    /// Let the members speak again (`MuteAllMember` Off).
    Thaw {
        /// The group ID.
        #[arg(long, value_parser = parse_group)]
        group: String,
    },
    /// How many members of a live room are online (the service refreshes
    /// it every 10 s).
    Online {
        /// The group ID.
        #[arg(long, value_parser = parse_group)]
        group: String,
    },
}

/// Runs `banctl room ...`: exit 0 done, 1 refused by the service, 2 bad
/// input or settings.
pub(crate) async fn run(g: &Global, cmd: RoomCmd, rate: &Rate) -> Result<ExitCode, Failure> {
    let client = Settings::new(g).client(rate).await?;
    match cmd {
        RoomCmd::Freeze { group } => switch(g, &client, &group, MuteAll::On).await,
        RoomCmd::Thaw { group } => switch(g, &client, &group, MuteAll::Off).await,
        RoomCmd::Online { group } => {
            let online = client
                .online_members(&group)
                .map_err(usage_err)?
                .await
                .map_err(output::call_failure)?;
            if g.json {
                output::json_value(&serde_json::json!({"group": group, "online": online}))?;
            } else {
                output::line(online)?;
                eprintln!("{online} member(s) online in {}", escape(&group));
            }
            output::flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn switch(
    g: &Global,
    client: &ban_facade::Client,
    group: &str,
    to: MuteAll,
) -> Result<ExitCode, Failure> {
    client
        .mute_all(group, to)
        .map_err(usage_err)?
        .await
        .map_err(output::call_failure)?;
    if g.json {
        output::json_value(
            &serde_json::json!({"group": group, "mute_all_member": to.to_string()}),
        )?;
    } else {
        let said = match to {
            MuteAll::On => {
                "frozen: only the owner and the admins can speak (`banctl room thaw` ends it)"
            }
            _ => "thawed: members can speak again",
        };
        output::line(format_args!("{}\t{said}", escape(group)))?;
    }
    output::flush()?;
    Ok(ExitCode::SUCCESS)
}
