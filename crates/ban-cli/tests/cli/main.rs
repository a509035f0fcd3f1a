//! banctl end to end: the built binary against `banctl emulator`, a separate
//! process on a loopback port, over TLS. One test binary (linked once),
//! one file per concern.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

#[path = "../common/mod.rs"]
mod common;

mod commands;
mod contract;
mod input;

use std::process::Command;

use common::{json, start_emulator, stderr, BAN_STDIN, BIN, G};
