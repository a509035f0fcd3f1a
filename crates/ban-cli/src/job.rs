//! `banctl job`: ban jobs shared by workers through Redis Streams.

use std::process::ExitCode;
use std::time::Duration;

use ban_facade::{AbortSignal, BulkAction, JobSpec, JobState};
use ban_fleet::{JobError, JobQueue, RedisAddr, Worker, WorkerConfig};

use crate::args::{Global, JobCmd, Rate};
use crate::members;
use crate::output::{self, chain, escape, failed, usage, Failure};
use crate::settings::Settings;

/// The read before a ban or mute job failed: nothing was queued.
fn prior_read_failed(e: &ban_facade::CallError) -> Failure {
    let stop = ban_facade::read_failed(e);
    let text = format!(
        "{stop}; nothing was queued (--no-prior-read skips the read, and with it the exact undo)"
    );
    match stop.kind {
        ban_facade::StopKind::NoAnswer | ban_facade::StopKind::Unreachable => failed(text),
        _ => usage(text),
    }
}

pub(crate) fn job_error(e: JobError) -> Failure {
    match e {
        JobError::Input(_)
        | JobError::NoSuchJob(_)
        | JobError::Setting(_)
        | JobError::Setup(_)
        | JobError::State { .. }
        | JobError::Quarantined { .. } => usage(chain(&e)),
        other => failed(chain(&other)),
    }
}

