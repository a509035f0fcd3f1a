//! The emulator under misuse: its control surface, its clock, its
//! statistics and its connections hold up.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ban_emulator::{Emulator, UNKNOWN_COMMAND};
use common::*;

const G: &str = "@TGS#aHARD";

/// The code of one `get_group_ban_member` page of the test group.
async fn list_page(c: &Raw, emu: &Emulator) -> i64 {
    let body = r#"{"GroupId": "@TGS#aHARD", "Offset": 0}"#;
    code(&call(c, emu, "get_group_ban_member", body).await)
}

#[tokio::test]
async fn the_control_surface_needs_its_token_unless_opened() {
    let emu = Emulator::builder().group(G).start().await.unwrap();
    let token = emu.control_token().expect("a token by default").to_owned();
    assert_eq!(
        emu.ready_info().control_token.as_deref(),
        Some(token.as_str())
    );
    assert!(!format!("{:?}", emu.ready_info()).contains(&token));
    // `send` carries the token: the request is served.
    let c = raw_client(&emu, false);
    let (status, _) = send(&c, &emu, "POST", "/emulator/v1/reset", "").await;
    assert_eq!(status, 200);
    // Without it (a raw request of another local process): refused.
    let req = hyper::Request::post(format!("{}/emulator/v1/reset", emu.endpoint()))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let resp = c.request(req).await.unwrap();
    assert_eq!(resp.status(), 401);
    let req = hyper::Request::post(format!("{}/emulator/v1/reset", emu.endpoint()))
        .header("authorization", "Bearer wrong")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    assert_eq!(c.request(req).await.unwrap().status(), 401);

    let open = Emulator::builder()
        .open_control(true)
        .start()
        .await
        .unwrap();
    assert_eq!(open.control_token(), None);
    let c = raw_client(&open, false);
    let req = hyper::Request::get(format!("{}/emulator/v1/stats", open.endpoint()))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    assert_eq!(c.request(req).await.unwrap().status(), 200);
}

#[tokio::test]
async fn an_absurd_clock_advance_is_refused_and_nothing_breaks() {
    let emu = Emulator::builder().group(G).start().await.unwrap();
    let c = raw_client(&emu, false);
    let (status, v) = send(
        &c,
        &emu,
        "POST",
        "/emulator/v1/clock/advance",
        &format!(r#"{{"seconds": {}}}"#, u64::MAX),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert!(emu.advance_clock(u64::MAX / 2).is_err());
    // Many legal steps cannot overflow it either.
    let mut refused = false;
    for _ in 0..200 {
        if emu.advance_clock(3_000_000_000).is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused, "the clock stops before it overflows");
    // The API still answers.
    assert_eq!(list_page(&c, &emu).await, 0);
}

#[tokio::test]
async fn unknown_commands_share_one_statistics_bucket() {
    let emu = Emulator::builder()
        .group(G)
        .rate_limit(0)
        .start()
        .await
        .unwrap();
    let c = raw_client(&emu, false);
    for i in 0..500 {
        send(
            &c,
            &emu,
            "POST",
            &format!("/v4/group_open_http_svc/made_up_{i}"),
            "{}",
        )
        .await;
        send(&c, &emu, "POST", &format!("/v4/other_svc_{i}/x"), "{}").await;
    }
    let stats = emu.stats();
    let names: Vec<&String> = stats.commands.keys().collect();
    assert_eq!(names, [UNKNOWN_COMMAND], "{names:?}");
    assert_eq!(stats.commands[UNKNOWN_COMMAND].rejected, 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_half_sent_connections_are_closed_and_capped() {
    let emu = Emulator::builder()
        .group(G)
        .plain_http()
        .max_connections(2)
        .connection_timeout(Duration::from_millis(400))
        .start()
        .await
        .unwrap();
    let addr = emu.local_addr();
    // Two connections take both slots: one sends half a request, one nothing.
    let mut half = TcpStream::connect(addr).unwrap();
    half.write_all(b"POST /v4/group_open_http_svc/ban_group_member HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let silent = TcpStream::connect(addr).unwrap();
    // A third waits for a slot, and is served once the others time out.
    let started = Instant::now();
    let c = raw_client(&emu, false);
    assert_eq!(list_page(&c, &emu).await, 0);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300),
        "{waited:?}: the cap held it"
    );
    // Both were closed by the server.
    for mut s in [half, silent] {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).unwrap_or(0);
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(n == 0 || text.starts_with("HTTP/1.1 408"), "{text}");
    }
}
