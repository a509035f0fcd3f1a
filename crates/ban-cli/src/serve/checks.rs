//! What `banctl serve` checks before it takes a callback, and what it says
//! on stderr while it runs: files only their owner may read (or, for the
//! rules, write), the credentials (one read call), the open files limit,
//! and the first failure of each kind that no retry can mend.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

use ban_facade::{Client, StopKind};
use ban_moderation::{Event, EventKind, Observer, Outcome};

use super::ServeArgs;
use crate::output::{usage, Failure};
use crate::settings::Settings;

/// Refuses (or, with `--allow-loose-permissions`, warns about) a token or
/// secret key file that group or others may read, and a rules file others
/// may write.
pub(super) fn file_modes(settings: &Settings<'_>, a: &ServeArgs) -> Result<(), Failure> {
    let mut loose = Vec::new();
    if let Some(f) = &a.callback_token_file {
        loose.extend(readable_by_others("--callback-token-file", f));
    }
    if let Some((name, f)) = settings.secret_key_path() {
        loose.extend(readable_by_others(name, &f));
    }
    loose.extend(writable_by_others("--rules", &a.rules));
    for problem in &loose {
        if a.allow_loose_permissions {
            eprintln!("warning: {problem} (kept: --allow-loose-permissions)");
        }
    }
    match loose.first() {
        Some(problem) if !a.allow_loose_permissions => Err(usage(format!(
            "{problem}; fix its mode, or give --allow-loose-permissions"
        ))),
        _ => Ok(()),
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

#[cfg(unix)]
fn readable_by_others(flag: &str, path: &Path) -> Option<String> {
    let m = mode(path)?;
    (m & 0o077 != 0).then(|| {
        format!(
            "{flag} {} is mode {m:04o}: group or others may read the secret (chmod 600 it)",
            path.display()
        )
    })
}

#[cfg(unix)]
fn writable_by_others(flag: &str, path: &Path) -> Option<String> {
    let m = mode(path)?;
    (m & 0o002 != 0).then(|| {
        format!(
            "{flag} {} is mode {m:04o}: anyone may rewrite the rules (chmod o-w it)",
            path.display()
        )
    })
}

#[cfg(not(unix))]
fn readable_by_others(_: &str, _: &Path) -> Option<String> {
    None
}

#[cfg(not(unix))]
fn writable_by_others(_: &str, _: &Path) -> Option<String> {
    None
}

/// Raises the soft open files limit to the hard one; returns both when it
/// changed.
pub(super) fn raise_fd_limit() -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).ok()?;
        if soft >= hard {
            return None;
        }
        let now = rlimit::increase_nofile_limit(hard).ok()?;
        (now > soft).then_some((soft, now))
    }
    #[cfg(not(unix))]
    None
}

/// Connections at once by default: 10,000, or fewer when the open files
/// limit is lower (128 kept for the journal, the audit, Redis and calls),
/// so the cap is met before the descriptors run out.
pub(super) fn default_max_connections() -> usize {
    #[cfg(unix)]
    if let Ok((soft, _)) = rlimit::getrlimit(rlimit::Resource::NOFILE) {
        let room = usize::try_from(soft.saturating_sub(128)).unwrap_or(usize::MAX);
        return room.clamp(16, 10_000);
    }
    10_000
}

/// The group the start check lists: none has this ID, so the service
/// answers "no such group" when the credentials are good.
const PROBE_GROUP: &str = "@TGS#banctl-start-check";

/// One read call: refuses to start when the service refuses the
/// credentials, naming the flag to look at.
pub(super) async fn credentials(client: &Client) -> Result<(), Failure> {
    use futures_util::TryStreamExt;
    let mut list = client
        .banned_members(PROBE_GROUP)
        .map_err(|e| usage(format!("the start check: {e}")))?;
    let err = match list.try_next().await {
        Ok(_) => return Ok(()),
        Err(e) => e,
    };
    let Some(code) = err.error_code() else {
        // Unreachable, TLS, a timeout: not the credentials; actions retry.
        eprintln!("warning: the start check could not reach the service ({err}); starting anyway, give --no-start-check to skip it");
        return Ok(());
    };
    let flag = match code.code() {
        60006 | 60012 | 70014 | 70020 => "--sdkappid (TIM_SDKAPPID)",
        70013 => "--admin (TIM_ADMIN)",
        70001 | 70003 | 70005 | 70009 | 70016 | 70052 => {
            "--secret-key-file (TIM_SECRET_KEY_FILE or TIM_SECRET_KEY)"
        }
        _ => match StopKind::for_code(code) {
            Some(StopKind::Credentials) => {
                "--sdkappid, --secret-key-file and --admin (TIM_SDKAPPID, TIM_SECRET_KEY_FILE, TIM_ADMIN)"
            }
            Some(StopKind::Permission) => {
                "--admin (TIM_ADMIN): it must be the app admin (or the console's switch for this command is off)"
            }
            // No such group (the answer expected), or anything else.
            _ => return Ok(()),
        },
    };
    Err(usage(format!(
        "the start check was refused by the service ({err}): check {flag}; --no-start-check skips the check"
    )))
}

/// Says on stderr, once per kind, what an operator must act on: an action
/// failed for credentials, permission or edition, and each change of
/// degraded state.
#[derive(Debug, Default)]
pub(super) struct Loud {
    said: Mutex<HashSet<String>>,
}

impl Loud {
    fn once(&self, key: String, line: impl FnOnce() -> String) {
        let mut said = self.said.lock().unwrap_or_else(|p| p.into_inner());
        if said.insert(key) {
            eprintln!("{}", line());
        }
    }
}

impl Observer for Loud {
    fn observe(&self, e: &Event) {
        match (&e.kind, &e.outcome) {
            (
                EventKind::Action,
                Outcome::Failed {
                    code: Some(code),
                    reason,
                },
            ) => {
                let kind = StopKind::for_code(ban_proto::ErrorCode::from_code(*code));
                let what = match kind {
                    Some(StopKind::Credentials) => "the credentials were refused",
                    Some(StopKind::Permission) => "permission was refused",
                    Some(StopKind::Edition) => "the app's edition does not allow it",
                    _ => return,
                };
                self.once(format!("code {code}"), || {
                    format!(
                        "error: an action failed: {what} ({code} {reason}); later failures like it are in the audit only"
                    )
                });
            }
            (EventKind::Alert, Outcome::Degraded { reason }) => {
                // The journal failing: said when it starts; the library
                // logs when it is written again.
                self.once("journal".to_owned(), || format!("warning: {reason}"));
            }
            _ => {}
        }
    }
}
