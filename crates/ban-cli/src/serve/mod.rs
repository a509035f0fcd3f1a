//! `banctl serve`: a host of the moderation loop (`ban-moderation`): its
//! flags and files, the listener, signals, SIGHUP reload and the metrics
//! exporter. The loop itself (answers, counts, ladder, actions, events) is
//! the library's.
//!
//! POST on any path is a callback (the console's URL may carry its own
//! path and query); `GET /healthz` and `GET /metrics` (Prometheus) beside
//! it, or `/metrics` on `--metrics-listen`. A request with a bad
//! signature, a stale `RequestTime` or another app's `SdkAppid` gets HTTP
//! 401 and causes nothing.
//!
//! Decided actions are journaled in `--state-dir` before they are queued
//! and sent again after a crash; see docs/moderation.md's failure table.

mod admin;
mod checks;
mod listen;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use ban_callback::{CallbackToken, Verifier};
use ban_moderation::{
    AuditFile, ClientExecutor, DirLock, Event, EventKind, FileJournal, Metrics, Moderation,
    Moderator, ModeratorBuilder, Outcome, RedisJournal, Tracing,
};
use ban_rules::Rules;

use crate::args::{Global, Rate};
use crate::output::{failed, usage, Failure};
use crate::settings::Settings;
pub(crate) use listen::{Host, HostOptions};

/// `banctl serve`'s options.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Where to listen, e.g. 0.0.0.0:8080 (behind TLS termination) or 127.0.0.1:0.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// A file holding the console's callback token, one line: every callback
    /// must then carry a fresh, matching Sign.
    #[arg(long, value_name = "FILE")]
    pub callback_token_file: Option<PathBuf>,
    /// Accept unsigned callbacks (the console's authentication is off):
    /// anyone who can reach the port can then get members muted and banned.
    #[arg(long, conflicts_with = "callback_token_file")]
    pub allow_unsigned: bool,
    /// The rules, TOML (reloaded on SIGHUP).
    #[arg(long, value_name = "FILE")]
    pub rules: PathBuf,
    /// Append one JSON line per decision and per action here.
    #[arg(long, value_name = "FILE")]
    pub audit: Option<PathBuf>,
    /// Append each verified callback here (its command, body and arrival;
    /// never the Sign or token), for `banctl rules test`. It holds message
    /// text: keep it as private as the chat. Off by default.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Past this size the recording becomes FILE.1 and a new one begins.
    #[arg(long, value_name = "BYTES", default_value_t = ban_moderation::DEFAULT_RECORD_MAX_BYTES,
          value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(4096..), requires = "record")]
    pub record_max_bytes: u64,
    /// Rotated recordings kept (FILE.1 .. FILE.N).
    #[arg(long, value_name = "N", default_value_t = ban_moderation::DEFAULT_RECORD_KEEP,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1000), requires = "record")]
    pub record_keep: usize,
    /// Write the address listened on here once ready (for scripts and tests).
    #[arg(long, value_name = "FILE")]
    pub ready_file: Option<PathBuf>,
    /// Write this process's id here once ready, and remove it on stop: a
    /// reload is `kill -HUP $(cat FILE)`, which reaches this serve only.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Where decided actions are journaled until done, and their offence
    /// counts kept (one serve per directory) [default: the user's state
    /// directory, $XDG_STATE_HOME/banctl/serve or ~/.local/state/banctl/serve].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// How far a callback's RequestTime may be from now (seconds, or 30s,
    /// 2m); a repeat within twice this is counted once.
    #[arg(long, value_name = "DURATION", default_value = "60", value_parser = crate::args::parse_window)]
    pub callback_window: u64,
    /// Serve /metrics and /healthz here instead of on the callback port
    /// (which then answers /healthz only), e.g. 127.0.0.1:9100.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Connections served at once on each port; one beyond is told 503
    /// [default: 10,000, or the open files limit less 128 when that is lower].
    #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub max_connections: Option<usize>,
    /// Warn, instead of refusing to start, when the token or secret key
    /// file is readable by group or others, or the rules file writable by
    /// others.
    #[arg(long)]
    pub allow_loose_permissions: bool,
    /// With --redis: how long the actions another instance read stay idle
    /// before this one takes them over (that instance died).
    #[arg(long, value_name = "DURATION", default_value = "30", value_parser = crate::args::parse_window)]
    pub takeover_after: u64,
    /// Start without the one read call that checks the SDKAppID, secret
    /// key and admin.
    #[arg(long)]
    pub no_start_check: bool,
    /// Bans of one group waiting for the budget above which the accounts
    /// of the next ones are muted first, for the ban's length and 500 a
    /// call, so none sends while the bans wait (0: never).
    #[arg(long, value_name = "BANS", default_value_t = ban_moderation::DEFAULT_SILENCE_OVER)]
    pub silence_first_over: usize,
    #[command(flatten)]
    pub rate: Rate,
}

