//! The emulator's callbacks as Tencent's 2026 pages describe them
//! (api-facts.md, "Callbacks, second check"), checked through a plain
//! receiver: hyper, `form_urlencoded` and `serde_json` only, never
//! `ban-callback`, so a mistake the emulator and our decoder share cannot
//! hide.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ban_emulator::{CallbackConfig, CallbackToken, Emulator, GroupType};
use bytes::Bytes;
use common::{call, code, raw_client, send, Raw};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

const G: &str = "@TGS#aFIDELITY";
const TOKEN: &str = "fidelity-token";
const OK: &str = r#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}"#;

/// How the receiver answers one command.
#[derive(Clone)]
enum Reply {
    /// HTTP 200 with this body.
    Body(String),
    /// This HTTP status, an OK body.
    Status(u16),
    /// Past the emulator's timeout.
    Late,
}

/// What the receiver got: each callback's query (as pairs) and body.
#[derive(Default)]
struct Receiver {
    seen: Mutex<Vec<(HashMap<String, String>, Value)>>,
    replies: Mutex<HashMap<String, Reply>>,
}

impl Receiver {
    fn answer(&self, command: &str, reply: Reply) {
        self.replies
            .lock()
            .unwrap()
            .insert(command.to_owned(), reply);
    }

    /// The callbacks of `command` so far.
    fn of(&self, command: &str) -> Vec<(HashMap<String, String>, Value)> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(q, _)| q.get("CallbackCommand").map(String::as_str) == Some(command))
            .cloned()
            .collect()
    }

    /// Waits until `n` callbacks of `command` came (after-callbacks are
    /// sent in the background).
    async fn wait_for(&self, command: &str, n: usize) -> Vec<(HashMap<String, String>, Value)> {
        for _ in 0..500 {
            let got = self.of(command);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{} of {n} {command} callbacks", self.of(command).len());
    }
}

