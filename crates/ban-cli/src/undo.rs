//! `banctl undo --journal FILE`, `banctl undo --job ID` and `banctl undo
//! --audit FILE --rule R`: a ban or mute job, or serve's actions of one
//! rule, taken back exactly, as its journal (for a fleet job, Redis; for
//! serve, its audit log) recorded the members' state before it.

use std::path::PathBuf;
use std::process::ExitCode;

use ban_facade::{AbortSignal, StopKind, UndoError, UndoOptions, UndoReport};
use clap::Args;

use crate::args::{Global, Rate};
use crate::output::{self, escape, failed_err, usage_err, Failure, LISTED};
use crate::settings::Settings;

/// `banctl undo`.
#[derive(Debug, Args)]
pub(crate) struct UndoArgs {
    /// The journal of the ban or mute job to take back (`banctl ban|mute --journal FILE`).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present_any = ["job", "audit"],
        conflicts_with_all = ["job", "audit"]
    )]
    journal: Option<PathBuf>,
    /// The fleet job to take back (`banctl job submit`; needs --redis).
    #[arg(long, value_name = "ID", conflicts_with = "audit")]
    job: Option<String>,
    /// The audit log of `banctl serve --audit` whose actions of --rule to
    /// take back (it records what each account had before).
    #[arg(long, value_name = "FILE", requires = "rule")]
    audit: Option<PathBuf>,
    /// With --audit: the rule whose actions to take back.
    #[arg(long, value_name = "NAME", requires = "audit")]
    rule: Option<String>,
    /// With --audit: only actions from this time on (RFC 3339, or Unix seconds).
    #[arg(long, value_name = "TIME", requires = "audit", value_parser = parse_time)]
    since: Option<u64>,
    /// With --audit: only actions up to this time (RFC 3339, or Unix seconds).
    #[arg(long, value_name = "TIME", requires = "audit", value_parser = parse_time)]
    until: Option<u64>,
    /// Where the undo keeps its plan and its own journals, so a second run
    /// finishes the first (default: FILE.undo, undo-ID for a job,
    /// FILE.undo/RULE-SINCE-UNTIL for an audit log).
    #[arg(long, value_name = "DIR")]
    undo_dir: Option<PathBuf>,
    /// Who runs the undo, recorded in its plan and report (default: $USER).
    #[arg(long, value_name = "NAME")]
    by: Option<String>,
    #[command(flatten)]
    rate: Rate,
}

/// A time as Unix milliseconds: RFC 3339 (`2026-12-04T20:00:00Z`) or
/// Unix seconds.
fn parse_time(s: &str) -> Result<u64, String> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<u64>()
            .ok()
            .and_then(|secs| secs.checked_mul(1000))
            .ok_or_else(|| format!("{s:.20}: too large for Unix seconds"));
    }
    let t = humantime::parse_rfc3339_weak(s).map_err(|e| {
        let prefix: String = s.chars().take(40).collect();
        format!("{prefix:?} is not an RFC 3339 time (2026-12-04T20:00:00Z) or Unix seconds: {e}")
    })?;
    let d = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| format!("{s:.40}: before 1970"))?;
    u64::try_from(d.as_millis()).map_err(|_| format!("{s:.40}: too far ahead"))
}

/// Who runs it: `--by`, else the login name.
fn runner(by: Option<&str>) -> String {
    by.map(str::to_owned)
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

pub(crate) async fn run(g: &Global, a: UndoArgs) -> Result<ExitCode, Failure> {
    let client = Settings::new(g).client(&a.rate).await?;
    let abort = AbortSignal::new();
    let signals = crate::ban::on_signals(&abort, &indicatif::ProgressBar::hidden())?;
    let mut options = UndoOptions::new(runner(a.by.as_deref())).abort_on(abort);
    if let Some(d) = &a.undo_dir {
        options = options.dir(d);
    }
    if let (Some(audit), Some(rule)) = (&a.audit, &a.rule) {
        let selection = ban_moderation::Selection::new(rule.clone(), a.since, a.until);
        let r = undo_audit(&client, audit, &selection, a.undo_dir.clone(), options).await;
        signals.abort();
        return r.and_then(|reports| finish(g, &reports));
    }
    let result = match (&a.journal, &a.job) {
        (Some(journal), _) => client.undo(journal, options).await,
        (None, Some(id)) => {
            let settings = Settings::new(g);
            let (url, prefix) = settings.redis(&a.rate)?;
            let app = settings.require_sdkappid()?;
            let queue = crate::job::connect(&url, &prefix, app, false).await?;
            let job = queue.undo_source(id).await.map_err(crate::job::job_error)?;
            let dir = a
                .undo_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("undo-{id}")));
            client
                .undo_job(&job, &format!("job {id}"), &dir, options)
                .await
        }
        (None, None) => return Err(output::usage("give --journal FILE or --job ID")),
    };
    signals.abort();
    let report = match result {
        Ok(r) => r,
        Err(e @ UndoError::Read(_)) => return Err(failed_err(e)),
        Err(e @ UndoError::Plan { .. }) => {
            return Err(output::usage(format!(
                "{} (--undo-dir names the directory)",
                output::chain(&e)
            )))
        }
        Err(e) => return Err(usage_err(e)),
    };
    if g.json {
        output::json_value(&report)?;
        output::flush()?;
    } else {
        print(&report)?;
    }
    Ok(exit_code(&report))
}

