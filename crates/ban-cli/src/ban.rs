//! `banctl ban`, `unban`, `mute` and `unmute`: a bulk job with a progress bar, Ctrl-C
//! and SIGTERM handling, an optional journal, and a report that accounts
//! for every member.

use std::io::IsTerminal;
use std::process::ExitCode;

use ban_facade::{AbortSignal, BulkAction, BulkOptions, BulkReport, Progress, StopKind};
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::{Global, Target};
use crate::members;
use crate::output::{self, escape, Failure};
use crate::settings::Settings;
use crate::signals::{self, Signals, Stop};

/// Runs a bulk job of `action` on the target's members.
pub(crate) async fn run(
    g: &Global,
    target: &Target,
    action: BulkAction<'_>,
) -> Result<ExitCode, Failure> {
    let members = members::read(&target.members, target.members_file.as_deref(), target.trim)?;
    target.lists.check()?;
    if members.trimmed > 0 {
        eprintln!(
            "--trim: trimmed whitespace from {} member(s)",
            members.trimmed
        );
    }
    let client = Settings::new(g).client(&target.rate).await?;
    let bar = progress_bar(g.json, members.accounts.len());
    let abort = AbortSignal::new();
    let signals = on_signals(&abort, &bar)?;
    let mut options = BulkOptions::new()
        .abort_on(abort)
        .priority(target.priority)
        .progress({
            let bar = bar.clone();
            move |p| tick(&bar, p)
        });
    if let Some(path) = &target.journal {
        options = options.journal(path);
    }
    let result = client
        .bulk(action, &target.group, &members.accounts, options)
        .await;
    signals.abort();
    bar.finish_and_clear();
    let report = result.map_err(|e| members.explain(e))?;
    let problems = target.lists.write(&report);
    let code = print_report(g, &report, target)?;
    Ok(crate::lists::worst(code, &report, &problems))
}

/// First Ctrl-C, SIGTERM or SIGHUP: stop dispatching, let calls on the
/// wire finish, print the report (exit 130, 143 or 129). Second: exit at
/// once.
pub(crate) async fn watch_signals(mut signals: Signals, abort: AbortSignal, bar: ProgressBar) {
    let Ok(stop) = signals.next().await else {
        return;
    };
    bar.suspend(|| {
        eprintln!(
            "{}: no new calls; waiting for the calls in flight, then the report (again to exit at once)",
            said(stop)
        );
    });
    abort.abort();
    if signals.next().await.is_ok() {
        std::process::exit(i32::from(stop.exit_code()));
    }
}

/// How an interruption is said: "interrupted", and by what when it was not
/// Ctrl-C.
pub(crate) fn said(stop: Stop) -> String {
    match stop {
        Stop::Interrupt => "interrupted".to_owned(),
        other => format!("interrupted by {}", other.name()),
    }
}

/// Starts watching for the signals that stop a job, for `abort`.
pub(crate) fn on_signals(
    abort: &AbortSignal,
    bar: &ProgressBar,
) -> Result<tokio::task::JoinHandle<()>, Failure> {
    let signals =
        Signals::new(true).map_err(|e| output::failed(format!("cannot watch for signals: {e}")))?;
    Ok(tokio::spawn(watch_signals(
        signals,
        abort.clone(),
        bar.clone(),
    )))
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

fn print_report(g: &Global, report: &BulkReport, target: &Target) -> Result<ExitCode, Failure> {
    let verb = report.action.done_key();
    let total = report.total();
    if g.json {
        output::json_value(report)?;
    } else {
        output::line(format_args!(
            "{verb} {} of {} of {} in {:.2} s ({}, {}{}{}{})",
            report.succeeded.len(),
            output::count(total as u64, "member", "members"),
            escape(&report.group),
            report.elapsed.as_secs_f64(),
            output::count(report.calls, "call", "calls"),
            output::count(report.retries, "retry", "retries"),
            if report.state_read_calls > 0 {
                format!(
                    ", {} reading the members' state first, for undo",
                    output::count(report.state_read_calls, "call", "calls")
                )
            } else {
                String::new()
            },
            if report.resumed > 0 {
                format!(", {} done by an earlier run", report.resumed)
            } else {
                String::new()
            },
            if report.duplicates > 0 {
                format!(", {} duplicates dropped", report.duplicates)
            } else {
                String::new()
            },
        ))?;
        output::report_members(report)?;
    }
    output::flush()?;
    let Some(stop) = &report.stopped else {
        return Ok(if report.all_succeeded() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    };
    let left = report.failed.len() + report.not_attempted.len();
    if stop.kind == StopKind::Interrupted {
        let done = report.succeeded.len();
        let by = said(signals::stopped_by().unwrap_or(Stop::Interrupt));
        match &target.journal {
            Some(j) => eprintln!(
                "{by}: {done} of {total} done; rerun the same command (with --journal {}) to finish",
                j.display()
            ),
            None => eprintln!("{by}: {done} of {total} done; rerun with --journal FILE to finish"),
        }
    } else {
        let resume = match &target.journal {
            Some(j) => format!(
                "; run the same command with --journal {} to resume",
                j.display()
            ),
            None if report.not_attempted.is_empty() => String::new(),
            None if g.json => "; they are listed in not_attempted".to_owned(),
            None if report.not_attempted.len() > output::LISTED => {
                "; --json lists them in not_attempted".to_owned()
            }
            None => "; they are listed above as not_attempted lines".to_owned(),
        };
        eprintln!(
            "error: stopped early: {}. {left} of {total} member(s) not done, {} not attempted{resume}",
            output::stop_text(stop),
            report.not_attempted.len(),
        );
    }
    Ok(ExitCode::from(if stop.kind == StopKind::Interrupted {
        signals::interrupted_code()
    } else {
        2
    }))
}
