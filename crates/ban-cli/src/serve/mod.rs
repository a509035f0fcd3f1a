//! `banctl serve`: receives Tencent's callbacks, answers each at once from
//! the rules, and mutes and bans offenders through the job engine, with an
//! audit line per decision and per action.
//!
//! POST on any path is a callback (the console's URL may carry its own
//! path and query); `GET /healthz` and `GET /metrics` (Prometheus) beside
//! it. A request with a bad signature, a stale `RequestTime` or another
//! app's `SdkAppid` gets HTTP 401 and causes nothing.

mod actions;
mod audit;
mod counts;
mod decide;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ban_callback::{Callback, CallbackQuery, CallbackToken, Verifier};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::args::{Global, Rate};
use crate::output::{failed, usage, Failure};
use crate::settings::Settings;
pub(crate) use audit::Audit;
use audit::Line;
pub(crate) use ban_rules::Rules;
pub(crate) use counts::{Counts, MemoryCounts};
use decide::Moderator;

/// The largest callback body read (the service's messages are at most
/// 12 KB; content results carry text, not files).
const MAX_BODY: usize = 1 << 20;
/// Actions waiting to be sent, at most; beyond, an action is refused into
/// the audit log rather than kept without bound.
const QUEUE: usize = 100_000;

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
    /// Write the address listened on here once ready (for scripts and tests).
    #[arg(long, value_name = "FILE")]
    pub ready_file: Option<PathBuf>,
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

struct Service {
    verifier: Verifier,
    moderator: Arc<Moderator>,
    metrics: Option<PrometheusHandle>,
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r
}

fn json(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = text(status, body);
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Service {
    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let started = Instant::now();
        let (parts, body) = req.into_parts();
        match (parts.method.as_str(), parts.uri.path()) {
            ("GET", "/healthz") => return text(StatusCode::OK, "ok\n"),
            ("GET", "/metrics") => {
                metrics::gauge!("serve_counted_keys")
                    .set(self.moderator.counts().local_len() as f64);
                let body = self
                    .metrics
                    .as_ref()
                    .map(PrometheusHandle::render)
                    .unwrap_or_default();
                return text(StatusCode::OK, body);
            }
            ("POST", _) => {}
            _ => {
                return text(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "POST a callback, or GET /healthz or /metrics\n",
                )
            }
        }
        let refuse = |status: StatusCode, reason: &'static str, why: String| {
            metrics::counter!("serve_refused_total", "reason" => reason).increment(1);
            tracing::info!(%why, "callback refused");
            json(
                status,
                serde_json::json!({"error": why}).to_string().into_bytes(),
            )
        };
        let query = match CallbackQuery::parse(parts.uri.query().unwrap_or("")) {
            Ok(q) => q,
            Err(e) => return refuse(StatusCode::UNAUTHORIZED, "query", e.to_string()),
        };
        if let Err(e) = self.verifier.verify(&query, now_unix()) {
            let mut line = Line::new("refused", format!("HTTP 401: {e}"));
            line.evidence = Some(format!(
                "{} from {}",
                query.command,
                query.client_ip.as_deref().unwrap_or("?")
            ));
            self.moderator.audit().write(line);
            return refuse(StatusCode::UNAUTHORIZED, "auth", e.to_string());
        }
        let body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                return refuse(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body",
                    format!("the body is over {MAX_BODY} bytes or was cut"),
                )
            }
        };
        let cb = match Callback::decode(&query.command, &body) {
            Ok(cb) => cb,
            Err(e) => return refuse(StatusCode::BAD_REQUEST, "body", e.to_string()),
        };
        let known = if matches!(cb, Callback::Unknown(_)) {
            "unknown"
        } else {
            "known"
        };
        metrics::counter!("serve_callbacks_total", "command" => if known == "known" { cb.command().to_owned() } else { "unknown".to_owned() }).increment(1);
        let answer = self.moderator.judge(cb);
        metrics::histogram!("serve_answer_seconds").record(started.elapsed().as_secs_f64());
        json(
            StatusCode::OK,
            serde_json::to_vec(&answer).unwrap_or_default(),
        )
    }
}

