//! Helpers for `banctl serve`'s end-to-end tests: serve started against
//! an emulator, signed callbacks posted to it, its audit file read.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use ban_callback::{sign, CallbackToken};
use serde_json::Value;

use super::fleet::wait_for;
use super::{tempdir, Emu};

/// The callback token serve and the emulators share.
pub(crate) const TOKEN: &str = "test-callback-token";

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The token in a file only its owner may read (serve refuses a looser one).
pub(crate) fn token_file(dir: &Path) -> PathBuf {
    let f = dir.join("token");
    std::fs::write(&f, format!("{TOKEN}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    f
}

pub(crate) struct Serve {
    pub(crate) child: Child,
    pub(crate) addr: String,
    pub(crate) audit: PathBuf,
    pub(crate) rules: PathBuf,
    /// Its `--state-dir` (the journal), unless the test gave its own.
    pub(crate) state: PathBuf,
    /// Where its stderr goes.
    pub(crate) stderr: PathBuf,
}

impl Serve {
    /// What it has said on stderr so far.
    pub(crate) fn said(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `banctl serve` with this emulator's credentials, on `port`.
pub(crate) fn start_serve(emu: &Emu, port: u16, rules: &str, extra: &[&str]) -> Serve {
    start_serve_with(emu, port, rules, &[], extra)
}

/// [`start_serve`] run by `program`, a wrapper that execs banctl.
pub(crate) fn start_serve_via(
    program: &Path,
    emu: &Emu,
    port: u16,
    rules: &str,
    extra: &[&str],
) -> Serve {
    spawn_serve(Some(program), emu, port, rules, &[], extra)
}

/// `banctl serve` as [`start_serve`], with `files` (name, text) written
/// beside its rules file (the lists a rules file names).
pub(crate) fn start_serve_with(
    emu: &Emu,
    port: u16,
    rules: &str,
    files: &[(&str, &str)],
    extra: &[&str],
) -> Serve {
    spawn_serve(None, emu, port, rules, files, extra)
}

fn spawn_serve(
    program: Option<&Path>,
    emu: &Emu,
    port: u16,
    rules: &str,
    files: &[(&str, &str)],
    extra: &[&str],
) -> Serve {
    let dir = tempdir("serve");
    let rules_file = dir.join("rules.toml");
    std::fs::write(&rules_file, rules).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let audit = dir.join("audit.jsonl");
    let ready = dir.join("ready.json");
    let listen = format!("127.0.0.1:{port}");
    let token = token_file(&dir);
    let state = dir.join("state");
    let mut args = vec![
        "serve",
        "--listen",
        listen.as_str(),
        "--callback-token-file",
        token.to_str().unwrap(),
        "--rules",
        rules_file.to_str().unwrap(),
        "--ready-file",
        ready.to_str().unwrap(),
    ];
    if !extra.contains(&"--audit") {
        args.extend_from_slice(&["--audit", audit.to_str().unwrap()]);
    }
    if !extra.contains(&"--state-dir") {
        args.extend_from_slice(&["--state-dir", state.to_str().unwrap()]);
    }
    args.extend_from_slice(extra);
    let endpoint = emu.info["endpoint"].as_str().unwrap();
    let mut cmd = match program {
        Some(p) => emu.cmd_via(p, endpoint, &args),
        None => emu.cmd(&args),
    };
    let stderr = dir.join("stderr.log");
    let child = cmd
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    wait_for("serve ready", Duration::from_secs(20), || ready.exists());
    Serve {
        child,
        addr: listen,
        audit,
        rules: rules_file,
        state,
        stderr,
    }
}

pub(crate) fn audit_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// POSTs a callback to serve; the HTTP status and body.
pub(crate) fn post(addr: &str, query: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /tim/callback?{query} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp[9..12].parse().unwrap();
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

/// A before-send callback's body: `from` says "free coins" in the test group.
pub(crate) fn spam_body(from: &str, random: u64) -> String {
    serde_json::json!({"GroupId": super::G, "Type": "AVChatRoom", "From_Account": from, "Random": random,
           "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "free coins"}}]})
    .to_string()
}

/// The test group's `field` list (`Banned`, `Muted`) as the emulator holds it.
pub(crate) fn group_list(emu: &Emu, field: &str) -> Vec<Value> {
    let state = emu.control_post("group", &serde_json::json!({"GroupId": super::G}));
    state[field].as_array().cloned().unwrap_or_default()
}

pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub(crate) fn signed_query(app: &str, command: &str, token: &str, time: u64) -> String {
    let digest = sign(&CallbackToken::new(token), &time.to_string());
    format!("SdkAppid={app}&CallbackCommand={command}&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI&Sign={digest}&RequestTime={time}")
}

/// An emulator that calls `port` back, signed with the token.
pub(crate) fn emulator_calling(port: u16, tag: &str) -> Emu {
    let dir = tempdir(tag);
    let token = token_file(&dir);
    let url = format!("http://127.0.0.1:{port}/tim/callback");
    super::start_emulator(
        tag,
        &[
            "--callback-url",
            &url,
            "--callback-token-file",
            token.to_str().unwrap(),
            "--rate-limit",
            "0",
        ],
    )
}

/// A client's message through the emulator (callbacks included): its code.
pub(crate) fn send(emu: &Emu, from: &str, text: &str) -> i64 {
    let v = emu.control_post(
        "send",
        &serde_json::json!({"GroupId": super::G, "From_Account": from, "Text": text}),
    );
    v["ErrorCode"].as_i64().unwrap_or_else(|| panic!("{v}"))
}

/// The Prometheus text served at `addr`.
pub(crate) fn metrics_text(addr: &str) -> String {
    let mut m = TcpStream::connect(addr).unwrap();
    m.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    m.read_to_string(&mut text).unwrap();
    text
}
