//! Repository chores, run from anywhere in the workspace as `cargo xtask ...`:
//!
//! - `cargo xtask test`: every test, set-up included (installs
//!   `redis-server` when missing): the README's test command.
//! - `cargo xtask ci`: what `.ci/run` runs (tidy, fmt, clippy, tests, docs).
//! - `cargo xtask release <version> [--dry-run]`: bump, check, package and
//!   publish every publishable crate in dependency order, then tag.
//! - `cargo xtask bench`: run the criterion benchmarks and print a table of
//!   medians and their ratios to the baseline in each group.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod bench;
mod release;
mod setup;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(&root),
        Some("test") => test(&root, &args[1..]),
        Some("release") => release::run(&root, &args[1..]),
        Some("bench") => bench::run(&root, &args[1..]),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str =
    "usage: cargo xtask test [cargo test args] | ci | release <version> [--dry-run] | bench [criterion filter]";

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// The steps of CI, in order; `.ci/run` runs `cargo xtask ci`.
pub const CI_STEPS: &[(&str, &[&str])] = &[
    ("cargo fmt --check", &["fmt", "--all", "--", "--check"]),
    (
        "cargo clippy",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ),
    (
        "cargo xtask test (the README's test command)",
        &["test", "--workspace"],
    ),
    ("cargo doc", &["doc", "--workspace", "--no-deps"]),
];

/// The README's test command: what the tests need, then every test.
fn test(root: &Path, extra: &[String]) -> Result<(), String> {
    setup::ensure_redis()?;
    tests(root, extra)
}

/// The tests that time a shared budget on a busy machine (beside two
/// CPU-bound processes; four processes on a Redis Cluster): they run
/// release binaries (a debug `banctl` there is late for its own permits),
/// so they are `#[ignore]`d in `cargo test` and run here, each binary's
/// ignored tests alone, with the release `banctl` in `BANCTL_RELEASE`.
const RELEASE_TESTS: &[(&str, &str)] = &[("ban-cli", "load"), ("ban-cli", "production")];

/// The most bytes an installed `banctl` may take.
const MAX_BANCTL_BYTES: u64 = 20_000_000;

/// `cargo test --workspace`, then the release-binary tests.
pub(crate) fn tests(root: &Path, extra: &[String]) -> Result<(), String> {
    let mut cmd = Command::new(cargo());
    cmd.args(["test", "--workspace"])
        .args(extra)
        .current_dir(root);
    run(&mut cmd)?;
    if !extra.is_empty() {
        // A filtered run is someone's chosen subset.
        return Ok(());
    }
    println!("== release banctl for the load tests");
    run(Command::new(cargo())
        .args(["build", "--release", "-p", "ban-cli", "--bin", "banctl"])
        .current_dir(root))?;
    let bin = root.join("target/release/banctl");
    // What `cargo install` builds (the release profile): at most 20 MB.
    let size = std::fs::metadata(&bin)
        .map_err(|e| format!("{}: {e}", bin.display()))?
        .len();
    println!("release banctl: {:.1} MB", size as f64 / 1e6);
    if size > MAX_BANCTL_BYTES {
        return Err(format!(
            "the release banctl is {size} bytes, over {MAX_BANCTL_BYTES}: the release profile keeps what an install does not need"
        ));
    }
    for (package, target) in RELEASE_TESTS {
        run(Command::new(cargo())
            .args(["test", "-p", package, "--test", target, "--", "--ignored"])
            .env("BANCTL_RELEASE", &bin)
            .current_dir(root))?;
    }
    Ok(())
}

fn ci(root: &Path) -> Result<(), String> {
    setup::ensure_redis()?;
    println!("== tidy (file lengths)");
    tidy::run(root)?;
    for (name, args) in CI_STEPS {
        println!("== {name}");
        if args[0] == "test" {
            tests(root, &[])?;
            continue;
        }
        let mut cmd = Command::new(cargo());
        cmd.args(*args).current_dir(root);
        if args[0] == "doc" {
            cmd.env("RUSTDOCFLAGS", "-D warnings");
        }
        run(&mut cmd)?;
    }
    Ok(())
}

/// The cargo that runs us.
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Runs a command, failing with its name when it fails.
fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}

/// Runs a command and returns its stdout.
fn output(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("{cmd:?} printed non-UTF-8: {e}"))
}
