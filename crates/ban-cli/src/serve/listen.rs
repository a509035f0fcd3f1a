//! The listeners: HTTP/1.1 connections served with hyper. The callback
//! port answers `GET /healthz` (and `GET /metrics` unless a metrics port is
//! given) and hands everything else to the moderation service; the metrics
//! port answers `/metrics`, `/healthz` and raid mode's `/raid`
//! ([`super::admin`]).
//!
//! Bounded: at most `max_connections` at once (a connection beyond is told
//! 503 and closed), headers within 10 s, bodies within the library's
//! `BODY_TIMEOUT`; accept errors (out of file descriptors) back off and are
//! told once per run of them.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ban_moderation::{ModerationService, Moderator};
use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_service::Service as _;

/// Connections served at once by default (the demo's host; serve works
/// its default out from the open files limit).
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// A listener at work.
pub(crate) struct Host {
    pub(crate) addr: SocketAddr,
    accept: Vec<tokio::task::JoinHandle<()>>,
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r
}

/// What the metrics endpoint renders.
#[derive(Clone)]
struct MetricsPage {
    handle: Arc<Option<PrometheusHandle>>,
    moderator: Arc<Moderator>,
    audit: Option<Arc<std::path::Path>>,
}

impl MetricsPage {
    fn render(&self) -> Response<Full<Bytes>> {
        let keys = self.moderator.counter().local_len();
        metrics::gauge!("serve_counted_keys").set(keys as f64);
        if let Some(audit) = &self.audit {
            // `banctl undo --audit` notes what it gave back beside the
            // audit log; every rule shows, 0 until one is undone.
            match ban_moderation::read_reversals(audit) {
                Ok(mut undone) => {
                    for rule in &self.moderator.rules().rules {
                        undone.entry(rule.name.clone()).or_insert(0);
                    }
                    for (rule, n) in undone {
                        metrics::counter!("rule_reversals_total", "rule" => rule).absolute(n);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "the reversal ledger cannot be read"),
            }
        }
        let body = (*self.handle)
            .as_ref()
            .map(PrometheusHandle::render)
            .unwrap_or_default();
        text(StatusCode::OK, body)
    }
}

/// How a host listens.
pub(crate) struct HostOptions {
    /// The Prometheus handle, when a recorder is installed.
    pub(crate) metrics: Option<PrometheusHandle>,
    /// A second port for `/metrics` (and `/healthz`); without it the
    /// callback port answers `/metrics` too.
    pub(crate) metrics_listener: Option<TcpListener>,
    /// Connections at once, at most, on each port.
    pub(crate) max_connections: usize,
    /// The audit log, whose reversal ledger `/metrics` counts.
    pub(crate) audit: Option<std::path::PathBuf>,
}

impl HostOptions {
    /// No metrics port, the default cap.
    pub(crate) fn new(metrics: Option<PrometheusHandle>) -> Self {
        HostOptions {
            metrics,
            metrics_listener: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            audit: None,
        }
    }
}

impl Host {
    /// Serves `svc` on `listener`, beside `/healthz` and `/metrics`.
    pub(crate) fn start(
        listener: TcpListener,
        svc: ModerationService,
        moderator: Arc<Moderator>,
        options: HostOptions,
    ) -> std::io::Result<Host> {
        let addr = listener.local_addr()?;
        let page = MetricsPage {
            handle: Arc::new(options.metrics),
            moderator,
            audit: options.audit.map(Arc::from),
        };
        let metrics_here = options.metrics_listener.is_none();
        let mut accept = Vec::new();
        let main_page = page.clone();
        accept.push(tokio::spawn(accept_loop(
            listener,
            options.max_connections,
            "callback",
            move |stream| {
                let svc = svc.clone();
                let page = main_page.clone();
                serve_connection(stream, move |req: Request<hyper::body::Incoming>| {
                    let mut svc = svc.clone();
                    let page = page.clone();
                    async move {
                        match (req.method().as_str(), req.uri().path()) {
                            ("GET", "/healthz") => text(StatusCode::OK, "ok\n").map(Either::Left),
                            ("GET", "/metrics") if metrics_here => page.render().map(Either::Left),
                            _ => {
                                let ready = std::future::poll_fn(|cx| {
                                    tower_service::Service::<Request<hyper::body::Incoming>>::poll_ready(&mut svc, cx)
                                });
                                let answered = match ready.await {
                                    Ok(()) => svc.call(req).await,
                                    Err(never) => match never {},
                                };
                                match answered {
                                    Ok(r) => r.map(Either::Right),
                                    Err(never) => match never {},
                                }
                            }
                        }
                    }
                })
            },
        )));
        if let Some(listener) = options.metrics_listener {
            accept.push(tokio::spawn(accept_loop(
                listener,
                options.max_connections,
                "metrics",
                move |stream| {
                    let page = page.clone();
                    serve_connection(stream, move |req: Request<hyper::body::Incoming>| {
                        let page = page.clone();
                        async move {
                            match (req.method().as_str(), req.uri().path()) {
                                ("GET", "/healthz") => text(StatusCode::OK, "ok\n"),
                                ("GET", "/metrics") => page.render(),
                                ("GET", "/raid") => super::admin::status(&page.moderator),
                                ("POST", "/raid") => {
                                    super::admin::force(page.moderator.clone(), req.uri().query())
                                        .await
                                }
                                _ => text(
                                    StatusCode::NOT_FOUND,
                                    "GET /metrics, /healthz or /raid; POST /raid?group=G&mode=on|off\n",
                                ),
                            }
                        }
                    })
                },
            )));
        }
        Ok(Host { addr, accept })
    }

