//! The cached signer: renews once, early, under concurrency, by an injected clock.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::sync::{Arc, Barrier};

use ban_sign::{CachedSigner, ManualClock, RenewPolicy, SecretKey, Signer};

const T0: u64 = 1_700_000_000;

fn setup(policy: RenewPolicy) -> (Arc<ManualClock>, Arc<CachedSigner>, Signer) {
    let clock = Arc::new(ManualClock::new(T0));
    let signer = Signer::new(1400000000, SecretKey::new("k"));
    let cache = Arc::new(CachedSigner::with_clock(
        "administrator",
        signer.clone(),
        policy,
        clock.clone(),
    ));
    (clock, cache, signer)
}

#[test]
fn margin_is_ten_percent_or_five_minutes() {
    assert_eq!(RenewPolicy::default().margin(), 8_640);
    let short = RenewPolicy::with_validity(1_200);
    assert_eq!(short.margin(), 300);
    let tiny = RenewPolicy::with_validity(100);
    assert_eq!(tiny.margin(), 50);
}

#[test]
fn renews_inside_the_margin_not_before() {
    let (clock, cache, signer) = setup(RenewPolicy::default());
    let first = cache.usersig();
    clock.set(T0 + 86_400 - 8_640 - 1);
    assert_eq!(cache.usersig(), first);
    assert_eq!(cache.renewals(), 1);
    clock.set(T0 + 86_400 - 8_640);
    let second = cache.usersig();
    assert_ne!(second, first);
    assert_eq!(cache.renewals(), 2);
    let claims = signer
        .verify(second.expose(), "administrator", clock.now())
        .unwrap();
    assert_eq!(claims.time, T0 + 86_400 - 8_640);
}

#[test]
fn concurrent_callers_get_valid_sigs_and_renewal_happens_once() {
    let (clock, cache, signer) = setup(RenewPolicy::default());
    clock.set(T0 + 86_000);
    let n = 32;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (cache, barrier) = (cache.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                (0..100).map(|_| cache.usersig()).collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        for sig in h.join().unwrap() {
            signer
                .verify(sig.expose(), "administrator", T0 + 86_000)
                .unwrap();
        }
    }
    assert_eq!(cache.renewals(), 2);
}

#[test]
fn an_expired_sig_is_never_handed_out() {
    let (clock, cache, signer) = setup(RenewPolicy::default());
    clock.set(T0 + 10 * 86_400);
    let sig = cache.usersig();
    signer
        .verify(sig.expose(), "administrator", T0 + 10 * 86_400)
        .unwrap();
}

trait Now {
    fn now(&self) -> u64;
}
impl Now for ManualClock {
    fn now(&self) -> u64 {
        ban_sign::Clock::now_unix(self)
    }
}
