//! Bad input: refused with exit 2, naming the flag, before any request;
//! and likely mistakes said.

use super::*;

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
            "job submit needs its action: ban, unban, mute, unmute or kick",
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
        (Some(" "), None, "--endpoint is \" \": it is empty"),
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
