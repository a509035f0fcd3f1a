//! Versions: parsing, what a release must bump, and the manifest and
//! changelog edits a release makes.

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

    pub(crate) fn name(self) -> &'static str {
        match self {
            ReleaseType::Patch => "patch",
            ReleaseType::Minor => "minor",
            ReleaseType::Major => "major",
        }
    }
}
