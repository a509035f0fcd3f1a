//! Decided actions become calls: offenders are coalesced for a moment into
//! as few calls as the limits allow (500 per mute, 20 per ban), run by the
//! job engine in the urgent lane (sharing the app's budget, and the fleet's
//! with `--redis`), retried like any call; every one ends in the audit log
//! with its result.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ban_facade::{BanDuration, BulkAction, BulkOptions, Client, MuteDuration, Priority};
use tokio::sync::mpsc;

use super::audit::{Audit, Line};
use super::counts::Counts;
use super::decide::{offence_key, Act};
use ban_rules::Step;

/// How long the first action of a batch waits for others to join it.
const COALESCE: Duration = Duration::from_millis(20);
/// The most actions taken into one round of calls.
const ROUND_MAX: usize = 20_000;

/// Runs actions until the queue closes.
pub(crate) async fn dispatch(
    client: Client,
    audit: Audit,
    counts: Arc<Counts>,
    mut rx: mpsc::Receiver<Act>,
) {
    let mut running = tokio::task::JoinSet::new();
    while let Some(first) = rx.recv().await {
        let mut round = vec![first];
        let until = tokio::time::Instant::now() + COALESCE;
        while round.len() < ROUND_MAX {
            tokio::select! {
                next = rx.recv() => match next {
                    Some(a) => round.push(a),
                    None => break,
                },
                () = tokio::time::sleep_until(until) => break,
            }
        }
        // A later offence's step supersedes an earlier one's that has not
        // been sent yet (here or on another instance sharing the counts),
        // so a shorter mute never lands after a longer one it follows.
        let mut jobs: HashMap<(String, Step), Vec<Act>> = HashMap::new();
        for act in round {
            let latest = counts
                .get(&offence_key(&act.rule, &act.group, &act.account))
                .await;
            if latest > act.offence {
                let mut line =
                    Line::new("action", format!("skipped: superseded by offence {latest}"));
                line.group = Some(act.group);
                line.account = Some(act.account);
                line.rule = Some(act.rule);
                line.offence = Some(act.offence);
                line.step = Some(act.step.to_string());
                audit.write(line);
                continue;
            }
            jobs.entry((act.group.clone(), act.step))
                .or_default()
                .push(act);
        }
        for ((group, step), acts) in jobs {
            let client = client.clone();
            let audit = audit.clone();
            running.spawn(async move { run(&client, &audit, &group, step, acts).await });
        }
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
}

fn action(step: Step) -> Result<BulkAction<'static>, String> {
    let secs = |d: Duration| u32::try_from(d.as_secs()).map_err(|_| format!("{step}: too long"));
    Ok(match step {
        Step::Mute(None) => BulkAction::Mute {
            duration: MuteDuration::PERMANENT,
        },
        Step::Mute(Some(d)) => BulkAction::Mute {
            duration: MuteDuration::from_secs(secs(d)?),
        },
        Step::Ban(d) => BulkAction::Ban {
            duration: BanDuration::from_secs(secs(d)?).map_err(|e| e.to_string())?,
            description: None,
        },
    })
}

/// One step for the accounts of one group: one bulk job.
async fn run(client: &Client, audit: &Audit, group: &str, step: Step, acts: Vec<Act>) {
    let accounts: Vec<&str> = acts.iter().map(|a| a.account.as_str()).collect();
    let mut results: HashMap<String, String> = HashMap::new();
    match action(step) {
        Err(e) => {
            for a in &acts {
                results.insert(a.account.clone(), format!("failed: {e}"));
            }
        }
        Ok(bulk) => {
            let options = BulkOptions::new().priority(Priority::Urgent);
            match client.bulk(bulk, group, &accounts, options).await {
                Ok(report) => {
                    for m in &report.succeeded {
                        results.insert(m.clone(), "done".to_owned());
                    }
                    for f in &report.failed {
                        let code = f.code.map(|c| format!("{c} ")).unwrap_or_default();
                        results.insert(f.member.clone(), format!("failed: {code}{}", f.reason));
                    }
                    let why = report
                        .stopped
                        .as_ref()
                        .map_or_else(|| "the job stopped".to_owned(), |s| s.to_string());
                    for m in &report.not_attempted {
                        results.insert(m.clone(), format!("not attempted: {why}"));
                    }
                }
                Err(e) => {
                    for a in &acts {
                        results.insert(a.account.clone(), format!("failed: {e}"));
                    }
                }
            }
        }
    }
    for a in acts {
        let result = results
            .get(&a.account)
            .cloned()
            .unwrap_or_else(|| "failed: no outcome was reported".to_owned());
        let outcome = result.split(':').next().unwrap_or("failed").to_owned();
        metrics::counter!("serve_actions_total", "step" => step.to_string(), "outcome" => outcome)
            .increment(1);
        let mut line = Line::new("action", result);
        line.group = Some(a.group);
        line.account = Some(a.account);
        line.rule = Some(a.rule);
        line.offence = Some(a.offence);
        line.step = Some(step.to_string());
        audit.write(line);
    }
}