/// Connects to the queue; with `wait`, retries an unreachable Redis with
/// capped backoff (100 ms doubling to 5 s), saying so once.
pub(crate) async fn connect(
    url: &RedisAddr,
    prefix: &str,
    app: u64,
    wait: bool,
) -> Result<JobQueue, Failure> {
    let mut backoff = Duration::from_millis(100);
    let mut said = false;
    // Watched from the first failed try on, so no signal between two
    // tries is missed.
    let mut signals = None;
    loop {
        match JobQueue::connect(url.clone(), prefix, app).await {
            Ok(q) => {
                if said {
                    eprintln!("Redis answers: the worker starts");
                }
                return Ok(q);
            }
            Err(JobError::Setup(e)) if wait && e.is_unreachable() => {
                if !said {
                    eprintln!(
                        "warning: --redis: {}; waiting for it (Ctrl-C or SIGTERM stops)",
                        chain(&e)
                    );
                    said = true;
                }
                if signals.is_none() {
                    signals =
                        Some(crate::signals::Signals::new(true).map_err(|e| {
                            output::failed(format!("cannot watch for signals: {e}"))
                        })?);
                }
                let signals = signals.as_mut().expect("set just above");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    Ok(by) = signals.next() => return Err(Failure {
                        code: by.exit_code(),
                        kind: "interrupted",
                        message: format!("{} while waiting for Redis", crate::ban::said(by)),
                    }),
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(usage(format!("--redis (TIM_REDIS_URL): {}", chain(&e)))),
        }
    }
}

pub(crate) async fn run(g: &Global, cmd: JobCmd, rate: &Rate) -> Result<ExitCode, Failure> {
    let settings = Settings::new(g);
    let (url, prefix) = settings.redis(rate)?;
    let app = settings.require_sdkappid()?;
    // A worker is a service: Redis down at its start is waited out (an
    // outage is not a reason to exit); set up wrong is exit 2 at once.
    let wait_for_redis = matches!(cmd, JobCmd::Work { .. });
    let mut queue = connect(&url, &prefix, app, wait_for_redis).await?;
    if let Some(admin) = settings.admin() {
        queue = queue.admin(&admin);
    }
    match cmd {
        JobCmd::Submit {
            group,
            members: flags,
            members_file,
            trim,
            duration,
            description,
            unban,
            mute,
            unmute,
            priority,
            allow_volatile_redis,
            no_prior_read,
        } => {
            let queue = queue.allow_volatile(allow_volatile_redis);
            let list = members::read(&flags, members_file.as_deref(), trim)?;
            let action = match (unban, mute, unmute, duration) {
                (true, ..) => BulkAction::Unban,
                (_, Some(secs), ..) => BulkAction::Mute {
                    duration: ban_facade::MuteDuration::from_secs(secs),
                },
                (_, _, true, _) => BulkAction::Unmute,
                (.., Some(secs)) => BulkAction::Ban {
                    duration: ban_facade::BanDuration::try_from(secs)
                        .map_err(|e| usage(format!("--duration: {e}")))?,
                    description: description.as_deref(),
                },
                _ => {
                    return Err(usage(
                        "give --duration, --unban, --mute DURATION or --unmute",
                    ))
                }
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |t| t.as_secs());
            let (action, _) = action.to_job(now);
            let spec = JobSpec::new(&group, action)
                .map_err(|i| list.explain(i))?
                .with_priority(priority);
            // A ban or mute keeps the members' state before it, read
            // through the shared budget, so `banctl undo --job` is exact.
            let prior = match spec.action.kind() {
                ban_facade::Action::Ban | ban_facade::Action::Mute if !no_prior_read => {
                    let client = Settings::new(g).client(rate).await?;
                    let gid = ban_proto::GroupId::new(spec.group.clone())
                        .map_err(|e| usage(format!("--group: {e}")))?;
                    let kind = spec.action.kind();
                    Some(
                        client
                            .read_prior(kind, &gid, &list.accounts)
                            .await
                            .map_err(|e| prior_read_failed(&e))?,
                    )
                }
                _ => None,
            };
            let id = queue
                .submit_with_prior(&spec, &list.accounts, prior.as_ref())
                .await
                .map_err(|e| match e {
                    JobError::Input(i) => list.explain(i),
                    other => job_error(other),
                })?;
            if g.json {
                let distinct: std::collections::HashSet<&str> =
                    list.accounts.iter().map(String::as_str).collect();
                output::line(serde_json::json!({"job": id, "members": distinct.len()}))?;
            } else {
                output::line(&id)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        JobCmd::Work {
            max_in_flight,
            exit_when_idle,
            metrics_listen,
            lease_ms,
            max_deliveries,
        } => {
            if let Some(addr) = metrics_listen {
                // A real histogram (buckets), not the exporter's default
                // summary: quantiles can then be summed across workers.
                const WAIT_BUCKETS: &[f64] = &[
                    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                ];
                metrics_exporter_prometheus::PrometheusBuilder::new()
                    .set_buckets_for_metric(
                        metrics_exporter_prometheus::Matcher::Full(
                            "ban_limiter_wait_seconds".to_owned(),
                        ),
                        WAIT_BUCKETS,
                    )
                    .map_err(|e| usage(format!("--metrics-listen: {e}")))?
                    .with_http_listener(addr)
                    .install()
                    .map_err(|e| usage(format!("--metrics-listen {addr}: {e}")))?;
            }
            // Every worker shares the budget through the same Redis.
            let (node, cluster) = match &url {
                RedisAddr::Cluster(nodes) => (None, Some(nodes.join(","))),
                node => (Some(node_url(node)), None),
            };
            let shared = Rate {
                rate: rate.rate,
                redis: node,
                redis_cluster: cluster,
                redis_key_prefix: Some(prefix.clone()),
                redis_policy: rate.redis_policy.clone(),
                redis_optional: rate.redis_optional,
            };
            let client = settings.client(&shared).await?;
            let mut config = WorkerConfig::default()
                .max_in_flight(max_in_flight as usize)
                .exit_when_idle(exit_when_idle);
            if let Some(ms) = lease_ms {
                config = config.lease(Duration::from_millis(ms));
            }
            if let Some(n) = max_deliveries {
                config = config.max_deliveries(n);
            }
            let worker = Worker::new(queue, client, config).map_err(job_error)?;
            let stop = AbortSignal::new();
            let mut watch = crate::signals::Signals::new(true)
                .map_err(|e| output::failed(format!("cannot watch for signals: {e}")))?;
            let signals = tokio::spawn({
                let stop = stop.clone();
                async move {
                    if let Ok(by) = watch.next().await {
                        eprintln!(
                            "{}: taking no new batches; finishing those in flight",
                            crate::ban::said(by)
                        );
                        stop.abort();
                    }
                }
            });
            let stats = worker.run(stop).await.map_err(job_error)?;
            signals.abort();
            if stats.paused_jobs > 0 {
                eprintln!(
                    "error: {} job(s) this worker served were paused; see `banctl job status ID`",
                    stats.paused_jobs
                );
            }
            if g.json {
                output::line(serde_json::json!({
                    "batches": stats.batches, "retried": stats.retried,
                    "redeliveries": stats.redeliveries, "calls": stats.calls,
                }))?;
            } else {
                eprintln!(
                    "worker done: {} batches, {} left for redelivery, {} taken over, {} calls",
                    stats.batches, stats.retried, stats.redeliveries, stats.calls
                );
            }
            Ok(if stats.paused_jobs > 0 {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            })
        }
        JobCmd::Status { job } => {
            let s = queue.status(&job).await.map_err(job_error)?;
            if g.json {
                output::json_value(&s)?;
            } else {
                let why = s
                    .stopped
                    .as_ref()
                    .map(|r| format!(" ({}: {})", r.kind, escape(&r.reason)))
                    .unwrap_or_default();
                output::line(format_args!(
                    "job {} ({} {}, {}): {}{why}\n  {} members: {} done, {} failed, {} pending, {} batch(es) in flight\n  {} live worker(s), {} calls, {:.1} calls/s, {} redeliveries",
                    s.id,
                    s.action,
                    escape(&s.group),
                    s.priority,
                    s.state,
                    s.total,
                    s.done,
                    s.failed,
                    s.pending,
                    s.in_flight,
                    s.live_workers,
                    s.calls,
                    s.rate,
                    s.redeliveries
                ))?;
                if let Some(by) = &s.paused_by {
                    output::line(format_args!("  paused by worker {}", escape(by)))?;
                }
            }
            if s.state == JobState::Running && s.live_workers == 0 {
                eprintln!("warning: job {} is running but no worker is alive (none has said so in the last 5 s); start `banctl job work`", s.id);
            }
            Ok(ExitCode::SUCCESS)
        }
        JobCmd::Report { job, keep } => {
            let r = queue.report(&job).await.map_err(job_error)?;
            if g.json {
                output::json_value(&r)?;
            } else {
                output::line(format_args!(
                    "job {} ({}): {} {}, {} failed, {} not attempted of {}; {} calls, {} retries",
                    r.job,
                    r.state,
                    r.report.succeeded.len(),
                    r.report.action.done_key(),
                    r.report.failed.len(),
                    r.report.not_attempted.len(),
                    r.report.total(),
                    r.report.calls,
                    r.report.retries
                ))?;
                output::report_members(&r.report)?;
            }
            output::flush()?;
            if r.state.is_final() && !keep {
                queue.delete(&job).await.map_err(job_error)?;
            }
            Ok(match (r.state, r.report.failed.is_empty()) {
                (JobState::Done, true) => ExitCode::SUCCESS,
                (JobState::Paused, _) => ExitCode::from(2),
                _ => ExitCode::from(1),
            })
        }
        JobCmd::Cancel { job } => {
            queue.cancel(&job).await.map_err(job_error)?;
            output::line(format_args!("job {job} cancelled"))?;
            Ok(ExitCode::SUCCESS)
        }
        JobCmd::Resume { job } => {
            queue.resume(&job).await.map_err(job_error)?;
            output::line(format_args!("job {job} resumed"))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A node's URL.
fn node_url(addr: &RedisAddr) -> String {
    match addr {
        RedisAddr::Node(url) => url.clone(),
        RedisAddr::Cluster(nodes) => nodes.join(","),
        _ => String::new(),
    }
}
