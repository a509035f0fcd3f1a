//! What every command keeps: the exit codes, the output's hygiene, the
//! human report's bounds, and every emulator flag documented.

use super::*;

#[test]
fn cli_hygiene() {
    let emu = start_emulator("hygiene", &["--strict-accounts"]);
    // The secret key from a file; the sig to verify from stdin.
    let key_file = emu.dir.join("key");
    std::fs::write(
        &key_file,
        format!("{}\n", emu.info["secret_key"].as_str().unwrap()),
    )
    .unwrap();
    let with_key_file = |args: &[&str]| {
        let mut c = emu.cmd(args);
        c.env_remove("TIM_SECRET_KEY")
            .env("TIM_SECRET_KEY_FILE", &key_file);
        c
    };
    let out = with_key_file(&["sig", "gen", "--identifier", "administrator"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sig = String::from_utf8(out.stdout).unwrap();
    let out = common::run_with_stdin(
        with_key_file(&["sig", "verify", "--identifier", "administrator", "-"]),
        &sig,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // --expire is bounded; a sig that claims a far expiry verifies without a panic.
    let out = emu.run(&[
        "sig",
        "gen",
        "--identifier",
        "a",
        "--expire",
        "18446744073709551615",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not in 1..=4294967295"),
        "{}",
        stderr(&out)
    );
    let out = emu.run(&["sig", "gen", "--identifier", "a", "--expire", "4294967295"]);
    let far = String::from_utf8(out.stdout).unwrap();
    let out = emu.run(&["sig", "verify", "--identifier", "a", far.trim()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Durations under a second, or with a fraction, are refused by name.
    let out = emu.run(&["ban", "--group", G, "--member", "a", "--duration", "500ms"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not whole seconds"),
        "{}",
        stderr(&out)
    );
    let out = emu.run(&["ban", "--group", G, "--member", "a", "--duration", "0s"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("below 1 second"), "{}", stderr(&out));

    // --json errors are JSON on stdout, whatever failed.
    for args in [
        vec![
            "--json",
            "ban",
            "--group",
            G,
            "--member",
            "a",
            "--duration",
            "0",
        ],
        vec!["--json", "ban", "--group", G, "--member", "a"],
        vec!["--json", "demo"],
    ] {
        let out = emu.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let v = json(&out);
        assert_eq!(v["error"]["exit_code"], 2, "{v}");
        assert!(v["error"]["kind"].is_string() && v["error"]["message"].is_string());
    }

    // Strings from the input and the service reach the terminal escaped.
    let out = emu.run(&[
        "ban",
        "--group",
        G,
        "--member",
        "evil\u{202e}gpj",
        "--member",
        "ok",
        "--duration",
        "60",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("failed\tevil\\u{202e}gpj\tcode 10004"),
        "{text}"
    );
    assert!(!text.contains('\u{202e}'), "{text}");

    // Two sources of the key are refused rather than guessed between.
    let out = emu
        .cmd(&["sig", "gen", "--identifier", "a"])
        .env("TIM_SECRET_KEY_FILE", &key_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let secret = emu.info["secret_key"].as_str().unwrap();
    assert!(!stderr(&out).contains(secret), "the key is never echoed");
}

/// A report for people lists at most 20 failed members and says how to see
/// them all; `--json` lists every one.
#[test]
fn a_human_report_lists_at_most_20_failures() {
    let emu = start_emulator(
        "listed",
        &[
            "--fault-rate",
            "1",
            "--fault-kinds",
            "service_error",
            "--fault-code",
            "70107",
        ],
    );
    let members: String = (0..45).map(|i| format!("m{i}\n")).collect();
    // BAN_STDIN without its --json.
    let human = &BAN_STDIN[..BAN_STDIN.len() - 1];
    let out = emu.run_stdin(human, &members);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("failed\t")).count(),
        20
    );
    assert!(
        text.contains("and 25 more member(s) not listed") && text.contains("--json"),
        "{text}"
    );
    let out = emu.run_stdin(&BAN_STDIN, &members);
    assert_eq!(json(&out)["failed"].as_array().unwrap().len(), 45);
    // --failed-out writes all 45, a members file for the next run.
    let file = emu.dir.join("failed.txt");
    let mut args = human.to_vec();
    args.extend(["--failed-out", file.to_str().unwrap()]);
    let out = emu.run_stdin(&args, &members);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let written = std::fs::read_to_string(&file).unwrap();
    let mut got: Vec<&str> = written.lines().collect();
    let mut want: Vec<&str> = members.lines().collect();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want);
}

/// One exit-code contract, command by command: 0 done, 1 some members
/// failed (or a sig is invalid), 2 for what the operator must fix, naming
/// the flag, before or instead of any member being acted on.
#[test]
fn every_command_keeps_the_exit_code_contract() {
    let emu = start_emulator("exits", &["--failing-member", "doomed"]);
    let missing = "@TGS#missing";
    // (args, exit code, what stderr names)
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["list", "--group", G], 0, ""),
        (vec!["muted", "--group", G], 0, ""),
        (vec!["list", "--group", missing], 2, "check --group"),
        (vec!["muted", "--group", missing], 2, "check --group"),
        (
            vec!["list", "--group", G, "--sdkappid", "1400000999"],
            2,
            "check --sdkappid",
        ),
        (
            vec!["muted", "--group", G, "--sdkappid", "1400000999"],
            2,
            "check --sdkappid",
        ),
        (
            vec!["ban", "--group", G, "--member", "a", "--duration", "60"],
            0,
            "",
        ),
        (
            vec![
                "ban",
                "--group",
                G,
                "--member",
                "doomed",
                "--duration",
                "60",
            ],
            1,
            "",
        ),
        (
            vec![
                "ban",
                "--group",
                missing,
                "--member",
                "a",
                "--duration",
                "60",
            ],
            2,
            "check --group",
        ),
        (
            vec![
                "mute",
                "--group",
                missing,
                "--member",
                "a",
                "--duration",
                "60",
            ],
            2,
            "check --group",
        ),
        (
            vec![
                "unban",
                "--group",
                G,
                "--member",
                "a",
                "--sdkappid",
                "1400000999",
            ],
            2,
            "check --sdkappid",
        ),
        (vec!["job", "status", "x"], 2, "--redis"),
        (
            vec!["rules", "check", "--rules", "/nonexistent/rules.toml"],
            2,
            "rules.toml",
        ),
        (
            vec!["sig", "verify", "--identifier", "a", "not-a-sig"],
            1,
            "",
        ),
    ];
    for (args, code, names) in cases {
        let out = emu.run(&args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(names), "{args:?}: {}", stderr(&out));
        if code == 2 && args[0] != "rules" && args[0] != "job" {
            // The flag to fix, and never a usage dump.
            assert!(
                !stderr(&out).contains("Usage:"),
                "{args:?}: {}",
                stderr(&out)
            );
        }
    }
    // The same under --json: the code in the error object.
    let out = emu.run(&["list", "--group", missing, "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert_eq!(v["error"]["exit_code"], 2);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("10015"),
        "{v}"
    );
}

/// Every flag `banctl emulator --help` lists is in docs/emulator.md's
/// table and in the README's list: a flag added without its docs fails.
#[test]
fn every_emulator_flag_is_documented() {
    let help = std::process::Command::new(common::bin())
        .args(["emulator", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let docs = std::fs::read_to_string(root.join("docs/emulator.md")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let flags: Vec<&str> = help
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("--"))
        .map(|l| l.split([' ', '<', ',']).next().unwrap())
        .filter(|f| {
            ![
                "help",
                "sdkappid",
                "secret-key",
                "secret-key-file",
                "admin",
                "verbose",
            ]
            .contains(f)
        })
        .collect();
    assert!(flags.len() >= 25, "{flags:?}");
    for flag in flags {
        let flag = format!("--{flag}");
        assert!(docs.contains(&flag), "docs/emulator.md lacks {flag}");
        assert!(readme.contains(&flag), "README.md lacks {flag}");
    }
}
