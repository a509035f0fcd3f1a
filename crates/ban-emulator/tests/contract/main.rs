//! Every code path of the contract, spoken to the emulator in raw HTTPS.
//! One test binary (linked once), one file per part of the contract.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

#[path = "../common/mod.rs"]
mod common;

mod account;
mod auth;
mod ban;
mod mute;
mod room;
mod shapes;

use ban_emulator::{Emulator, GroupType};
use ban_proto::ErrorCode;
use ban_sign::{SecretKey, Signer};
use common::*;
use serde_json::{json, Value};

const G: &str = "@TGS#aJRGC4MH6";

/// The seed's sample request, quoting typo fixed.
const SEED: &str = r#"{"GroupId": "@TGS#aJRGC4MH6", "Members_Account":["brennanli3", "brennanli12"], "Duration":3600, "Description": "you are banned because of irregularities"}"#;

async fn emulator() -> Emulator {
    Emulator::builder().group(G).start().await.unwrap()
}
