//! Helpers shared by banctl's end-to-end tests: the built binary against
//! `banctl emulator`, a separate process on a loopback port, over TLS.
#![allow(dead_code)]

pub(crate) mod fleet;
pub(crate) mod serve;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_banctl");

/// The `banctl` the helpers start: the release build named in
/// `BANCTL_RELEASE` when set (`cargo xtask test` sets it for the load
/// tests), else the one cargo built for these tests.
pub(crate) fn bin() -> String {
    std::env::var("BANCTL_RELEASE").unwrap_or_else(|_| BIN.to_owned())
}
pub(crate) const G: &str = "@TGS#aCLI";

/// `banctl ban` of the members on stdin, for 60 s, with a JSON report.
pub(crate) const BAN_STDIN: [&str; 8] = [
    "ban",
    "--group",
    G,
    "--members-file",
    "-",
    "--duration",
    "60",
    "--json",
];

/// `banctl ban --json` of `members`, run to its end.
pub(crate) fn ban_file(emu: &Emu, name: &str, members: &[String], extra: &[&str]) -> Output {
    ban_file_cmd(emu, name, members, extra).output().unwrap()
}

/// `banctl ban --json` of `members`, written to a file named `name`, for
/// an hour, with `extra` flags.
pub(crate) fn ban_file_cmd(emu: &Emu, name: &str, members: &[String], extra: &[&str]) -> Command {
    let file = emu.dir.join(name);
    std::fs::write(&file, members.join("\n")).unwrap();
    let mut args = vec![
        "ban",
        "--group",
        G,
        "--members-file",
        file.to_str().unwrap(),
        "--duration",
        "1h",
        "--json",
    ];
    args.extend_from_slice(extra);
    emu.cmd(&args)
}

pub(crate) struct Emu {
    pub child: Child,
    pub info: Value,
    pub dir: PathBuf,
}

impl Drop for Emu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) fn tempdir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "banctl-test-{tag}-{}-{:?}",
        std::process::id(),
        Instant::now()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) fn start_emulator(tag: &str, extra: &[&str]) -> Emu {
    let dir = tempdir(tag);
    let ready = dir.join("ready.json");
    let child = Command::new(bin())
        .args(["emulator", "--group", G, "--ready-file"])
        .arg(&ready)
        .args(extra)
        .env_remove("TIM_SDKAPPID")
        .env_remove("TIM_SECRET_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !ready.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "emulator did not become ready"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let info: Value = serde_json::from_str(&std::fs::read_to_string(&ready).unwrap()).unwrap();
    for key in ["endpoint", "ca_cert_pem", "sdkappid", "secret_key", "admin"] {
        assert!(info.get(key).is_some(), "ready file lacks {key}: {info}");
    }
    if let Some(pem) = info["ca_cert_pem"].as_str() {
        std::fs::write(dir.join("ca.pem"), pem).unwrap();
    }
    Emu { child, info, dir }
}

impl Emu {
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        self.cmd_at(self.info["endpoint"].as_str().unwrap(), args)
    }

    /// A banctl command with this emulator's credentials and CA, sent to `endpoint`.
    pub(crate) fn cmd_at(&self, endpoint: &str, args: &[&str]) -> Command {
        self.cmd_via(bin().as_ref(), endpoint, args)
    }

    /// [`Emu::cmd_at`] run by `program` (a wrapper that execs banctl).
    pub(crate) fn cmd_via(
        &self,
        program: &std::path::Path,
        endpoint: &str,
        args: &[&str],
    ) -> Command {
        let mut c = Command::new(program);
        c.arg("--endpoint").arg(endpoint);
        if self.info["ca_cert_pem"].is_string() {
            c.arg("--ca-cert").arg(self.dir.join("ca.pem"));
        }
        c.env("TIM_SDKAPPID", self.info["sdkappid"].to_string())
            .env("TIM_SECRET_KEY", self.info["secret_key"].as_str().unwrap())
            .env_remove("TIM_REGION")
            .env_remove("TIM_ENDPOINT")
            .args(args);
        c
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    pub(crate) fn run_stdin(&self, args: &[&str], input: &str) -> Output {
        run_with_stdin(self.cmd(args), input)
    }

    /// GET on the control surface with a raw hyper client.
    pub(crate) fn control(&self, path: &str) -> Value {
        self.control_with(path, None)
    }

    /// POST `body` on the control surface.
    pub(crate) fn control_post(&self, path: &str, body: &Value) -> Value {
        self.control_with(path, Some(body.to_string()))
    }

    fn control_with(&self, path: &str, body: Option<String>) -> Value {
        let pem = self.info["ca_cert_pem"].as_str().unwrap().to_owned();
        let token = self.info["control_token"].as_str().map(str::to_owned);
        let url = format!(
            "{}/emulator/v1/{path}",
            self.info["endpoint"].as_str().unwrap()
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let tls = ban_emulator::client_config(&pem).unwrap();
            let conn = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(tls)
                .https_only()
                .enable_http1()
                .build();
            let client =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build::<_, Full<Bytes>>(conn);
            let method = if body.is_some() { "POST" } else { "GET" };
            let mut req = hyper::Request::builder().method(method).uri(url);
            if let Some(token) = token {
                req = req.header("authorization", format!("Bearer {token}"));
            }
            let body = Full::new(Bytes::from(body.unwrap_or_default()));
            let resp = client.request(req.body(body).unwrap()).await.unwrap();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            serde_json::from_slice(&body).unwrap()
        })
    }
}

pub(crate) fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// `n` accounts `{prefix}0`, `{prefix}1`, ..., one a line, as a members
/// file holds them.
pub(crate) fn members_text(prefix: &str, n: usize) -> String {
    (0..n).map(|i| format!("{prefix}{i}\n")).collect()
}

/// A JSON array of strings, as strings.
pub(crate) fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs a command with `input` on its stdin (written from a thread, so a
/// process that stops reading early cannot block the test).
pub(crate) fn run_with_stdin(mut cmd: Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || {
        // A process that stopped early may close stdin first.
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}
