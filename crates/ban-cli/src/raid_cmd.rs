//! `banctl raid status|on|off`: raid mode as the serve instances sharing
//! Redis see it (`--redis`, the same key prefix and SDKAppID as theirs),
//! or as one serve holds it (`--serve ADDR`, its metrics port). `on`
//! forces it in a group (its cohort: the window's joiners, then every
//! join), and an instance acts as on a surge; `off` ends it on every
//! instance within a moment, and thaws the room when raid mode froze it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ban_facade::MuteAll;
use ban_fleet::{BoardRaid, RaidBoard};
use ban_moderation::MAX_COHORT;
use ban_rules::Rules;
use clap::Subcommand;

use crate::args::{parse_group, Global, Rate};
use crate::output::{self, escape, usage, Failure};
use crate::settings::Settings;

/// `banctl raid ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum RaidCmd {
    /// The raids on now (or one group's): since when, the last surge, the
    /// newcomers shielded, the messages refused, whether the room is frozen.
    Status {
        /// Only this group.
        #[arg(long, value_parser = parse_group)]
        group: Option<String>,
    },
    /// Turn raid mode on in a group, on every serve instance: its window
    /// and quiet are the rules' `[raid]`.
    On {
        /// The group ID.
        #[arg(long, value_parser = parse_group)]
        group: String,
        /// The rules file the instances run (for `[raid]`'s window and
        /// quiet); with --serve, the serve's own rules are used.
        #[arg(long)]
        rules: Option<PathBuf>,
    },
    /// End raid mode in a group on every serve instance; the room is
    /// thawed if raid mode froze it.
    Off {
        /// The group ID.
        #[arg(long, value_parser = parse_group)]
        group: String,
    },
}

/// Runs `banctl raid ...`: exit 0 done, 1 nothing to do (`off` of a group
/// not in raid mode, `on` of one already in it), 2 bad input or settings.
pub(crate) async fn run(
    g: &Global,
    cmd: RaidCmd,
    serve: Option<SocketAddr>,
    rate: &Rate,
) -> Result<ExitCode, Failure> {
    if let Some(addr) = serve {
        return through_serve(g, cmd, addr).await;
    }
    let settings = Settings::new(g);
    let Some(addr) = settings.redis_addr(rate)? else {
        return Err(usage(
            "banctl raid reads and forces the raid mode serve instances share in Redis, or one serve's: pass --redis URL (or --redis-cluster, TIM_REDIS_URL) as they have it, or --serve ADDR (a serve's --metrics-listen)",
        ));
    };
    let (_, prefix) = settings.redis(rate)?;
    let sdkappid = settings.require_sdkappid()?;
    let board = RaidBoard::connect(&addr, &prefix, sdkappid)
        .await
        .map_err(|e| usage(format!("--redis: {}", ban_facade::error_chain(&e))))?;
    let redis = |e: ban_fleet::RedisSetupError| usage(format!("Redis: {e}"));
    match cmd {
        RaidCmd::Status { group } => {
            let raids: Vec<BoardRaid> = board
                .raids()
                .await
                .map_err(redis)?
                .into_iter()
                .filter(|r| group.as_ref().is_none_or(|g| *g == r.group))
                .collect();
            print_status(g, &board_raids(&raids))?;
            Ok(ExitCode::SUCCESS)
        }
        RaidCmd::On { group, rules } => {
            let Some(rules) = rules else {
                return Err(usage(
                    "--rules FILE is required with --redis: the rules the instances run, for [raid]'s window and quiet",
                ));
            };
            let rules = Rules::load(&rules)
                .map_err(|e| usage(format!("--rules: {}", output::chain(&e))))?;
            let Some(raid) = rules.raid else {
                return Err(usage("--rules: the file has no [raid] table"));
            };
            if !raid.covers(&group) {
                return Err(usage(format!(
                    "--group {}: the rules' [raid] groups do not include it, so no instance would shield it",
                    escape(&group)
                )));
            }
            let j = board
                .force_on(&group, raid.joins.1, raid.quiet, MAX_COHORT, false)
                .await
                .map_err(redis)?;
            let said = if j.tripped {
                format!(
                    "raid mode on in {}: {} newcomer(s) shielded; an instance acts on it within a moment",
                    escape(&group),
                    j.cohort
                )
            } else {
                format!("raid mode was on already in {}", escape(&group))
            };
            report(g, &group, "on", j.tripped, &said)
        }
        RaidCmd::Off { group } => {
            let ended = board
                .end(&group, std::time::Duration::ZERO, true)
                .await
                .map_err(redis)?;
            let Some(e) = ended else {
                let said = format!("raid mode was not on in {}", escape(&group));
                return report(g, &group, "off", false, &said);
            };
            if e.frozen {
                let client = settings.client(rate).await?;
                client
                    .mute_all(&group, MuteAll::Off)
                    .map_err(output::usage_err)?
                    .await
                    .map_err(output::call_failure)?;
            }
            let said = format!(
                "raid mode off in {} after {:.1} s: {} newcomer(s), {} message(s) refused{}",
                escape(&group),
                e.lasted_ms as f64 / 1000.0,
                e.cohort,
                e.refused,
                if e.frozen { "; room thawed" } else { "" }
            );
            report(g, &group, "off", true, &said)
        }
    }
}

