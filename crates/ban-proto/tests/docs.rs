//! docs/error-codes.md lists every code ban-proto knows, with the same
//! meaning, retry class and source.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use ban_proto::ErrorCode;

#[test]
fn error_code_doc_matches_the_crate() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/error-codes.md");
    let doc = std::fs::read_to_string(path).expect("docs/error-codes.md is in the workspace");
    let rows: Vec<Vec<String>> = doc
        .lines()
        .filter(|l| l.starts_with("| ") && l.chars().nth(2).is_some_and(|c| c.is_ascii_digit()))
        .filter(|l| l.matches(" | ").count() == 4)
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_owned())
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), ErrorCode::ALL.len(), "one row per code");
    for (row, code) in rows.iter().zip(ErrorCode::ALL) {
        assert_eq!(row[0], code.code().to_string());
        assert_eq!(row[1], format!("`{code:?}`"));
        assert_eq!(row[2], code.meaning());
        assert_eq!(row[3], code.retry_class().to_string());
        assert_eq!(row[4], code.documented_in());
    }
}
