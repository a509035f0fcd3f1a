//! The HTTP(S) server: accepts connections and hands requests to the core.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::core::{Core, Reply};

/// The largest request body read (the real service's bodies are small).
const MAX_BODY: usize = 1 << 20;

/// Returned by the service to make hyper close the connection unanswered.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped (injected fault)")
    }
}

impl std::error::Error for Dropped {}

fn respond(status: u16, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    let ct = if status == 502 {
        "text/html"
    } else {
        "application/json"
    };
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(ct),
    );
    resp
}

async fn handle(core: Arc<Core>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = req.into_parts();
    // A body sent slowly or never is bounded like the headers are.
    let read = tokio::time::timeout(
        core.config.connection_timeout,
        Limited::new(body, MAX_BODY).collect(),
    );
    let body = match read.await {
        Ok(Ok(b)) => b.to_bytes(),
        _ => return Err(Dropped),
    };
    let bearer = parts
        .headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let is_api = parts.uri.path().starts_with("/v4/");
    let reply = core.handle(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query(),
        bearer,
        &body,
    );
    if is_api && !core.config.latency.is_zero() {
        tokio::time::sleep(core.config.latency).await;
    }
    match settle(&core, reply).await {
        Some((status, body)) => Ok(respond(status, body)),
        None => Err(Dropped),
    }
}

/// Carries a reply to its end: the status and body, or none for a dropped
/// connection.
pub(crate) async fn settle(core: &Core, mut reply: Reply) -> Option<(u16, Vec<u8>)> {
    loop {
        match reply {
            Reply::Json(status, body) => return Some((status, body)),
            Reply::Drop => return None,
            Reply::Send(pending) => {
                let verdict = match &core.callbacks {
                    Some(c) => c.before_send(&pending.message(), &pending.origin).await,
                    None => crate::callback::Verdict::deliver(),
                };
                reply = core.finish_send(*pending, verdict);
            }
            Reply::Join(pending) => {
                let verdict = match &core.callbacks {
                    Some(c) => c.before_join(&pending.apply(), &pending.origin).await,
                    None => crate::callback::Verdict::deliver(),
                };
                reply = core.finish_join(*pending, verdict);
            }
            Reply::Delayed(d, inner) => {
                tokio::time::sleep(d).await;
                reply = *inner;
            }
        }
    }
}

async fn serve_conn<S>(core: Arc<Core>, stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let timeout = core.config.connection_timeout;
    let service = hyper::service::service_fn(move |req| handle(core.clone(), req));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // HTTP/1: the header timeout also runs while a kept-alive connection
    // waits for its next request, so an idle or half-sent connection is
    // closed. HTTP/2: pings find a peer that went away.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(timeout))
        .keep_alive_timeout(timeout);
    // A dropped connection (fault) or a client hang-up ends here; both are normal.
    let _ = builder
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// The first pause after a failed accept; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

pub(crate) async fn run(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    core: Arc<Core>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    // At most `max_connections` served at once: past it, accepting waits
    // and new connections queue in the kernel's backlog.
    let slots = Arc::new(Semaphore::new(core.config.max_connections));
    let mut backoff = MIN_BACKOFF;
    loop {
        let slot = tokio::select! {
            _ = shutdown.changed() => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            _ = shutdown.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => {
                backoff = MIN_BACKOFF;
                tcp
            }
            Err(e) => {
                // Out of file descriptors and the like: pause rather than spin.
                tracing::warn!(error = %e, pause_ms = backoff.as_millis() as u64, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let core = core.clone();
        let timeout = core.config.connection_timeout;
        match &tls {
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                conns.spawn(async move {
                    let _slot = slot;
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(timeout, acceptor.accept(tcp)).await
                    {
                        serve_conn(core, stream).await;
                    }
                });
            }
            None => {
                conns.spawn(async move {
                    let _slot = slot;
                    serve_conn(core, tcp).await;
                });
            }
        }
    }
    // Dropping the set aborts every open connection.
    conns.shutdown().await;
}
