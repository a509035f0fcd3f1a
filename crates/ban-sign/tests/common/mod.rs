//! Test helpers.

use std::io::Read;

use base64::Engine;
use serde_json::Value;

/// Decodes a sig independently of the crate: returns the inner JSON.
pub(crate) fn inner_json(sig: &str) -> Value {
    let std: String = sig
        .chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            c => c,
        })
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(std)
        .unwrap();
    let mut json = String::new();
    flate2::read::ZlibDecoder::new(bytes.as_slice())
        .read_to_string(&mut json)
        .unwrap();
    serde_json::from_str(&json).unwrap()
}
