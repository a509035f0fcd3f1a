//! `banctl rules check` and `banctl rules test`: a rules file checked, and
//! tried on recorded traffic (serve's `--record`) before it goes live,
//! beside a baseline (the rules at work, or the audit log of what they did).

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use ban_callback::Callback;
use ban_moderation::{
    audit_verdicts, differences, Difference, Recorded, Replay, RuleStats, Verdicts,
};
use ban_rules::Rules;
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::output::{self, escape, line, usage, Failure};

/// `banctl rules ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum RulesCmd {
    /// Check a rules file: exit 0, or 2 naming the line and the reason.
    Check {
        /// The rules, TOML.
        #[arg(long, value_name = "FILE")]
        rules: PathBuf,
    },
    /// Replay callbacks recorded by `serve --record` through rules, in
    /// their own time and sending nothing; show what each rule does and
    /// who is treated differently from a baseline.
    Test(TestArgs),
}

/// `banctl rules test`.
#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// The rules to try, TOML.
    #[arg(long, value_name = "FILE")]
    rules: PathBuf,
    /// A recording from `serve --record` (repeatable, oldest first:
    /// `--callbacks rec.jsonl.1 --callbacks rec.jsonl`).
    #[arg(long, value_name = "FILE", required = true)]
    callbacks: Vec<PathBuf>,
    /// Compare with these rules (the ones at work), replayed the same way.
    #[arg(long, value_name = "FILE", conflicts_with = "audit")]
    baseline: Option<PathBuf>,
    /// Compare with what serve decided, as its --audit log says (mutes and
    /// bans queued within the recording's time; refusals are not audited).
    #[arg(long, value_name = "FILE")]
    audit: Option<PathBuf>,
    /// Exit 1 when an account is treated differently from the baseline.
    #[arg(long)]
    fail_on_diff: bool,
    /// Serve's --callback-window, so repeats count as they did.
    #[arg(long, value_name = "DURATION", default_value = "60", value_parser = crate::args::parse_window)]
    callback_window: u64,
}

/// The longest recorded line read.
const MAX_LINE: u64 = 8 << 20;

