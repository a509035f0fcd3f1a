//! What each subcommand does.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::time::Duration;

use ban_emulator::{Emulator, EmulatorConfig, FaultKind};
use ban_facade::{BanDuration, BulkReport, Client, ClientBuilder, Progress};
use ban_sign::{Clock, SecretKey, Signer, SystemClock};
use futures_util::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::args::{Cli, Cmd, EmulatorArgs, Global, SigCmd, Target};

/// A failure with its exit code.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

/// Bad input or configuration: exit 2.
pub fn usage(message: impl std::fmt::Display) -> Failure {
    Failure {
        code: 2,
        message: message.to_string(),
    }
}

/// A failed operation: exit 1.
pub fn failed(message: impl std::fmt::Display) -> Failure {
    Failure {
        code: 1,
        message: message.to_string(),
    }
}

pub async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let g = &cli.global;
    match cli.command {
        Cmd::Ban {
            target,
            duration,
            description,
        } => {
            let duration = BanDuration::try_from(duration).map_err(usage)?;
            let members = read_members(&target)?;
            let client = client(g)?;
            let bar = progress_bar(g.json, members.len());
            let report = client
                .ban_members_with_progress(
                    &target.group,
                    &members,
                    duration,
                    description.as_deref(),
                    |p| tick(&bar, p),
                )
                .await
                .map_err(usage)?;
            bar.finish_and_clear();
            Ok(print_report(g, &report))
        }
        Cmd::Unban { target } => {
            let members = read_members(&target)?;
            let client = client(g)?;
            let bar = progress_bar(g.json, members.len());
            let report = client
                .unban_members_with_progress(&target.group, &members, |p| tick(&bar, p))
                .await
                .map_err(usage)?;
            bar.finish_and_clear();
            Ok(print_report(g, &report))
        }
        Cmd::List { group } => {
            let client = client(g)?;
            let list: Vec<_> = client
                .banned_members(&group)
                .map_err(usage)?
                .try_collect()
                .await
                .map_err(failed)?;
            if g.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&list).unwrap_or_default()
                );
            } else {
                for b in &list {
                    println!("{}\tuntil {}", b.member_account, rfc3339(b.banned_until));
                }
                eprintln!("{} banned member(s) in {group}", list.len());
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Sig(cmd) => sig(g, cmd),
        Cmd::Emulator(args) => emulator(g, args).await,
        Cmd::Demo => crate::demo::demo().await,
    }
}

pub(crate) fn rfc3339(secs: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

fn client(g: &Global) -> Result<Client, Failure> {
    let mut b = ClientBuilder::default();
    if let Some(id) = g.sdkappid {
        b = b.sdkappid(id);
    }
    if let Some(key) = &g.secret_key {
        b = b.secret_key(key.clone());
    }
    if let Some(admin) = &g.admin {
        b = b.admin(admin.clone());
    }
    if let Some(region) = &g.region {
        b = b.region(region.parse().map_err(usage)?);
    }
    if let Some(endpoint) = &g.endpoint {
        b = b.endpoint(endpoint.clone());
    }
    if let Some(ca) = &g.ca_cert {
        b = b.ca_cert_file(&ca.to_string_lossy()).map_err(usage)?;
    }
    b.danger_allow_plain_http(g.danger_allow_plain_http)
        .build()
        .map_err(usage)
}

fn read_members(t: &Target) -> Result<Vec<String>, Failure> {
    let mut members = t.members.clone();
    if let Some(path) = &t.members_file {
        let lines: Vec<String> = if path.as_os_str() == "-" {
            std::io::stdin().lock().lines().collect::<Result<_, _>>()
        } else {
            std::fs::File::open(path).and_then(|f| std::io::BufReader::new(f).lines().collect())
        }
        .map_err(|e| {
            usage(format!(
                "cannot read --members-file {}: {e}",
                path.display()
            ))
        })?;
        // Only the line ending is removed (CRLF files too): an account is
        // passed as written, and blank or `#` lines are skipped.
        members.extend(
            lines
                .into_iter()
                .map(|l| l.strip_suffix('\r').map(str::to_owned).unwrap_or(l))
                .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')),
        );
    }
    if members.is_empty() {
        return Err(usage(
            "no members given; use --member (repeatable) or --members-file",
        ));
    }
    Ok(members)
}

fn progress_bar(json: bool, total: usize) -> ProgressBar {
    // Only for people: hidden for --json, for small jobs and when stderr is not a terminal.
    if json || total <= 20 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} members, {per_sec}, eta {eta} {msg}")
    {
        bar.set_style(style);
    }
    bar
}

fn tick(bar: &ProgressBar, p: Progress) {
    bar.set_position((p.done + p.failed) as u64);
    if p.failed > 0 {
        bar.set_message(format!("({} failed)", p.failed));
    }
}

