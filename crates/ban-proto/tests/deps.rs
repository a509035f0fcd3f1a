//! ban-proto is embedded by other teams: it must not grow dependencies.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

#[test]
fn only_serde_serde_json_and_thiserror() {
    let manifest = include_str!("../Cargo.toml");
    let mut section = String::new();
    let mut deps = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.trim_matches(['[', ']']).to_owned();
            // `[dependencies.foo]` names one dependency in its header.
            if let Some((table, name)) = section.rsplit_once('.') {
                if table.ends_with("dependencies") && !table.ends_with("dev-dependencies") {
                    deps.push(name.to_owned());
                }
            }
            continue;
        }
        let normal_or_build = section == "dependencies"
            || section == "build-dependencies"
            || (section.starts_with("target.") && section.ends_with(".dependencies"));
        if normal_or_build && !line.is_empty() && !line.starts_with('#') {
            if let Some((name, _)) = line.split_once('=') {
                deps.push(name.trim().split('.').next().unwrap().to_owned());
            }
        }
    }
    deps.sort();
    assert_eq!(
        deps,
        ["serde", "serde_json", "thiserror"],
        "ban-proto gained a dependency"
    );
}