/// Reads a token file: its first line, trimmed; empty is refused.
pub(crate) fn read_token_file(path: &Path) -> Result<String, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        usage(format!(
            "cannot read the callback token file {}: {e}",
            path.display()
        ))
    })?;
    let token = text.lines().next().unwrap_or("").trim().to_owned();
    if token.is_empty() {
        return Err(usage(format!(
            "the callback token file {} is empty; put the console's token on its first line",
            path.display()
        )));
    }
    Ok(token)
}

/// Runs the service until Ctrl-C or SIGTERM.
pub(crate) async fn run(g: &Global, a: ServeArgs) -> Result<ExitCode, Failure> {
    let settings = Settings::new(g);
    let sdkappid = settings.require_sdkappid()?;
    checks::file_modes(&settings, &a)?;
    let raised = checks::raise_fd_limit();
    let token = match (&a.callback_token_file, a.allow_unsigned) {
        (Some(f), _) => Some(CallbackToken::new(read_token_file(f)?)),
        (None, true) => None,
        (None, false) => {
            return Err(usage(
                "give --callback-token-file FILE (the console's callback token), or --allow-unsigned if authentication is off in the console",
            ))
        }
    };
    let rules = Rules::load(&a.rules).map_err(|e| usage(crate::output::chain(&e)))?;
    let window = Duration::from_secs(a.callback_window);
    let state_dir = match &a.state_dir {
        Some(d) => d.clone(),
        None => default_state_dir()?,
    };
    let mut builder = Moderator::builder(rules)
        .replay_window(window)
        .silence_first_over(a.silence_first_over)
        .observer(Metrics)
        .observer(Tracing)
        .observer(checks::Loud::default());
    if let Some(path) = &a.audit {
        let audit = AuditFile::open(path)
            .map_err(|e| usage(format!("cannot open --audit {}: {e}", path.display())))?;
        builder = builder.observer(audit);
    }
    if let Some(path) = &a.record {
        let recorder = ban_moderation::Recorder::open(path, a.record_max_bytes, a.record_keep)
            .map_err(|e| usage(format!("cannot open --record {}: {e}", path.display())))?;
        builder = builder.record(recorder);
    }
    // Held while serve runs: one serve per state directory.
    let _state_lock;
    if let Some(addr) = settings.redis_addr(&a.rate)? {
        let (_, prefix) = settings.redis(&a.rate)?;
        let redis_err =
            |e: ban_fleet::FleetError| usage(format!("--redis: {}", ban_facade::error_chain(&e)));
        let shared = ban_fleet::WindowCounter::connect(&addr, &prefix, sdkappid)
            .await
            .map_err(redis_err)?;
        builder = builder.counter(ban_moderation::RedisCounter::new(shared));
        // Raid mode, its cohort and its join counts, shared.
        let board = ban_fleet::RaidBoard::connect(&addr, &prefix, sdkappid)
            .await
            .map_err(redis_err)?;
        builder = builder.raid_board(board);
        // Decided actions in the app's stream, under a consumer name kept
        // in the state directory: a restart finds its own first.
        let lock = DirLock::acquire(&state_dir).map_err(|e| usage(format!("--state-dir: {e}")))?;
        let consumer = consumer_name(lock.dir())?;
        _state_lock = lock;
        let stream = ban_fleet::ActionStream::connect(&addr, &prefix, sdkappid, &consumer)
            .await
            .map_err(redis_err)?;
        let takeover = Duration::from_secs(a.takeover_after);
        builder = builder.journal(RedisJournal::new(stream).takeover_after(takeover));
    } else {
        let journal =
            FileJournal::open(&state_dir).map_err(|e| usage(format!("--state-dir: {e}")))?;
        builder = builder.journal(journal);
    }
    let client = settings.client(&a.rate).await?;
    if !a.no_start_check {
        checks::credentials(&client).await?;
    }
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .map_err(|e| usage(format!("cannot listen on {}: {e}", a.listen)))?;
    let metrics_listener = match a.metrics_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| usage(format!("cannot listen on --metrics-listen {addr}: {e}")))?,
        ),
        None => None,
    };
    let verifier = Verifier::new(sdkappid, token).window(window);
    let mut options = HostOptions::new(None);
    options.metrics_listener = metrics_listener;
    options.audit.clone_from(&a.audit);
    options.max_connections = a
        .max_connections
        .unwrap_or_else(checks::default_max_connections);
    let server = Server::start(listener, verifier, builder, client, options)?;
    let addr = server.addr;
    if let Some((from, to)) = raised {
        tracing::info!(from, to, "open files limit raised");
    }
    // The signals are watched before anyone is told serve is ready: a
    // reload sent right after the pid file appears reloads, never kills.
    reload_on_hangup(a.rules.clone(), server.moderation.moderator().clone())?;
    let mut signals = crate::signals::Signals::new(false)
        .map_err(|e| failed(format!("cannot watch for signals: {e}")))?;
    if let Some(path) = &a.pid_file {
        std::fs::write(path, format!("{}\n", std::process::id()))
            .map_err(|e| usage(format!("cannot write --pid-file {}: {e}", path.display())))?;
    }
    if let Some(path) = &a.ready_file {
        std::fs::write(path, format!("{{\"listen\":\"{addr}\"}}\n"))
            .map_err(|e| usage(format!("cannot write --ready-file {}: {e}", path.display())))?;
    }
    eprintln!(
        "banctl serve listening on {addr} (SDKAppID {sdkappid}; journal in {}); SIGHUP reloads the rules, Ctrl-C or SIGTERM stops it",
        state_dir.display()
    );
    signals
        .next()
        .await
        .map_err(|e| failed(format!("cannot watch for signals: {e}")))?;
    eprintln!("stopping: sending the actions already queued");
    server.stop().await;
    if let Some(path) = &a.pid_file {
        let _ = std::fs::remove_file(path);
    }
    Ok(ExitCode::SUCCESS)
}

