//! Mute and unmute through the one engine, against the real emulator over
//! TLS: calls of 500, the list with its ends, permanent mutes through every
//! layer, and a group type that refuses mute.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::time::Duration;

use ban_emulator::{Emulator, GroupType, JoinError};
use ban_facade::{
    Action, BulkAction, BulkOptions, BulkReport, Client, ClientBuilder, JobAction, JobSpec,
    MuteAll, MuteDuration, MuteEnd, RetryPolicy, StopKind,
};

const G: &str = "@TGS#aMUTE";

async fn setup() -> (Emulator, Client) {
    let emu = Emulator::builder().group(G).start().await.unwrap();
    let client = ClientBuilder::for_emulator(&emu.ready_json())
        .unwrap()
        .retry(RetryPolicy::default().base_backoff(Duration::from_millis(10)))
        .build()
        .unwrap();
    (emu, client)
}

/// A journal path of this test's own, removed first.
fn journal_path(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("facade-mute-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

fn calls(emu: &Emulator) -> u64 {
    let stats = emu.stats();
    let c = &stats.commands["forbid_send_msg"];
    c.accepted + c.rejected
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("bot{i:05}")).collect()
}

#[tokio::test]
async fn two_thousand_are_muted_in_four_calls_listed_with_their_ends_and_unmuted() {
    let (emu, client) = setup().await;
    let bots = names(2000);
    let before = emu.now();
    let report = client
        .mute_members(G, &bots, MuteDuration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(report.action, Action::Mute);
    assert_eq!(report.succeeded.len(), 2000);
    assert!(report.all_succeeded(), "{:?}", report.failed.first());
    assert_eq!(report.calls, 4, "500 members a call");
    assert_eq!(calls(&emu), 4);

    let muted = client.muted_members(G).unwrap().await.unwrap();
    assert_eq!(muted.len(), 2000);
    let mut listed: Vec<&str> = muted.iter().map(|m| m.member_account.as_str()).collect();
    listed.sort_unstable();
    assert_eq!(listed, bots.iter().map(String::as_str).collect::<Vec<_>>());
    // One absolute end for the job: every call converged on it.
    let ends: std::collections::HashSet<u64> = muted.iter().map(|m| m.muted_until).collect();
    assert!(
        ends.len() <= 2,
        "one end (two if a second was crossed): {ends:?}"
    );
    for end in ends {
        assert!(
            (before + 600..=before + 602).contains(&end),
            "{end} vs {before}"
        );
    }
    // The report's JSON says `muted` and decodes back.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["action"], "mute");
    assert_eq!(json["muted"].as_array().unwrap().len(), 2000);
    let back: BulkReport = serde_json::from_value(json).unwrap();
    assert_eq!(back.succeeded, report.succeeded);

    let lifted = client.unmute_members(G, &bots).await.unwrap();
    assert_eq!(lifted.action, Action::Unmute);
    assert_eq!((lifted.succeeded.len(), lifted.calls), (2000, 4));
    assert!(client.muted_members(G).unwrap().await.unwrap().is_empty());
    assert!(emu.group(G).unwrap().muted.is_empty());
}

#[tokio::test]
async fn a_permanent_mute_is_4294967295_through_every_layer() {
    let (emu, client) = setup().await;
    // The job's spec, as a journal or Redis holds it.
    let spec = JobSpec::new(
        G,
        JobAction::Mute {
            ends_at: MuteEnd::Permanent,
        },
    )
    .unwrap();
    let json = serde_json::to_string(&spec).unwrap();
    assert_eq!(
        json,
        r#"{"group":"@TGS#aMUTE","action":"mute","ends_at":"permanent"}"#
    );
    assert_eq!(serde_json::from_str::<JobSpec>(&json).unwrap(), spec);
    // 4294967295 as an end is the service's word for permanent, not a time.
    let bad = r#"{"group":"@TGS#aMUTE","action":"mute","ends_at":4294967295}"#;
    assert!(serde_json::from_str::<JobSpec>(bad).is_err());

    let journal = journal_path("permanent");
    let forever = || {
        client.bulk(
            BulkAction::Mute {
                duration: MuteDuration::PERMANENT,
            },
            G,
            &["forever", "also"],
            BulkOptions::new().journal(&journal),
        )
    };
    let report = forever().await.unwrap();
    assert!(report.all_succeeded());
    let header = std::fs::read_to_string(&journal).unwrap();
    let header: serde_json::Value = serde_json::from_str(header.lines().next().unwrap()).unwrap();
    assert_eq!(header["action"], "mute");
    assert_eq!(header["duration"], 4_294_967_295u64);
    assert!(
        header.get("ends_at").is_none(),
        "a permanent mute has no end"
    );
    let muted = client.muted_members(G).unwrap().await.unwrap();
    assert_eq!(muted.len(), 2);
    assert!(muted.iter().all(|m| m.muted_until == 4_294_967_295));
    // The emulator, a year on: still muted.
    emu.advance_clock(365 * 86_400).unwrap();
    assert!(matches!(
        emu.send_as(G, "forever", "hello"),
        Err(JoinError::Muted {
            until: 4_294_967_295,
            ..
        })
    ));
    // Resumed from its journal: nothing is sent again.
    let again = forever().await.unwrap();
    assert_eq!((again.resumed, again.calls), (2, 0));
    let _ = std::fs::remove_file(&journal);
}

#[tokio::test]
async fn an_absolute_mute_end_is_kept_and_a_journal_refuses_another_duration() {
    let (_emu, client) = setup().await;
    let journal = journal_path("timed");
    let members = names(3);
    let first = client
        .bulk(
            BulkAction::MuteUntil {
                ends_at: MuteEnd::At(4_000_000_000),
            },
            G,
            &members[..1],
            BulkOptions::new(),
        )
        .await
        .unwrap();
    assert!(first.all_succeeded());
    let muted = client.muted_members(G).unwrap().await.unwrap();
    assert_eq!(
        muted[0].muted_until, 4_000_000_000,
        "an absolute end is kept"
    );
    let run = |d| {
        let client = client.clone();
        let members = members.clone();
        let journal = journal.clone();
        async move {
            client
                .bulk(
                    BulkAction::Mute {
                        duration: MuteDuration::from_secs(d),
                    },
                    G,
                    &members,
                    BulkOptions::new().journal(&journal),
                )
                .await
        }
    };
    assert!(run(3600).await.unwrap().all_succeeded());
    // The same journal for another duration is another job: refused.
    let err = run(7200).await.unwrap_err();
    assert!(err.to_string().contains("duration"), "{err}");
    let _ = std::fs::remove_file(&journal);
}

#[tokio::test]
async fn mute_in_a_work_group_stops_the_job_instead_of_splitting_every_call() {
    let (emu, client) = setup().await;
    let work = emu.create_group(None, GroupType::Work).unwrap();
    let report = client
        .mute_members(&work, &names(2000), MuteDuration::from_secs(60))
        .await
        .unwrap();
    let stop = report.stopped.as_ref().expect("the job stops");
    assert_eq!(stop.kind, StopKind::Refused, "{stop}");
    assert_eq!(stop.code, Some(10004));
    assert!(report.succeeded.is_empty());
    assert_eq!(report.total(), 2000, "every member accounted for");
    assert!(
        report.not_attempted.len() >= 1500,
        "{}",
        report.not_attempted.len()
    );
    // Binary search down to 8 single members, then the stop: far fewer
    // than the 2 calls per member a full split costs.
    let calls = calls(&emu);
    assert!(calls <= 64, "{calls} calls");
    eprintln!("a refused mute of 2,000 stopped after {calls} calls");
    // Without the stop the split would have cost about this much: a
    // single batch of 500 refused member by member is 999 calls.
    assert!(report.failed.iter().all(|f| f.code == Some(10004)));
}

/// A room frozen and thawed through the client, one call each, and its
/// online count; a bad group ID is refused before any call, an unknown
/// group is the service's refusal.
#[tokio::test]
async fn a_room_is_frozen_counted_and_thawed_through_the_client() {
    let (emu, client) = setup().await;
    for m in ["a", "b", "c"] {
        emu.join(G, m).unwrap();
    }
    client.mute_all(G, MuteAll::On).unwrap().await.unwrap();
    assert!(matches!(
        emu.send_as(G, "a", "x"),
        Err(JoinError::Frozen { .. })
    ));
    assert_eq!(client.online_members(G).unwrap().await.unwrap(), 3);
    client.mute_all(G, MuteAll::Off).unwrap().await.unwrap();
    assert_eq!(emu.send_as(G, "a", "x").unwrap(), 3);
    assert!(client.mute_all("", MuteAll::On).is_err());
    let e = client
        .mute_all("@TGS#aNOSUCH", MuteAll::On)
        .unwrap()
        .await
        .unwrap_err();
    assert!(
        matches!(e.error_code().map(|c| c.code()), Some(10010 | 10015)),
        "{e}"
    );
    assert_eq!(emu.stats().accepted("modify_group_base_info"), 2);
}

/// The app-wide mute through the client: its answers carry no
/// `ActionStatus` and read as success by their code; an empty account or
/// no time at all is refused before any call.
#[tokio::test]
async fn an_account_is_silenced_app_wide_and_lifted_through_the_client() {
    let (emu, client) = setup().await;
    emu.join(G, "bot").unwrap();
    client
        .set_no_speaking("bot", Some(MuteDuration::PERMANENT), None)
        .unwrap()
        .await
        .unwrap();
    assert!(matches!(
        emu.send_as(G, "bot", "x"),
        Err(JoinError::NoSpeaking { .. })
    ));
    let state = client.no_speaking("bot").unwrap().await.unwrap();
    assert_eq!((state.group, state.c2c), (4294967295, 0));
    client
        .set_no_speaking("bot", Some(MuteDuration::LIFT), None)
        .unwrap()
        .await
        .unwrap();
    assert_eq!(emu.send_as(G, "bot", "x").unwrap(), 1);
    assert!(client
        .set_no_speaking("", Some(MuteDuration::LIFT), None)
        .is_err());
    assert!(client.set_no_speaking("bot", None, None).is_err());
    assert_eq!(emu.stats().accepted("setnospeaking"), 2);
}

/// A room's members through the client: every page to the end, newest
/// first, the latest 1,000.
#[tokio::test]
async fn a_rooms_members_are_read_to_the_last_page() {
    let (emu, client) = setup().await;
    for i in 0..1_100 {
        emu.join(G, &format!("v{i:04}")).unwrap();
    }
    let members = client.room_members(G).unwrap().await.unwrap();
    assert_eq!(members.len(), 1_000);
    assert_eq!(members[0].member_account, "v1099");
    assert_eq!(emu.stats().accepted("get_members"), 2);
    assert!(client.room_members("").is_err());
}

/// A kick through the client: one account a call; an empty account is
/// refused before any call.
#[tokio::test]
async fn an_account_is_kicked_through_the_client() {
    let (emu, client) = setup().await;
    client.kick("bot").unwrap().await.unwrap();
    client.kick("bot2").unwrap().await.unwrap();
    assert!(client.kick("").is_err());
    assert_eq!(emu.stats().accepted("kick"), 2);
}

/// A bulk kick: one call an account, each reported; the admin the client
/// calls as is failed with its reason and never sent.
#[tokio::test]
async fn a_bulk_kick_calls_once_an_account_and_never_kicks_the_admin() {
    let (emu, client) = setup().await;
    let members = ["k1", "k2", "administrator", "k3"];
    let report = client
        .bulk(BulkAction::Kick, G, &members, BulkOptions::new())
        .await
        .unwrap();
    assert_eq!(report.action, Action::Kick);
    let mut kicked = report.succeeded.clone();
    kicked.sort();
    assert_eq!(kicked, ["k1", "k2", "k3"]);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].member, "administrator");
    assert!(report.failed[0].reason.contains("app admin"));
    assert_eq!(emu.stats().accepted("kick"), 3);
    assert_eq!(report.calls, 3);
}
