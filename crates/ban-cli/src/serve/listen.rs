//! The listener: HTTP/1.1 connections served with hyper, `GET /healthz`
//! and `GET /metrics` answered here, everything else handed to the
//! moderation service.

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
use tower_service::Service as _;

/// A listener at work.
pub(crate) struct Host {
    pub(crate) addr: SocketAddr,
    accept: tokio::task::JoinHandle<()>,
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r
}

impl Host {
    /// Serves `svc` on `listener`, beside `/healthz` and `/metrics`.
    pub(crate) fn start(
        listener: tokio::net::TcpListener,
        svc: ModerationService,
        moderator: Arc<Moderator>,
        metrics: Option<PrometheusHandle>,
    ) -> std::io::Result<Host> {
        let addr = listener.local_addr()?;
        let metrics = Arc::new(metrics);
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let svc = svc.clone();
                let moderator = moderator.clone();
                let metrics = metrics.clone();
                tokio::spawn(async move {
                    let handler = hyper::service::service_fn(move |req: Request<_>| {
                        let mut svc = svc.clone();
                        let moderator = moderator.clone();
                        let metrics = metrics.clone();
                        async move {
                            let r = match (req.method().as_str(), req.uri().path()) {
                                ("GET", "/healthz") => {
                                    text(StatusCode::OK, "ok\n").map(Either::Left)
                                }
                                ("GET", "/metrics") => {
                                    let keys = moderator.counter().local_len();
                                    metrics::gauge!("serve_counted_keys").set(keys as f64);
                                    let body = (*metrics)
                                        .as_ref()
                                        .map(PrometheusHandle::render)
                                        .unwrap_or_default();
                                    text(StatusCode::OK, body).map(Either::Left)
                                }
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
                            };
                            Ok::<_, Infallible>(r)
                        }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(hyper_util::rt::TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(10))
                        .serve_connection(TokioIo::new(stream), handler);
                    let _ = conn.await;
                });
            }
        });
        Ok(Host { addr, accept })
    }

    /// Stops taking connections.
    pub(crate) fn stop(&self) {
        self.accept.abort();
    }
}