async fn start_receiver(r: Arc<Receiver>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let r = r.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let r = r.clone();
                        async move {
                            let query: HashMap<String, String> =
                                form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                                    .into_owned()
                                    .collect();
                            let bytes = req.into_body().collect().await.unwrap().to_bytes();
                            let body: Value = serde_json::from_slice(&bytes).unwrap();
                            let command = query.get("CallbackCommand").cloned().unwrap_or_default();
                            r.seen.lock().unwrap().push((query, body));
                            let reply = r.replies.lock().unwrap().get(&command).cloned();
                            let (status, text) = match reply {
                                None => (200, OK.to_owned()),
                                Some(Reply::Body(b)) => (200, b),
                                Some(Reply::Status(s)) => (s, OK.to_owned()),
                                Some(Reply::Late) => {
                                    tokio::time::sleep(Duration::from_secs(3)).await;
                                    (200, OK.to_owned())
                                }
                            };
                            let mut resp = hyper::Response::new(Full::new(Bytes::from(text)));
                            *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                            Ok::<_, std::convert::Infallible>(resp)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    format!("http://{addr}/tim")
}

async fn setup(
    fail_closed: bool,
    more: impl FnOnce(ban_emulator::EmulatorBuilder) -> ban_emulator::EmulatorBuilder,
) -> (Arc<Receiver>, Emulator, Raw) {
    let r = Arc::new(Receiver::default());
    let url = start_receiver(r.clone()).await;
    let mut config = CallbackConfig::new(url, Some(CallbackToken::new(TOKEN)));
    // Past this the emulator gives up; a busy machine's answers come in well under it.
    config.timeout = Duration::from_millis(1_000);
    config.fail_closed = fail_closed;
    let emu = more(Emulator::builder().group(G).callback(config))
        .start()
        .await
        .unwrap();
    let client = raw_client(&emu, false);
    (r, emu, client)
}

/// A client's message over the control surface: the answer's envelope.
async fn client_send(c: &Raw, emu: &Emulator, body: Value) -> Value {
    let (status, v) = send(c, emu, "POST", "/emulator/v1/send", &body.to_string()).await;
    assert_eq!(status, 200, "{v}");
    v
}

fn texts(emu: &Emulator, member: &str) -> Vec<String> {
    emu.inbox(G, member)
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect()
}

#[tokio::test]
async fn the_app_s_code_text_and_replacement_reach_the_sender_and_the_room() {
    let (r, emu, c) = setup(false, |b| b).await;
    emu.join(G, "bob").unwrap();
    let before = "Group.CallbackBeforeSendMsg";
    // 10100-10200: the sender gets the app's own code and text.
    r.answer(
        before,
        Reply::Body(
            r#"{"ActionStatus":"OK","ErrorCode":10123,"ErrorInfo":"wait for the host"}"#.into(),
        ),
    );
    let v = client_send(
        &c,
        &emu,
        json!({"GroupId": G, "From_Account": "alice", "Text": "hello"}),
    )
    .await;
    assert_eq!(
        (code(&v), v["ErrorInfo"].as_str()),
        (10123, Some("wait for the host")),
        "{v}"
    );
    // 1: the service's own 10016.
    r.answer(
        before,
        Reply::Body(r#"{"ActionStatus":"OK","ErrorCode":1,"ErrorInfo":""}"#.into()),
    );
    let v = client_send(
        &c,
        &emu,
        json!({"GroupId": G, "From_Account": "alice", "Text": "hello"}),
    )
    .await;
    assert_eq!(code(&v), 10016, "{v}");
    assert!(texts(&emu, "bob").is_empty(), "refused: nobody received it");
    // 0 with MsgBody and CloudCustomData: the replacement is delivered and
    // told to the after-send callback.
    r.answer(
        before,
        Reply::Body(
            json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "",
                   "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "***"}}],
                   "CloudCustomData": "masked"})
            .to_string(),
        ),
    );
    let v = client_send(
        &c,
        &emu,
        json!({"GroupId": G, "From_Account": "alice", "Text": "badword"}),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    let inbox = emu.inbox(G, "bob").unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].text, "***", "the replacement, not badword");
    assert_eq!(inbox[0].cloud_custom_data, "masked");
    let after = r.wait_for("Group.CallbackAfterSendMsg", 1).await;
    assert_eq!(after[0].1["MsgBody"][0]["MsgContent"]["Text"], "***");
    // 2: the sender sees success with a real-looking MsgSeq; nobody gets it.
    r.answer(
        before,
        Reply::Body(r#"{"ActionStatus":"OK","ErrorCode":2,"ErrorInfo":""}"#.into()),
    );
    let v = client_send(
        &c,
        &emu,
        json!({"GroupId": G, "From_Account": "alice", "Text": "quiet"}),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    assert!(v["MsgSeq"].as_u64().unwrap() > inbox[0].seq, "{v}");
    assert_eq!(texts(&emu, "bob"), ["***"]);
}

/// Three failed before-send callbacks (late, HTTP 500, not JSON), then a
/// good one: each sender's code, and what the room received.
async fn through_failures(fail_closed: bool) -> (Vec<i64>, Vec<String>) {
    let before = "Group.CallbackBeforeSendMsg";
    let (r, emu, c) = setup(fail_closed, |b| b).await;
    emu.join(G, "bob").unwrap();
    let replies = [
        Reply::Late,
        Reply::Status(500),
        Reply::Body("not json".into()),
        Reply::Body(OK.into()),
    ];
    let mut codes = Vec::new();
    for (i, reply) in replies.into_iter().enumerate() {
        r.answer(before, reply);
        let v = client_send(
            &c,
            &emu,
            json!({"GroupId": G, "From_Account": "alice", "Text": format!("m{i}")}),
        )
        .await;
        codes.push(code(&v));
    }
    (codes, texts(&emu, "bob"))
}

#[tokio::test]
async fn a_failed_callback_delivers_or_refuses_with_80003_as_the_console_says() {
    // The default: each failure delivers.
    let (codes, room) = through_failures(false).await;
    assert_eq!(codes, [0, 0, 0, 0]);
    assert_eq!(room, ["m0", "m1", "m2", "m3"]);
    // Fail closed: each failure is refused with 80003 and nobody receives
    // it; a good answer still delivers.
    let (codes, room) = through_failures(true).await;
    assert_eq!(codes, [80003, 80003, 80003, 0]);
    assert_eq!(room, ["m3"]);
}

#[tokio::test]
async fn bodies_and_queries_carry_what_the_samples_show() {
    let (r, emu, c) = setup(false, |b| b.rate_limit(5)).await;
    emu.join(G, "bob").unwrap();
    // A client's send from Android.
    let v = client_send(
        &c,
        &emu,
        json!({"GroupId": G, "From_Account": "alice", "Text": "hi", "OptPlatform": "Android"}),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    let seq = v["MsgSeq"].as_u64().unwrap();
    let (q, body) = r.wait_for("Group.CallbackBeforeSendMsg", 1).await.remove(0);
    assert_eq!(q["OptPlatform"], "Android");
    assert_eq!(q["SdkAppid"], emu.sdkappid().to_string());
    assert!(q.contains_key("ClientIP") && q.contains_key("Sign") && q.contains_key("RequestTime"));
    assert_eq!(body["CallbackCommand"], "Group.CallbackBeforeSendMsg");
    assert_eq!(body["OnlineOnlyFlag"], 0);
    assert_eq!(body["Operator_Account"], "alice", "the client sender");
    assert_eq!(body["Type"], "AVChatRoom");
    let (q, body) = r.wait_for("Group.CallbackAfterSendMsg", 1).await.remove(0);
    assert_eq!(q["OptPlatform"], "Android");
    assert_eq!(body["CallbackCommand"], "Group.CallbackAfterSendMsg");
    assert_eq!(body["MsgSeq"], seq);
    assert!(body["MsgTime"].is_u64());
    assert!(!body["MsgId"].as_str().unwrap().is_empty(), "{body}");
    // An unknown platform is refused by name.
    let (status, v) = send(
        &c,
        &emu,
        "POST",
        "/emulator/v1/send",
        &json!({"GroupId": G, "From_Account": "alice", "Text": "hi", "OptPlatform": "Fridge"})
            .to_string(),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    // A REST send on a member's behalf: RESTAPI, the admin operates.
    let path = format!(
        "/v4/group_open_http_svc/send_group_msg?{}",
        common::admin_query(&emu)
    );
    let rest = json!({"GroupId": G, "From_Account": "alice", "Random": 7,
                      "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "from rest"}}]});
    let (_, v) = send(&c, &emu, "POST", &path, &rest.to_string()).await;
    assert_eq!(code(&v), 0, "{v}");
    let (q, body) = r.wait_for("Group.CallbackBeforeSendMsg", 2).await.remove(1);
    assert_eq!(q["OptPlatform"], "RESTAPI");
    assert_eq!(body["Operator_Account"], emu.admin());
    assert_eq!(body["From_Account"], "alice");
    // Joins carry their command too.
    let (_, body) = r
        .wait_for("Group.CallbackAfterNewMemberJoin", 1)
        .await
        .remove(0);
    assert_eq!(body["CallbackCommand"], "Group.CallbackAfterNewMemberJoin");
    // The over-limit alarm names the command's service, and has no ClientIP.
    for _ in 0..5 {
        let body = json!({"GroupId": G, "Members_Account": ["x"], "Duration": 60});
        call(&c, &emu, "ban_group_member", &body.to_string()).await;
    }
    let (q, body) = r.wait_for("Alert.RequestOverLimit", 1).await.remove(0);
    assert_eq!(body["ServiceName"], "group_open_http_svc");
    assert_eq!(body["Command"], "ban_group_member");
    assert_eq!(body["CallbackCommand"], "Alert.RequestOverLimit");
    assert!(!q.contains_key("ClientIP"), "{q:?}");
}

#[tokio::test]
async fn applications_exits_and_failures_after_the_before_send_step_are_told() {
    let (r, emu, c) = setup(false, |b| b.group_msg_rate(2)).await;
    // A Public group takes applications: the app is asked, and its own
    // code refuses the applicant.
    let public = emu.create_group(None, GroupType::Public).unwrap();
    let apply = "Group.CallbackBeforeApplyJoinGroup";
    r.answer(
        apply,
        Reply::Body(
            r#"{"ActionStatus":"OK","ErrorCode":10150,"ErrorInfo":"closed for now"}"#.into(),
        ),
    );
    let join = |g: &str, m: &str| json!({"GroupId": g, "Member_Account": m}).to_string();
    let (status, v) = send(
        &c,
        &emu,
        "POST",
        "/emulator/v1/join",
        &join(&public, "carol"),
    )
    .await;
    assert_eq!((status, &v["code"]), (403, &json!(10150)), "{v}");
    assert_eq!(v["message"], "closed for now");
    let (_, body) = r.wait_for(apply, 1).await.remove(0);
    assert_eq!(body["CallbackCommand"], apply);
    assert_eq!(body["Requestor_Account"], "carol");
    assert_eq!(body["Type"], "Public");
    assert!(!emu
        .group(&public)
        .unwrap()
        .members
        .contains(&"carol".to_owned()));
    r.answer(apply, Reply::Body(OK.into()));
    let (status, v) = send(
        &c,
        &emu,
        "POST",
        "/emulator/v1/join",
        &join(&public, "carol"),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert!(emu
        .group(&public)
        .unwrap()
        .members
        .contains(&"carol".to_owned()));
    // A live room is joined freely: no application callback.
    let (status, _) = send(&c, &emu, "POST", "/emulator/v1/join", &join(G, "dave")).await;
    assert_eq!(status, 200);
    r.wait_for("Group.CallbackAfterNewMemberJoin", 2).await;
    assert_eq!(r.of(apply).len(), 2, "only the Public group's");
    // Leaving: AfterMemberExit with ExitType Quit.
    let (status, _) = send(&c, &emu, "POST", "/emulator/v1/leave", &join(G, "dave")).await;
    assert_eq!(status, 200);
    let (_, body) = r
        .wait_for("Group.CallbackAfterMemberExit", 1)
        .await
        .remove(0);
    assert_eq!(body["ExitType"], "Quit");
    assert_eq!(body["ExitMemberList"], json!([{"Member_Account": "dave"}]));
    // A muted sender passes the before-send step, then fails with 10017
    // and the app hears of it.
    let mute = json!({"GroupId": G, "Members_Account": ["mia"], "MuteTime": 600});
    assert_eq!(
        code(&call(&c, &emu, "forbid_send_msg", &mute.to_string()).await),
        0
    );
    let v = client_send(
        &c,
        &emu,
        json!({"GroupId": G, "From_Account": "mia", "Text": "let me speak"}),
    )
    .await;
    assert_eq!(code(&v), 10017, "{v}");
    let (_, body) = r
        .wait_for("Group.CallbackSendMsgException", 1)
        .await
        .remove(0);
    assert_eq!(body["ErrorCode"], 10017);
    assert_eq!(body["From_Account"], "mia");
    assert_eq!(body["CallbackCommand"], "Group.CallbackSendMsgException");
    let asked = r.of("Group.CallbackBeforeSendMsg");
    assert_eq!(asked.last().unwrap().1["From_Account"], "mia");
    // Over the group's message rate (2 a second): 10023, told the same way.
    let mut codes = Vec::new();
    for i in 0..3 {
        let v = client_send(
            &c,
            &emu,
            json!({"GroupId": G, "From_Account": "erin", "Text": format!("{i}")}),
        )
        .await;
        codes.push(code(&v));
    }
    assert_eq!(codes, [0, 0, 10023]);
    let told = r.wait_for("Group.CallbackSendMsgException", 2).await;
    assert_eq!(told[1].1["ErrorCode"], 10023);
    // An account the app silenced (setnospeaking) gets 10017 at once: no
    // before-send callback is asked about it. Its answer has no
    // ActionStatus.
    let v = call(
        &c,
        &emu,
        "openconfigsvr/setnospeaking",
        &json!({"Set_Account": "nina", "GroupmsgNospeakingTime": 600}).to_string(),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    assert!(v.get("ActionStatus").is_none(), "{v}");
    let before = r.of("Group.CallbackBeforeSendMsg").len();
    let v = client_send(
        &c,
        &emu,
        json!({"GroupId": G, "From_Account": "nina", "Text": "hello?"}),
    )
    .await;
    assert_eq!(code(&v), 10017, "{v}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(r.of("Group.CallbackBeforeSendMsg").len(), before);
}
