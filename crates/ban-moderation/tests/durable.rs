//! Decided actions outlive the process (the journal), and a repeat of a
//! callback is counted once (the replay window): the loop without a
//! process, a fake executor, tokio's clock paused where time matters.

#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ban_callback::{Callback, GroupMessage, MemberJoin};
use ban_moderation::{
    BoxFuture, Earlier, EarlierRead, Event, EventKind, Executor, FileJournal, Moderator, Outcome,
};
use ban_rules::{Rules, Step};

/// The house rules every moderation test and bench judges by.
const RULES: &str = include_str!("../../ban-rules/tests/fixtures/house.toml");

type Calls = Arc<Mutex<Vec<(Step, Vec<String>)>>>;

/// Records each call; reports every account done, or never answers (the
/// call lands on the service all the same).
#[derive(Clone, Default)]
struct Recorder {
    calls: Calls,
    stall: bool,
    /// The service: each account acted on, with its step.
    service: Arc<Mutex<HashMap<String, Step>>>,
}

impl Executor for Recorder {
    fn execute<'a>(
        &'a self,
        _group: &'a str,
        step: Step,
        accounts: &'a [String],
    ) -> BoxFuture<'a, HashMap<String, Outcome>> {
        self.calls.lock().unwrap().push((step, accounts.to_vec()));
        let mut service = self.service.lock().unwrap();
        for a in accounts {
            service.insert(a.clone(), step);
        }
        drop(service);
        if self.stall {
            return Box::pin(std::future::pending());
        }
        let done = accounts
            .iter()
            .map(|a| (a.clone(), Outcome::Done))
            .collect();
        Box::pin(std::future::ready(done))
    }

    fn earlier<'a>(
        &'a self,
        _group: &'a str,
        _ban: bool,
        accounts: &'a [String],
    ) -> BoxFuture<'a, EarlierRead> {
        let service = self.service.lock().unwrap();
        let found = accounts
            .iter()
            .filter(|a| service.contains_key(*a))
            .map(|a| (a.clone(), Earlier::Until(2_000_000_000)))
            .collect();
        Box::pin(std::future::ready(Ok((found, 1))))
    }
}

type Events = Arc<Mutex<Vec<Event>>>;

fn sink(events: &Events) -> impl Fn(&Event) + Send + Sync + 'static {
    let events = events.clone();
    move |e: &Event| events.lock().unwrap().push(e.clone())
}

fn spam(from: &str, random: Option<u64>) -> Callback {
    let mut m = GroupMessage::text_message("@TGS#aLIVE", "AVChatRoom", from, "free coins", 1, 0);
    m.random = random;
    Callback::BeforeSendMsg(m)
}

fn steps_of(calls: &Calls, account: &str) -> Vec<Step> {
    let calls = calls.lock().unwrap();
    calls
        .iter()
        .filter(|(_, a)| a.iter().any(|x| x == account))
        .map(|(s, _)| *s)
        .collect()
}

fn mins(m: u64) -> Duration {
    Duration::from_secs(60 * m)
}

/// A callback repeated byte for byte at +0, +122 and +244 s, inside a
/// 300 s freshness window: one offence, one mute.
#[tokio::test(start_paused = true)]
async fn a_replayed_callback_is_counted_once_for_the_whole_window() {
    let rec = Recorder::default();
    let moderation = Moderator::builder(Rules::parse(RULES).unwrap())
        .replay_window(Duration::from_secs(300))
        .start(rec.clone());
    let m = moderation.moderator();
    for _ in 0..3 {
        // No Random: only the callback's digest tells the repeats apart.
        let answer = m.judge_once(spam("bot", None), Some("digest-1".into()));
        assert_eq!(answer.error_code, 1, "answered as before");
        tokio::time::sleep(Duration::from_secs(122)).await;
    }
    assert_eq!(steps_of(&rec.calls, "bot"), [Step::Mute(Some(mins(10)))]);
    // The control: the same three without a digest climb the ladder.
    for _ in 0..3 {
        m.judge_once(spam("ctl", None), None);
        tokio::time::sleep(Duration::from_secs(122)).await;
    }
    assert_eq!(
        steps_of(&rec.calls, "ctl"),
        [
            Step::Mute(Some(mins(10))),
            Step::Mute(Some(mins(60))),
            Step::Ban(Duration::from_secs(7 * 86_400))
        ]
    );
}

