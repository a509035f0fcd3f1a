//! banctl end to end: the built binary against `banctl emulator`, a separate
//! process on a loopback port, over TLS.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::process::Command;

use common::{json, start_emulator, stderr, BAN_STDIN, BIN, G};

#[test]
fn ban_list_unban_with_json_and_exit_codes() {
    let emu = start_emulator("ban", &[]);
    let out = emu.run(&[
        "ban",
        "--group",
        G,
        "--member",
        "a",
        "--member",
        "b",
        "--member",
        "a",
        "--duration",
        "1h",
        "--description",
        "raid",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["banned"], serde_json::json!(["a", "b"]));
    assert_eq!(v["failed"], serde_json::json!([]));
    assert_eq!(v["duplicates"], 1);
    assert_eq!(v["calls"], 1);
    assert_eq!(v["retries"], 0);
    assert!(v["elapsed_ms"].is_u64());

    let members: String =
        (0..45).map(|i| format!("file{i}\n")).collect::<String>() + "\n# a comment\n";
    let file = emu.dir.join("members.txt");
    std::fs::write(&file, &members).unwrap();
    let out = emu.run(&[
        "ban",
        "--group",
        G,
        "--members-file",
        file.to_str().unwrap(),
        "--duration",
        "600",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["banned"].as_array().unwrap().len(), 45);
    assert_eq!(json(&out)["calls"], 3);

    let out = emu.run_stdin(
        &[
            "ban",
            "--group",
            G,
            "--members-file",
            "-",
            "--duration",
            "30m",
        ],
        "stdin1\r\nstdin2\r\n\r\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("banned 2 of 2 members of"));

    let out = emu.run(&["list", "--group", G, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list = json(&out);
    assert_eq!(list.as_array().unwrap().len(), 49);
    assert!(list[0]["member"].is_string() && list[0]["banned_until"].is_u64());
    let out = emu.run(&["list", "--group", G]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 49);

    let out = emu.run(&["unban", "--group", G, "--member", "a", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["unbanned"], serde_json::json!(["a"]));

    // The group does not exist: the job stops early (exit 2), the member of
    // the call that found out failed with its code and reason.
    let out = emu.run(&[
        "ban",
        "--group",
        "@TGS#missing",
        "--member",
        "x",
        "--duration",
        "60",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert_eq!(v["stopped"]["kind"], "group");
    assert_eq!(v["failed"][0]["member"], "x");
    assert_eq!(v["failed"][0]["code"], 10015);
    assert!(v["failed"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("does not exist"));

    let stats = emu.control("stats");
    assert_eq!(stats["commands"]["ban_group_member"]["accepted"], 5);
    assert_eq!(stats["rate_limited"], 0);
}

#[test]
fn bad_input_exits_2_before_any_request() {
    let emu = start_emulator("bad", &[]);
    let long = "x".repeat(33);
    let long49 = "x".repeat(49);
    let empty = emu.dir.join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let empty = empty.to_str().unwrap().to_owned();
    let comments = emu.dir.join("comments.txt");
    std::fs::write(&comments, "# bots\n\n   \n").unwrap();
    let comments = comments.to_str().unwrap().to_owned();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["ban", "--group", G, "--member", &long, "--duration", "60"],
            "Member_Account is 33 bytes; at most 32 bytes",
        ),
        (
            vec!["ban", "--group", G, "--member", "a", "--duration", "0"],
            "Duration is 0; it must be 1..=4294967295 seconds",
        ),
        (
            vec![
                "ban",
                "--group",
                G,
                "--member",
                "a",
                "--duration",
                "4294967296",
            ],
            "Duration is 4294967296",
        ),
        (
            vec!["ban", "--group", G, "--member", "a", "--duration", "soon"],
            "is not a duration",
        ),
        (
            vec!["ban", "--group", "", "--member", "a", "--duration", "60"],
            "GroupId is empty",
        ),
        (
            vec!["ban", "--group", G, "--duration", "60"],
            "no members given",
        ),
        (
            vec![
                "ban",
                "--group",
                G,
                "--member",
                "a",
                "--duration",
                "60",
                "--region",
                "mars",
            ],
            "region \"mars\" is unknown",
        ),
        (
            vec!["unban", "--group", G, "--members-file", "/nonexistent/file"],
            "cannot read --members-file",
        ),
        (vec!["list", "--group", &long49], "GroupId is 49 bytes"),
        (
            vec![
                "ban",
                "--group",
                "@TGS#aCLI ",
                "--member",
                "a",
                "--duration",
                "60",
            ],
            "starts or ends with whitespace, which would be sent as part of the group ID",
        ),
        (
            vec!["ban", "--group", G, "--member", "a", "--duration", "1y"],
            "months and years have none",
        ),
        (
            vec![
                "mute",
                "--group",
                G,
                "--member",
                "a",
                "--duration",
                "1month",
            ],
            "months and years have none",
        ),
        (
            vec!["ban", "--group", G, "--member", "a", "--duration", "1H"],
            "unit \"H\" is not one of s, m, h, d, w",
        ),
        (
            vec![
                "ban",
                "--group",
                G,
                "--members-file",
                &empty,
                "--duration",
                "60",
            ],
            "is empty",
        ),
        (
            vec![
                "ban",
                "--group",
                G,
                "--members-file",
                &comments,
                "--duration",
                "60",
            ],
            "has no members: its 3 line(s) are all blank or # comments",
        ),
    ];
    for (args, want) in cases {
        let out = emu.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
    }
    // job submit: one action, said in the commands' words, checked before
    // Redis is looked for.
    for (args, want) in [
        (
            vec!["job", "submit", "--group", G, "--member", "a"],
            "job submit needs its action: ban, unban, mute or unmute",
        ),
        (
            vec![
                "job",
                "submit",
                "unban",
                "--group",
                G,
                "--member",
                "a",
                "--duration",
                "1h",
            ],
            "--duration is for a ban or a mute; unban lifts it",
        ),
        (
            vec![
                "job", "submit", "ban", "--unban", "--group", G, "--member", "a",
            ],
            "give job submit one action",
        ),
        (
            vec!["job", "submit", "mute", "--group", G, "--member", "a"],
            "--duration is required to mute",
        ),
        (
            vec![
                "job",
                "submit",
                "mute",
                "--group",
                G,
                "--member",
                "a",
                "--duration",
                "10m",
                "--description",
                "x",
            ],
            "--description is for a ban",
        ),
    ] {
        let out = emu.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
    }
    // Global flags a command has no use for are refused, not ignored.
    let out = emu.run(&["sig", "gen", "--identifier", "a", "--endpoint", "https://x"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--endpoint does not apply to `banctl sig gen`"),
        "{}",
        stderr(&out)
    );
    // An empty TIM_ENDPOINT is a mistake, not the production host.
    for (flag, env, want) in [
        (None, Some(""), "TIM_ENDPOINT is set but empty"),
        (Some(" "), None, "--endpoint is empty"),
    ] {
        let mut cmd = std::process::Command::new(common::bin());
        cmd.args(["list", "--group", G])
            .env("TIM_SDKAPPID", emu.info["sdkappid"].to_string())
            .env("TIM_SECRET_KEY", emu.info["secret_key"].as_str().unwrap())
            .env_remove("TIM_ENDPOINT")
            .env_remove("TIM_REGION");
        if let Some(f) = flag {
            cmd.args(["--endpoint", f]);
        }
        if let Some(e) = env {
            cmd.env("TIM_ENDPOINT", e);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(want), "{}", stderr(&out));
    }
    let desc = "é".repeat(501);
    let out = emu.run(&[
        "ban",
        "--group",
        G,
        "--member",
        "a",
        "--duration",
        "60",
        "--description",
        &desc,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("Description is 1002 bytes; at most 1000 bytes"),
        "{}",
        stderr(&out)
    );
    // Missing credentials.
    let out = Command::new(BIN)
        .args(["ban", "--group", G, "--member", "a", "--duration", "60"])
        .env_remove("TIM_SDKAPPID")
        .env_remove("TIM_SECRET_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("SDKAppID is missing"),
        "{}",
        stderr(&out)
    );

    assert_eq!(emu.control("stats")["total_calls"], 0);
}

#[test]
fn sig_gen_and_verify() {
    let emu = start_emulator("sig", &[]);
    let out = emu.run(&[
        "sig",
        "gen",
        "--identifier",
        "administrator",
        "--expire",
        "600",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sig = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let out = emu.run(&["sig", "verify", "--identifier", "administrator", &sig]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("valid: identifier administrator"));

    let out = emu.run(&["sig", "verify", "--identifier", "bob", &sig]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("70013"), "{}", stderr(&out));
    let out = emu.run(&[
        "--secret-key",
        "other",
        "sig",
        "verify",
        "--identifier",
        "administrator",
        &sig,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("70009"), "{}", stderr(&out));
    assert!(!stderr(&out).contains(&sig), "the sig is not echoed");
    let out = emu.run(&[
        "--json",
        "sig",
        "verify",
        "--identifier",
        "administrator",
        "garbage!",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["code"], 70003);
    let out = emu.run(&["--json", "sig", "gen", "--identifier", "ops"]);
    assert_eq!(json(&out)["expire"], 86400);
}

#[test]
fn emulator_flags_shape_its_behaviour() {
    let emu = start_emulator(
        "flags",
        &[
            "--rate-limit",
            "0",
            "--fault-rate",
            "0.3",
            "--seed",
            "9",
            "--latency-ms",
            "5",
        ],
    );
    let members: String = (0..200).map(|i| format!("bot{i}\n")).collect();
    let out = emu.run_stdin(&BAN_STDIN, &members);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["banned"].as_array().unwrap().len(), 200);
    assert!(
        v["retries"].as_u64().unwrap() > 0,
        "faults were injected and retried: {v}"
    );
    let stats = emu.control("stats");
    let f = &stats["faults"];
    let injected = f["internal_error"].as_u64().unwrap()
        + f["bad_gateway"].as_u64().unwrap()
        + f["dropped"].as_u64().unwrap();
    assert_eq!(v["retries"].as_u64().unwrap(), injected);

    let plain = start_emulator("plain", &["--plain"]);
    assert!(plain.info["endpoint"]
        .as_str()
        .unwrap()
        .starts_with("http://"));
    assert!(plain.info["ca_cert_pem"].is_null());
    let ban = ["ban", "--group", G, "--member", "a", "--duration", "60"];
    let out = plain.run(&ban);
    assert_eq!(out.status.code(), Some(2), "plain HTTP needs the opt-in");
    assert!(
        stderr(&out).contains("--danger-allow-plain-http"),
        "{}",
        stderr(&out)
    );
    let out = plain.run(&[&ban[..], &["--danger-allow-plain-http"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn demo_runs_to_the_end() {
    let out = Command::new(BIN).arg("demo").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "refused, banned until",
        "raider1 has 0",
        "1000 banned, 0 failed",
        "1002 banned members in 11 pages",
        "it rejoins",
        "summary:",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
}

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

/// The member files are checked before anything is sent: one path for
/// both, or a file that cannot be written, is exit 2 naming the flag.
#[test]
fn member_files_that_cannot_be_written_are_refused_before_any_call() {
    let emu = start_emulator("listsout", &[]);
    let same = emu.dir.join("both.txt");
    let same = same.to_str().unwrap();
    let mut args = BAN_STDIN.to_vec();
    args.extend(["--failed-out", same, "--not-attempted-out", same]);
    let out = emu.run_stdin(&args, "m1\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        json(&out)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--failed-out and --not-attempted-out are both"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mut args = BAN_STDIN.to_vec();
    let missing = emu.dir.join("no-such-dir").join("rest.txt");
    args.extend(["--not-attempted-out", missing.to_str().unwrap()]);
    let out = emu.run_stdin(&args, "m1\n");
    assert_eq!(out.status.code(), Some(2));
    let message = json(&out)["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with("cannot write --not-attempted-out"),
        "{message}"
    );
    assert_eq!(emu.control("stats")["total_calls"], 0, "nothing was sent");
}

/// The ready file holds the secret key and the control token: only its
/// owner may read it, and the token is 128 random bits.
#[cfg(unix)]
#[test]
fn the_ready_file_is_private_and_its_token_random() {
    use std::os::unix::fs::PermissionsExt;
    let a = start_emulator("private-a", &[]);
    let b = start_emulator("private-b", &[]);
    let mode = std::fs::metadata(a.dir.join("ready.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let token = |e: &common::Emu| e.info["control_token"].as_str().unwrap().to_owned();
    assert_eq!(token(&a).len(), 32);
    assert!(token(&a).bytes().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(token(&a), token(&b));
}

/// What is taken but likely a mistake is said: a comma in `--member`, a
/// rate over the service's; `-v` names the host called.
#[test]
fn likely_mistakes_are_said_and_v_names_the_host() {
    let emu = start_emulator("mistakes", &[]);
    let out = emu.run(&[
        "ban",
        "--group",
        G,
        "--member",
        "a,b",
        "--duration",
        "60",
        "--rate",
        "500",
        "-v",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--member #1 \"a,b\" has a comma: it is one account of that name"),
        "{err}"
    );
    assert!(
        err.contains("--rate 500 is over the service's 200 calls/s"),
        "{err}"
    );
    let endpoint = emu.info["endpoint"].as_str().unwrap();
    assert!(
        err.lines()
            .any(|l| l.contains("calling") && l.contains(endpoint)),
        "{err}"
    );
    // Said only when it applies.
    let out = emu.run(&["ban", "--group", G, "--member", "c", "--duration", "60"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
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
