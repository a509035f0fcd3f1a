//! What `banctl serve` checks before it takes a callback: the files'
//! modes, the credentials (one read call), the state directory's lock,
//! and where `/metrics` is served. Real processes against the emulator.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use common::serve::{free_port, start_serve, token_file};
use common::{start_emulator, stderr, tempdir, Emu};

const RULES: &str = r#"
[[rule]]
name = "spam"
on = "message"
contains_any = ["free coins"]
block = true
ladder = ["mute 10m"]
"#;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `banctl serve` that is expected to exit at once (a refusal): its output.
fn serve_refused(emu: &Emu, dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let rules = dir.join("rules.toml");
    if !rules.exists() {
        std::fs::write(&rules, RULES).unwrap();
    }
    let token = dir.join("token");
    let state = dir.join("state");
    let mut cmd = emu.cmd(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--callback-token-file",
        token.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
    ]);
    if !extra.contains(&"--state-dir") {
        cmd.arg("--state-dir").arg(&state);
    }
    cmd.args(extra);
    for (k, v) in env {
        if *k == "TIM_SECRET_KEY_FILE" {
            cmd.env_remove("TIM_SECRET_KEY");
        }
        cmd.env(k, v);
    }
    // A serve that did start is stopped: the tests expect refusals.
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(5) {
            child.kill().unwrap();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn loose_secret_files_and_open_rules_are_refused_unless_allowed() {
    let emu = start_emulator("perms", &[]);
    let dir = tempdir("perms");
    let token = token_file(&dir);
    chmod(&token, 0o644);
    let out = serve_refused(&emu, &dir, &[], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--callback-token-file") && err.contains("0644") && err.contains("chmod 600"),
        "{err}"
    );
    assert!(!err.contains(common::serve::TOKEN), "{err}");
    // Allowed: a warning, and serve runs (killed by the helper after 5 s).
    let out = serve_refused(&emu, &dir, &["--allow-loose-permissions"], &[]);
    assert_eq!(out.status.code(), None, "it ran: {}", stderr(&out));
    assert!(stderr(&out).contains("warning: --callback-token-file"));
    chmod(&token, 0o600);
    let rules = dir.join("rules.toml");
    chmod(&rules, 0o666);
    let out = serve_refused(&emu, &dir, &[], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--rules"), "{}", stderr(&out));
    chmod(&rules, 0o644);
    // The secret key file is held to the token's rule.
    let key = dir.join("secret.key");
    std::fs::write(&key, emu.info["secret_key"].as_str().unwrap()).unwrap();
    chmod(&key, 0o640);
    let out = serve_refused(
        &emu,
        &dir,
        &[],
        &[("TIM_SECRET_KEY_FILE", key.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("TIM_SECRET_KEY_FILE") && err.contains("0640"),
        "{err}"
    );
}

#[test]
fn a_wrong_secret_key_or_app_is_refused_at_start_naming_the_flag() {
    let emu = start_emulator("startcheck", &[]);
    let dir = tempdir("startcheck");
    token_file(&dir);
    let out = serve_refused(&emu, &dir, &[], &[("TIM_SECRET_KEY", "not-the-key")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("--secret-key-file"), "{err}");
    assert!(
        !err.contains("not-the-key"),
        "the key is never printed: {err}"
    );
    let out = serve_refused(&emu, &dir, &[], &[("TIM_SDKAPPID", "1400000999")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--sdkappid"), "{}", stderr(&out));
    // The control: skipping the check, the same wrong key starts.
    let out = serve_refused(
        &emu,
        &dir,
        &["--no-start-check"],
        &[("TIM_SECRET_KEY", "not-the-key")],
    );
    assert_eq!(out.status.code(), None, "it ran: {}", stderr(&out));
}

#[test]
fn one_serve_per_state_directory() {
    let emu = start_emulator("statelock", &[]);
    let first = start_serve(&emu, free_port(), RULES, &[]);
    let dir = tempdir("statelock");
    token_file(&dir);
    let state = first.state.to_str().unwrap().to_owned();
    let out = serve_refused(&emu, &dir, &["--state-dir", &state], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("in use by another process"),
        "{}",
        stderr(&out)
    );
}

fn get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text
}

#[test]
fn metrics_on_their_own_port_and_the_audit_file_private() {
    let emu = start_emulator("metricsport", &[]);
    let dir = tempdir("metricsport");
    // An audit file left world-readable is made 0600.
    let audit = dir.join("old-audit.jsonl");
    std::fs::write(&audit, "").unwrap();
    chmod(&audit, 0o644);
    let metrics = format!("127.0.0.1:{}", free_port());
    let serve = start_serve(
        &emu,
        free_port(),
        RULES,
        &[
            "--metrics-listen",
            &metrics,
            "--audit",
            audit.to_str().unwrap(),
        ],
    );
    let mode = std::fs::metadata(&audit).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(get(&metrics, "/metrics").contains("HTTP/1.1 200"));
    assert!(get(&metrics, "/healthz").contains("ok"));
    let on_callback_port = get(&serve.addr, "/metrics");
    assert!(
        !on_callback_port.contains("HTTP/1.1 200"),
        "{on_callback_port}"
    );
    assert!(get(&serve.addr, "/healthz").contains("ok"));
}

#[test]
fn a_bad_rules_file_is_refused_at_start_with_its_line() {
    let emu = start_emulator("serverules", &[]);
    let dir = tempdir("serverules");
    let rules = dir.join("rules.toml");
    std::fs::write(&rules, "[[rule]]\nname = \"x\"\non = \"message\"\ncontains_any = [\"a\"]\nladder = [\"kick 1h\"]\n").unwrap();
    let token = token_file(&dir);
    let out = emu
        .cmd(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--callback-token-file",
            token.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("line 5") && err.contains("kick 1h"), "{err}");
    let out = emu
        .cmd(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--rules",
            rules.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--callback-token-file"),
        "{}",
        stderr(&out)
    );
}
