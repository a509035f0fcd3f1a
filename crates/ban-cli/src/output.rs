//! What banctl prints: text for people, JSON for scripts, errors in the
//! format asked for, every outside string escaped, and a closed stdout
//! taken as the reader having had enough.

use std::io::Write;

use ban_facade::{StopKind, StopReason};
use serde_json::json;

pub(crate) use ban_proto::escape;

/// A failure with its exit code.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The exit code.
    pub code: u8,
    /// What kind of failure, for `--json` errors.
    pub kind: &'static str,
    /// What went wrong and what to do.
    pub message: String,
}

impl Failure {
    /// The reader closed stdout (`banctl list | head`): end quietly.
    pub(crate) fn is_closed_stdout(&self) -> bool {
        self.kind == "closed_stdout"
    }
}

/// Bad input or configuration, nothing sent: exit 2.
pub(crate) fn usage(message: impl std::fmt::Display) -> Failure {
    Failure {
        code: 2,
        kind: "usage",
        message: message.to_string(),
    }
}

/// A failed operation: exit 1.
pub(crate) fn failed(message: impl std::fmt::Display) -> Failure {
    Failure {
        code: 1,
        kind: "failed",
        message: message.to_string(),
    }
}

fn io_failure(e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Failure {
            code: 0,
            kind: "closed_stdout",
            message: String::new(),
        }
    } else {
        Failure {
            code: 1,
            kind: "io",
            message: format!("cannot write to stdout: {e}"),
        }
    }
}

/// Writes a line to stdout.
pub(crate) fn line(text: impl std::fmt::Display) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(io_failure)
}

/// Writes a value as pretty JSON to stdout, streamed (a 50,000-member
/// report is never built as one string).
pub(crate) fn json_value<T: serde::Serialize + ?Sized>(value: &T) -> Result<(), Failure> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, value).map_err(|e| match e.io_error_kind() {
        Some(_) => io_failure(e.into()),
        None => failed(format!("cannot encode the result as JSON: {e}")),
    })?;
    out.write_all(b"\n").map_err(io_failure)?;
    out.flush().map_err(io_failure)
}

/// Flushes stdout (a closed pipe shows up here for buffered writes).
pub(crate) fn flush() -> Result<(), Failure> {
    std::io::stdout().flush().map_err(io_failure)
}

/// Reports a failure: `{"error": {...}}` on stdout with `--json`, else one
/// line on stderr. Returns the exit code.
pub(crate) fn report_failure(json: bool, f: &Failure) -> u8 {
    if f.is_closed_stdout() {
        return 0;
    }
    if json {
        let v = json!({"error": {"kind": f.kind, "message": f.message, "exit_code": f.code}});
        if line(v).is_err() {
            return f.code;
        }
    } else {
        eprintln!("error: {}", f.message);
    }
    f.code
}

/// How many failed and how many not-attempted members a human-format
/// report lists; `--json` lists every one.
pub(crate) const LISTED: usize = 20;

/// The members of a report for people: at most [`LISTED`] failed and
/// [`LISTED`] not attempted, then how to see them all.
pub(crate) fn report_members(report: &ban_facade::BulkReport) -> Result<(), Failure> {
    for f in report.failed.iter().take(LISTED) {
        let code = f.code.map_or_else(|| "-".to_owned(), |c| c.to_string());
        line(format_args!(
            "failed\t{}\tcode {code}\t{} (random {})",
            escape(&f.member),
            escape(&f.reason),
            f.random
        ))?;
    }
    for m in report.not_attempted.iter().take(LISTED) {
        line(format_args!("not_attempted\t{}", escape(m)))?;
    }
    let hidden = report.failed.len().saturating_sub(LISTED)
        + report.not_attempted.len().saturating_sub(LISTED);
    if hidden > 0 {
        line(format_args!(
            "... and {hidden} more member(s) not listed ({} failed, {} not attempted in all); --json lists every one (--json > report.json); --failed-out FILE and --not-attempted-out FILE write them one per line",
            report.failed.len(),
            report.not_attempted.len()
        ))?;
    }
    Ok(())
}

/// What an operator should fix, in banctl's flags and variables.
pub(crate) fn fix(kind: StopKind) -> &'static str {
    match kind {
        StopKind::Interrupted => "run the same command again to finish (with --journal it skips the members already done)",
        StopKind::Credentials => "check --sdkappid (TIM_SDKAPPID), --secret-key-file (TIM_SECRET_KEY_FILE or TIM_SECRET_KEY) and --admin (TIM_ADMIN)",
        StopKind::Permission => "--admin (TIM_ADMIN) must be the app admin, member banning must be on in the console, and the group type must allow the action",
        StopKind::Group => "check --group: the group does not exist, was dismissed, or its ID is invalid",
        StopKind::Tls => "trust the server's CA with --ca-cert (TIM_CA_CERT), or check --endpoint (TIM_ENDPOINT)",
        StopKind::Unreachable => "check --endpoint (TIM_ENDPOINT) or --region (TIM_REGION), and the network",
        StopKind::NoAnswer => "the endpoint accepts connections but does not answer; check --endpoint (TIM_ENDPOINT)",
        StopKind::Journal => "check the --journal file's disk and permissions",
        StopKind::Description => "reword --description: the service found sensitive words in it",
        StopKind::Edition => "the app needs the Ultimate (or Enterprise) edition for banning: buy or renew it in the console (10059: never bought, 60020: expired)",
        StopKind::Refused => "check --group's type: mute and unmute are refused in Work (Private) groups",
        _ => "see the reason above",
    }
}

/// A stop in words: its kind, the service code, the failure (without
/// saying the kind twice) and what to fix, in banctl's flags.
pub(crate) fn stop_text(stop: &StopReason) -> String {
    format!("{}; {}", stop.said(), fix(stop.kind))
}

/// A failed single call (a list read): exit 2 with the flag to fix when
/// it is the setup's fault (credentials, group, endpoint, ...), else 1.
pub(crate) fn call_failure(e: ban_facade::CallError) -> Failure {
    match StopReason::of_call(&e) {
        Some(stop) => usage(stop_text(&stop)),
        None => failed_err(e),
    }
}

/// A count with its noun: `1 call`, `2 calls` (`many` is the plural).
pub(crate) fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// An error and its causes, on one line: `what failed: why: why`.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    ban_facade::error_chain(e)
}

/// Bad input or configuration (exit 2), said with every cause.
pub(crate) fn usage_err(e: impl std::error::Error + 'static) -> Failure {
    usage(chain(&e))
}

/// A failed operation (exit 1), said with every cause.
pub(crate) fn failed_err(e: impl std::error::Error + 'static) -> Failure {
    failed(chain(&e))
}

/// A Unix time as RFC 3339, or the bare number when it is past year 9999.
pub(crate) fn rfc3339(secs: u64) -> String {
    std::time::UNIX_EPOCH
        .checked_add(std::time::Duration::from_secs(secs))
        .filter(|_| secs <= 253_402_300_799)
        .map_or_else(
            || format!("{secs} (Unix seconds)"),
            |t| humantime::format_rfc3339_seconds(t).to_string(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_with_their_nouns() {
        assert_eq!(count(1u64, "call", "calls"), "1 call");
        assert_eq!(count(0u64, "call", "calls"), "0 calls");
        assert_eq!(count(2u64, "retry", "retries"), "2 retries");
    }

    #[test]
    fn far_times_do_not_panic() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(u64::MAX), format!("{} (Unix seconds)", u64::MAX));
    }
}
