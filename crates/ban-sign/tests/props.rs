//! Never panics on any input; sign/verify round-trips for any claims.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use ban_sign::{decode, SecretKey, Signer};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        // Failing cases are kept in the crate's proptest-regressions/ and committed.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/props.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn verify_never_panics(s in ".{0,300}") {
        let signer = Signer::new(1400000000, SecretKey::new("k"));
        let _ = signer.verify(&s, "admin", 1_700_000_000);
        let _ = decode(&s);
    }

    #[test]
    fn verify_never_panics_on_alphabet_strings(s in "[A-Za-z0-9*_-]{0,400}") {
        let signer = Signer::new(1400000000, SecretKey::new("k"));
        prop_assert!(signer.verify(&s, "admin", 1_700_000_000).is_err());
    }

    #[test]
    fn sign_then_verify_round_trips(
        id in "[^\\x00]{1,32}", appid in any::<u32>(), time in 0u64..4_000_000_000,
        expire in 1u64..400_000_000, key in ".{1,64}", buf in prop::option::of(prop::collection::vec(any::<u8>(), 0..40))
    ) {
        let signer = Signer::new(appid.into(), SecretKey::new(key));
        let sig = match &buf {
            None => signer.sign(&id, time, expire),
            Some(b) => signer.sign_with_userbuf(&id, time, expire, b),
        };
        let claims = signer.verify(sig.expose(), &id, time + expire).unwrap();
        prop_assert_eq!(claims.identifier, id);
        prop_assert_eq!(claims.userbuf, buf);
        prop_assert!(signer.verify(sig.expose(), &claims.version, time).is_err());
    }
}
