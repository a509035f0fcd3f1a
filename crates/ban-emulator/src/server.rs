//! The HTTP(S) server: accepts connections and hands requests to the core.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
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
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Err(Dropped),
    };
    let is_api = parts.uri.path().starts_with("/v4/");
    let mut reply = core.handle(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query(),
        &body,
    );
    if is_api && !core.config.latency.is_zero() {
        tokio::time::sleep(core.config.latency).await;
    }
    loop {
        match reply {
            Reply::Json(status, body) => return Ok(respond(status, body)),
            Reply::Drop => return Err(Dropped),
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
    let service = hyper::service::service_fn(move |req| handle(core.clone(), req));
    let builder = auto::Builder::new(TokioExecutor::new());
    // A dropped connection (fault) or a client hang-up ends here; both are normal.
    let _ = builder
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

pub(crate) async fn run(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    core: Arc<Core>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let _ = tcp.set_nodelay(true);
                let core = core.clone();
                match &tls {
                    Some(acceptor) => {
                        let acceptor = acceptor.clone();
                        conns.spawn(async move {
                            if let Ok(stream) = acceptor.accept(tcp).await {
                                serve_conn(core, stream).await;
                            }
                        });
                    }
                    None => {
                        conns.spawn(serve_conn(core, tcp));
                    }
                }
            }
        }
    }
    // Dropping the set aborts every open connection.
    conns.shutdown().await;
}
