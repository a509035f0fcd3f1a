//! Members from `--member` flags and `--members-file`, read so that no
//! line can ban a different string than the one the operator sees.
//!
//! A file is UTF-8, one account a line, LF or CRLF; a UTF-8 BOM is dropped;
//! empty and whitespace-only lines and `#` comments are skipped. A line with
//! leading or trailing whitespace is refused (the space would be sent as
//! part of the account) unless `--trim` is given.

use std::fmt;
use std::io::Read;
use std::path::Path;

use ban_facade::{InputError, InvalidMember, INVALID_SHOWN};

use crate::output::{usage, usage_err, Failure};

/// Where a member came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The n-th `--member` flag (1-based).
    Flag(usize),
    /// Line n of the members file (1-based).
    Line(usize),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(n) => write!(f, "--member #{n}"),
            Origin::Line(n) => write!(f, "line {n}"),
        }
    }
}

/// The members of a command, each with where it came from.
#[derive(Debug, Default)]
pub(crate) struct Members {
    pub accounts: Vec<String>,
    pub origins: Vec<Origin>,
    /// Lines changed by `--trim`.
    pub trimmed: usize,
}

/// Lines named in a message before the rest are only counted.
const SHOWN: usize = 10;

fn list<T: fmt::Display>(items: &[T]) -> String {
    let shown: Vec<String> = items.iter().take(SHOWN).map(ToString::to_string).collect();
    let mut s = shown.join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    s
}

/// Reads `--member` flags, then the members file (`-` for stdin).
pub(crate) fn read(flags: &[String], file: Option<&Path>, trim: bool) -> Result<Members, Failure> {
    let mut m = Members::default();
    let mut spaced = Vec::new();
    for (i, raw) in flags.iter().enumerate() {
        if raw.contains(',') {
            eprintln!(
                "warning: {} \"{}\" has a comma: it is one account of that name; repeat --member for several",
                Origin::Flag(i + 1),
                ban_proto::escape_bounded(raw, ban_proto::QUOTED_BYTES)
            );
        }
        m.push(raw, Origin::Flag(i + 1), trim, &mut spaced);
    }
    let mut skipped = 0usize;
    if let Some(path) = file {
        let what = || format!("--members-file {}", path.display());
        let mut bytes = Vec::new();
        let read = if path.as_os_str() == "-" {
            std::io::stdin().lock().read_to_end(&mut bytes)
        } else {
            std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes))
        };
        read.map_err(|e| usage(format!("cannot read {}: {e}", what())))?;
        let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        // The last line's newline ends it; it does not start another.
        let text = text.strip_suffix(b"\n").unwrap_or(text);
        let lines = (!text.is_empty()).then(|| text.split(|&b| b == b'\n'));
        for (i, line) in lines.into_iter().flatten().enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = std::str::from_utf8(line).map_err(|e| {
                usage(format!(
                    "{} line {} is not UTF-8 (byte {} is invalid); save the file as UTF-8",
                    what(),
                    i + 1,
                    e.valid_up_to() + 1
                ))
            })?;
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                skipped += 1;
                continue;
            }
            m.push(line, Origin::Line(i + 1), trim, &mut spaced);
        }
    }
    if !spaced.is_empty() {
        return Err(usage(format!(
            "{} member(s) have leading or trailing whitespace, which would be sent as part of the account: {}; remove it, or pass --trim to trim it",
            spaced.len(),
            list(&spaced)
        )));
    }
    if m.accounts.is_empty() {
        return Err(match file {
            Some(path) if skipped > 0 => usage(format!(
                "--members-file {} has no members: its {skipped} line(s) are all blank or # comments",
                path.display()
            )),
            Some(path) => usage(format!("--members-file {} is empty", path.display())),
            None => usage("no members given; use --member (repeatable) or --members-file"),
        });
    }
    Ok(m)
}

impl Members {
    fn push(&mut self, raw: &str, origin: Origin, trim: bool, spaced: &mut Vec<Origin>) {
        let trimmed = raw.trim();
        if trimmed.len() != raw.len() {
            if !trim {
                spaced.push(origin);
                return;
            }
            self.trimmed += 1;
        }
        self.accounts.push(trimmed.to_owned());
        self.origins.push(origin);
    }

    /// The SDK's input error, with each invalid member named by where it
    /// came from.
    pub(crate) fn explain(&self, e: InputError) -> Failure {
        let InputError::Members(bad) = &e else {
            return usage_err(e);
        };
        let named: Vec<String> = bad
            .iter()
            .take(INVALID_SHOWN)
            .map(|b: &InvalidMember| {
                let at = self
                    .origins
                    .get(b.index)
                    .map_or_else(|| format!("#{}", b.index + 1), ToString::to_string);
                format!("{at} \"{}\": {}", b.quoted(), b.error)
            })
            .collect();
        let more = bad.len().saturating_sub(INVALID_SHOWN);
        usage(format!(
            "{} invalid member(s), nothing was sent: {}{}",
            bad.len(),
            named.join("; "),
            if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            }
        ))
    }
}
