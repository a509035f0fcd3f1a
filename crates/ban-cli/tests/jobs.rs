//! Fleet jobs end to end: `banctl job` processes (submit, workers, status,
//! report, cancel) over a real redis-server against `banctl emulator`.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::collections::HashSet;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use ban_fleet::testing::RedisServer;
use common::fleet::{job, job_id, names, report, submit, wait_for, worker};
use common::{json, start_emulator, stderr, G};
use serde_json::Value;

#[test]
fn a_worker_killed_mid_job_loses_nobody() {
    let redis = RedisServer::start().unwrap();
    let emu = start_emulator("jobkill", &["--rate-limit", "200", "--latency-ms", "20"]);
    let members = names("bot", 20_000);
    let id = submit(&emu, &redis, &members, &["--duration", "1h"]);
    let lease = ["--lease-ms", "2000"];
    let mut workers: Vec<Child> = (0..3).map(|_| worker(&emu, &redis, &lease)).collect();
    std::thread::sleep(Duration::from_secs(1));
    let victim = workers.remove(0);
    Command::new("kill")
        .args(["-KILL", &victim.id().to_string()])
        .status()
        .unwrap();
    let _ = victim.wait_with_output();
    for w in workers {
        let out = w.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let (out, v) = report(&emu, &redis, &id);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let banned: Vec<&str> = v["banned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    let unique: HashSet<&str> = banned.iter().copied().collect();
    assert_eq!(banned.len(), 20_000, "every member once");
    assert_eq!(unique.len(), 20_000);
    assert!(
        v["failed"].as_array().unwrap().is_empty()
            && v["not_attempted"].as_array().unwrap().is_empty()
    );
    let stats = emu.control("stats")["commands"]["ban_group_member"].clone();
    let accepted = stats["accepted"].as_u64().unwrap();
    eprintln!(
        "killed worker: {accepted} ban calls for 1000 batches, redeliveries {}",
        v["redeliveries"]
    );
    assert!(
        (1000..=1000 + 64).contains(&accepted),
        "sent twice: {}",
        accepted - 1000
    );
    // 0 on a calm machine; debug-build workers starved of CPU (two busy
    // processes beside them) draw a few, each retried.
    let limited = stats["rate_limited"].as_u64().unwrap();
    assert!(limited <= accepted / 100, "{limited} × 60007");
    let list = json(&emu.run(&["list", "--group", G, "--json", "--rate", "1000"]));
    assert_eq!(list.as_array().unwrap().len(), 20_000);
}

#[test]
fn a_wrong_key_pauses_the_job_for_every_worker() {
    let redis = RedisServer::start().unwrap();
    let emu = start_emulator("jobkey", &[]);
    let id = submit(&emu, &redis, &names("k", 50_000), &["--duration", "1h"]);
    let started = Instant::now();
    let w = worker(&emu, &redis, &["--secret-key", "wrong-key"]);
    let mut cmd = job(&emu, &redis, &["status", &id, "--json"]);
    wait_for("the job pauses", Duration::from_secs(2), || {
        let out = cmd.output().unwrap();
        json(&out)["state"] == "paused"
    });
    eprintln!("paused after {:?}", started.elapsed());
    let mut w = w;
    let _ = w.kill();
    let _ = w.wait();
    let status = json(
        &job(&emu, &redis, &["status", &id, "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(status["stopped"]["kind"], "credentials", "{status}");
    assert_eq!(status["stopped"]["code"], 70009, "{status}");
    let sent = emu.control("stats")["total_calls"].as_u64().unwrap();
    assert!(sent <= 64, "{sent} calls for one worker's window");
    let (out, v) = report(&emu, &redis, &id);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(v["state"], "paused");
    // The vocabulary of `banctl ban --json`.
    assert_eq!(v["stopped"]["kind"], "credentials");
}

#[test]
fn cancel_stops_the_workers_and_the_rest_is_not_attempted() {
    let redis = RedisServer::start().unwrap();
    let emu = start_emulator("jobcancel", &[]);
    let id = submit(&emu, &redis, &names("c", 5_000), &["--duration", "1h"]);
    let metrics_addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let w = worker(&emu, &redis, &["--metrics-listen", &metrics_addr]);
    wait_for("some batches done", Duration::from_secs(10), || {
        emu.control("stats")["commands"]["ban_group_member"]["accepted"]
            .as_u64()
            .unwrap_or(0)
            >= 20
    });
    // The worker serves Prometheus text while it runs.
    let metrics = {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&metrics_addr).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text
    };
    assert!(metrics.contains("ban_calls_total"), "{metrics}");
    // A histogram with buckets, not a summary, by lane.
    assert!(
        metrics.contains("ban_limiter_wait_seconds_bucket{priority=\"bulk\",le="),
        "{metrics}"
    );
    let out = job(&emu, &redis, &["cancel", &id]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = w.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let accepted_at_end = emu.control("stats")["commands"]["ban_group_member"]["accepted"]
        .as_u64()
        .unwrap();
    let (_, v) = report(&emu, &redis, &id);
    let done = v["banned"].as_array().unwrap().len();
    let not_attempted = v["not_attempted"].as_array().unwrap().len();
    assert_eq!(v["stopped"]["kind"], "cancelled");
    assert!(
        not_attempted > 0 && done > 0,
        "{done} done, {not_attempted} not attempted"
    );
    assert_eq!(
        done + v["failed"].as_array().unwrap().len() + not_attempted,
        5_000
    );
    assert!(accepted_at_end < 250, "the worker stopped taking batches");
}

/// A `kill -HUP` (or a supervisor's SIGTERM) makes a worker finish the
/// batches it holds and exit 0: nothing is left leased for another
/// worker to redeliver, no batch is sent twice.
#[cfg(unix)]
#[test]
fn sighup_makes_a_worker_finish_its_batches_and_exit() {
    let redis = RedisServer::start().unwrap();
    let emu = start_emulator("jobhup", &["--latency-ms", "50"]);
    let id = submit(&emu, &redis, &names("h", 4_000), &["--duration", "1h"]);
    let w = worker(&emu, &redis, &["--rate", "20"]);
    wait_for("some batches done", Duration::from_secs(20), || {
        emu.control("stats")["commands"]["ban_group_member"]["accepted"]
            .as_u64()
            .unwrap_or(0)
            >= 5
    });
    assert!(Command::new("kill")
        .args(["-HUP", &w.id().to_string()])
        .status()
        .unwrap()
        .success());
    let out = w.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("interrupted by SIGHUP: taking no new batches"),
        "{}",
        stderr(&out)
    );
    let after_hup = emu.control("stats")["commands"]["ban_group_member"]["accepted"]
        .as_u64()
        .unwrap();
    assert!(after_hup < 200, "the worker went on: {after_hup} calls");
    // A second worker finishes the job at once: nothing waits out a lease.
    let started = Instant::now();
    let out = worker(&emu, &redis, &[]).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, v) = report(&emu, &redis, &id);
    assert_eq!(v["banned"].as_array().unwrap().len(), 4_000, "{v}");
    assert_eq!(v["redeliveries"], 0, "a batch was left in flight: {v}");
    let accepted = emu.control("stats")["commands"]["ban_group_member"]["accepted"]
        .as_u64()
        .unwrap();
    assert_eq!(accepted, 200, "one call per batch of 20");
    eprintln!(
        "SIGHUP after {after_hup} calls; the rest in {:?}",
        started.elapsed()
    );
}

#[test]
fn a_batch_that_always_fails_is_failed_after_the_delivery_bound() {
    let redis = RedisServer::start().unwrap();
    let emu = start_emulator("jobpoison", &["--failing-member", "poison"]);
    let mut members = names("ok", 99);
    members.insert(50, "poison".to_owned());
    let id = submit(&emu, &redis, &members, &["--duration", "1h"]);
    let w = worker(
        &emu,
        &redis,
        &["--lease-ms", "300", "--max-deliveries", "3"],
    );
    let out = w.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (out, v) = report(&emu, &redis, &id);
    assert_eq!(out.status.code(), Some(1), "some failed");
    let failed = v["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 20, "the poisoned batch");
    assert!(failed.iter().any(|f| f["member"] == "poison"));
    assert!(
        failed.iter().all(|f| f["code"] == 10002
            && f["reason"]
                .as_str()
                .unwrap()
                .contains("failed in each of 3 deliveries")),
        "{failed:?}"
    );
    assert_eq!(v["banned"].as_array().unwrap().len(), 80);
    assert!(v["redeliveries"].as_u64().unwrap() >= 2);
}

/// The brownout: 15% of connections dropped. `banctl ban` rides it out;
/// a fleet job, run by the same engine, must too (it used to pause after a
/// quarter of the job, each batch having its own failure monitor).
#[test]
fn a_brownout_neither_pauses_a_fleet_job_nor_stops_banctl_ban() {
    let members = names("brown", 20_000);
    let redis = RedisServer::start().unwrap();
    let emu = start_emulator(
        "jobbrownout",
        &["--fault-rate", "0.15", "--fault-kinds", "drop"],
    );
    let id = submit(&emu, &redis, &members, &["--duration", "1h"]);
    let workers = [worker(&emu, &redis, &[]), worker(&emu, &redis, &[])];
    for w in workers {
        let out = w.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let (out, v) = report(&emu, &redis, &id);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(v["state"], "done", "{}", v["stopped"]);
    assert_eq!(v["banned"].as_array().unwrap().len(), 20_000);
    let dropped = emu.control("stats")["faults"]["dropped"].as_u64().unwrap();
    assert!(dropped > 100, "only {dropped} connections dropped");

    // The same members through `banctl ban`, through the same faults:
    // every one banned, exit 0.
    let out = common::ban_file(&emu, "brownout-single.txt", &members, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["banned"].as_array().unwrap().len(), 20_000);
    assert!(v["stopped"].is_null());
}

/// A failure of the job's own (here, a group that does not exist) pauses
/// a fleet job at once, with the reason in the vocabulary of `banctl ban`.
#[test]
fn an_unknown_group_pauses_the_job_within_one_window() {
    let redis = RedisServer::start().unwrap();
    let emu = start_emulator("jobgroup", &[]);
    let file = emu.dir.join("nosuch.txt");
    std::fs::write(&file, names("n", 10_000).join("\n")).unwrap();
    let out = job(
        &emu,
        &redis,
        &[
            "submit",
            "--group",
            "@TGS#aNOSUCH",
            "--members-file",
            file.to_str().unwrap(),
            "--duration",
            "1h",
        ],
    )
    .output()
    .unwrap();
    // Reading the members' state first finds no group: nothing is queued.
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing was queued"),
        "{}",
        stderr(&out)
    );
    let out = job(
        &emu,
        &redis,
        &[
            "submit",
            "--group",
            "@TGS#aNOSUCH",
            "--members-file",
            file.to_str().unwrap(),
            "--duration",
            "1h",
            "--no-prior-read",
        ],
    )
    .output()
    .unwrap();
    let id = job_id(&out);
    let started = Instant::now();
    let w = worker(&emu, &redis, &[]);
    let mut cmd = job(&emu, &redis, &["status", &id, "--json"]);
    // 2 s on a calm machine; the margin is for a loaded one (each poll
    // here starts a debug-build process).
    wait_for("the job pauses", Duration::from_secs(5), || {
        json(&cmd.output().unwrap())["state"] == "paused"
    });
    eprintln!("paused after {:?}", started.elapsed());
    let _ = w.wait_with_output();
    let sent = emu.control("stats")["total_calls"].as_u64().unwrap();
    assert!(sent <= 64, "{sent} calls for one worker's window");
    let (out, v) = report(&emu, &redis, &id);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(v["stopped"]["kind"], "group", "{}", v["stopped"]);
}

/// `banctl ban --json` and `banctl job report --json` of the same members
/// decode into one report type, with the same keys.
#[test]
fn ban_and_job_report_print_one_shape() {
    let members = names("shape", 45);
    let redis = RedisServer::start().unwrap();
    let emu = start_emulator("jobshape", &[]);
    let id = submit(&emu, &redis, &members, &["--duration", "1h"]);
    let out = worker(&emu, &redis, &[]).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, fleet) = report(&emu, &redis, &id);
    let out = emu.run_stdin(&common::BAN_STDIN, &members.join("\n"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let local = json(&out);
    let keys = |v: &Value| -> HashSet<String> { v.as_object().unwrap().keys().cloned().collect() };
    let fleet_only: HashSet<String> = ["job", "state", "redeliveries", "live_workers"]
        .map(String::from)
        .into();
    assert_eq!(
        keys(&fleet)
            .difference(&fleet_only)
            .cloned()
            .collect::<HashSet<_>>(),
        keys(&local),
        "fleet {fleet:#}\nlocal {local:#}"
    );
    let a: ban_facade::BulkReport = serde_json::from_value(local).unwrap();
    let b: ban_facade::BulkReport = serde_json::from_value(fleet).unwrap();
    assert_eq!((a.action, &a.group), (b.action, &b.group));
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    assert_eq!(sorted(&a.succeeded), sorted(&b.succeeded));
    assert_eq!(a.succeeded.len(), 45);
}

/// A report never deletes its job unless told: the text report, a
/// `--json` read after it and the member files all see the same job;
/// `--delete` removes a finished one and refuses one that runs.
#[test]
fn job_report_keeps_the_job_and_writes_every_member() {
    let redis = RedisServer::start().unwrap();
    let emu = start_emulator("jobkeep", &[]);
    let members = names("keep", 1_000);
    let id = submit(&emu, &redis, &members, &["--duration", "1h"]);
    // Running (no worker yet): --delete is refused, nothing is printed.
    let out = job(&emu, &redis, &["report", &id, "--delete"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not finished"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let out = job(&emu, &redis, &["cancel", &id]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rest = emu.dir.join("rest.txt");
    let out = job(
        &emu,
        &redis,
        &["report", &id, "--not-attempted-out", rest.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("not_attempted\t"))
            .count(),
        20
    );
    let written: HashSet<String> = std::fs::read_to_string(&rest)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(written, members.iter().cloned().collect::<HashSet<_>>());
    // Still there for the next read.
    let (out, v) = report(&emu, &redis, &id);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(v["not_attempted"].as_array().unwrap().len(), 1_000);
    let out = job(&emu, &redis, &["report", &id, "--delete", "--json"])
        .output()
        .unwrap();
    assert_eq!(json(&out)["state"], "cancelled", "{}", stderr(&out));
    let out = job(&emu, &redis, &["status", &id]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}

/// `job submit` speaks the commands' words (`mute --duration 10m`, as
/// `banctl mute`), and `job status` counts calls per second from the
/// first batch a worker took, not from the submit: a job queued 6 s and
/// worked at 50 calls/s shows about 50, where the average since the
/// submit would be under 13.
#[test]
fn job_submit_takes_the_action_words_and_status_counts_the_workers_rate() {
    let redis = RedisServer::start().unwrap();
    let emu = start_emulator("jobwords", &[]);
    let muted = names("hush", 30);
    let id = submit(&emu, &redis, &muted, &["mute", "--duration", "10m"]);
    let banned = names("wave", 2_000);
    let wave = submit(&emu, &redis, &banned, &["ban", "--duration", "1h"]);
    std::thread::sleep(Duration::from_secs(6));
    let out = worker(&emu, &redis, &["--rate", "50"])
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (out, v) = report(&emu, &redis, &id);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(v["action"], "mute");
    assert_eq!(v["muted"].as_array().unwrap().len(), 30);
    let out = emu.run(&["muted", "--group", G, "--json"]);
    assert_eq!(json(&out).as_array().unwrap().len(), 30, "{}", stderr(&out));
    let out = job(&emu, &redis, &["status", &wave, "--json"])
        .output()
        .unwrap();
    let status = json(&out);
    assert_eq!(status["calls"], 100, "{status}");
    let rate = status["rate"].as_f64().unwrap();
    assert!(
        rate > 25.0 && rate <= 55.0,
        "calls/s while worked on: {rate}"
    );
}
