//! UserSig generate, verify and the cached signer's hit, each beside the
//! bare HMAC-SHA256 over the same content.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use ban_sign::{CachedSigner, RenewPolicy, SecretKey, Signer};
use criterion::{criterion_group, criterion_main, Criterion};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::hint::black_box;

const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
const T: u64 = 1_700_000_000;

fn bare_hmac(content: &str) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(content.as_bytes());
    mac.finalize().into_bytes().into()
}

fn usersig(c: &mut Criterion) {
    let signer = Signer::new(1400000000, SecretKey::new(KEY));
    // The content string the signer MACs (its format is the documented one).
    let content = format!(
        "TLS.identifier:administrator\nTLS.sdkappid:1400000000\nTLS.time:{T}\nTLS.expire:86400\n"
    );
    let sig = signer.sign("administrator", T, 86400);
    let cache = CachedSigner::new("administrator", signer.clone(), RenewPolicy::default());

    let mut g = c.benchmark_group("usersig");
    g.bench_function("hmac_sha256_baseline", |b| {
        b.iter(|| black_box(bare_hmac(black_box(&content))))
    });
    g.bench_function("generate", |b| {
        b.iter(|| black_box(signer.sign(black_box("administrator"), T, 86400)))
    });
    g.bench_function("verify", |b| {
        b.iter(|| {
            black_box(
                signer
                    .verify(black_box(sig.expose()), "administrator", T + 1)
                    .unwrap(),
            )
        })
    });
    g.bench_function("cached_hit", |b| b.iter(|| black_box(cache.usersig())));
    g.finish();
}

criterion_group!(benches, usersig);
criterion_main!(benches);
