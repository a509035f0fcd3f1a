//! Helpers for the fleet's end-to-end tests: `banctl job` commands against
//! an emulator and a real redis-server.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use ban_fleet::testing::RedisServer;
use serde_json::Value;

use super::{json, stderr, Emu, G};

pub(crate) fn job(emu: &Emu, redis: &RedisServer, args: &[&str]) -> Command {
    let url = redis.url();
    let mut all = vec!["job"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--redis", url.as_str()]);
    emu.cmd(&all)
}

pub(crate) fn submit(emu: &Emu, redis: &RedisServer, members: &[String], extra: &[&str]) -> String {
    let file = emu.dir.join(format!("job-{}.txt", members.len()));
    std::fs::write(&file, members.join("\n")).unwrap();
    let mut args = vec![
        "submit",
        "--group",
        G,
        "--members-file",
        file.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    job_id(&job(emu, redis, &args).output().unwrap())
}

/// The job id a successful `job submit` printed.
pub(crate) fn job_id(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .trim()
        .to_owned()
}

pub(crate) fn worker(emu: &Emu, redis: &RedisServer, extra: &[&str]) -> Child {
    let mut args = vec!["work", "--exit-when-idle", "--json"];
    args.extend_from_slice(extra);
    job(emu, redis, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

pub(crate) fn report(emu: &Emu, redis: &RedisServer, id: &str) -> (Output, Value) {
    let out = job(emu, redis, &["report", id, "--json", "--keep"])
        .output()
        .unwrap();
    let v = json(&out);
    (out, v)
}

pub(crate) fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

pub(crate) fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ok() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `banctl ban` of `n` members named `prefix…`, with `extra` flags.
pub(crate) fn spawn_ban(emu: &Emu, prefix: &str, n: usize, extra: &[&str]) -> Child {
    let members: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    super::ban_file_cmd(emu, &format!("{prefix}.txt"), &members, extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

pub(crate) fn finish(child: Child) -> (Option<i32>, Value, String) {
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    let v = if out.stdout.is_empty() {
        Value::Null
    } else {
        json(&out)
    };
    (out.status.code(), v, err)
}

pub(crate) fn ban_stats(emu: &Emu) -> Value {
    emu.control("stats")["commands"]["ban_group_member"].clone()
}
