//! `banctl undo --journal FILE` and `banctl undo --job ID`: a ban or mute
//! job taken back exactly, as its journal (or, for a fleet job, Redis)
//! recorded the members' state before it.

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
        required_unless_present = "job",
        conflicts_with = "job"
    )]
    journal: Option<PathBuf>,
    /// The fleet job to take back (`banctl job submit`; needs --redis).
    #[arg(long, value_name = "ID")]
    job: Option<String>,
    /// Where the undo keeps its plan and its own journals, so a second run
    /// finishes the first (default: FILE.undo, or undo-ID for a job).
    #[arg(long, value_name = "DIR")]
    undo_dir: Option<PathBuf>,
    /// Who runs the undo, recorded in its plan and report (default: $USER).
    #[arg(long, value_name = "NAME")]
    by: Option<String>,
    #[command(flatten)]
    rate: Rate,
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
    let signals = tokio::spawn(crate::ban::watch_signals(
        abort.clone(),
        indicatif::ProgressBar::hidden(),
    ));
    let mut options = UndoOptions::new(runner(a.by.as_deref())).abort_on(abort);
    if let Some(d) = &a.undo_dir {
        options = options.dir(d);
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
        Err(e) => return Err(usage_err(e)),
    };
    print(g, &report)?;
    Ok(match &report.stopped {
        Some(s) if s.kind == StopKind::Interrupted => {
            eprintln!(
                "interrupted: run the same undo again to finish (it follows the same plan and skips what is done)"
            );
            ExitCode::from(130)
        }
        Some(s) => {
            eprintln!("error: the undo stopped early: {}: {}", s.kind, s.reason);
            ExitCode::from(2)
        }
        None if report.all_succeeded() => ExitCode::SUCCESS,
        None => ExitCode::from(1),
    })
}

fn print(g: &Global, r: &UndoReport) -> Result<(), Failure> {
    if g.json {
        output::json_value(r)?;
        return output::flush();
    }
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
