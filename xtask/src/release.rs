//! `cargo xtask release <version> [--dry-run]`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{cargo, output, run as run_cmd, CI_STEPS};

/// A `major.minor.patch[-pre]` version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    core: [u64; 3],
    pre: Option<String>,
}

impl Version {
    pub(crate) fn parse(s: &str) -> Result<Version, String> {
        let s = s.trim().trim_start_matches('v');
        let (core, pre) = match s.split_once('-') {
            Some((c, p)) if !p.is_empty() => (c, Some(p.to_owned())),
            Some(_) => return Err(format!("version {s:?} has an empty pre-release")),
            None => (s, None),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() != 3 {
            return Err(format!("version {s:?} is not major.minor.patch"));
        }
        let mut n = [0; 3];
        for (slot, p) in n.iter_mut().zip(&parts) {
            *slot = p
                .parse()
                .map_err(|_| format!("version {s:?}: {p:?} is not a number"))?;
        }
        Ok(Version { core: n, pre })
    }

    /// Whether `self` is newer than `other` (a release is newer than its pre-releases).
    pub(crate) fn is_newer_than(&self, other: &Version) -> bool {
        match self.core.cmp(&other.core) {
            std::cmp::Ordering::Equal => match (&self.pre, &other.pre) {
                (None, Some(_)) => true,
                (Some(a), Some(b)) => a > b,
                _ => false,
            },
            o => o == std::cmp::Ordering::Greater,
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.core[0], self.core[1], self.core[2])?;
        if let Some(p) = &self.pre {
            write!(f, "-{p}")?;
        }
        Ok(())
    }
}

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

/// Sets the workspace version and every internal requirement `"=old"` to
/// `"=new"` in the root manifest's text. Fails if either is not found.
pub(crate) fn bump_manifest(text: &str, old: &Version, new: &Version) -> Result<String, String> {
    let version_line = format!("version = \"{old}\"");
    let mut in_package = false;
    let mut bumped_version = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        if line.starts_with('[') {
            in_package = line.trim() == "[workspace.package]";
        }
        if in_package && line.trim() == version_line {
            lines.push(format!("version = \"{new}\""));
            bumped_version = true;
        } else {
            lines.push(line.to_owned());
        }
    }
    if !bumped_version {
        return Err(format!("[workspace.package] has no line {version_line:?}"));
    }
    let mut out = lines.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    let old_req = format!("version = \"={old}\"");
    if !out.contains(&old_req) {
        return Err(format!("no internal dependency requires {old_req:?}"));
    }
    Ok(out.replace(&old_req, &format!("version = \"={new}\"")))
}

/// Whether CHANGELOG.md has a section for the version (`## [1.2.3]` or `## 1.2.3`).
pub(crate) fn changelog_has(text: &str, v: &Version) -> bool {
    text.lines().any(|l| {
        let l = l.trim();
        l.starts_with("## ")
            && (l[3..].starts_with(&format!("[{v}]")) || l[3..].starts_with(&v.to_string()))
    })
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

/// What a release must bump: the kind of change the versions allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReleaseType {
    /// Only fixes (for 0.x: the last number changed).
    Patch,
    /// Additions (for 0.x, breaking changes too, as Cargo treats 0.x).
    Minor,
    /// Anything.
    Major,
}

impl ReleaseType {
    /// From the old and new versions, as Cargo's compatibility reads them.
    pub(crate) fn between(old: &Version, new: &Version) -> ReleaseType {
        let [o0, o1, _] = old.core;
        let [n0, n1, _] = new.core;
        match (o0, n0) {
            (a, b) if a != b => ReleaseType::Major,
            (0, 0) if o1 != n1 => ReleaseType::Major,
            _ if o1 != n1 => ReleaseType::Minor,
            _ => ReleaseType::Patch,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ReleaseType::Patch => "patch",
            ReleaseType::Minor => "minor",
            ReleaseType::Major => "major",
        }
    }
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
mod tests {
    use super::*;

    #[test]
    fn release_types_follow_cargo_compatibility() {
        let v = |s| Version::parse(s).unwrap();
        assert_eq!(
            ReleaseType::between(&v("0.1.0"), &v("0.1.1")),
            ReleaseType::Patch
        );
        assert_eq!(
            ReleaseType::between(&v("0.1.0"), &v("0.2.0")),
            ReleaseType::Major
        );
        assert_eq!(
            ReleaseType::between(&v("1.2.3"), &v("1.3.0")),
            ReleaseType::Minor
        );
        assert_eq!(
            ReleaseType::between(&v("1.2.3"), &v("1.2.4")),
            ReleaseType::Patch
        );
        assert_eq!(
            ReleaseType::between(&v("1.2.3"), &v("2.0.0")),
            ReleaseType::Major
        );
    }

