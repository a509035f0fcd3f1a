//! What the tests need on the machine beside the Rust toolchain: a
//! `redis-server` (and `redis-cli`) for the fleet's tests, which start
//! their own on free loopback ports. Installed with the system's package
//! manager when missing (which needs root, or sudo: said before it runs);
//! otherwise the exact command to run is printed. A Redis service that the
//! package starts is stopped again; no other process is touched.

use std::process::Command;

use crate::run;

/// Whether `program --version` runs.
fn has(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether this process runs as root (so `apt-get` needs no `sudo`).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The pids of the running `redis-server` processes (empty when `pgrep`
/// is missing: then nothing is stopped).
fn redis_pids() -> std::collections::BTreeSet<String> {
    Command::new("pgrep")
        .args(["-x", "redis-server"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Makes sure `redis-server` and `redis-cli` are installed.
pub(crate) fn ensure_redis() -> Result<(), String> {
    if has("redis-server") && has("redis-cli") {
        return Ok(());
    }
    let root = is_root();
    println!(
        "== redis-server and redis-cli are missing; the fleet's tests need them: installing the package{}",
        if root { "" } else { " with sudo (the package manager needs root)" }
    );
    let sudo: &[&str] = if root { &[] } else { &["sudo"] };
    let with_sudo = |args: &[&str]| {
        let all: Vec<&str> = sudo.iter().chain(args).copied().collect();
        let mut cmd = Command::new(all[0]);
        cmd.args(&all[1..]);
        cmd
    };
    if has("apt-get") {
        let before = redis_pids();
        println!("== apt-get update; apt-get install redis-server");
        run(with_sudo(&["apt-get", "update", "-qq"]).env("DEBIAN_FRONTEND", "noninteractive"))?;
        run(with_sudo(&[
            "apt-get",
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "redis-server",
        ])
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
        // The package may start a service of its own, which the tests never
        // use: stop that one only, never a Redis that was running before.
        for pid in redis_pids().difference(&before) {
            println!("== stopping the redis-server the package started (pid {pid})");
            let _ = with_sudo(&["kill", pid]).status();
        }
    } else if has("dnf") {
        run(&mut with_sudo(&["dnf", "install", "-y", "redis"]))?;
    } else if has("brew") {
        run(Command::new("brew").args(["install", "redis"]))?;
    } else {
        return Err("the fleet's tests need redis-server and redis-cli, and no known package manager is here: install Redis 7 or later (https://redis.io/docs/latest/operate/oss_and_stack/install/), then run `cargo xtask test` again".to_owned());
    }
    if has("redis-server") && has("redis-cli") {
        Ok(())
    } else {
        Err("redis-server was installed but is not on PATH".to_owned())
    }
}
