//! `cargo xtask bench`: run criterion, then print medians and ratios to baselines.

use std::path::Path;
use std::process::Command;

use crate::{cargo, run as run_cmd};

/// One benchmark's median, in nanoseconds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub group: String,
    pub bench: String,
    pub median_ns: f64,
}

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut cmd = Command::new(cargo());
    cmd.args(["bench", "-p", "ban-benches", "--benches"])
        .current_dir(root);
    if !args.is_empty() {
        cmd.arg("--").args(args);
    }
    run_cmd(&mut cmd)?;
    let rows = collect(&root.join("target/criterion"))?;
    print!("{}", table(&rows));
    Ok(())
}

/// Reads every `.../new/estimates.json` under criterion's output directory.
pub(crate) fn collect(dir: &Path) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    walk(dir, dir, &mut rows)?;
    rows.sort_by(|a, b| (&a.group, &a.bench).cmp(&(&b.group, &b.bench)));
    Ok(rows)
}

fn walk(base: &Path, dir: &Path, rows: &mut Vec<Row>) -> Result<(), String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            let est = path.join("new/estimates.json");
            if est.exists() {
                let text = std::fs::read_to_string(&est).map_err(|e| e.to_string())?;
                let v: serde_json::Value =
                    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", est.display()))?;
                let median = v["median"]["point_estimate"]
                    .as_f64()
                    .ok_or("estimates.json lacks median")?;
                let rel: Vec<String> = path
                    .strip_prefix(base)
                    .map_err(|e| e.to_string())?
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if let Some((group, bench)) = rel.split_first() {
                    rows.push(Row {
                        group: group.clone(),
                        bench: bench.join("/"),
                        median_ns: median,
                    });
                }
            } else if path.file_name().is_some_and(|n| n != "report") {
                walk(base, &path, rows)?;
            }
        }
    }
    Ok(())
}

fn human(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

/// The name and parameter of a benchmark id (`name/param` or `name`).
fn split(bench: &str) -> (&str, &str) {
    bench.rsplit_once('/').unwrap_or((bench, ""))
}

/// The baseline a benchmark is compared with: in the same group and with the
/// same parameter, the baseline whose name starts with the benchmark's name
/// (`envelope` -> `envelope_value_baseline`), else the only baseline there.
fn baseline_of<'a>(rows: &'a [Row], r: &Row) -> Option<&'a Row> {
    let (name, param) = split(&r.bench);
    let candidates: Vec<&Row> = rows
        .iter()
        .filter(|b| {
            b.group == r.group && b.bench.contains("baseline") && split(&b.bench).1 == param
        })
        .collect();
    candidates
        .iter()
        .find(|b| split(&b.bench).0.starts_with(name))
        .or(if candidates.len() == 1 {
            candidates.first()
        } else {
            None
        })
        .copied()
}

/// A table: group, benchmark, median, and the ratio to its baseline.
pub(crate) fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<32} {:<40} {:>12} {:>14}\n",
        "group", "benchmark", "median", "vs baseline"
    );
    for r in rows {
        let ratio = if r.bench.contains("baseline") {
            "baseline".to_owned()
        } else {
            baseline_of(rows, r).map_or_else(
                || "-".to_owned(),
                |b| format!("{:.2}x", r.median_ns / b.median_ns),
            )
        };
        out.push_str(&format!(
            "{:<32} {:<40} {:>12} {:>14}\n",
            r.group,
            r.bench,
            human(r.median_ns),
            ratio
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_pair_each_bench_with_its_baseline() {
        let rows = vec![
            Row {
                group: "g".into(),
                bench: "fast/20".into(),
                median_ns: 50.0,
            },
            Row {
                group: "g".into(),
                bench: "owned_baseline/20".into(),
                median_ns: 100.0,
            },
            Row {
                group: "g".into(),
                bench: "fast/1".into(),
                median_ns: 30.0,
            },
            Row {
                group: "g".into(),
                bench: "owned_baseline/1".into(),
                median_ns: 10.0,
            },
            Row {
                group: "h".into(),
                bench: "alone".into(),
                median_ns: 2.5e9,
            },
        ];
        let t = table(&rows);
        assert!(
            t.lines()
                .any(|l| l.contains("fast/20") && l.ends_with("0.50x")),
            "{t}"
        );
        assert!(
            t.lines()
                .any(|l| l.contains("fast/1") && l.ends_with("3.00x")),
            "{t}"
        );
        assert!(
            t.lines()
                .any(|l| l.contains("owned_baseline/1") && l.ends_with("baseline")),
            "{t}"
        );
        assert!(
            t.lines()
                .any(|l| l.contains("alone") && l.contains("2.50 s") && l.ends_with('-')),
            "{t}"
        );
    }

    #[test]
    fn collects_criterion_estimates() {
        let dir = std::env::temp_dir().join(format!("xtask-bench-test-{}", std::process::id()));
        let est = dir.join("grp/bench_baseline/20/new");
        std::fs::create_dir_all(&est).unwrap();
        std::fs::write(
            est.join("estimates.json"),
            r#"{"median":{"point_estimate":123.0}}"#,
        )
        .unwrap();
        std::fs::create_dir_all(dir.join("grp/report")).unwrap();
        let rows = collect(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            rows,
            [Row {
                group: "grp".into(),
                bench: "bench_baseline/20".into(),
                median_ns: 123.0
            }]
        );
    }
}
