//! The release chores' unit tests.
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
    let text = include_str!("../../../Cargo.toml");
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