/// Takes back serve's actions of `selection` recorded in `audit`: one
/// undo per group and kind, each with a plan of its own under `dir`, and
/// each noted in the audit log and its reversal ledger.
async fn undo_audit(
    client: &ban_facade::Client,
    audit: &std::path::Path,
    selection: &ban_moderation::Selection,
    dir: Option<PathBuf>,
    options: UndoOptions,
) -> Result<Vec<UndoReport>, Failure> {
    let jobs = ban_moderation::audit_jobs(audit, selection).map_err(usage_err)?;
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let end = |t: Option<u64>| t.map_or_else(|| "all".to_owned(), |t| (t / 1000).to_string());
    let base = dir.unwrap_or_else(|| {
        let mut p = audit.as_os_str().to_owned();
        p.push(".undo");
        PathBuf::from(p).join(format!(
            "{}-{}-{}",
            safe(&selection.rule),
            end(selection.since_ms),
            end(selection.until_ms)
        ))
    });
    let mut reports = Vec::new();
    for job in jobs {
        let c = &job.contents;
        let dir = base.join(format!("{}-{}", safe(&c.group), c.action));
        let source = format!("rule {} in {}", selection.rule, audit.display());
        let mut report = match client.undo_job(c, &source, &dir, options.clone()).await {
            Ok(r) => r,
            Err(e @ UndoError::Read(_)) => return Err(failed_err(e)),
            Err(e) => return Err(usage_err(e)),
        };
        report.left_alone.extend(job.unknown.into_iter().map(|member| {
            ban_facade::LeftAlone::new(
                member,
                "what it had before is not in the audit log (the read failed, or serve predates it)",
            )
        }));
        let mut r = ban_moderation::Reversal::new(&selection.rule, &c.group, c.action, &report.by);
        r.reversed = (report.lifted.len() + report.restored.len()) as u64;
        r.left_alone = report.left_alone.len() as u64;
        r.failed = (report.failed.len() + report.not_attempted.len()) as u64;
        ban_moderation::note_reversal(audit, selection, &r).map_err(|e| {
            output::failed(format!(
                "the undo ran but its line could not be added to {}: {e}",
                audit.display()
            ))
        })?;
        let stopped = report.stopped.is_some();
        reports.push(report);
        if stopped {
            break;
        }
    }
    Ok(reports)
}

/// Prints the reports of an undo of an audit log's actions; the exit code
/// of the worst.
fn finish(g: &Global, reports: &[UndoReport]) -> Result<ExitCode, Failure> {
    if g.json {
        output::json_value(&serde_json::json!({ "undos": reports }))?;
        output::flush()?;
    } else if reports.is_empty() {
        output::line("nothing to undo: no action of that rule was done in that range")?;
        output::flush()?;
    } else {
        for r in reports {
            print(r)?;
        }
    }
    let codes: Vec<ExitCode> = reports.iter().map(exit_code).collect();
    let worst = reports
        .iter()
        .position(|r| r.stopped.is_some())
        .or_else(|| reports.iter().position(|r| !r.all_succeeded()));
    Ok(worst.map_or(ExitCode::SUCCESS, |i| codes[i]))
}

fn exit_code(report: &UndoReport) -> ExitCode {
    match &report.stopped {
        Some(s) if s.kind == StopKind::Interrupted => {
            let by = crate::signals::stopped_by().unwrap_or(crate::signals::Stop::Interrupt);
            eprintln!(
                "{}: run the same undo again to finish (it follows the same plan and skips what is done)",
                crate::ban::said(by)
            );
            ExitCode::from(crate::signals::interrupted_code())
        }
        Some(s) => {
            eprintln!(
                "error: the undo stopped early: {}",
                crate::output::stop_text(s)
            );
            ExitCode::from(2)
        }
        None if report.all_succeeded() => ExitCode::SUCCESS,
        None => ExitCode::from(1),
    }
}

fn print(r: &UndoReport) -> Result<(), Failure> {
    let lifted = if r.undid == ban_facade::Action::Ban {
        "unbanned"
    } else {
        "unmuted"
    };
    output::line(format_args!(
        "undid the {} job in {} (run by {}): {} {lifted}, {} given back their earlier end, {} left alone, {} failed, {} not attempted; {} calls ({} reading the list first), {:.2} s{}",
        r.undid,
        escape(&r.group),
        escape(&r.by),
        r.lifted.len(),
        r.restored.len(),
        r.left_alone.len(),
        r.failed.len(),
        r.not_attempted.len(),
        r.calls,
        r.state_read_calls,
        r.elapsed.as_secs_f64(),
        if r.resumed > 0 {
            format!(", {} done by an earlier run", r.resumed)
        } else {
            String::new()
        }
    ))?;
    for l in r.left_alone.iter().take(LISTED) {
        output::line(format_args!(
            "left_alone\t{}\t{}",
            escape(&l.member),
            escape(&l.reason)
        ))?;
    }
    for f in r.failed.iter().take(LISTED) {
        let code = f.code.map_or_else(|| "-".to_owned(), |c| c.to_string());
        output::line(format_args!(
            "failed\t{}\tcode {code}\t{}",
            escape(&f.member),
            escape(&f.reason)
        ))?;
    }
    let hidden = r.left_alone.len().saturating_sub(LISTED) + r.failed.len().saturating_sub(LISTED);
    if hidden > 0 {
        output::line(format_args!(
            "... and {hidden} more not listed; --json lists every one"
        ))?;
    }
    output::flush()
}
