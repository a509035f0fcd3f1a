//! Which global flags each command shows: those it has no use for are
//! hidden from its help and refused after it.

use super::Cli;

/// The credentials flags.
const CREDENTIALS: &[&str] = &["sdkappid", "secret_key", "secret_key_file", "admin"];
/// The flags that say where the service is.
const CONNECTION: &[&str] = &["region", "endpoint", "ca_cert", "danger_allow_plain_http"];

/// Global flags a command has no use for, by its path: hidden from its
/// help and refused when given, never silently ignored.
const NOT_FOR: &[(&[&str], &[&[&str]])] = &[
    (&["emulator"], &[CONNECTION, &["json"]]),
    (&["demo"], &[CREDENTIALS, CONNECTION, &["json"]]),
    (&["sig", "gen"], &[CONNECTION, &["admin"]]),
    (&["sig", "verify"], &[CONNECTION, &["admin"]]),
    (&["rules", "check"], &[CREDENTIALS, CONNECTION]),
    (&["rules", "test"], &[CREDENTIALS, CONNECTION]),
    (
        &["job", "status"],
        &[CONNECTION, &["secret_key", "secret_key_file", "rate"]],
    ),
    (
        &["job", "report"],
        &[CONNECTION, &["secret_key", "secret_key_file", "rate"]],
    ),
    (
        &["job", "cancel"],
        &[CONNECTION, &["secret_key", "secret_key_file", "rate"]],
    ),
    (
        &["job", "resume"],
        &[CONNECTION, &["secret_key", "secret_key_file", "rate"]],
    ),
];

/// The command line as clap derives it, less the global flags each
/// command has no use for (see [`NOT_FOR`]).
pub(crate) fn command() -> clap::Command {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    for (path, groups) in NOT_FOR {
        cmd = hide_in(cmd, path, groups, Vec::new());
    }
    cmd
}

/// Gives the command at `path` a hidden copy of each global flag named in
/// `groups`: clap then does not propagate the shown one there (it skips an
/// id the subcommand has), and a value given still reaches the parent.
fn hide_in(
    cmd: clap::Command,
    path: &[&str],
    groups: &[&[&str]],
    mut globals: Vec<clap::Arg>,
) -> clap::Command {
    globals.extend(cmd.get_arguments().filter(|a| a.is_global_set()).cloned());
    let Some((first, rest)) = path.split_first() else {
        let hidden: Vec<clap::Arg> = groups
            .iter()
            .flat_map(|g| g.iter())
            .filter_map(|id| globals.iter().rev().find(|a| a.get_id() == *id))
            .map(|a| a.clone().hide(true))
            .collect();
        return cmd.args(hidden);
    };
    if cmd.find_subcommand(first).is_none() {
        return cmd; // built without the emulator
    }
    cmd.mut_subcommand(*first, |sc| hide_in(sc, rest, groups, globals))
}

/// Parses the command line. A global flag given after a command that has
/// no use for it (`banctl sig gen --endpoint X`) is an error naming both;
/// before the command (`banctl --endpoint X sig gen`, a wrapper's settings
/// for every command) it is taken and unused.
pub(crate) fn parse() -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut cmd = command();
    let matches = cmd.try_get_matches_from_mut(&argv)?;
    let mut path = Vec::new();
    let mut leaf = &matches;
    while let Some((name, sub)) = leaf.subcommand() {
        path.push(name);
        leaf = sub;
    }
    // Where the command's last word is on the command line.
    let mut at = 0;
    for name in &path {
        at = argv
            .iter()
            .enumerate()
            .skip(at + 1)
            .find(|(_, a)| a.as_os_str() == std::ffi::OsStr::new(name))
            .map_or(at, |(i, _)| i);
    }
    if let Some((_, groups)) = NOT_FOR.iter().find(|(p, _)| *p == path.as_slice()) {
        for id in groups.iter().flat_map(|g| g.iter()) {
            let long = format!("--{}", id.replace('_', "-"));
            let with_value = format!("{long}=");
            let after = argv[at + 1..]
                .iter()
                .map(|a| a.to_string_lossy())
                .take_while(|a| a != "--")
                .any(|a| a == long || a.starts_with(&with_value));
            if after {
                let mut leaf_cmd = &mut cmd;
                for name in &path {
                    leaf_cmd = leaf_cmd
                        .find_subcommand_mut(name)
                        .expect("a parsed subcommand exists");
                }
                return Err(leaf_cmd.error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!(
                        "--{} does not apply to `banctl {}`; leave it out",
                        id.replace('_', "-"),
                        path.join(" ")
                    ),
                ));
            }
        }
    }
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
}
