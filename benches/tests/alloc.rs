//! ban-proto's hot path allocates nothing but the caller's output buffer:
//! serializing a borrowed 20-member request into a reused buffer makes zero
//! heap allocations, counted by dhat's allocator.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use ban_benches::{accounts, ban_request, member_names};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[test]
fn serializing_into_a_reused_buffer_allocates_nothing() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let names = member_names("member", 20);
    let accts = accounts(&names);
    let req = ban_request(&accts);
    let mut buf = Vec::with_capacity(4096);

    let before = dhat::HeapStats::get();
    for _ in 0..1000 {
        buf.clear();
        ban_proto::encode_into(&req, &mut buf).unwrap();
    }
    let after = dhat::HeapStats::get();
    assert_eq!(
        after.total_blocks - before.total_blocks,
        0,
        "allocations on the hot path"
    );
    assert!(
        buf.starts_with(br#"{"GroupId":"@TGS#aBENCH","Members_Account":["member00000","#)
            && buf.len() > 300
    );

    // The counter does count: the owned path allocates.
    let before = dhat::HeapStats::get();
    let owned: Vec<String> = names.clone();
    let v = serde_json::to_vec(&owned).unwrap();
    let after = dhat::HeapStats::get();
    assert!(
        after.total_blocks - before.total_blocks >= 21,
        "{}",
        v.len()
    );
}
