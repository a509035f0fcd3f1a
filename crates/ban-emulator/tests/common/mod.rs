//! A raw hyper + rustls client for speaking to the emulator directly (not
//! through our SDK: the emulator's fidelity is tested on its own).

#![allow(dead_code)]

use std::sync::Arc;

use ban_emulator::Emulator;
use ban_sign::Signer;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::Value;

pub(crate) type Raw = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

pub(crate) fn client_config(ca_pem: Option<&str>) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = ca_pem {
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

pub(crate) fn raw_client(emu: &Emulator, http2_only: bool) -> Raw {
    let b = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(client_config(emu.ca_cert_pem()))
        .https_or_http();
    let connector = if http2_only {
        b.enable_http2().build()
    } else {
        b.enable_http1().build()
    };
    let mut builder = Client::builder(TokioExecutor::new());
    builder.http2_only(http2_only);
    builder.build(connector)
}

pub(crate) fn admin_query(emu: &Emulator) -> String {
    let signer = Signer::new(emu.sdkappid(), emu.secret_key().clone());
    let sig = signer.sign(emu.admin(), emu.now(), 86_400);
    query(emu.sdkappid(), emu.admin(), sig.expose())
}

pub(crate) fn query(sdkappid: u64, identifier: &str, usersig: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("sdkappid", &sdkappid.to_string())
        .append_pair("identifier", identifier)
        .append_pair("usersig", usersig)
        .append_pair("random", "99999999")
        .append_pair("contenttype", "json")
        .finish()
}

/// Sends a request; returns the HTTP status and the body as JSON (or as a
/// JSON string when it is not JSON).
pub(crate) async fn send(
    client: &Raw,
    emu: &Emulator,
    method: &str,
    path_and_query: &str,
    body: &str,
) -> (u16, Value) {
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(format!("{}{}", emu.endpoint(), path_and_query))
        .header("content-type", "application/json");
    if let Some(token) = emu.control_token() {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let req = req.body(Full::new(Bytes::from(body.to_owned()))).unwrap();
    let resp = client.request(req).await.expect("request failed");
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

/// POSTs a ban API command as the admin.
/// Calls `command` as the admin: a group command by its name, another
/// service's as `service/command`.
pub(crate) async fn call(client: &Raw, emu: &Emulator, command: &str, body: &str) -> Value {
    let path = if command.contains('/') {
        format!("/v4/{command}?{}", admin_query(emu))
    } else {
        format!("/v4/group_open_http_svc/{command}?{}", admin_query(emu))
    };
    let (status, v) = send(client, emu, "POST", &path, body).await;
    assert_eq!(status, 200, "{v}");
    v
}

pub(crate) fn code(v: &Value) -> i64 {
    v["ErrorCode"]
        .as_i64()
        .unwrap_or_else(|| panic!("no ErrorCode in {v}"))
}