/// Runs the service until Ctrl-C or SIGTERM.
pub(crate) async fn run(g: &Global, a: ServeArgs) -> Result<ExitCode, Failure> {
    let settings = Settings::new(g);
    let sdkappid = settings.require_sdkappid()?;
    let token = match (&a.callback_token_file, a.allow_unsigned) {
        (Some(f), _) => Some(CallbackToken::new(read_token_file(f)?)),
        (None, true) => None,
        (None, false) => {
            return Err(usage(
                "give --callback-token-file FILE (the console's callback token), or --allow-unsigned if authentication is off in the console",
            ))
        }
    };
    let rules = Rules::load(&a.rules).map_err(|e| usage(e.to_string()))?;
    let audit = Audit::open(a.audit.as_deref()).map_err(|e| {
        usage(format!(
            "cannot open --audit {}: {e}",
            a.audit.as_deref().unwrap_or(Path::new("")).display()
        ))
    })?;
    let counts = match settings.redis_addr(&a.rate)? {
        Some(addr) => {
            let (_, prefix) = settings.redis(&a.rate)?;
            let shared = ban_fleet::WindowCounter::connect(&addr, &prefix, sdkappid)
                .await
                .map_err(|e| usage(format!("--redis: {}", ban_facade::error_chain(&e))))?;
            Counts::Redis(shared, MemoryCounts::new())
        }
        None => Counts::Memory(MemoryCounts::new()),
    };
    let client = settings.client(&a.rate).await?;
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .map_err(|e| usage(format!("cannot listen on {}: {e}", a.listen)))?;
    let server = Server::start(
        listener,
        Verifier::new(sdkappid, token),
        rules,
        counts,
        audit,
        client,
    )?;
    let addr = server.addr;
    if let Some(path) = &a.ready_file {
        std::fs::write(path, format!("{{\"listen\":\"{addr}\"}}\n"))
            .map_err(|e| usage(format!("cannot write --ready-file {}: {e}", path.display())))?;
    }
    eprintln!("banctl serve listening on {addr} (SDKAppID {sdkappid}); SIGHUP reloads the rules, Ctrl-C stops it");
    tokio::spawn(reload_on_hangup(a.rules.clone(), server.moderator.clone()));
    crate::ban::next_signal()
        .await
        .map_err(|e| failed(format!("cannot watch for signals: {e}")))?;
    eprintln!("stopping: sending the actions already queued");
    server.stop().await;
    Ok(ExitCode::SUCCESS)
}

/// A running service: its address, its moderator, its tasks.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    moderator: Arc<Moderator>,
    accept: tokio::task::JoinHandle<()>,
    sweeper: tokio::task::JoinHandle<()>,
    dispatcher: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Serves callbacks on `listener`, acting through `client`.
    pub(crate) fn start(
        listener: tokio::net::TcpListener,
        verifier: Verifier,
        rules: Rules,
        counts: Counts,
        audit: Audit,
        client: ban_facade::Client,
    ) -> Result<Server, Failure> {
        let addr = listener.local_addr().map_err(|e| failed(e.to_string()))?;
        let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .map_err(|e| tracing::warn!(error = %e, "metrics are off"))
            .ok();
        let (tx, rx) = tokio::sync::mpsc::channel(QUEUE);
        let counts = Arc::new(counts);
        // Memory follows the live windows even when no event comes.
        let sweeper = tokio::spawn({
            let counts = counts.clone();
            async move {
                let mut tick = tokio::time::interval(Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    counts.sweep();
                }
            }
        });
        let dispatcher = tokio::spawn(actions::dispatch(client, audit.clone(), counts.clone(), rx));
        let moderator = Arc::new(Moderator::new(rules, counts, audit, tx));
        let service = Arc::new(Service {
            verifier,
            moderator: moderator.clone(),
            metrics,
        });
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let service = service.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let service = service.clone();
                        async move { Ok::<_, std::convert::Infallible>(service.handle(req).await) }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(hyper_util::rt::TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(10))
                        .serve_connection(TokioIo::new(stream), svc);
                    let _ = conn.await;
                });
            }
        });
        Ok(Server {
            addr,
            moderator,
            accept,
            sweeper,
            dispatcher,
        })
    }

    /// Stops taking callbacks; the actions already queued still go (at
    /// most 30 s).
    pub(crate) async fn stop(self) {
        self.accept.abort();
        self.sweeper.abort();
        self.moderator.close_queue();
        let _ = tokio::time::timeout(Duration::from_secs(30), self.dispatcher).await;
    }
}

#[cfg(unix)]
async fn reload_on_hangup(path: PathBuf, moderator: Arc<Moderator>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        return;
    };
    while hup.recv().await.is_some() {
        match Rules::load(&path) {
            Ok(rules) => {
                let n = rules.rules.len();
                moderator.replace_rules(rules);
                moderator
                    .audit()
                    .write(Line::new("reload", format!("rules reloaded: {n} rule(s)")));
                eprintln!("rules reloaded from {}: {n} rule(s)", path.display());
            }
            Err(e) => {
                moderator.audit().write(Line::new(
                    "reload",
                    format!("refused, the old rules stay: {e}"),
                ));
                eprintln!("error: {e}; the old rules stay");
            }
        }
    }
}

#[cfg(not(unix))]
async fn reload_on_hangup(_path: PathBuf, _moderator: Arc<Moderator>) {}
