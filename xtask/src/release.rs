//! `cargo xtask release <version> [--dry-run]`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{cargo, output, run as run_cmd, CI_STEPS};

mod version;
pub(crate) use version::{bump_manifest, changelog_has, ReleaseType, Version};

/// A workspace crate, from `cargo metadata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Krate {
    pub name: String,
    pub publish: bool,
    /// Workspace crates it depends on to build (normal and build; a
    /// dev-dependency never orders a publish).
    pub deps: BTreeSet<String>,
    /// Workspace dev-dependencies with a version requirement: they would
    /// have to be on the registry first, so they are refused.
    pub versioned_dev_deps: BTreeSet<String>,
    pub has_description: bool,
    pub has_license: bool,
}

/// Reads the workspace's crates from `cargo metadata` JSON.
pub(crate) fn crates_from_metadata(meta: &Value) -> Result<Vec<Krate>, String> {
    let members: BTreeSet<&str> = meta["workspace_members"]
        .as_array()
        .ok_or("cargo metadata has no workspace_members")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let packages = meta["packages"]
        .as_array()
        .ok_or("cargo metadata has no packages")?;
    let names: BTreeSet<&str> = packages
        .iter()
        .filter(|p| p["id"].as_str().is_some_and(|id| members.contains(id)))
        .filter_map(|p| p["name"].as_str())
        .collect();
    let mut out = Vec::new();
    for p in packages
        .iter()
        .filter(|p| p["id"].as_str().is_some_and(|id| members.contains(id)))
    {
        let name = p["name"]
            .as_str()
            .ok_or("a package has no name")?
            .to_owned();
        // `publish` is null (anywhere) or a list of registries ([] = never).
        let publish = !matches!(&p["publish"], Value::Array(a) if a.is_empty());
        let internal = |d: &&Value| {
            d["name"]
                .as_str()
                .is_some_and(|n| names.contains(n) && n != name)
        };
        let all = p["dependencies"].as_array().cloned().unwrap_or_default();
        let is_dev = |d: &Value| d["kind"].as_str() == Some("dev");
        let deps = all
            .iter()
            .filter(internal)
            .filter(|d| !is_dev(d))
            .filter_map(|d| d["name"].as_str().map(str::to_owned))
            .collect();
        let versioned_dev_deps = all
            .iter()
            .filter(internal)
            .filter(|d| is_dev(d) && d["req"].as_str().is_some_and(|r| r != "*"))
            .filter_map(|d| d["name"].as_str().map(str::to_owned))
            .collect();
        out.push(Krate {
            name,
            publish,
            deps,
            versioned_dev_deps,
            has_description: p["description"].is_string(),
            has_license: p["license"].is_string(),
        });
    }
    Ok(out)
}

/// Orders crates so each comes after the workspace crates it depends on
/// (Kahn's algorithm, ties by name); a cycle is an error naming its crates.
pub(crate) fn publish_order(crates: &[Krate]) -> Result<Vec<String>, String> {
    let mut pending: BTreeMap<&str, BTreeSet<&str>> = crates
        .iter()
        .map(|c| (c.name.as_str(), c.deps.iter().map(String::as_str).collect()))
        .collect();
    let mut order = Vec::new();
    while !pending.is_empty() {
        let ready: Vec<&str> = pending
            .iter()
            .filter(|(_, d)| d.is_empty())
            .map(|(n, _)| *n)
            .collect();
        if ready.is_empty() {
            let names: Vec<&str> = pending.keys().copied().collect();
            return Err(format!("dependency cycle among {}", names.join(", ")));
        }
        for n in ready {
            pending.remove(n);
            for deps in pending.values_mut() {
                deps.remove(n);
            }
            order.push(n.to_owned());
        }
    }
    Ok(order)
}

fn metadata(root: &Path) -> Result<Value, String> {
    let text = output(
        Command::new(cargo())
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(root),
    )?;
    serde_json::from_str(&text).map_err(|e| format!("cargo metadata: {e}"))
}

fn current_version(meta: &Value) -> Result<Version, String> {
    let v = meta["packages"][0]["version"]
        .as_str()
        .ok_or("no version in cargo metadata")?;
    Version::parse(v)
}