/// A running service: the loop and the host's listener.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    moderation: Moderation,
    host: Host,
}

impl Server {
    /// Serves callbacks on `listener`, acting through `client`, with a
    /// Prometheus recorder for `/metrics` (when none is installed yet).
    pub(crate) fn start(
        listener: tokio::net::TcpListener,
        verifier: Verifier,
        builder: ModeratorBuilder,
        client: ban_facade::Client,
        mut options: HostOptions,
    ) -> Result<Server, Failure> {
        options.metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .map_err(|e| tracing::warn!(error = %e, "metrics are off"))
            .ok();
        let moderation = builder.start(ClientExecutor::new(client));
        let svc = ban_moderation::service(verifier, moderation.moderator());
        let host = Host::start(listener, svc, moderation.moderator().clone(), options)
            .map_err(|e| failed(e.to_string()))?;
        Ok(Server {
            addr: host.addr,
            moderation,
            host,
        })
    }

    /// Stops taking callbacks; the actions already queued still go (at
    /// most 30 s).
    pub(crate) async fn stop(self) {
        self.host.stop();
        self.moderation.shutdown(Duration::from_secs(30)).await;
    }
}

/// This instance's consumer name in the action stream: made once, kept in
/// the state directory (which one serve holds at a time).
fn consumer_name(dir: &Path) -> Result<String, Failure> {
    let path = dir.join("consumer");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let name = text.trim();
        if !name.is_empty() {
            return Ok(name.to_owned());
        }
    }
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = format!("serve-{t:x}-{:x}", std::process::id());
    std::fs::write(&path, format!("{name}\n"))
        .map_err(|e| usage(format!("--state-dir: cannot write {}: {e}", path.display())))?;
    Ok(name)
}

/// `$XDG_STATE_HOME/banctl/serve`, else `~/.local/state/banctl/serve`.
fn default_state_dir() -> Result<PathBuf, Failure> {
    let base =
        match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
            Some(d) => PathBuf::from(d),
            None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
                Some(h) => PathBuf::from(h).join(".local/state"),
                None => return Err(usage(
                    "no state directory: HOME and XDG_STATE_HOME are unset; give --state-dir DIR",
                )),
            },
        };
    Ok(base.join("banctl/serve"))
}

/// Reloads the rules from `path` on each SIGHUP, from now on.
#[cfg(unix)]
fn reload_on_hangup(path: PathBuf, moderator: Arc<Moderator>) -> Result<(), Failure> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup())
        .map_err(|e| failed(format!("cannot watch for SIGHUP: {e}")))?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            reload(&path, &moderator);
        }
    });
    Ok(())
}

#[cfg(unix)]
fn reload(path: &std::path::Path, moderator: &Moderator) {
    match Rules::load(path) {
        Ok(rules) => {
            let n = rules.rules.len();
            moderator.replace_rules(rules);
            eprintln!("rules reloaded from {}: {n} rule(s)", path.display());
        }
        Err(e) => {
            moderator.emit(Event::new(
                EventKind::Reload,
                Outcome::ReloadRefused {
                    reason: ban_facade::error_chain(&e),
                },
            ));
            eprintln!("error: {}; the old rules stay", ban_facade::error_chain(&e));
        }
    }
}

#[cfg(not(unix))]
fn reload_on_hangup(_path: PathBuf, _moderator: Arc<Moderator>) -> Result<(), Failure> {
    Ok(())
}
