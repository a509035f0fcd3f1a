//! What the examples that run `banctl serve` share: the process (release
//! build, killed on drop), its files, a free port.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ban_callback::CallbackToken;
use ban_emulator::{CallbackConfig, Emulator};

/// The callback token the examples sign with.
pub(crate) const TOKEN: &str = "load-test-token";

/// A running `banctl serve`, killed when dropped.
pub(crate) struct Serve(pub(crate) Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The callback token, in a file only its owner may read (serve refuses a
/// looser one).
pub(crate) fn write_token(dir: &std::path::Path) {
    let path = dir.join("token");
    std::fs::write(&path, TOKEN).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// This build's `banctl serve` (`BANCTL=path` for another), with `rules`.
#[allow(dead_code)] // not every example starts it so
pub(crate) fn start_serve(emu: &Emulator, port: u16, rules: &str, dir: &std::path::Path) -> Serve {
    let bin = std::env::var("BANCTL").unwrap_or_else(|_| "target/release/banctl".to_owned());
    start_serve_bin(&bin, true, emu, port, rules, dir, &[])
}

/// `bin` serving `rules`, with `extra` flags; `journal`: it takes `--state-dir` (builds before 0.2's
/// journal do not).
pub(crate) fn start_serve_bin(
    bin: &str,
    journal: bool,
    emu: &Emulator,
    port: u16,
    rules: &str,
    dir: &std::path::Path,
    extra: &[&str],
) -> Serve {
    std::fs::write(dir.join("rules.toml"), rules).unwrap();
    write_token(dir);
    std::fs::write(dir.join("ca.pem"), emu.ca_cert_pem().unwrap()).unwrap();
    let ready = dir.join("ready.json");
    let _ = std::fs::remove_file(&ready);
    let mut cmd = Command::new(bin);
    cmd.args(["--endpoint", emu.endpoint(), "--ca-cert"])
        .arg(dir.join("ca.pem"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--callback-token-file",
        ])
        .arg(dir.join("token"))
        .arg("--rules")
        .arg(dir.join("rules.toml"))
        .arg("--ready-file")
        .arg(&ready)
        .args(extra);
    if journal {
        // Each start its own journal: serve takes one per directory.
        cmd.arg("--state-dir")
            .arg(dir.join(format!("state-{port}")));
    }
    let child = cmd
        .env("TIM_SDKAPPID", emu.sdkappid().to_string())
        .env("TIM_SECRET_KEY", emu.secret_key().expose())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{bin}: {e}; build it first: cargo build --release -p ban-cli"));
    let started = Instant::now();
    while !ready.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "serve did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    Serve(child)
}

/// A loopback port nobody listens on now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An emulator of `group` at the service's 200 calls/s, calling back the
/// serve to come on `port` (signed with [`TOKEN`]).
pub(crate) async fn emulator_calling(group: &str, port: u16) -> Emulator {
    Emulator::builder()
        .group(group)
        .rate_limit(200)
        .callback(CallbackConfig::new(
            format!("http://127.0.0.1:{port}/cb"),
            Some(CallbackToken::new(TOKEN)),
        ))
        .start()
        .await
        .expect("the emulator starts on a loopback port")
}