fn on_registry(root: &Path, name: &str, v: &Version) -> bool {
    Command::new(cargo())
        .args(["info", &format!("{name}@{v}"), "--registry", "crates-io"])
        .current_dir(root)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    output(Command::new("git").args(args).current_dir(root))
}

fn tag_exists(root: &Path, tag: &str) -> bool {
    git(
        root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/tags/{tag}"),
        ],
    )
    .is_ok()
}

/// Runs `cargo semver-checks` against the previous release's tag when the
/// tool is installed; refuses a breaking change the release type does not
/// allow, unless `allow_breaking`.
fn semver_check(
    root: &Path,
    old: &Version,
    release: ReleaseType,
    allow_breaking: bool,
) -> Result<(), String> {
    let installed = Command::new(cargo())
        .args(["semver-checks", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    let baseline = format!("v{old}");
    if !installed {
        println!("cargo semver-checks is not installed; API compatibility not checked (cargo install cargo-semver-checks)");
        return Ok(());
    }
    if !tag_exists(root, &baseline) {
        println!("no tag {baseline}: API compatibility not checked");
        return Ok(());
    }
    println!(
        "== cargo semver-checks against {baseline} ({} release)",
        release.name()
    );
    let checked = run_cmd(
        Command::new(cargo())
            .args([
                "semver-checks",
                "check-release",
                "--workspace",
                "--baseline-rev",
                &baseline,
                "--release-type",
                release.name(),
            ])
            .current_dir(root),
    );
    match checked {
        Ok(()) => Ok(()),
        Err(_) if allow_breaking => {
            println!("breaking changes found and allowed by --allow-breaking");
            Ok(())
        }
        Err(e) => Err(format!(
            "{e}: a {} release must not break the API; bump the version or pass --allow-breaking",
            release.name()
        )),
    }
}

/// `cargo xtask release <version> [--dry-run] [--allow-breaking]`.
///
/// Safe to run again after a partial publish: the version is bumped,
/// committed and tagged first (after the checks pass; a failed check puts
/// the manifest back), then each crate is published from the clean tagged
/// tree, skipping those already on the registry. Run again on the tag, it
/// publishes what is missing.
pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let dry_run = args.iter().any(|a| a == "--dry-run");
    let allow_breaking = args.iter().any(|a| a == "--allow-breaking");
    let version = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .ok_or("usage: cargo xtask release <version> [--dry-run] [--allow-breaking]")?;
    let new = Version::parse(version)?;
    let tag = format!("v{new}");

    let dirty = git(root, &["status", "--porcelain"])?;
    if !dirty.trim().is_empty() {
        return Err(format!(
            "the work tree is dirty; commit or stash first:\n{dirty}"
        ));
    }
    let meta = metadata(root)?;
    let current = current_version(&meta)?;
    let crates = crates_from_metadata(&meta)?;
    let order = checked_order(&crates)?;
    let resuming = current == new && tag_exists(root, &tag);
    if resuming {
        let head = git(root, &["rev-parse", "HEAD"])?;
        let tagged = git(root, &["rev-parse", &format!("{tag}^{{commit}}")])?;
        if head.trim() != tagged.trim() {
            return Err(format!(
                "{tag} exists but is not HEAD; check it out to finish publishing it"
            ));
        }
        println!("{tag} is tagged and checked: publishing what is not on the registry yet");
    } else {
        prepare(root, &current, &new, &order, dry_run, allow_breaking)?;
        if dry_run {
            return Ok(());
        }
    }
    publish(root, &order, &new)?;
    println!("released {tag}: push with `git push && git push --tags`");
    Ok(())
}

/// The publishable crates in dependency order, after the checks that need
/// no build: metadata complete, no unpublished dependency, no versioned
/// internal dev-dependency.
fn checked_order(crates: &[Krate]) -> Result<Vec<String>, String> {
    for c in crates {
        if c.publish && !(c.has_description && c.has_license) {
            return Err(format!("{} is published but lacks a description or license; add them or say publish = false", c.name));
        }
        if let Some(d) = c.versioned_dev_deps.iter().next() {
            return Err(format!(
                "{} has the workspace crate {d} as a dev-dependency with a version; give it a path only, so it never orders a publish",
                c.name
            ));
        }
    }
    let publishable: Vec<Krate> = crates.iter().filter(|c| c.publish).cloned().collect();
    for c in &publishable {
        if let Some(d) = c
            .deps
            .iter()
            .find(|d| !publishable.iter().any(|p| &p.name == *d))
        {
            return Err(format!(
                "{} is published but depends on {d}, which says publish = false",
                c.name
            ));
        }
    }
    let skipped: Vec<&str> = crates
        .iter()
        .filter(|c| !c.publish)
        .map(|c| c.name.as_str())
        .collect();
    let order = publish_order(&publishable)?;
    println!("publish order: {}", order.join(" -> "));
    println!("not published (publish = false): {}", skipped.join(", "));
    Ok(order)
}

/// Checks, bumps, commits and tags (or, with `dry_run`, checks and packages
/// the current tree and changes nothing).
fn prepare(
    root: &Path,
    old: &Version,
    new: &Version,
    order: &[String],
    dry_run: bool,
    allow_breaking: bool,
) -> Result<(), String> {
    if !new.is_newer_than(old) {
        return Err(format!("version {new} is not newer than the current {old}"));
    }
    let changelog = std::fs::read_to_string(root.join("CHANGELOG.md"))
        .map_err(|e| format!("CHANGELOG.md: {e}"))?;
    if !changelog_has(&changelog, new) {
        return Err(format!(
            "CHANGELOG.md has no section for {new} (\"## [{new}]\")"
        ));
    }
    semver_check(root, old, ReleaseType::between(old, new), allow_breaking)?;

    let manifest_path = root.join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path).map_err(|e| e.to_string())?;
    let bumped = bump_manifest(&manifest, old, new)?;
    if !dry_run {
        std::fs::write(&manifest_path, &bumped).map_err(|e| e.to_string())?;
    }
    let checks = (|| -> Result<(), String> {
        for (name, step) in CI_STEPS.iter().filter(|(_, a)| a[0] != "doc") {
            println!("== {name}");
            if step[0] == "test" {
                crate::tests(root, &[])?;
                continue;
            }
            run_cmd(Command::new(cargo()).args(*step).current_dir(root))?;
        }
        let mut package = Command::new(cargo());
        package.args(["package", "--allow-dirty"]).current_dir(root);
        for name in order {
            package.args(["-p", name]);
        }
        println!("== cargo package, in order");
        run_cmd(&mut package)
    })();
    if let Err(e) = checks {
        if !dry_run {
            // A failed check leaves the tree as it was.
            std::fs::write(&manifest_path, &manifest)
                .map_err(|w| format!("{e}; and restoring Cargo.toml failed: {w}"))?;
            let _ = git(root, &["checkout", "--", "Cargo.lock"]);
        }
        return Err(e);
    }
    if dry_run {
        println!(
            "dry run: checked and packaged {} crates at {old} (the bump to {new} is not written); nothing committed, tagged or published",
            order.len()
        );
        return Ok(());
    }
    git(root, &["commit", "-am", &format!("Release v{new}")])?;
    git(root, &["tag", &format!("v{new}")])?;
    println!("committed and tagged v{new}; publishing from the tagged tree");
    Ok(())
}

/// Publishes each crate in order from the clean tree, skipping those the
/// registry already has, waiting for each to appear before the next.
fn publish(root: &Path, order: &[String], new: &Version) -> Result<(), String> {
    for name in order {
        if on_registry(root, name, new) {
            println!("{name} {new} is already on the registry; skipped");
            continue;
        }
        println!("== cargo publish -p {name}");
        run_cmd(
            Command::new(cargo())
                .args(["publish", "-p", name])
                .current_dir(root),
        )?;
        let started = Instant::now();
        while !on_registry(root, name, new) {
            if started.elapsed() > Duration::from_secs(300) {
                return Err(format!(
                    "{name} {new} did not appear in the index within 5 minutes; run the release again to go on"
                ));
            }
            std::thread::sleep(Duration::from_secs(5));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