    fn k(name: &str, deps: &[&str]) -> Krate {
        Krate {
            name: name.into(),
            publish: true,
            deps: deps.iter().map(|d| d.to_string()).collect(),
            versioned_dev_deps: BTreeSet::new(),
            has_description: true,
            has_license: true,
        }
    }

    #[test]
    fn versions() {
        let v = |s| Version::parse(s).unwrap();
        assert!(v("0.2.0").is_newer_than(&v("0.1.9")));
        assert!(v("1.0.0").is_newer_than(&v("1.0.0-rc.1")));
        assert!(!v("1.0.0-rc.1").is_newer_than(&v("1.0.0")));
        assert!(!v("0.1.0").is_newer_than(&v("0.1.0")));
        assert_eq!(v("v1.2.3").to_string(), "1.2.3");
        assert!(Version::parse("1.2").is_err());
        assert!(Version::parse("1.x.3").is_err());
    }

    #[test]
    fn order_follows_dependencies() {
        let crates = [
            k("ban-cli", &["ban-facade", "ban-emulator"]),
            k("ban-facade", &["ban-proto", "ban-sign", "ban-transport"]),
            k("ban-transport", &["ban-proto", "ban-emulator"]),
            k("ban-emulator", &["ban-proto", "ban-sign"]),
            k("ban-sign", &["ban-proto"]),
            k("ban-proto", &[]),
        ];
        assert_eq!(
            publish_order(&crates).unwrap(),
            [
                "ban-proto",
                "ban-sign",
                "ban-emulator",
                "ban-transport",
                "ban-facade",
                "ban-cli"
            ]
        );
        let cyclic = [k("a", &["b"]), k("b", &["c"]), k("c", &["a"]), k("d", &[])];
        assert_eq!(
            publish_order(&cyclic).unwrap_err(),
            "dependency cycle among a, b, c"
        );
    }

    #[test]
    fn bump_on_a_copy_of_the_real_manifest() {
        let text = include_str!("../../Cargo.toml");
        let meta_version = text
            .lines()
            .skip_while(|l| l.trim() != "[workspace.package]")
            .find_map(|l| {
                l.strip_prefix("version = \"")
                    .and_then(|r| r.strip_suffix('"'))
            })
            .unwrap();
        let old = Version::parse(meta_version).unwrap();
        let new = Version::parse("9.8.7").unwrap();
        let bumped = bump_manifest(text, &old, &new).unwrap();
        assert!(bumped.contains("[workspace.package]\nversion = \"9.8.7\""));
        assert!(!bumped.contains(&format!("version = \"={old}\"")));
        assert_eq!(
            bumped.matches("version = \"=9.8.7\"").count(),
            text.matches(&format!("version = \"={old}\"")).count()
        );
        assert_eq!(bumped.lines().count(), text.lines().count());
        assert!(
            bump_manifest(&bumped, &old, &new).is_err(),
            "a second bump from the old version finds nothing"
        );
    }

    #[test]
    fn changelog_sections() {
        let v = Version::parse("0.2.0").unwrap();
        assert!(changelog_has(
            "# Changelog\n\n## [0.2.0] - 2026-12-01\n",
            &v
        ));
        assert!(changelog_has("## 0.2.0\n", &v));
        assert!(!changelog_has("## [0.1.0]\n- mentions 0.2.0\n", &v));
    }

    #[test]
    fn metadata_is_read_from_cargo_json() {
        let meta = serde_json::json!({
            "workspace_members": ["a 0.1.0", "x 0.1.0"],
            "packages": [
                {"id": "a 0.1.0", "name": "a", "publish": null, "description": "d", "license": "MIT",
                 "dependencies": [{"name": "serde"}, {"name": "x"}]},
                {"id": "x 0.1.0", "name": "x", "publish": [], "description": null, "license": null, "dependencies": []}
            ]
        });
        let crates = crates_from_metadata(&meta).unwrap();
        assert_eq!(crates[0].deps.iter().collect::<Vec<_>>(), ["x"]);
        assert!(crates[0].publish && !crates[1].publish);
        assert!(!crates[1].has_description);
    }
}
