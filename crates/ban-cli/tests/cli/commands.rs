//! The commands end to end: ban, list and unban; sig; the emulator's
//! flags and ready file; the demo.

use super::*;

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
