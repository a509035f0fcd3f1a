//! banctl built without its default features has no emulator: a moderation
//! host can install the client alone.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::path::PathBuf;
use std::process::Command;

#[test]
fn without_default_features_banctl_has_no_emulator() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest.parent().and_then(|p| p.parent()).unwrap();
    // A target directory of its own (the running `cargo test` holds the
    // default one's lock), inside the one this test was built in, so
    // CARGO_TARGET_DIR is honoured: this exe is TARGET/debug/deps/features-*.
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .nth(3)
        .expect("the test runs from TARGET/PROFILE/deps")
        .join("no-default-features");
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "-p",
            "ban-cli",
            "--no-default-features",
            "--features",
            "ring",
            "--bin",
            "banctl",
        ])
        .arg("--target-dir")
        .arg(&target)
        .current_dir(workspace)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the build without default features fails");
    let bin = target.join("debug").join("banctl");
    let help = Command::new(&bin).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let commands = subcommands(&help);
    assert!(
        commands.contains(&"ban") && commands.contains(&"list"),
        "{help}"
    );
    assert!(
        !commands.contains(&"emulator") && !commands.contains(&"demo"),
        "{help}"
    );
    let out = Command::new(&bin).arg("emulator").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unrecognized subcommand"));
    // The full build has both.
    let full = Command::new(env!("CARGO_BIN_EXE_banctl"))
        .arg("--help")
        .output()
        .unwrap();
    let full = String::from_utf8_lossy(&full.stdout);
    let commands = subcommands(&full);
    assert!(
        commands.contains(&"emulator") && commands.contains(&"demo"),
        "{full}"
    );
}

/// The names in the `Commands:` section of clap's help.
fn subcommands(help: &str) -> Vec<&str> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect()
}
