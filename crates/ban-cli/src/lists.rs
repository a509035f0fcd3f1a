//! `--failed-out` and `--not-attempted-out`: every member a job did not do,
//! one per line, so the next run takes them with `--members-file` however
//! many there are (a report for people lists 20).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use ban_facade::BulkReport;

use crate::args::ListsOut;
use crate::output::{usage, Failure};

impl ListsOut {
    /// Checks before anything is sent that each file can be written (it
    /// is created empty) and that the two are not one file.
    pub(crate) fn check(&self) -> Result<(), Failure> {
        if let (Some(a), Some(b)) = (&self.failed_out, &self.not_attempted_out) {
            if a == b {
                return Err(usage(format!(
                    "--failed-out and --not-attempted-out are both {}; give each its own file",
                    a.display()
                )));
            }
        }
        for (flag, path) in self.files() {
            std::fs::File::create(path)
                .map_err(|e| usage(format!("cannot write {flag} {}: {e}", path.display())))?;
        }
        Ok(())
    }

    /// Writes the report's failed and not-attempted members to their files
    /// (each replaced whole, never left half-written). Returns what went
    /// wrong, for stderr: the report is printed either way.
    pub(crate) fn write(&self, report: &BulkReport) -> Vec<String> {
        let mut problems = Vec::new();
        let failed: Vec<&str> = report.failed.iter().map(|f| f.member.as_str()).collect();
        let not_attempted: Vec<&str> = report.not_attempted.iter().map(String::as_str).collect();
        for (flag, path) in self.files() {
            let members = if flag == "--failed-out" {
                &failed
            } else {
                &not_attempted
            };
            if let Err(e) = write_members(path, members) {
                problems.push(format!("cannot write {flag} {}: {e}", path.display()));
            }
            let comments = members.iter().filter(|m| m.starts_with('#')).count();
            if comments > 0 {
                problems.push(format!(
                    "{flag} {}: {comments} member(s) start with '#', which a members file reads as a comment; take them from --json",
                    path.display()
                ));
            }
        }
        problems
    }

    fn files(&self) -> impl Iterator<Item = (&'static str, &Path)> {
        [
            ("--failed-out", self.failed_out.as_deref()),
            ("--not-attempted-out", self.not_attempted_out.as_deref()),
        ]
        .into_iter()
        .filter_map(|(flag, p)| p.map(|p| (flag, p)))
    }
}

/// One member a line, through a temporary file renamed over `path`.
pub(crate) fn write_members(path: &Path, members: &[&str]) -> std::io::Result<()> {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    let tmp = std::path::PathBuf::from(name);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    for m in members {
        out.write_all(m.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.into_inner()
        .map_err(std::io::IntoInnerError::into_error)?
        .sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The exit code once the files' `problems` are said on stderr: a job
/// that did everything still exits 1 when its lists were not written.
pub(crate) fn worst(code: ExitCode, report: &BulkReport, problems: &[String]) -> ExitCode {
    for p in problems {
        eprintln!("error: {p}");
    }
    if !problems.is_empty() && report.all_succeeded() && report.stopped.is_none() {
        ExitCode::from(1)
    } else {
        code
    }
}
