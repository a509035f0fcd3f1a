//! The signals an operator or a supervisor sends, end to end: a `kill
//! -HUP` or `kill -TERM` meant for something else never ends a banctl
//! without its report, and each signal has its own exit code.
#![cfg(unix)]
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{members_text, start_emulator, stderr, BAN_STDIN, G};
use serde_json::Value;

fn kill(signal: &str, pid: u32) {
    let ok = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {signal} {pid}");
}

/// A slow `banctl ban --json` of 2,000 members (5 calls/s: 20 s) stopped
/// by `signal` after a second: the report is printed, every member is
/// accounted for, the exit code is the signal's.
fn ban_stopped_by(signal: &str, code: i32, said: &str) {
    let emu = start_emulator(&format!("sig{}", &signal[1..]), &[]);
    let file = emu.dir.join("bots.txt");
    let bots: String = (0..2_000).map(|i| format!("bot{i}\n")).collect();
    std::fs::write(&file, bots).unwrap();
    let mut child = emu
        .cmd(&[
            "ban",
            "--group",
            G,
            "--members-file",
            file.to_str().unwrap(),
            "--duration",
            "1h",
            "--rate",
            "5",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    kill(signal, child.id());
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(code), "{err}");
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("no JSON report after {signal}: {e}: {stdout:?} {err}"));
    assert_eq!(report["stopped"]["kind"], "interrupted", "{report}");
    let count = |k: &str| report[k].as_array().unwrap().len();
    let banned = count("banned");
    assert!(banned > 0 && banned < 2_000, "{banned} banned");
    assert_eq!(banned + count("failed") + count("not_attempted"), 2_000);
    let line = format!("{said}: {banned} of 2000 done; rerun with --journal FILE");
    assert_eq!(err.matches(&line).count(), 1, "{err}");
}

#[test]
fn sigterm_stops_a_ban_with_its_report_and_exit_143() {
    ban_stopped_by("-TERM", 143, "interrupted by SIGTERM");
}

#[test]
fn sighup_stops_a_ban_with_its_report_and_exit_129() {
    ban_stopped_by("-HUP", 129, "interrupted by SIGHUP");
}

#[test]
fn the_emulator_exits_cleanly_on_sighup_and_sigterm() {
    for signal in ["-HUP", "-TERM"] {
        let mut emu = start_emulator("sigemu", &[]);
        kill(signal, emu.child.id());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = emu.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the emulator is still up after {signal}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(0), "after {signal}");
    }
}

/// `banctl list | head -1`: the pipe closed under it (SIGPIPE ignored,
/// EPIPE on write) ends it quietly with 0.
#[test]
fn a_closed_stdout_ends_banctl_quietly() {
    let emu = start_emulator("pipe", &[]);
    let out = emu.run_stdin(&BAN_STDIN[..7], &members_text("p", 300));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut child = emu
        .cmd(&["list", "--group", G])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `| head -1`: read one line, close the pipe.
    let mut stdout = child.stdout.take().unwrap();
    let mut byte = [0u8; 1];
    while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {}
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}
