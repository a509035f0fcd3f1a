//! The emulator calls the app back: a test app on loopback receives the
//! signed callbacks and answers; the emulator honours the before-send
//! verdict as the service does.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ban_callback::{Callback, CallbackQuery, CallbackToken, Verifier};
use ban_emulator::{CallbackConfig, Emulator};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

const G: &str = "@TGS#aCALLBACK";
const TOKEN: &str = "emulator-callback-token";

/// What the app received, and how it answers before-send callbacks.
#[derive(Default)]
struct App {
    seen: Mutex<Vec<(CallbackQuery, Callback)>>,
    /// The before-send `ErrorCode`; `None`: never answer.
    verdict: Mutex<Option<i64>>,
}

async fn start_app(app: Arc<App>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let app = app.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let app = app.clone();
                        async move {
                            let q = CallbackQuery::parse(req.uri().query().unwrap_or("")).unwrap();
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let cb = Callback::decode(&q.command, &body).unwrap();
                            let before = matches!(cb, Callback::BeforeSendMsg(_));
                            app.seen.lock().unwrap().push((q, cb));
                            let verdict = *app.verdict.lock().unwrap();
                            let code = match (before, verdict) {
                                (true, None) => {
                                    tokio::time::sleep(Duration::from_secs(5)).await;
                                    0
                                }
                                (true, Some(c)) => c,
                                (false, _) => 0,
                            };
                            let answer = format!(
                                r#"{{"ActionStatus":"OK","ErrorCode":{code},"ErrorInfo":""}}"#
                            );
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                                Bytes::from(answer),
                            )))
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    format!("http://{addr}/tim?from=console")
}

async fn setup(rate: Option<u32>) -> (Arc<App>, Emulator) {
    let app = Arc::new(App::default());
    *app.verdict.lock().unwrap() = Some(0);
    let url = start_app(app.clone()).await;
    let mut config = CallbackConfig::new(url, Some(CallbackToken::new(TOKEN)));
    config.timeout = Duration::from_millis(300);
    let mut b = Emulator::builder().group(G).callback(config);
    if let Some(r) = rate {
        b = b.rate_limit(r);
    }
    (app, b.start().await.unwrap())
}

fn commands(app: &App) -> Vec<String> {
    app.seen
        .lock()
        .unwrap()
        .iter()
        .map(|(q, _)| q.command.clone())
        .collect()
}

async fn until(app: &App, n: usize) {
    for _ in 0..500 {
        if app.seen.lock().unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{} callbacks of {n}: {:?}",
        app.seen.lock().unwrap().len(),
        commands(app)
    );
}

#[tokio::test]
async fn callbacks_are_signed_and_the_before_send_verdict_is_honoured() {
    let (app, emu) = setup(None).await;
    emu.join(G, "alice").unwrap();
    emu.join(G, "bob").unwrap();
    until(&app, 2).await;
    // Allowed: delivered, and told after.
    assert_eq!(emu.client_send(G, "alice", "hello").await.code(), 0);
    until(&app, 4).await;
    assert_eq!(emu.inbox(G, "bob").unwrap().len(), 1);
    // Refused: the sender gets 10016, nobody receives it.
    *app.verdict.lock().unwrap() = Some(1);
    assert_eq!(emu.client_send(G, "alice", "spam").await.code(), 10016);
    // Dropped silently: the sender sees success, nobody receives it.
    *app.verdict.lock().unwrap() = Some(2);
    assert_eq!(emu.client_send(G, "alice", "quiet").await.code(), 0);
    assert_eq!(emu.inbox(G, "bob").unwrap().len(), 1);
    // No answer in time: delivered, as the console's default says.
    *app.verdict.lock().unwrap() = None;
    assert_eq!(emu.client_send(G, "alice", "late").await.code(), 0);
    assert_eq!(emu.inbox(G, "bob").unwrap().len(), 2);
    let stats = emu.stats().callbacks;
    assert_eq!((stats.rejected, stats.dropped), (1, 1));
    assert!(stats.failed >= 1, "the late answer: {stats:?}");

    let verifier = Verifier::new(emu.sdkappid(), Some(CallbackToken::new(TOKEN)));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let seen = app.seen.lock().unwrap();
    for (q, _) in seen.iter() {
        assert_eq!(verifier.verify(q, now), Ok(()), "{q:?}");
        // Joins by the admin (the library's join) come from RESTAPI, a
        // client's messages from its platform (Web by default).
        let want = match q.command.as_str() {
            "Group.CallbackAfterNewMemberJoin" => "RESTAPI",
            _ => "Web",
        };
        assert_eq!(q.platform.as_deref(), Some(want), "{q:?}");
    }
    let join = seen.iter().find_map(|(_, cb)| match cb {
        Callback::AfterNewMemberJoin(j) => Some(j.clone()),
        _ => None,
    });
    let join = join.expect("a join callback");
    assert_eq!(
        (
            join.group_id.as_str(),
            join.new_members[0].member_account.as_str()
        ),
        (G, "alice")
    );
    let before_send = seen.iter().find_map(|(_, cb)| match cb {
        Callback::BeforeSendMsg(m) => Some(m.clone()),
        _ => None,
    });
    let m = before_send.unwrap();
    assert_eq!(
        (
            m.from_account.as_str(),
            m.text().as_str(),
            m.group_type.as_str()
        ),
        ("alice", "hello", "AVChatRoom")
    );
    let after = seen.iter().find_map(|(_, cb)| match cb {
        Callback::AfterSendMsg(m) => Some(m.clone()),
        _ => None,
    });
    assert_eq!(after.unwrap().msg_seq, Some(1));
}

#[tokio::test]
async fn a_command_above_80_percent_of_its_rate_raises_the_alarm() {
    let (app, emu) = setup(Some(10)).await;
    let raw = common::raw_client(&emu, false);
    for i in 0..9 {
        let body = format!(r#"{{"GroupId":"{G}","Members_Account":["m{i}"],"Duration":60}}"#);
        assert_eq!(
            common::code(&common::call(&raw, &emu, "ban_group_member", &body).await),
            0
        );
    }
    until(&app, 1).await;
    let seen = app.seen.lock().unwrap();
    let alerts: Vec<_> = seen
        .iter()
        .filter_map(|(_, cb)| match cb {
            Callback::RequestOverLimit(a) => Some(a.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(alerts.len(), 1, "once a second: {alerts:?}");
    assert_eq!(
        (alerts[0].command.as_str(), alerts[0].limit),
        ("ban_group_member", Some(10))
    );
    assert!(alerts[0].request.unwrap() > 8);
}

#[test]
fn only_plain_http_on_loopback_is_called() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for url in [
        "https://127.0.0.1:1/x",
        "http://example.com/cb",
        "not a url",
    ] {
        let err = rt
            .block_on(
                Emulator::builder()
                    .callback(CallbackConfig::new(url, None))
                    .start(),
            )
            .unwrap_err();
        let why = std::error::Error::source(&err)
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(why.contains("callback URL"), "{url}: {err}: {why}");
    }
}