    /// Stops taking connections.
    pub(crate) fn stop(&self) {
        for a in &self.accept {
            a.abort();
        }
    }
}

/// Serves one connection with `handler`.
async fn serve_connection<F, Fut, B>(stream: tokio::net::TcpStream, handler: F)
where
    F: Fn(Request<hyper::body::Incoming>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let service = hyper::service::service_fn(move |req| {
        let answer = handler(req);
        async move { Ok::<_, Infallible>(answer.await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .serve_connection(TokioIo::new(stream), service);
    let _ = conn.await;
}

/// The answer to a connection beyond the cap.
const BUSY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

/// Accepts connections until aborted: each served by `serve` while a
/// permit is free, told 503 otherwise. An accept error (out of file
/// descriptors, most often) waits 5 ms, doubling to 1 s while they last,
/// and is told once per run of them, not once per try.
async fn accept_loop<F, Fut>(listener: TcpListener, max: usize, port: &'static str, serve: F)
where
    F: Fn(tokio::net::TcpStream) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(max.max(1)));
    let mut backoff = Duration::ZERO;
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => {
                if !backoff.is_zero() {
                    eprintln!("banctl serve: the {port} port accepts connections again");
                    backoff = Duration::ZERO;
                }
                stream
            }
            Err(e) => {
                metrics::counter!("serve_accept_errors_total", "port" => port).increment(1);
                if backoff.is_zero() {
                    eprintln!("warning: the {port} port cannot accept connections ({e}); retrying, with waits up to 1 s, until it can");
                    tracing::warn!(error = %e, port, "accept failed");
                    backoff = Duration::from_millis(5);
                } else {
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
                tokio::time::sleep(backoff).await;
                continue;
            }
        };
        match permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let served = serve(stream);
                tokio::spawn(async move {
                    served.await;
                    drop(permit);
                });
            }
            Err(_) => {
                metrics::counter!("serve_connections_refused_total", "port" => port).increment(1);
                tokio::spawn(async move {
                    let mut stream = stream;
                    let _ =
                        tokio::time::timeout(Duration::from_secs(1), stream.write_all(BUSY)).await;
                });
            }
        }
    }
}