fn report(
    g: &Global,
    group: &str,
    to: &str,
    changed: bool,
    said: &str,
) -> Result<ExitCode, Failure> {
    if g.json {
        output::json_value(&serde_json::json!({"group": group, "raid": to, "changed": changed}))?;
    } else {
        eprintln!("{said}");
    }
    output::flush()?;
    Ok(if changed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The raids on the board, as `status` prints them.
fn board_raids(raids: &[BoardRaid]) -> Vec<serde_json::Value> {
    raids
        .iter()
        .map(|r| {
            serde_json::json!({
                "group": r.group,
                "since_ms": r.since_ms,
                "last_surge_ms": r.surge_ms,
                "cohort": r.cohort,
                "refused": r.refused,
                "frozen": r.frozen,
            })
        })
        .collect()
}

/// Prints raids (the board's, or one serve's, which has no times): JSON
/// with `--json`, else a line each.
fn print_status(g: &Global, raids: &[serde_json::Value]) -> Result<(), Failure> {
    if g.json {
        output::json_value(&serde_json::json!({ "raids": raids }))?;
    } else if raids.is_empty() {
        eprintln!("no group is in raid mode");
    } else {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        for r in raids {
            let times = match (r["since_ms"].as_u64(), r["last_surge_ms"].as_u64()) {
                (Some(since), Some(surge)) => format!(
                    " for {:.0} s, last surge {:.0} s ago",
                    now.saturating_sub(since) as f64 / 1000.0,
                    now.saturating_sub(surge) as f64 / 1000.0
                ),
                _ => String::new(),
            };
            output::line(format_args!(
                "{}\ton{times}, {} newcomer(s), {} refused{}",
                escape(r["group"].as_str().unwrap_or("")),
                r["cohort"],
                r["refused"],
                if r["frozen"] == true { ", frozen" } else { "" }
            ))?;
        }
    }
    output::flush()
}

/// How long a serve's metrics port has to answer.
const SERVE_TIMEOUT: Duration = Duration::from_secs(5);

/// `banctl raid --serve ADDR ...`: through the serve's metrics port.
async fn through_serve(g: &Global, cmd: RaidCmd, addr: SocketAddr) -> Result<ExitCode, Failure> {
    let (method, target, group) = match &cmd {
        RaidCmd::Status { group } => ("GET", "/raid".to_owned(), group.clone()),
        RaidCmd::On { group, .. } | RaidCmd::Off { group } => {
            let mode = if matches!(cmd, RaidCmd::On { .. }) {
                "on"
            } else {
                "off"
            };
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("group", group)
                .append_pair("mode", mode)
                .finish();
            ("POST", format!("/raid?{query}"), Some(group.clone()))
        }
    };
    let (status, v) = tokio::time::timeout(SERVE_TIMEOUT, admin_call(addr, method, &target))
        .await
        .map_err(|_| {
            usage(format!(
                "--serve {addr}: no answer within {} s",
                SERVE_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| usage(format!("--serve {addr}: {e}")))?;
    if status != 200 {
        let said = v["error"].as_str().unwrap_or("not a serve's metrics port");
        return Err(usage(format!(
            "--serve {addr}: HTTP {status}: {}",
            escape(said)
        )));
    }
    match cmd {
        RaidCmd::Status { .. } => {
            let raids: Vec<serde_json::Value> = v["raids"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|r| group.as_deref().is_none_or(|g| r["group"] == g))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            print_status(g, &raids)?;
            Ok(ExitCode::SUCCESS)
        }
        RaidCmd::On { group, .. } | RaidCmd::Off { group } => {
            let to = v["raid"].as_str().unwrap_or("");
            let changed = v["changed"] == true;
            let said = if changed {
                format!("raid mode {to} in {}", escape(&group))
            } else {
                format!("raid mode was {to} already in {}", escape(&group))
            };
            report(g, &group, to, changed, &said)
        }
    }
}

/// The most a serve's metrics port may answer (a status of a million
/// raids is far below it).
const MAX_ANSWER: u64 = 16 << 20;

/// One HTTP/1.1 request to a serve's metrics port (`Connection: close`):
/// its status and JSON, the answer's head read by `httparse`.
async fn admin_call(
    addr: SocketAddr,
    method: &str,
    target: &str,
) -> Result<(u16, serde_json::Value), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut head = httparse::Response::new(&mut headers);
    let body_at = match head.parse(&answer) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err("the answer ended in its head".to_owned()),
        Err(e) => return Err(format!("not an HTTP answer: {e}")),
    };
    let status = head.code.unwrap_or(0);
    let v = serde_json::from_slice(&answer[body_at..]).unwrap_or(serde_json::Value::Null);
    Ok((status, v))
}
