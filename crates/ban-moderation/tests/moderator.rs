//! The loop's logic without a process: a fake executor records the steps
//! it is asked to take, tokio's clock is paused, and events are collected
//! by an observer.

#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ban_callback::{Callback, GroupMessage, MemberJoin};
use ban_moderation::{BoxFuture, Event, EventKind, Executor, Moderation, Moderator, Outcome};
use ban_rules::{Rules, Step};

/// The house rules every moderation test and bench judges by.
const RULES: &str = include_str!("../../ban-rules/tests/fixtures/house.toml");

type Calls = Arc<Mutex<Vec<(String, Step, Vec<String>)>>>;

/// Records each job (and each freeze or thaw) and reports every account
/// done.
#[derive(Clone, Default)]
struct Recorder(
    Calls,
    Arc<Mutex<Vec<(String, bool)>>>,
    /// The room's members as `get_members` would list them.
    Arc<Mutex<Vec<(String, u64)>>>,
);

impl Executor for Recorder {
    fn execute<'a>(
        &'a self,
        group: &'a str,
        step: Step,
        accounts: &'a [String],
    ) -> BoxFuture<'a, HashMap<String, Outcome>> {
        self.0
            .lock()
            .unwrap()
            .push((group.to_owned(), step, accounts.to_vec()));
        let done = accounts
            .iter()
            .map(|a| (a.clone(), Outcome::Done))
            .collect();
        Box::pin(std::future::ready(done))
    }

    fn freeze<'a>(&'a self, group: &'a str, on: bool) -> BoxFuture<'a, Result<(), String>> {
        self.1.lock().unwrap().push((group.to_owned(), on));
        Box::pin(std::future::ready(Ok(())))
    }

    fn room_members<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Vec<(String, u64)>, String>> {
        Box::pin(std::future::ready(Ok(self.2.lock().unwrap().clone())))
    }
}

struct Loop {
    moderation: Moderation,
    calls: Calls,
    events: Arc<Mutex<Vec<Event>>>,
}

fn start(rules: &str) -> Loop {
    let recorder = Recorder::default();
    let calls = recorder.0.clone();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let moderation = Moderator::builder(Rules::parse(rules).unwrap())
        .observer(move |e: &Event| sink.lock().unwrap().push(e.clone()))
        .start(recorder);
    Loop {
        moderation,
        calls,
        events,
    }
}

impl Loop {
    fn say(&self, from: &str, text: &str, random: u64) -> ban_callback::Answer {
        let m = GroupMessage::text_message("@TGS#aLIVE", "AVChatRoom", from, text, random, 0);
        self.moderation
            .moderator()
            .judge(Callback::BeforeSendMsg(m))
    }

    fn steps(&self) -> Vec<(String, Step)> {
        let calls = self.calls.lock().unwrap();
        calls
            .iter()
            .flat_map(|(_, s, a)| a.iter().map(move |a| (a.clone(), *s)))
            .collect()
    }

    fn events(&self, kind: EventKind) -> Vec<Event> {
        let events = self.events.lock().unwrap();
        events.iter().filter(|e| e.kind == kind).cloned().collect()
    }
}

/// Lets the background counting and the coalescing window run.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(200)).await;
}

fn mins(m: u64) -> Duration {
    Duration::from_secs(60 * m)
}

#[tokio::test(start_paused = true)]
async fn the_ladder_climbs_one_step_per_offence_and_the_window_restarts_it() {
    let l = start(RULES);
    for random in 1..=4 {
        let answer = l.say("bot", "FREE COINS now", random);
        assert_eq!(answer.error_code, 1, "a spam message is refused at once");
        settle().await;
    }
    let bot = |s| ("bot".to_owned(), s);
    let week = Duration::from_secs(7 * 86_400);
    assert_eq!(
        l.steps(),
        [
            bot(Step::Mute(Some(mins(10)))),
            bot(Step::Mute(Some(mins(60)))),
            bot(Step::Ban(week)),
            bot(Step::Ban(week)),
        ],
        "one step per offence; the last repeats"
    );
    // After the rule's window the count starts again.
    tokio::time::advance(Duration::from_secs(3_601)).await;
    l.say("bot", "free coins", 5);
    settle().await;
    assert_eq!(l.steps().last(), Some(&bot(Step::Mute(Some(mins(10))))));
    let done: Vec<_> = l
        .events(EventKind::Action)
        .into_iter()
        .map(|e| (e.offence, e.outcome))
        .collect();
    assert_eq!(done.len(), 5);
    assert!(done.iter().all(|(_, o)| *o == Outcome::Done), "{done:?}");
}

