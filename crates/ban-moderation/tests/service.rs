//! The tower Service and the SDK executor, in-process: signed callbacks
//! through the service reach the embedded emulator over real HTTPS as
//! mutes and bans, in as few calls as the limits allow; refusals are
//! responses and events.

#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ban_callback::{sign, CallbackToken, Verifier};
use ban_emulator::{Emulator, GroupType};
use ban_facade::ClientBuilder;
use ban_moderation::{ClientExecutor, Event, EventKind, Moderation, Moderator, Outcome};
use ban_rules::Rules;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tower_service::Service;

const TOKEN: &str = "test-token";

const RULES: &str = r#"
[[rule]]
name = "spam"
on = "message"
contains_any = ["free coins"]
block = true
ladder = ["mute 10m"]

[[rule]]
name = "scam"
on = "message"
contains_any = ["send me your password"]
ladder = ["ban 1d"]

[[rule]]
name = "mild"
on = "message"
words_any = ["darn"]
mask = true
ladder = ["mute 1m"]
"#;

struct Rig {
    emu: Emulator,
    group: String,
    moderation: Moderation,
    svc: ban_moderation::ModerationService,
    events: Arc<Mutex<Vec<Event>>>,
}

async fn rig(members: usize) -> Rig {
    let emu = Emulator::builder().start().await.unwrap();
    let group = emu.create_group(None, GroupType::AVChatRoom).unwrap();
    for i in 0..members {
        emu.join(&group, &format!("bot{i}")).unwrap();
    }
    let client = ClientBuilder::for_emulator(&emu.ready_json())
        .unwrap()
        .build()
        .unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let moderation = Moderator::builder(Rules::parse(RULES).unwrap())
        .observer(move |e: &Event| sink.lock().unwrap().push(e.clone()))
        .start(ClientExecutor::new(client));
    let verifier = Verifier::new(emu.sdkappid(), Some(CallbackToken::new(TOKEN)));
    let svc = ban_moderation::service(verifier, moderation.moderator());
    Rig {
        emu,
        group,
        moderation,
        svc,
        events,
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn signed(app: u64, command: &str, token: &str) -> String {
    let t = now().to_string();
    let s = sign(&CallbackToken::new(token), &t);
    format!("/tim/callback?SdkAppid={app}&CallbackCommand={command}&contenttype=json&Sign={s}&RequestTime={t}")
}

fn message(group: &str, from: &str, text: &str, random: usize) -> String {
    serde_json::json!({"CallbackCommand": "Group.CallbackBeforeSendMsg", "GroupId": group,
        "Type": "AVChatRoom", "From_Account": from, "Random": random,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]})
    .to_string()
}

impl Rig {
    async fn post(&mut self, uri: &str, body: impl Into<Bytes>) -> (u16, String) {
        let req = http::Request::post(uri)
            .body(Full::new(body.into()))
            .unwrap();
        std::future::poll_fn(|cx| {
            Service::<http::Request<Full<Bytes>>>::poll_ready(&mut self.svc, cx)
        })
        .await
        .unwrap();
        let resp = self.svc.call(req).await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    async fn say(&mut self, from: &str, text: &str, random: usize) -> (u16, String) {
        let uri = signed(self.emu.sdkappid(), "Group.CallbackBeforeSendMsg", TOKEN);
        let body = message(&self.group, from, text, random);
        self.post(&uri, body).await
    }

    async fn wait_actions(&self, n: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let done = self
                .events
                .lock()
                .unwrap()
                .iter()
                .filter(|e| e.kind == EventKind::Action)
                .count();
            if done >= n {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{done} of {n} actions"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn signed_spam_is_refused_and_coalesced_into_500_member_mutes_and_20_member_bans() {
    let mut rig = rig(1_100).await;
    for i in 0..1_000 {
        let (status, body) = rig.say(&format!("bot{i}"), "free coins!", i).await;
        assert_eq!(status, 200);
        assert!(body.contains("\"ErrorCode\":1"), "refused at once: {body}");
    }
    for i in 1_000..1_100 {
        let (status, body) = rig
            .say(&format!("bot{i}"), "send me your password", i)
            .await;
        assert_eq!((status, body.contains("\"ErrorCode\":0")), (200, true));
    }
    rig.wait_actions(1_100).await;
    let events = rig.events.lock().unwrap().clone();
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::Action && e.outcome != Outcome::Done)
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    let state = rig.emu.group(&rig.group).unwrap();
    assert_eq!(state.muted.len(), 1_000);
    assert_eq!(state.banned.len(), 100);
    let stats = rig.emu.stats();
    let calls = |c: &str| stats.commands.get(c).map_or(0, |s| s.accepted);
    assert_eq!(
        (calls("forbid_send_msg"), calls("ban_group_member")),
        (2, 5),
        "1,000 mutes in calls of 500, 100 bans in calls of 20"
    );
    assert!(rig.moderation.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn a_masked_word_is_delivered_starred_and_still_counted() {
    let mut rig = rig(2).await;
    let (status, body) = rig.say("bot0", "oh d4rn, DARN it", 1).await;
    assert_eq!(status, 200);
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["ErrorCode"], 0, "{body}");
    assert_eq!(
        answer["MsgBody"][0]["MsgContent"]["Text"],
        "oh ****, **** it"
    );
    let (_, body) = rig.say("bot1", "a darning needle", 2).await;
    assert!(!body.contains("MsgBody"), "{body}");
    rig.wait_actions(1).await;
    let state = rig.emu.group(&rig.group).unwrap();
    let muted: Vec<_> = state
        .muted
        .iter()
        .map(|m| m.member_account.as_str())
        .collect();
    assert_eq!(muted, ["bot0"]);
    assert!(rig.moderation.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn refusals_are_responses_and_events_and_cause_nothing() {
    let mut rig = rig(3).await;
    let app = rig.emu.sdkappid();
    let body = message(&rig.group, "bot0", "free coins", 1);
    let bad = [
        signed(app, "Group.CallbackBeforeSendMsg", "wrong-token"),
        signed(app + 1, "Group.CallbackBeforeSendMsg", TOKEN),
        "/tim/callback?CallbackCommand=Group.CallbackBeforeSendMsg".to_owned(),
    ];
    for uri in &bad {
        let (status, answer) = rig.post(uri, body.clone()).await;
        assert_eq!(status, 401, "{uri}: {answer}");
        assert!(!answer.contains(TOKEN));
        // Anyone may ask: a 401 does not tell them this service's app.
        assert!(!answer.contains(&app.to_string()), "{answer}");
    }
    // A proxy in front may read the other copy of a repeated parameter.
    let twice = format!(
        "{}&Sign=00",
        signed(app, "Group.CallbackBeforeSendMsg", TOKEN)
    );
    let (status, answer) = rig.post(&twice, body.clone()).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("Sign more than once"), "{answer}");
    let huge = vec![b' '; ban_moderation::MAX_BODY + 1];
    let uri = signed(app, "Group.CallbackBeforeSendMsg", TOKEN);
    assert_eq!(rig.post(&uri, huge).await.0, 413);
    assert_eq!(rig.post(&uri, "not json").await.0, 400);
    let get = http::Request::get(&uri)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = rig.svc.call(get).await.unwrap();
    assert_eq!(resp.status(), 405);
    // An unknown command is answered OK, never an error.
    let unknown = signed(app, "Group.CallbackNew", TOKEN);
    let (status, answer) = rig.post(&unknown, "{}").await;
    assert_eq!((status, answer.contains("\"ErrorCode\":0")), (200, true));
    // A flood of bad signatures: each refused, told at most once a second.
    for _ in 0..2_000 {
        assert_eq!(rig.post(&bad[0], body.clone()).await.0, 401);
    }
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(rig.post(&bad[0], body.clone()).await.0, 401);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let events = rig.events.lock().unwrap().clone();
    let told = |want: &str| -> Vec<u64> {
        events
            .iter()
            .filter_map(|e| match &e.outcome {
                Outcome::Refused { reason, count, .. } if reason.as_str() == want => Some(*count),
                _ => None,
            })
            .collect()
    };
    let auth = told("auth");
    assert_eq!(
        auth.iter().sum::<u64>(),
        2 + 2_000 + 1,
        "every refusal counted: {auth:?}"
    );
    assert!(
        auth.len() <= 4,
        "2,003 refusals told in a line a second: {auth:?}"
    );
    assert!(!told("query").is_empty() && !told("body").is_empty());
    let statuses: Vec<u16> = events
        .iter()
        .filter_map(|e| match &e.outcome {
            Outcome::Refused { status, .. } => Some(*status),
            _ => None,
        })
        .collect();
    assert_eq!(&statuses[..2], [401, 401], "the first of a reason is told");
    assert!(
        events.iter().all(|e| e.kind == EventKind::Refused),
        "nothing else happened: {events:?}"
    );
    assert!(rig.emu.group(&rig.group).unwrap().muted.is_empty());
}

/// The executor's read of a group's ban list stands for
/// `EARLIER_FRESH`, with its own bans applied: a second round of a raid
/// costs no read (a read of 250 bans is 3 calls), yet each account's
/// earlier state is what it had (an outside ban kept, its own ban seen).
#[tokio::test]
async fn a_ban_lists_read_stands_for_a_while_with_the_executors_own_bans() {
    use ban_moderation::{Earlier, Executor};
    let emu = Emulator::builder().start().await.unwrap();
    let group = emu.create_group(None, GroupType::AVChatRoom).unwrap();
    let client = ClientBuilder::for_emulator(&emu.ready_json())
        .unwrap()
        .build()
        .unwrap();
    let before: Vec<String> = (0..250).map(|i| format!("old{i}")).collect();
    client
        .ban_members(
            &group,
            &before,
            ban_facade::BanDuration::from_secs(3600).unwrap(),
            None,
        )
        .await
        .unwrap();
    let reads = |emu: &Emulator| emu.stats().accepted("get_group_ban_member");
    let exec = ClientExecutor::new(client);
    let who = vec!["old7".to_owned(), "new1".to_owned()];
    let (first, calls) = exec.earlier(&group, true, &who).await.unwrap();
    assert_eq!(calls, 3, "250 bans, 100 a page");
    assert!(matches!(first["old7"], Earlier::Until(_)));
    assert_eq!(first["new1"], Earlier::Nothing);
    let step = ban_rules::Step::Ban(Duration::from_secs(86_400));
    let done = exec.execute(&group, step, &["new1".to_owned()]).await;
    assert!(matches!(done["new1"], Outcome::Done));
    let read = reads(&emu);
    let (second, calls) = exec.earlier(&group, true, &who).await.unwrap();
    assert_eq!((calls, reads(&emu)), (0, read), "the read stands");
    assert!(matches!(second["new1"], Earlier::Until(t) if t > emu.now() + 86_000));
    assert_eq!(second["old7"], first["old7"]);
}