fn print_report(g: &Global, report: &BulkReport) -> ExitCode {
    if g.json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).unwrap_or_default()
        );
    } else {
        let verb = match report.action {
            ban_facade::Action::Ban => "banned",
            ban_facade::Action::Unban => "unbanned",
        };
        println!(
            "{verb} {} of {} member(s) of {} in {:.2} s ({} calls, {} retries{})",
            report.succeeded.len(),
            report.succeeded.len() + report.failed.len(),
            report.group,
            report.elapsed.as_secs_f64(),
            report.calls,
            report.retries,
            if report.duplicates > 0 {
                format!(", {} duplicates dropped", report.duplicates)
            } else {
                String::new()
            },
        );
        for f in &report.failed {
            let code = f.code.map_or_else(|| "-".to_owned(), |c| c.to_string());
            println!(
                "failed\t{}\tcode {code}\t{} (random {})",
                f.member, f.reason, f.random
            );
        }
    }
    if report.all_succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn signer(g: &Global) -> Result<Signer, Failure> {
    let sdkappid = g
        .sdkappid
        .ok_or_else(|| usage("--sdkappid (or TIM_SDKAPPID) is needed"))?;
    let key = g
        .secret_key
        .clone()
        .ok_or_else(|| usage("--secret-key (or TIM_SECRET_KEY) is needed"))?;
    Ok(Signer::new(sdkappid, SecretKey::new(key)))
}

fn sig(g: &Global, cmd: SigCmd) -> Result<ExitCode, Failure> {
    let signer = signer(g)?;
    let now = SystemClock.now_unix();
    match cmd {
        SigCmd::Gen { identifier, expire } => {
            ban_proto::MemberAccount::new(identifier.as_str()).map_err(usage)?;
            if expire == 0 {
                return Err(usage(
                    "--expire is 0; a UserSig must be valid for at least 1 second",
                ));
            }
            let sig = signer.sign(&identifier, now, expire);
            if g.json {
                let v = json!({"usersig": sig.expose(), "identifier": identifier, "sdkappid": signer.sdkappid(), "time": now, "expire": expire});
                println!("{v}");
            } else {
                println!("{}", sig.expose());
            }
            Ok(ExitCode::SUCCESS)
        }
        SigCmd::Verify { identifier, sig } => match signer.verify(sig.trim(), &identifier, now) {
            Ok(c) => {
                if g.json {
                    println!(
                        "{}",
                        json!({"valid": true, "identifier": c.identifier, "sdkappid": c.sdkappid, "time": c.time, "expire": c.expire, "expires_at": c.expires_at()})
                    );
                } else {
                    println!(
                        "valid: identifier {}, SDKAppID {}, issued {}, expires {} (in {} s)",
                        c.identifier,
                        c.sdkappid,
                        rfc3339(c.time),
                        rfc3339(c.expires_at()),
                        c.expires_at().saturating_sub(now)
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                if g.json {
                    println!(
                        "{}",
                        json!({"valid": false, "code": e.error_code().code(), "reason": e.to_string()})
                    );
                    Ok(ExitCode::from(1))
                } else {
                    Err(failed(format!(
                        "invalid UserSig (service code {}): {e}",
                        e.error_code().code()
                    )))
                }
            }
        },
    }
}

async fn emulator(g: &Global, a: EmulatorArgs) -> Result<ExitCode, Failure> {
    let mut config = EmulatorConfig::default();
    if let Some(id) = g.sdkappid {
        config.sdkappid = id;
    }
    if let Some(key) = &g.secret_key {
        config.secret_key = SecretKey::new(key.clone());
    }
    if let Some(admin) = &g.admin {
        config.admin = admin.clone();
    }
    config.listen = a.listen;
    config.groups = a.groups;
    config.rate_limit = (a.rate_limit > 0).then_some(a.rate_limit);
    config.latency = Duration::from_millis(a.latency_ms);
    config.faults.rate = a.fault_rate;
    config.faults.seed = a.seed;
    config.faults.delay = Duration::from_millis(a.fault_delay_ms);
    if !a.fault_kinds.is_empty() {
        config.faults.kinds = a
            .fault_kinds
            .iter()
            .map(|k| k.parse::<FaultKind>())
            .collect::<Result<_, _>>()
            .map_err(usage)?;
    }
    config.tls = !a.plain;
    config.ban_feature_enabled = !a.ban_feature_off;
    config.strict_accounts = a.strict_accounts;
    let emu = Emulator::start(config).await.map_err(usage)?;
    let info = emu.ready_info();
    if let Some(path) = &a.ready_file {
        let text = serde_json::to_string_pretty(&info).unwrap_or_default();
        // Write then rename, so a watcher never reads half a file.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| usage(format!("cannot write --ready-file {}: {e}", path.display())))?;
    }
    eprintln!(
        "ban emulator listening on {} (SDKAppID {}, admin {}); Ctrl-C stops it",
        info.endpoint, info.sdkappid, info.admin
    );
    if a.ready_file.is_none() && info.ca_cert_pem.is_some() {
        eprintln!("pass --ready-file PATH to get its CA certificate and credentials as JSON");
    }
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| failed(format!("cannot wait for Ctrl-C: {e}")))?;
    emu.stop().await;
    Ok(ExitCode::SUCCESS)
}
