//! Repository rules that a compiler does not check, run by `cargo xtask ci`
//! and, as a test, by plain `cargo test` (the way rust-analyzer's tidy does).

use std::path::{Path, PathBuf};

/// The most lines a source file (a crate's `src` or `tests`, `benches/`,
/// `xtask/`) has without saying why.
pub(crate) const MAX_LINES: usize = 500;
/// How a long file says why, in its leading `//!` block.
pub(crate) const WHY_LONG: &str = "//! Why this file is long:";

/// Every `.rs` file under `crates/*/src`, `crates/*/tests`, `benches/`
/// and `xtask/src`.
fn sources(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|e| [e.path().join("src"), e.path().join("tests")])
        .chain([root.join("benches"), root.join("xtask").join("src")])
        .collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Whether a file's text keeps the length rule.
pub(crate) fn length_ok(text: &str) -> bool {
    text.lines().count() <= MAX_LINES
        || text
            .lines()
            .take_while(|l| l.starts_with("//!") || l.starts_with("#!["))
            .any(|l| l.starts_with(WHY_LONG))
}

/// The files that break the rules, each with why.
pub(crate) fn check(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for path in sources(root) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            problems.push(format!("{}: not readable as UTF-8", path.display()));
            continue;
        };
        if !length_ok(&text) {
            problems.push(format!(
                "{}: {} lines, over {MAX_LINES}; split it by concern, or say why at its top (\"{WHY_LONG} ...\")",
                path.strip_prefix(root).unwrap_or(&path).display(),
                text.lines().count()
            ));
        }
    }
    problems
}

/// `cargo xtask ci`'s first step.
pub(crate) fn run(root: &Path) -> Result<(), String> {
    let problems = check(root);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("tidy:\n  {}", problems.join("\n  ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_can_fail() {
        let long = "fn f() {}\n".repeat(MAX_LINES + 1);
        assert!(!length_ok(&long));
        assert!(length_ok(&format!("{WHY_LONG} one table\n{long}")));
        assert!(length_ok("//! short\n"));
    }

    #[test]
    fn tests_benches_and_xtask_are_walked_too() {
        let root = crate::workspace_root();
        let files = sources(&root);
        for part in ["/tests/", "benches/", "xtask/src/", "/src/"] {
            assert!(
                files.iter().any(|f| f.to_string_lossy().contains(part)),
                "no file under {part}"
            );
        }
        assert!(files.iter().all(|f| !f.starts_with(root.join("target"))));
    }

    #[test]
    fn the_workspace_keeps_its_rules() {
        let problems = check(&crate::workspace_root());
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