#[tokio::test(start_paused = true)]
async fn an_unsent_step_is_superseded_by_a_later_offence() {
    let l = start(RULES);
    // Two offences within one coalescing window: only the later step goes.
    l.say("bot", "free coins", 1);
    l.say("bot", "free coins", 2);
    settle().await;
    assert_eq!(l.steps(), [("bot".to_owned(), Step::Mute(Some(mins(60))))]);
    let skipped: Vec<_> = l
        .events(EventKind::Action)
        .into_iter()
        .filter_map(|e| match e.outcome {
            Outcome::Superseded { by } => Some((e.offence, by)),
            _ => None,
        })
        .collect();
    assert_eq!(skipped, [(Some(1), 2)]);
}

#[tokio::test(start_paused = true)]
async fn a_round_is_one_call_per_group_step_and_call_size() {
    let l = start(RULES);
    for i in 0..1_000 {
        l.say(&format!("bot{i}"), "free coins", i);
    }
    let other = GroupMessage::text_message("@TGS#aOTHER", "AVChatRoom", "x", "free coins", 7, 0);
    l.moderation
        .moderator()
        .judge(Callback::BeforeSendMsg(other));
    settle().await;
    let calls = l.calls.lock().unwrap();
    let mut jobs: Vec<_> = calls
        .iter()
        .map(|(g, s, a)| (g.as_str(), *s, a.len()))
        .collect();
    jobs.sort_by_key(|j| j.0);
    let ten = Step::Mute(Some(mins(10)));
    // Mutes go 500 to a call: each call's actions are told as it returns.
    assert_eq!(
        jobs,
        [
            ("@TGS#aLIVE", ten, 500),
            ("@TGS#aLIVE", ten, 500),
            ("@TGS#aOTHER", ten, 1)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn the_allow_list_is_never_refused_nor_acted_on() {
    let l = start(RULES);
    let answer = l.say("mod_alice", "free coins", 1);
    assert_eq!(answer.error_code, 0);
    settle().await;
    assert!(l.steps().is_empty());
    let decisions = l.events(EventKind::Decision);
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].outcome, Outcome::Allowed);
    assert_eq!(decisions[0].account.as_deref(), Some("mod_alice"));
}

#[tokio::test(start_paused = true)]
async fn the_before_and_after_send_of_one_message_count_once() {
    let l = start(RULES);
    let m = GroupMessage::text_message("@TGS#aLIVE", "AVChatRoom", "bot", "free coins", 9, 0);
    let moderator = l.moderation.moderator();
    moderator.judge(Callback::BeforeSendMsg(m.clone()));
    moderator.judge(Callback::AfterSendMsg(m));
    settle().await;
    let offences: Vec<_> = l
        .events(EventKind::Decision)
        .iter()
        .map(|e| e.offence)
        .collect();
    assert_eq!(offences, [Some(1)], "one message, one offence");
    // Another message is another offence.
    l.say("bot", "free coins", 10);
    settle().await;
    assert_eq!(l.events(EventKind::Decision).len(), 2);
}

#[tokio::test(start_paused = true)]
async fn rates_offend_once_per_flood_and_per_join_past_the_limit() {
    let l = start(RULES);
    for random in 0..8 {
        l.say("chatty", "hello", random);
    }
    settle().await;
    assert_eq!(
        l.steps(),
        [("chatty".to_owned(), Step::Mute(Some(mins(5))))],
        "the 6th message within 10 s offends; the 7th and 8th do not again"
    );
    let evidence = l.events(EventKind::Decision)[0].evidence.clone();
    assert_eq!(
        evidence.as_deref(),
        Some("6 messages from the sender within 10s")
    );
    let join = MemberJoin::new("@TGS#aLIVE", "AVChatRoom", &["a", "b", "c", "d", "e"], 0);
    l.moderation
        .moderator()
        .judge(Callback::AfterNewMemberJoin(join));
    settle().await;
    let banned: Vec<_> = l
        .steps()
        .into_iter()
        .filter(|(_, s)| matches!(s, Step::Ban(_)))
        .map(|(a, _)| a)
        .collect();
    assert_eq!(banned, ["d", "e"], "every join past 3 within 10 s");
}

#[tokio::test(start_paused = true)]
async fn shutdown_sends_what_is_queued_and_then_refuses() {
    let l = start(RULES);
    l.say("bot", "free coins", 1);
    tokio::task::yield_now().await;
    let moderator = l.moderation.moderator().clone();
    let calls = l.calls.clone();
    let events = l.events.clone();
    assert!(l.moderation.shutdown(Duration::from_secs(5)).await);
    assert_eq!(calls.lock().unwrap().len(), 1, "the queued step was sent");
    moderator.judge(Callback::BeforeSendMsg(GroupMessage::text_message(
        "@TGS#aLIVE",
        "AVChatRoom",
        "late",
        "free coins",
        2,
        0,
    )));
    settle().await;
    let late: Vec<_> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.account.as_deref() == Some("late"))
        .map(|e| e.outcome.clone())
        .collect();
    assert!(
        matches!(late.as_slice(), [Outcome::Unqueued { .. }]),
        "{late:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_shadow_rule_decides_and_audits_but_never_blocks_nor_acts() {
    let rules = format!(
        "{RULES}\n[[rule]]\nname = \"new list\"\non = \"message\"\ncontains_any = [\"cheap followers\"]\nblock = true\nladder = [\"mute 10m\", \"ban 1d\"]\nmode = \"shadow\"\n"
    );
    let l = start(&rules);
    // A raid of 50 bots, twice each, in the shadow rule's words only.
    for round in 0..2 {
        for b in 0..50 {
            let answer = l.say(&format!("bot{b}"), "cheap followers here", round * 100 + b);
            assert_eq!(answer.error_code, 0, "a shadow rule refuses nothing");
        }
    }
    // One message of the live rule beside it still blocks and acts.
    assert_eq!(l.say("spammer", "free coins", 999).error_code, 1);
    settle().await;
    assert_eq!(
        l.steps(),
        [("spammer".to_owned(), Step::Mute(Some(mins(10))))]
    );
    let shadow: Vec<Event> = l
        .events(EventKind::Decision)
        .into_iter()
        .filter(|e| e.rule.as_deref() == Some("new list"))
        .collect();
    assert_eq!(shadow.len(), 100, "every match decided");
    assert!(shadow.iter().all(|e| e.outcome == Outcome::Shadow));
    let second = shadow.iter().filter(|e| e.offence == Some(2)).count();
    assert_eq!(second, 50, "the ladder climbs in shadow as it would live");
    assert!(shadow
        .iter()
        .filter(|e| e.offence == Some(2))
        .all(|e| e.step == Some(Step::Ban(Duration::from_secs(86_400)))));
    let line: serde_json::Value =
        serde_json::from_slice(&ban_moderation::audit_line(&shadow[0])).unwrap();
    assert_eq!(line["outcome"], "shadow");
    assert!(line["result"].as_str().unwrap().starts_with("shadow"));
    assert!(l
        .events(EventKind::Action)
        .iter()
        .all(|e| e.rule.as_deref() == Some("spam")));
}

/// `freeze` and `mute_newcomers`: a forced raid freezes the room once and
/// mutes its cohort; newcomers while it lasts are muted too; its end
/// thaws the room once; a stop while a room is frozen thaws it.
#[tokio::test(start_paused = true)]
async fn a_raid_freezes_once_mutes_newcomers_and_thaws_at_its_end_or_at_a_stop() {
    let rules = "[raid]\njoins = { count = 50, per = \"10s\" }\nquiet = \"30s\"\nfreeze = true\nmute_newcomers = \"10m\"\n";
    let recorder = Recorder::default();
    let (calls, freezes) = (recorder.0.clone(), recorder.1.clone());
    let moderation = Moderator::builder(Rules::parse(rules).unwrap()).start(recorder);
    let m = moderation.moderator();
    let join = |who: &[&str]| {
        m.judge(Callback::AfterNewMemberJoin(MemberJoin::new(
            "@TGS#aLIVE",
            "AVChatRoom",
            who,
            1,
        )))
    };
    join(&["early1", "early2"]);
    assert!(m.force_raid("@TGS#aLIVE", true).await);
    settle().await;
    join(&["late"]);
    settle().await;
    assert_eq!(*freezes.lock().unwrap(), [("@TGS#aLIVE".to_owned(), true)]);
    let muted: Vec<String> = calls
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, s, _)| *s == Step::Mute(Some(mins(10))))
        .flat_map(|(_, _, a)| a.clone())
        .collect();
    let mut muted = muted;
    muted.sort();
    assert_eq!(muted, ["early1", "early2", "late"]);
    // It ends (forced off here: the quiet is told by the wall clock) and
    // thaws, once.
    assert!(m.force_raid("@TGS#aLIVE", false).await);
    settle().await;
    assert_eq!(
        *freezes.lock().unwrap(),
        [
            ("@TGS#aLIVE".to_owned(), true),
            ("@TGS#aLIVE".to_owned(), false)
        ]
    );
    // Frozen again, then stopped: the stop thaws it.
    assert!(m.force_raid("@TGS#aLIVE", true).await);
    settle().await;
    assert!(moderation.shutdown(Duration::from_secs(5)).await);
    let f = freezes.lock().unwrap();
    assert_eq!(f.len(), 4, "{f:?}");
    assert_eq!(f[3], ("@TGS#aLIVE".to_owned(), false));
}