/// Content results of one `MsgID`, and joins of one member at one
/// `EventTime`, however often they come, are one event each.
#[tokio::test(start_paused = true)]
async fn content_results_by_msgid_and_joins_by_member_and_time() {
    let rec = Recorder::default();
    let moderation = Moderator::builder(Rules::parse(RULES).unwrap()).start(rec.clone());
    let m = moderation.moderator();
    let result = |id: &str, from: &str| {
        let body = format!(
            r#"{{"From_Account":"{from}","ContactItem":{{"ContactType":2,"ToGroupId":"@TGS#aLIVE"}},"TextContent":"buy","MsgID":"{id}","CtxcbResult":1,"CtxcbLabel":"Ad"}}"#
        );
        Callback::decode("ContentCallback.ResultNotify", body.as_bytes()).unwrap()
    };
    for i in 0..100 {
        // Each delivery is a new request (a new digest), of one message.
        m.judge_once(result("msg-1", "adbot"), Some(format!("d{i}")));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(steps_of(&rec.calls, "adbot").len(), 1);
    // The control: three messages are three offences.
    for id in ["a", "b", "c"] {
        m.judge_once(result(id, "adbot2"), None);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(steps_of(&rec.calls, "adbot2").len(), 3);

    for _ in 0..100 {
        let join = MemberJoin::new("@TGS#aLIVE", "AVChatRoom", &["joiner"], 1_000);
        m.judge(Callback::AfterNewMemberJoin(join));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        steps_of(&rec.calls, "joiner").is_empty(),
        "one join is not a raid"
    );
    // The control: four joins at four moments are over the limit of 3.
    for t in 0..4 {
        let join = MemberJoin::new("@TGS#aLIVE", "AVChatRoom", &["rejoiner"], 2_000 + t);
        m.judge(Callback::AfterNewMemberJoin(join));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(steps_of(&rec.calls, "rejoiner").len(), 1);
}

fn state_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ban-durable-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A process that dies with 100 actions decided and none returned (their
/// calls landed): the next one sends all of them, each with what its
/// account had before the first call (not the mute that landed), and the
/// offences go on from their counts.
#[test]
fn decided_actions_and_counts_outlive_the_process() {
    let dir = state_dir("kill");
    let first = Recorder {
        stall: true,
        ..Recorder::default()
    };
    let decided: Events = Arc::default();
    {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let moderation = Moderator::builder(Rules::parse(RULES).unwrap())
                .journal(FileJournal::open(&dir).unwrap())
                .observer(sink(&decided))
                .start(first.clone());
            for i in 0..100 {
                moderation
                    .moderator()
                    .judge(spam(&format!("bot{i}"), Some(i)));
            }
            while decided.lock().unwrap().len() < 100 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            // Let the calls go out (and never come back), then "die": the
            // runtime and everything on it is dropped, nothing shut down
            // (the journal's lock goes with the last of its tasks).
            tokio::time::sleep(Duration::from_millis(100)).await;
            drop(moderation);
        });
        // Dropping the runtime drops every task on it, and with the last
        // of them the journal and its lock.
        drop(rt);
    }
    let queued = decided
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e.outcome, Outcome::Queued { .. }))
        .count();
    assert_eq!(queued, 100);
    assert!(!first.calls.lock().unwrap().is_empty(), "calls were sent");

    let second = Recorder {
        service: first.service.clone(),
        ..Recorder::default()
    };
    let events: Events = Arc::default();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let journal = FileJournal::open(&dir).unwrap_or_else(|e| panic!("{e}"));
        let moderation = Moderator::builder(Rules::parse(RULES).unwrap())
            .journal(journal)
            .observer(sink(&events))
            .start(second.clone());
        let done = || {
            events
                .lock()
                .unwrap()
                .iter()
                .filter(|e| e.kind == EventKind::Action && e.outcome == Outcome::Done)
                .count()
        };
        while done() < 100 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // The second offence of bot0 is its second step.
        moderation.moderator().judge(spam("bot0", Some(1_000)));
        while done() < 101 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(moderation.shutdown(Duration::from_secs(5)).await);
    });
    let mut sent: Vec<String> = second
        .calls
        .lock()
        .unwrap()
        .iter()
        .filter(|(s, _)| *s == Step::Mute(Some(mins(10))))
        .flat_map(|(_, a)| a.clone())
        .collect();
    sent.sort();
    sent.dedup();
    assert_eq!(sent.len(), 100, "every decided action is sent again");
    let befores: Vec<Option<Earlier>> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.kind == EventKind::Action && e.step == Some(Step::Mute(Some(mins(10)))))
        .map(|e| e.earlier)
        .collect();
    assert_eq!(befores.len(), 100);
    assert!(
        befores.iter().all(|b| *b == Some(Earlier::Nothing)),
        "the state before the first call, kept by the journal: {:?}",
        befores.iter().find(|b| **b != Some(Earlier::Nothing))
    );
    assert_eq!(
        steps_of(&second.calls, "bot0").last(),
        Some(&Step::Mute(Some(mins(60)))),
        "the count went on from the first process's"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
