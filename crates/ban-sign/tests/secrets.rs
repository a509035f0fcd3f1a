//! Neither the secret key nor a full UserSig appears in any Debug, Display or
//! error text of this crate.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::sync::Arc;

use ban_sign::{CachedSigner, ManualClock, RenewPolicy, SecretKey, Signer, VerifyError};

const KEY: &str = "TOP-SECRET-KEY-0123456789abcdef";

#[test]
fn no_text_holds_a_secret() {
    let key = SecretKey::new(KEY);
    let signer = Signer::new(1400000000, key.clone());
    let sig = signer.sign("administrator", 1_700_000_000, 60);
    let cache = CachedSigner::with_clock(
        "administrator",
        signer.clone(),
        RenewPolicy::default(),
        Arc::new(ManualClock::new(1_700_000_000)),
    );
    let cached = cache.usersig();

    let mut errors: Vec<VerifyError> = vec![
        signer
            .verify(sig.expose(), "administrator", 1_800_000_000)
            .unwrap_err(),
        signer
            .verify(sig.expose(), "other", 1_700_000_000)
            .unwrap_err(),
        Signer::new(1, key.clone())
            .verify(sig.expose(), "administrator", 1_700_000_000)
            .unwrap_err(),
        Signer::new(1400000000, SecretKey::new("x"))
            .verify(sig.expose(), "administrator", 1_700_000_000)
            .unwrap_err(),
    ];
    let mut tampered = sig.expose().to_owned();
    tampered.insert(10, '%');
    errors.push(
        signer
            .verify(&tampered, "administrator", 1_700_000_000)
            .unwrap_err(),
    );

    let mut texts = vec![
        format!("{key:?}"),
        format!("{key}"),
        format!("{signer:?}"),
        format!("{cache:?}"),
        format!("{sig:?}"),
        format!("{sig}"),
        format!("{cached:?}"),
    ];
    for e in &errors {
        texts.push(format!("{e}"));
        texts.push(format!("{e:?}"));
    }
    for t in &texts {
        assert!(!t.contains(KEY), "key leaked: {t}");
        assert!(!t.contains(sig.expose()), "sig leaked: {t}");
        assert!(!t.contains(cached.expose()), "sig leaked: {t}");
        // Not even a long piece of the sig.
        assert!(!t.contains(&sig.expose()[..24]), "sig prefix leaked: {t}");
    }
}