/// Bans too many to land at once are silenced first: one mute call of the
/// ban's length for the round's accounts, before its ban calls; told as
/// actions of the same rule. Under the threshold, no mute (the control).
#[tokio::test(start_paused = true)]
async fn a_round_of_many_bans_is_muted_first_and_a_small_one_is_not() {
    let rules = "[[rule]]\nname = \"scam\"\non = \"message\"\ncontains_any = [\"free coins\"]\nblock = true\nladder = [\"ban 1d\"]\n";
    for (over, muted_first) in [(5, true), (100, false)] {
        let recorder = Recorder::default();
        let calls = recorder.0.clone();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let moderation = Moderator::builder(Rules::parse(rules).unwrap())
            .silence_first_over(over)
            .observer(move |e: &Event| sink.lock().unwrap().push(e.clone()))
            .start(recorder);
        for i in 0..30 {
            let m = GroupMessage::text_message(
                "@TGS#aLIVE",
                "AVChatRoom",
                &format!("bot{i}"),
                "FREE COINS",
                i,
                0,
            );
            moderation.moderator().judge(Callback::BeforeSendMsg(m));
        }
        settle().await;
        let calls = calls.lock().unwrap().clone();
        let day = Duration::from_secs(86_400);
        let banned: usize = calls
            .iter()
            .filter(|(_, s, _)| *s == Step::Ban(day))
            .map(|(_, _, a)| a.len())
            .sum();
        assert_eq!(banned, 30, "{calls:?}");
        let muted: Vec<&(String, Step, Vec<String>)> = calls
            .iter()
            .filter(|(_, s, _)| *s == Step::Mute(Some(day)))
            .collect();
        if muted_first {
            assert_eq!(muted.len(), 1, "one call of 500 at most: {calls:?}");
            assert_eq!(muted[0].2.len(), 30);
            assert_eq!(
                calls[0].1,
                Step::Mute(Some(day)),
                "the mute goes first: {calls:?}"
            );
            let told = events
                .lock()
                .unwrap()
                .iter()
                .filter(|e| e.kind == EventKind::Action && e.step == Some(Step::Mute(Some(day))))
                .filter(|e| e.rule.as_deref() == Some("scam") && e.outcome == Outcome::Done)
                .count();
            assert_eq!(told, 30, "the audit shows the mutes");
        } else {
            assert!(muted.is_empty(), "{calls:?}");
        }
    }
}

