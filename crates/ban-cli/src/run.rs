//! What each subcommand does.

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use ban_emulator::{Emulator, EmulatorConfig, FaultKind};
use ban_facade::{BuildError, Client, ClientBuilder, ConfigError, RateLimit};
use ban_sign::{Clock, SecretKey, Signer, SystemClock};
use futures_util::StreamExt;
use serde_json::json;

use crate::args::{Cli, Cmd, EmulatorArgs, Global, SigCmd};
use crate::output::{self, escape};
pub use crate::output::{failed, rfc3339, usage, Failure};

pub async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let g = &cli.global;
    match cli.command {
        Cmd::Ban {
            target,
            duration,
            description,
        } => crate::bulk::run(g, &target, Some((duration, description.as_deref()))).await,
        Cmd::Unban { target } => crate::bulk::run(g, &target, None).await,
        Cmd::List { group, rate } => list(g, &group, rate.rate).await,
        Cmd::Sig(cmd) => sig(g, cmd),
        Cmd::Emulator(args) => emulator(g, args).await,
        Cmd::Demo if g.json => Err(usage(
            "demo is a walk-through for people and has no --json output; run it without --json",
        )),
        Cmd::Demo => crate::demo::demo().await,
    }
}

/// Lists banned members as pages arrive, so `| head` ends it early.
async fn list(g: &Global, group: &str, rate: Option<u32>) -> Result<ExitCode, Failure> {
    let client = client(g, rate)?;
    let mut stream = client.banned_members(group).map_err(usage)?;
    let mut all = Vec::new();
    let mut n = 0usize;
    while let Some(item) = stream.next().await {
        let b = item.map_err(failed)?;
        n += 1;
        if g.json {
            all.push(b);
        } else {
            output::line(format_args!(
                "{}\tuntil {}",
                escape(&b.member_account),
                rfc3339(b.banned_until)
            ))?;
        }
    }
    if g.json {
        output::json_value(&all)?;
    } else {
        eprintln!("{n} banned member(s) in {}", escape(group));
    }
    output::flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The secret key from --secret-key / TIM_SECRET_KEY or --secret-key-file /
/// TIM_SECRET_KEY_FILE (one of them).
fn secret_key(g: &Global) -> Result<Option<SecretKey>, Failure> {
    match (&g.secret_key, &g.secret_key_file) {
        (Some(_), Some(_)) => Err(usage(
            "both a secret key (--secret-key or TIM_SECRET_KEY) and a key file (--secret-key-file or TIM_SECRET_KEY_FILE) are given; give one",
        )),
        (Some(k), None) => Ok(Some(SecretKey::new(k.clone()))),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                usage(format!("cannot read --secret-key-file {}: {e}", path.display()))
            })?;
            let key = text.trim_end_matches(['\n', '\r']);
            if key.is_empty() {
                return Err(usage(format!(
                    "--secret-key-file {} is empty",
                    path.display()
                )));
            }
            Ok(Some(SecretKey::new(key)))
        }
        (None, None) => Ok(None),
    }
}

/// The client for ban, unban and list, from flags and `TIM_*` variables.
pub fn client(g: &Global, rate: Option<u32>) -> Result<Client, Failure> {
    let mut b = ClientBuilder::default();
    let sdkappid = g
        .sdkappid
        .ok_or_else(|| usage("SDKAppID is missing; pass --sdkappid or set TIM_SDKAPPID"))?;
    b = b.sdkappid(sdkappid);
    let key = secret_key(g)?.ok_or_else(|| {
        usage("the secret key is missing; pass --secret-key-file or set TIM_SECRET_KEY_FILE or TIM_SECRET_KEY")
    })?;
    b = b.secret_key(key.expose());
    if let Some(admin) = &g.admin {
        b = b.admin(admin.clone());
    }
    if let Some(region) = &g.region {
        b = b.region(
            region
                .parse()
                .map_err(|e| usage(format!("--region: {e}")))?,
        );
    }
    if let Some(endpoint) = &g.endpoint {
        b = b.endpoint(endpoint.clone());
    }
    if let Some(ca) = &g.ca_cert {
        b = b
            .ca_cert_file(&ca.to_string_lossy())
            .map_err(|e| usage(format!("--ca-cert: {e}")))?;
    }
    b.danger_allow_plain_http(g.danger_allow_plain_http)
        .rate_limit(Some(RateLimit::per_second(
            rate.unwrap_or(RateLimit::DEFAULT_PER_SEC),
        )))
        .build()
        .map_err(|e| match e {
            ConfigError::Transport(BuildError::PlainHttp { given }) => usage(format!(
                "endpoint {given:?} is plain HTTP; the service is HTTPS only (pass --danger-allow-plain-http for a local emulator started with --plain)"
            )),
            ConfigError::Transport(BuildError::Certificate(c)) => {
                usage(format!("--ca-cert: {c}"))
            }
            ConfigError::Transport(BuildError::Endpoint { given, reason }) => {
                usage(format!("--endpoint {given:?} is not usable: {reason}"))
            }
            other => usage(other),
        })
}

