//! `banctl emulator`: the local emulator of the ban service, until Ctrl-C.

use std::process::ExitCode;
use std::time::Duration;

use ban_emulator::{CallbackConfig, CallbackToken, Emulator, EmulatorConfig, FaultKind};

use crate::args::{EmulatorArgs, Global};
use crate::output::{failed, usage, usage_err, Failure};
use crate::settings::Settings;

pub(crate) async fn run(g: &Global, a: EmulatorArgs) -> Result<ExitCode, Failure> {
    let settings = Settings::new(g);
    let mut config = EmulatorConfig::default();
    if let Some(id) = settings.sdkappid()? {
        config.sdkappid = id;
    }
    if let Some(key) = settings.secret_key()? {
        config.secret_key = key;
    }
    if let Some(admin) = settings.admin() {
        config.admin = admin;
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
    config.edition = a
        .edition
        .parse()
        .map_err(|e| usage(format!("--edition: {e}")))?;
    config.unknown_group_code = a
        .unknown_group_code
        .parse()
        .map_err(|e| usage(format!("--unknown-group-code: {e}")))?;
    config.paging = a
        .paging
        .parse()
        .map_err(|e| usage(format!("--paging: {e}")))?;
    config.sensitive_words = a.sensitive_words;
    config.open_control = a.open_control;
    config.failing_members = a.failing_members;
    config.group_msg_rate = a.group_msg_rate;
    if let Some(url) = a.callback_url {
        let token = match (a.callback_token, a.callback_token_file) {
            (Some(t), _) => Some(t),
            (None, Some(file)) => Some(crate::serve::read_token_file(&file)?),
            (None, None) => None,
        };
        let mut callback = CallbackConfig::new(url, token.map(CallbackToken::new));
        callback.timeout = Duration::from_millis(a.callback_timeout_ms);
        callback.fail_closed = a.callback_fail_closed;
        config.callback = Some(callback);
    }
    // Ctrl-C, SIGTERM and SIGHUP stop it cleanly (a `kill -HUP` meant for
    // serve must not kill it mid-answer).
    let mut signals = crate::signals::Signals::new(true)
        .map_err(|e| failed(format!("cannot watch for signals: {e}")))?;
    let emu = Emulator::start(config).await.map_err(usage_err)?;
    let info = emu.ready_info();
    if let Some(path) = &a.ready_file {
        let text = serde_json::to_string_pretty(&info)
            .map_err(|e| failed(format!("cannot encode the ready file: {e}")))?;
        // Write then rename, so a watcher never reads half a file.
        // Mode 0600: it holds the secret key and the control token.
        let tmp = path.with_extension("tmp");
        write_private(&tmp, text.as_bytes())
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| usage(format!("cannot write --ready-file {}: {e}", path.display())))?;
    }
    eprintln!(
        "ban emulator listening on {} (SDKAppID {}, admin {}); Ctrl-C, SIGTERM or SIGHUP stops it",
        info.endpoint, info.sdkappid, info.admin
    );
    if a.ready_file.is_none() && info.ca_cert_pem.is_some() {
        eprintln!("pass --ready-file PATH to get its CA certificate and credentials as JSON");
    }
    let by = signals
        .next()
        .await
        .map_err(|e| failed(format!("cannot wait for Ctrl-C: {e}")))?;
    eprintln!("{}: the emulator stops", crate::ban::said(by));
    emu.stop().await;
    Ok(ExitCode::SUCCESS)
}

/// Writes a file only its owner may read (0600 on Unix).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        // A file left from before keeps its mode: set it.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)
}
