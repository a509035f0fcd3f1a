//! `banctl job`: ban jobs shared by workers through Redis Streams.

use std::process::ExitCode;
use std::time::Duration;

use ban_facade::{AbortSignal, BulkAction, JobSpec, JobState};
use ban_fleet::{JobError, JobQueue, RedisAddr, RedisSetupError, Worker, WorkerConfig};

use crate::args::{parse_duration, parse_mute_duration, Global, JobCmd, Rate};
use crate::members;
use crate::output::{self, chain, escape, failed, usage, Failure};
use crate::settings::Settings;

/// The read before a ban or mute job failed: nothing was queued.
fn prior_read_failed(e: &ban_facade::CallError) -> Failure {
    let stop = ban_facade::read_failed(e);
    let text = format!(
        "{}; nothing was queued (--no-prior-read skips the read, and with it the exact undo)",
        output::stop_text(&stop)
    );
    match stop.kind {
        ban_facade::StopKind::NoAnswer | ban_facade::StopKind::Unreachable => failed(text),
        _ => usage(text),
    }
}

/// The action of `job submit`: its word (`ban`, `unban`, `mute`,
/// `unmute`, as the commands), or an older flag (`--unban`, `--mute D`,
/// `--unmute`, or `--duration` alone for a ban); never two.
fn submit_verb(
    word: Option<&str>,
    unban: bool,
    mute: bool,
    unmute: bool,
    kick: bool,
    duration: &Option<String>,
) -> Result<&'static str, Failure> {
    let old: Vec<&'static str> = [
        (unban, "unban"),
        (mute, "mute"),
        (unmute, "unmute"),
        (kick, "kick"),
    ]
    .into_iter()
    .filter_map(|(given, verb)| given.then_some(verb))
    .collect();
    let verb = match (word, old.as_slice()) {
        (Some(w), []) => match w {
            "ban" => "ban",
            "unban" => "unban",
            "mute" => "mute",
            "kick" => "kick",
            _ => "unmute",
        },
        (None, [one]) => one,
        (None, []) if duration.is_some() => "ban",
        (None, []) => {
            return Err(usage(
                "job submit needs its action: ban, unban, mute, unmute or kick, as in `banctl job submit ban --group G --members-file F --duration 7d` (or `mute --duration 10m`, `unban`, `unmute`)",
            ))
        }
        _ => {
            return Err(usage(
                "give job submit one action: ban, unban, mute, unmute or kick (the --unban, --mute, --unmute and --kick flags are other spellings of the same)",
            ))
        }
    };
    match verb {
        "ban" | "mute" if duration.is_none() && !(verb == "mute" && mute) => Err(usage(format!(
            "--duration is required to {verb}: whole seconds or a duration like 10m, 1h, 7d{}",
            if verb == "mute" { ", or permanent" } else { "" }
        ))),
        "unban" | "unmute" if duration.is_some() => Err(usage(format!(
            "--duration is for a ban or a mute; {verb} lifts it and takes none"
        ))),
        "kick" if duration.is_some() => Err(usage(
            "--duration is for a ban or a mute; a kick logs the members out now and takes none",
        )),
        "mute" if mute && duration.is_some() => Err(usage(
            "give the mute's length once: --duration (the --mute DURATION flag is its older spelling)",
        )),
        _ => Ok(verb),
    }
}

pub(crate) fn job_error(e: JobError) -> Failure {
    match e {
        JobError::Setup(s) => usage(format!("{}{}", chain(&s), setup_hint(&s))),
        JobError::Input(_)
        | JobError::NoSuchJob(_)
        | JobError::Setting(_)
        | JobError::State { .. }
        | JobError::Quarantined { .. } => usage(chain(&e)),
        other => failed(chain(&other)),
    }
}

/// What banctl adds to a Redis setup error: the flag that acts on it (the
/// library names no flag).
pub(crate) fn setup_hint(e: &RedisSetupError) -> &'static str {
    match e {
        RedisSetupError::Volatile { .. } => " (pass --allow-volatile-redis to accept the loss)",
        RedisSetupError::Cluster(_) => {
            " (give the nodes with --redis-cluster URL,URL... or TIM_REDIS_CLUSTER instead of --redis)"
        }
        _ => "",
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
            Err(JobError::Setup(e)) => {
                return Err(usage(format!(
                    "--redis (TIM_REDIS_URL): {}{}",
                    chain(&e),
                    setup_hint(&e)
                )))
            }
            Err(e) => return Err(usage(format!("--redis (TIM_REDIS_URL): {}", chain(&e)))),
        }
    }
}