/// `cohort_from_room`: when raid mode trips, the room's members who
/// joined within the window (by `get_members`) join the cohort, those
/// this instance never saw join; older members and the allow-list do
/// not. Without it (the control), the unseen joiner speaks.
#[tokio::test(start_paused = true)]
async fn a_trip_takes_the_newcomers_it_missed_from_the_rooms_list() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for from_room in [true, false] {
        let rules = format!(
            "[allow]\naccounts = [\"mod_alice\"]\n\n[raid]\njoins = {{ count = 50, per = \"10s\" }}\ncohort_from_room = {from_room}\n"
        );
        let recorder = Recorder::default();
        *recorder.2.lock().unwrap() = vec![
            ("unseen".to_owned(), now),
            ("mod_alice".to_owned(), now),
            ("viewer".to_owned(), now - 3_600),
        ];
        let moderation = Moderator::builder(Rules::parse(&rules).unwrap()).start(recorder);
        let m = moderation.moderator();
        assert!(m.force_raid("@TGS#aLIVE", true).await);
        settle().await;
        let says = |from: &str| {
            let msg = GroupMessage::text_message("@TGS#aLIVE", "AVChatRoom", from, "hi", 7, 0);
            m.judge(Callback::BeforeSendMsg(msg)).error_code
        };
        let unseen = says("unseen");
        assert_eq!(unseen == 10150, from_room, "cohort_from_room = {from_room}");
        assert_eq!(says("viewer"), 0, "joined an hour ago");
        assert_eq!(says("mod_alice"), 0, "allow-listed");
    }
}