pub(crate) async fn run(json: bool, cmd: RulesCmd) -> Result<ExitCode, Failure> {
    match cmd {
        RulesCmd::Check { rules } => {
            let r = Rules::load(&rules).map_err(|e| usage(e.to_string()))?;
            if json {
                let names: Vec<&str> = r.rules.iter().map(|r| r.name.as_str()).collect();
                output::json_value(&serde_json::json!({ "rules": names }))?;
            } else {
                line(format!(
                    "{}: {} rule(s), all good",
                    rules.display(),
                    r.rules.len()
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        RulesCmd::Test(a) => test(json, &a).await,
    }
}

/// What `rules test` prints with `--json`.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    callbacks: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    from_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to_ms: Option<u64>,
    /// Recorded lines whose body is not a callback of its command.
    undecodable: u64,
    /// Last lines cut short (a recording still being written).
    torn: u64,
    rules: &'a [RuleStats],
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<Baseline<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    differences: Option<&'a [Difference]>,
}

#[derive(Debug, Serialize)]
struct Baseline<'a> {
    /// `rules` or `audit`.
    kind: &'static str,
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    rules: Option<&'a [RuleStats]>,
}

fn load(path: &Path, flag: &str) -> Result<Rules, Failure> {
    Rules::load(path).map_err(|e| usage(format!("{flag}: {}", crate::output::chain(&e))))
}

async fn test(json: bool, a: &TestArgs) -> Result<ExitCode, Failure> {
    let window = Duration::from_secs(a.callback_window);
    let mut new = Replay::with_window(load(&a.rules, "--rules")?, window);
    let mut old = match &a.baseline {
        Some(p) => Some(Replay::with_window(load(p, "--baseline")?, window)),
        None => None,
    };
    if a.fail_on_diff && a.baseline.is_none() && a.audit.is_none() {
        return Err(usage(
            "--fail-on-diff compares with a baseline: give --baseline OLD.toml or --audit FILE",
        ));
    }
    let audit = match &a.audit {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .map_err(|e| usage(format!("--audit {} cannot be read: {e}", p.display())))?,
        ),
        None => None,
    };
    let read = replay_files(&a.callbacks, &mut new, old.as_mut()).await?;
    let baseline_verdicts: Option<(Verdicts, bool)> = match (&old, &audit) {
        (Some(o), _) => Some((o.verdicts(), false)),
        (None, Some(text)) => {
            let (from, to) = (read.from_ms.unwrap_or(0), read.to_ms.unwrap_or(0));
            // Decisions follow their callback by a moment.
            let v = audit_verdicts(text, from, to.saturating_add(5_000)).map_err(|e| {
                usage(format!(
                    "--audit {}: {e}",
                    a.audit.as_deref().unwrap_or(Path::new("")).display()
                ))
            })?;
            Some((v, true))
        }
        (None, None) => None,
    };
    let diff = baseline_verdicts
        .as_ref()
        .map(|(v, actions_only)| differences(v, &new.verdicts(), *actions_only));
    let baseline = match (&a.baseline, &a.audit) {
        (Some(p), _) => Some(Baseline {
            kind: "rules",
            file: p.display().to_string(),
            rules: old.as_ref().map(Replay::stats),
        }),
        (None, Some(p)) => Some(Baseline {
            kind: "audit",
            file: p.display().to_string(),
            rules: None,
        }),
        _ => None,
    };
    let summary = Summary {
        callbacks: new.callbacks(),
        from_ms: read.from_ms,
        to_ms: read.to_ms,
        undecodable: read.undecodable,
        torn: read.torn,
        rules: new.stats(),
        baseline,
        differences: diff.as_deref(),
    };
    if json {
        output::json_value(&summary)?;
    } else {
        print_text(a, &summary)?;
    }
    let differs = diff.is_some_and(|d| !d.is_empty());
    Ok(if a.fail_on_diff && differs {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// What was read of the recordings.
#[derive(Debug, Default)]
struct Scanned {
    from_ms: Option<u64>,
    to_ms: Option<u64>,
    undecodable: u64,
    torn: u64,
}

/// Feeds every recorded callback, file after file, to both replays.
async fn replay_files(
    files: &[PathBuf],
    new: &mut Replay,
    mut old: Option<&mut Replay>,
) -> Result<Scanned, Failure> {
    let mut read = Scanned::default();
    let mut buf = String::new();
    for path in files {
        let file = std::fs::File::open(path).map_err(|e| {
            usage(format!(
                "--callbacks {} cannot be read: {e}",
                path.display()
            ))
        })?;
        let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
        let mut n = 0usize;
        loop {
            buf.clear();
            let got = (&mut reader)
                .take(MAX_LINE)
                .read_line(&mut buf)
                .map_err(|e| {
                    usage(format!(
                        "--callbacks {} line {}: {e}",
                        path.display(),
                        n + 1
                    ))
                })?;
            if got == 0 {
                break;
            }
            n += 1;
            let ends = buf.ends_with('\n');
            if !ends && got as u64 == MAX_LINE {
                return Err(usage(format!(
                    "--callbacks {} line {n}: over {MAX_LINE} bytes; not a recording of serve --record",
                    path.display()
                )));
            }
            if buf.trim().is_empty() {
                continue;
            }
            let rec: Recorded<'_> = match serde_json::from_str(&buf) {
                Ok(r) => r,
                // The last line of a recording still being written.
                Err(_) if !ends && reader.fill_buf().map_or(true, |b| b.is_empty()) => {
                    read.torn += 1;
                    break;
                }
                Err(e) => {
                    return Err(usage(format!(
                        "--callbacks {} line {n}: not a recorded callback ({e}): {}",
                        path.display(),
                        escape(&buf.chars().take(60).collect::<String>())
                    )))
                }
            };
            let Ok(cb) = Callback::decode(&rec.command, rec.body.get().as_bytes()) else {
                read.undecodable += 1;
                continue;
            };
            read.from_ms.get_or_insert(rec.t_ms);
            read.to_ms = Some(read.to_ms.unwrap_or(0).max(rec.t_ms));
            let id = rec.id.as_deref();
            new.feed(rec.t_ms, id, &cb).await;
            if let Some(o) = old.as_deref_mut() {
                o.feed(rec.t_ms, id, &cb).await;
            }
        }
    }
    Ok(read)
}

fn time(ms: u64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_millis(ms);
    humantime::format_rfc3339_millis(t).to_string()
}

fn stats_table(title: &str, stats: &[RuleStats]) -> Result<(), Failure> {
    line(title)?;
    for s in stats {
        let steps: Vec<String> = s.steps.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        line(format!(
            "  {} ({}): {} offences, {} refused, {} masked, {} allow-listed{}{}",
            escape(&s.rule),
            s.mode,
            s.offences,
            s.refused,
            s.masked,
            s.allowed,
            if steps.is_empty() { "" } else { "; " },
            steps.join(", ")
        ))?;
    }
    Ok(())
}

fn print_text(a: &TestArgs, s: &Summary<'_>) -> Result<(), Failure> {
    let span = match (s.from_ms, s.to_ms) {
        (Some(f), Some(t)) => format!(" from {} to {}", time(f), time(t)),
        _ => String::new(),
    };
    line(format!("replayed {} callback(s){span}", s.callbacks))?;
    if s.undecodable > 0 || s.torn > 0 {
        line(format!(
            "skipped: {} line(s) whose body is not a callback of its command, {} torn last line(s)",
            s.undecodable, s.torn
        ))?;
    }
    stats_table(&format!("rules {}:", a.rules.display()), s.rules)?;
    if let Some(Baseline {
        file,
        rules: Some(stats),
        ..
    }) = &s.baseline
    {
        stats_table(&format!("baseline {file}:"), stats)?;
    }
    let (Some(b), Some(diff)) = (&s.baseline, s.differences) else {
        return output::flush();
    };
    let what = if b.kind == "audit" {
        format!("what the audit log {} says was done", b.file)
    } else {
        b.file.clone()
    };
    if diff.is_empty() {
        line(format!("no account is treated differently from {what}"))?;
        return output::flush();
    }
    line(format!(
        "{} account(s) treated differently from {what}:",
        diff.len()
    ))?;
    for d in diff {
        let step = d.why.step.as_deref().map_or(String::new(), |st| {
            let nth = d
                .why
                .offence
                .map_or(String::new(), |n| format!(", offence {n}"));
            format!(", {st}{nth}")
        });
        line(format!(
            "  {:<13} {} {} ({} -> {}): rule {}{step} at {}: {}",
            d.change.as_str(),
            escape(&d.group),
            escape(&d.account),
            d.old.as_str(),
            d.new.as_str(),
            escape(&d.why.rule),
            time(d.why.time_ms),
            escape(&d.why.evidence)
        ))?;
    }
    output::flush()
}