pub(crate) async fn run(g: &Global, cmd: JobCmd, rate: &Rate) -> Result<ExitCode, Failure> {
    if let JobCmd::Submit {
        action,
        unban,
        mute,
        unmute,
        kick,
        duration,
        description,
        ..
    } = &cmd
    {
        // Said before Redis is looked for: a wrong command line is exit 2
        // whatever else is set up.
        let verb = submit_verb(
            action.as_deref(),
            *unban,
            mute.is_some(),
            *unmute,
            *kick,
            duration,
        )?;
        if description.is_some() && verb != "ban" {
            return Err(usage(format!(
                "--description is for a ban; a job that does {verb} takes none"
            )));
        }
    }
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
            action: word,
            group,
            members: flags,
            members_file,
            trim,
            duration,
            description,
            unban,
            mute,
            unmute,
            kick,
            priority,
            allow_volatile_redis,
            no_prior_read,
        } => {
            let queue = queue.allow_volatile(allow_volatile_redis);
            let list = members::read(&flags, members_file.as_deref(), trim)?;
            let verb = submit_verb(
                word.as_deref(),
                unban,
                mute.is_some(),
                unmute,
                kick,
                &duration,
            )?;
            if verb == "kick" {
                let admin = settings
                    .admin()
                    .unwrap_or_else(|| ban_facade::DEFAULT_ADMIN.to_owned());
                if list.accounts.contains(&admin) {
                    return Err(usage(format!(
                        "--members-file: {} is the app admin the workers call as; a kick would stop every call of the app until a fresh UserSig",
                        crate::output::escape(&admin)
                    )));
                }
            }
            let duration = duration.or(mute);
            let action = match verb {
                "ban" => BulkAction::Ban {
                    duration: ban_facade::BanDuration::try_from(
                        parse_duration(duration.as_deref().unwrap_or_default())
                            .map_err(|e| usage(format!("--duration: {e}")))?,
                    )
                    .map_err(|e| usage(format!("--duration: {e}")))?,
                    description: description.as_deref(),
                },
                "mute" => BulkAction::Mute {
                    duration: ban_facade::MuteDuration::from_secs(
                        parse_mute_duration(duration.as_deref().unwrap_or_default())
                            .map_err(|e| usage(format!("--duration: {e}")))?,
                    ),
                },
                "unban" => BulkAction::Unban,
                "kick" => BulkAction::Kick,
                _ => BulkAction::Unmute,
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
            // Every worker shares the budget through the same Redis (the
            // one the queue is on: the same flags and variables).
            let client = settings.client(rate).await?;
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
                    "worker done: {}, {} left for redelivery, {} taken over, {}",
                    output::count(stats.batches, "batch", "batches"),
                    stats.retried,
                    stats.redeliveries,
                    output::count(stats.calls, "call", "calls")
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
                    .map(|r| format!(" ({})", escape(&r.said())))
                    .unwrap_or_default();
                output::line(format_args!(
                    "job {} ({} {}, {}): {}{why}\n  {} members: {} done, {} failed, {} pending, {} batch(es) in flight\n  {} live worker(s), {}, {:.1} calls/s since a worker first took it, {} redeliveries",
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
                    output::count(s.calls, "call", "calls"),
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
        JobCmd::Report {
            job,
            delete,
            keep: _,
            lists,
        } => {
            lists.check()?;
            let r = queue.report(&job).await.map_err(job_error)?;
            if delete && !r.state.is_final() {
                return Err(usage(format!(
                    "--delete: job {job} is {}, not finished; cancel it first or wait for it",
                    r.state
                )));
            }
            let problems = lists.write(&r.report);
            if g.json {
                output::json_value(&r)?;
            } else {
                output::line(format_args!(
                    "job {} ({}): {} {}, {} failed, {} not attempted of {}; {}, {}",
                    r.job,
                    r.state,
                    r.report.succeeded.len(),
                    r.report.action.done_key(),
                    r.report.failed.len(),
                    r.report.not_attempted.len(),
                    r.report.total(),
                    output::count(r.report.calls, "call", "calls"),
                    output::count(r.report.retries, "retry", "retries")
                ))?;
                output::report_members(&r.report)?;
            }
            output::flush()?;
            if delete {
                if problems.is_empty() {
                    queue.delete(&job).await.map_err(job_error)?;
                    eprintln!("job {job} deleted");
                } else {
                    eprintln!("job {job} kept: its member files were not written");
                }
            }
            let code = match (r.state, r.report.failed.is_empty()) {
                (JobState::Done, true) => ExitCode::SUCCESS,
                (JobState::Paused, _) => ExitCode::from(2),
                _ => ExitCode::from(1),
            };
            Ok(crate::lists::worst(code, &r.report, &problems))
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
