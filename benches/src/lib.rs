//! Shared fixtures for the benchmarks under `benches/benches/`: an emulator,
//! an SDK transport and a bare hyper client pointed at it, and sample
//! requests. Run them all with `cargo bench -p ban-benches`, or a table of
//! medians with `cargo xtask bench`.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(unused_crate_dependencies))]

use std::sync::Arc;
use std::time::Duration;

use ban_emulator::{Emulator, EmulatorBuilder};
use ban_facade::SignerCredentials;
use ban_proto::{BanDuration, BanRequest, Description, GroupId, MemberAccount, MemberList};
use ban_sign::{CachedSigner, RenewPolicy, Signer};
use ban_transport::{RetryPolicy, Transport};
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The group every fixture uses.
pub const GROUP: &str = "@TGS#aBENCH";

/// `n` member names, `prefix0000`...
pub fn member_names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:05}")).collect()
}

/// Validated accounts borrowing `names`.
pub fn accounts(names: &[String]) -> Vec<MemberAccount<'_>> {
    names
        .iter()
        .map(|n| MemberAccount::new(n.as_str()).expect("valid name"))
        .collect()
}

/// A ban request borrowing `accounts`.
pub fn ban_request<'a>(accounts: &'a [MemberAccount<'a>]) -> BanRequest<'a> {
    BanRequest {
        group_id: GroupId::new(GROUP).expect("valid group"),
        members: MemberList::borrowed(accounts).expect("1..=20 members"),
        duration: BanDuration::from_secs(3600).expect("nonzero"),
        description: Some(Description::new("spam").expect("short")),
    }
}

/// Starts an emulator with the bench group, on the current runtime.
pub async fn emulator(b: EmulatorBuilder) -> Emulator {
    b.group(GROUP).start().await.expect("emulator starts")
}

/// The SDK transport against the emulator, rate limit off.
pub fn transport(emu: &Emulator) -> Transport {
    let signer = Signer::new(emu.sdkappid(), emu.secret_key().clone());
    let cache = CachedSigner::new(emu.admin(), signer, RenewPolicy::default());
    Transport::builder(SignerCredentials::new(Arc::new(cache)))
        .endpoint(emu.endpoint())
        .webpki_roots(false)
        .add_root_certificate_pem(emu.ca_cert_pem().expect("TLS emulator"))
        .expect("CA parses")
        .rate_limit(None)
        .retry(RetryPolicy::default().deadline(Duration::from_secs(30)))
        .build()
        .expect("transport builds")
}

/// A bare hyper client (the baseline) trusting the emulator's CA.
pub type BareClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A bare hyper-util client over hyper-rustls, ALPN as the SDK's (h2 or HTTP/1.1).
pub fn bare_client(emu: &Emulator) -> BareClient {
    bare_client_with(emu, true)
}

/// A bare client; `http2: false` keeps it to HTTP/1.1 keep-alive connections.
pub fn bare_client_with(emu: &Emulator, http2: bool) -> BareClient {
    let tls =
        ban_emulator::client_config(emu.ca_cert_pem().expect("TLS emulator")).expect("TLS config");
    // The same TCP settings as the SDK's (nodelay, or delayed ACKs add 40 ms).
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let conn = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1();
    let conn = if http2 {
        conn.enable_http2().wrap_connector(http)
    } else {
        conn.wrap_connector(http)
    };
    Client::builder(TokioExecutor::new()).build(conn)
}

/// The full URL of a ban call, signed once (what the baseline sends).
pub fn signed_url(emu: &Emulator, command: &str) -> String {
    let sig =
        Signer::new(emu.sdkappid(), emu.secret_key().clone()).sign(emu.admin(), emu.now(), 86_400);
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("sdkappid", &emu.sdkappid().to_string())
        .append_pair("identifier", emu.admin())
        .append_pair("usersig", sig.expose())
        .append_pair("random", "12345")
        .append_pair("contenttype", "json")
        .finish();
    format!(
        "{}/v4/group_open_http_svc/{command}?{query}",
        emu.endpoint()
    )
}

/// Sends one request with the bare client and reads the whole answer.
pub async fn bare_call(client: &BareClient, url: &str, body: Bytes) -> Bytes {
    use http_body_util::BodyExt;
    let req = hyper::Request::post(url)
        .body(Full::new(body))
        .expect("request");
    let resp = client.request(req).await.expect("answer");
    resp.into_body().collect().await.expect("body").to_bytes()
}