fn signer(g: &Global) -> Result<Signer, Failure> {
    let sdkappid = g
        .sdkappid
        .ok_or_else(|| usage("--sdkappid (or TIM_SDKAPPID) is needed"))?;
    let key = secret_key(g)?.ok_or_else(|| {
        usage("the secret key is missing; pass --secret-key-file or set TIM_SECRET_KEY_FILE or TIM_SECRET_KEY")
    })?;
    Ok(Signer::new(sdkappid, key))
}

fn sig(g: &Global, cmd: SigCmd) -> Result<ExitCode, Failure> {
    let signer = signer(g)?;
    let now = SystemClock.now_unix();
    match cmd {
        SigCmd::Gen { identifier, expire } => {
            ban_proto::MemberAccount::new(identifier.as_str())
                .map_err(|e| usage(format!("--identifier: {e}")))?;
            let sig = signer.sign(&identifier, now, expire);
            if g.json {
                output::line(
                    json!({"usersig": sig.expose(), "identifier": identifier, "sdkappid": signer.sdkappid(), "time": now, "expire": expire}),
                )?;
            } else {
                output::line(sig.expose())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        SigCmd::Verify { identifier, sig } => {
            let sig = if sig == "-" {
                let mut text = String::new();
                std::io::stdin()
                    .lock()
                    .read_to_string(&mut text)
                    .map_err(|e| usage(format!("cannot read the UserSig from stdin: {e}")))?;
                text
            } else {
                sig
            };
            match signer.verify(sig.trim(), &identifier, now) {
                Ok(c) => {
                    if g.json {
                        output::line(
                            json!({"valid": true, "identifier": c.identifier, "sdkappid": c.sdkappid, "time": c.time, "expire": c.expire, "expires_at": c.expires_at()}),
                        )?;
                    } else {
                        output::line(format_args!(
                            "valid: identifier {}, SDKAppID {}, issued {}, expires {} (in {} s)",
                            escape(&c.identifier),
                            c.sdkappid,
                            rfc3339(c.time),
                            rfc3339(c.expires_at()),
                            c.expires_at().saturating_sub(now)
                        ))?;
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    let reason = escape(&e.to_string());
                    if g.json {
                        output::line(
                            json!({"valid": false, "code": e.error_code().code(), "reason": reason}),
                        )?;
                        Ok(ExitCode::from(1))
                    } else {
                        Err(failed(format!(
                            "invalid UserSig (service code {}): {reason}",
                            e.error_code().code()
                        )))
                    }
                }
            }
        }
    }
}

async fn emulator(g: &Global, a: EmulatorArgs) -> Result<ExitCode, Failure> {
    let mut config = EmulatorConfig::default();
    if let Some(id) = g.sdkappid {
        config.sdkappid = id;
    }
    if let Some(key) = secret_key(g)? {
        config.secret_key = key;
    }
    if let Some(admin) = &g.admin {
        config.admin = admin.clone();
    }
    config.listen = a.listen;
    config.groups = a.groups;
    config.rate_limit = (a.rate_limit > 0).then_some(a.rate_limit);
    config.latency = Duration::from_millis(a.latency_ms);
    config.faults.rate = a.fault_rate;
    config.faults.seed = a.seed;
    config.faults.delay = Duration::from_millis(a.fault_delay_ms);
    config.faults.code = a.fault_code;
    config.faults.info_bytes = a.fault_info_bytes as usize;
    if !a.fault_kinds.is_empty() {
        config.faults.kinds = a
            .fault_kinds
            .iter()
            .map(|k| k.parse::<FaultKind>())
            .collect::<Result<_, _>>()
            .map_err(usage)?;
    }
    config.tls = !a.plain;
    config.ban_feature_enabled = !a.ban_feature_off;
    config.strict_accounts = a.strict_accounts;
    config.avchatroom_only = a.avchatroom_only;
    config.paging = a
        .paging
        .parse()
        .map_err(|e| usage(format!("--paging: {e}")))?;
    config.sensitive_words = a.sensitive_words;
    config.open_control = a.open_control;
    let emu = Emulator::start(config).await.map_err(usage)?;
    let info = emu.ready_info();
    if let Some(path) = &a.ready_file {
        let text = serde_json::to_string_pretty(&info)
            .map_err(|e| failed(format!("cannot encode the ready file: {e}")))?;
        // Write then rename, so a watcher never reads half a file.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| usage(format!("cannot write --ready-file {}: {e}", path.display())))?;
    }
    eprintln!(
        "ban emulator listening on {} (SDKAppID {}, admin {}); Ctrl-C stops it",
        info.endpoint, info.sdkappid, info.admin
    );
    if a.ready_file.is_none() && info.ca_cert_pem.is_some() {
        eprintln!("pass --ready-file PATH to get its CA certificate and credentials as JSON");
    }
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| failed(format!("cannot wait for Ctrl-C: {e}")))?;
    emu.stop().await;
    Ok(ExitCode::SUCCESS)
}
